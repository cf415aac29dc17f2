// The `jreg` command line. Runs in Node (bin/jreg.mjs) and Deno (deno run -A dist/cli/main.js).
import { demoCommand } from "./demo.ts";
import { evalCommand, stepCommand } from "./model-commands.ts";
import { UsageError } from "./args.ts";
import { tokenizeCommand } from "./tokenize.ts";
import { tokenizerTrainCommand } from "./tokenizer-train.ts";

const HELP = `usage: jreg <command> [options]   (jreg <command> --help for details)
commands:
  demo               train the tiny preset on built-in text; print loss and jump profile
  eval               CE, R, loss and the jump profile of a checkpoint on a tokens file (--json)
  step               one optimizer step on a tokens file; writes the updated checkpoint
  tokenize           encode a text file with a tokenizer
  tokenizer train    learn a byte-level BPE tokenizer from a text file`;

export async function main(argv: string[]): Promise<number> {
  const out = (s: string) => console.log(s);
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case "demo":
        return await demoCommand(rest, out);
      case "eval":
        return await evalCommand(rest, out);
      case "step":
        return await stepCommand(rest, out);
      case "tokenize":
        return await tokenizeCommand(rest);
      case "tokenizer": {
        if (rest[0] !== "train") throw new UsageError(`unknown tokenizer command ${JSON.stringify(rest[0] ?? "")}; try "jreg tokenizer train"`);
        return await tokenizerTrainCommand(rest.slice(1));
      }
      case undefined:
      case "help":
      case "--help":
      case "-h":
        out(HELP);
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
    }
  } catch (e) {
    const err = e as Error;
    console.error(`jreg ${cmd ?? ""}: ${err.message}`);
    if (err instanceof UsageError) console.error(`run "jreg ${cmd === "tokenizer" ? "tokenizer train" : cmd} --help" for usage`);
    return err instanceof UsageError ? 2 : 1;
  }
}

// Deno runs this file directly.
const deno = (globalThis as { Deno?: { args: string[]; exit(code: number): never; mainModule?: string } }).Deno;
if (deno && deno.mainModule === import.meta.url) {
  main(deno.args).then((code) => deno.exit(code));
}
