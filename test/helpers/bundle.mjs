// Imports a host/ TypeScript module that the package does not export (CLI
// internals such as host/cli/args.ts) by bundling it with esbuild into a
// temporary file, the same way scripts/build-host.mjs bundles dist/.
import { build } from "esbuild";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

export async function importHost(path) {
  const outfile = join(mkdtempSync(join(tmpdir(), "jreg-bundle-")), "module.mjs");
  await build({
    entryPoints: [join(root, path)],
    outfile,
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    loader: { ".wasm": "binary" },
    external: ["node:*"],
    logLevel: "error",
  });
  return import(pathToFileURL(outfile).href);
}
