#!/usr/bin/env node
// The `jreg` command (package.json "bin"); the CLI itself is bundled in dist/cli/main.js.
import { main } from "../dist/cli/main.js";

process.exitCode = await main(process.argv.slice(2));
