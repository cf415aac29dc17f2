// The `jreg` command line. Runs in Node (bin/jreg.mjs) and Deno (deno run -A dist/cli/main.js).
//
// Every command is declared in COMMANDS; `jreg --help`, the "did you mean"
// suggestions and dispatch all come from that table. main() never lets an error
// escape as a stack trace: it prints `jreg <command>: message` and returns
// 2 for usage errors (bad flags, a bad run config) and 1 for everything else.
// A closed stdout (`jreg demo | head -1`) ends the process quietly with 0.
import pkg from "../../package.json";
import { UsageError } from "./args.ts";
import { analyzeCommand } from "./analyze.ts";
import { benchCommand } from "./bench.ts";
import type { Command, CommandGroup } from "./command.ts";
import { demoCommand } from "./demo.ts";
import { initCommand } from "./init.ts";
import { probeCommand } from "./probe.ts";
import { evalCommand, stepCommand } from "./model-commands.ts";
import { reportCommand } from "./report.ts";
import { startCommand } from "./start.ts";
import { sweepCommand } from "./sweep.ts";
import { trainCommand } from "./train.ts";
import { tokenizeCommand } from "./tokenize.ts";
import { tokenizerTrainCommand } from "./tokenizer-train.ts";
import { closestMatch } from "../util/suggest.ts";

export const VERSION: string = pkg.version;

/** The command table, in help order. */
export const COMMANDS: Record<string, Command | CommandGroup> = {
  start: startCommand,
  train: trainCommand,
  eval: evalCommand,
  analyze: analyzeCommand,
  probe: probeCommand,
  report: reportCommand,
  sweep: sweepCommand,
  init: initCommand,
  step: stepCommand,
  demo: demoCommand,
  tokenize: tokenizeCommand,
  tokenizer: { name: "tokenizer", summary: "tokenizer tools", subcommands: { train: tokenizerTrainCommand } },
  bench: benchCommand,
};

function isGroup(c: Command | CommandGroup): c is CommandGroup {
  return "subcommands" in c;
}

/** "demo", "tokenizer train", …: every runnable command line. */
function commandLines(): string[] {
  return Object.entries(COMMANDS).flatMap(([name, c]) => (isGroup(c) ? Object.keys(c.subcommands).map((s) => `${name} ${s}`) : [name]));
}

export function mainHelp(): string {
  const rows: [string, string][] = [];
  for (const [name, c] of Object.entries(COMMANDS)) {
    if (isGroup(c)) for (const [sub, s] of Object.entries(c.subcommands)) rows.push([`${name} ${sub}`, s.spec.summary]);
    else rows.push([name, c.spec.summary]);
  }
  const w = Math.max(...rows.map(([n]) => n.length)) + 3;
  return [
    "usage: jreg <command> [options]      jreg <command> --help for its options and defaults",
    "",
    "commands:",
    ...rows.map(([n, s]) => `  ${n.padEnd(w)}${s}`),
    "",
    "  --version          print the version",
    "  -h, --help         show this help",
  ].join("\n");
}

function groupHelp(g: CommandGroup): string {
  const rows = Object.entries(g.subcommands).map(([n, c]) => `  ${g.name} ${n}   ${c.spec.summary}`);
  return [`usage: jreg ${g.name} <subcommand> [options]   (jreg ${g.name} <subcommand> --help for details)`, "", "subcommands:", ...rows].join("\n");
}

function unknownCommand(word: string, candidates: string[], prefix: string): UsageError {
  const guess = closestMatch(word, candidates);
  return new UsageError(
    `unknown ${prefix}command ${JSON.stringify(word)}` + (guess ? ` (did you mean "jreg ${prefix}${guess}"?)` : `; commands: ${candidates.join(", ")}`),
  );
}

/** Errors a user can fix by changing the command line or the config. */
function isUsageError(e: unknown): boolean {
  return e instanceof UsageError || (e instanceof Error && e.name === "RunConfigError");
}

function errorMessage(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

function debug(): boolean {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env;
  return env?.JREG_DEBUG === "1";
}

type Proc = {
  stdout?: { on?(ev: string, f: (e: { code?: string; message: string }) => void): void };
  stderr?: { on?(ev: string, f: (e: unknown) => void): void };
  on?(ev: string, f: (e: unknown) => void): void;
  exit(code: number): never;
};
let guarded = false;

/**
 * Process-level safety nets (Node; Deno's console already ignores a closed pipe):
 * a closed stdout ends the process with 0, a closed stderr is ignored, and an
 * error that escapes every await still prints one line, not a stack trace.
 */
function installProcessGuards(label: () => string): void {
  const proc = (globalThis as { process?: Proc }).process;
  if (guarded || !proc?.stdout?.on || (globalThis as { Deno?: unknown }).Deno) return;
  guarded = true;
  proc.stdout.on("error", (e) => {
    if (e.code === "EPIPE") proc.exit(0);
    console.error(`${label()}: cannot write output: ${e.message}`);
    proc.exit(1);
  });
  proc.stderr?.on?.("error", () => {});
  const fatal = (e: unknown) => {
    console.error(`${label()}: ${errorMessage(e)}`);
    if (debug() && e instanceof Error) console.error(e.stack);
    proc.exit(1);
  };
  proc.on?.("uncaughtException", fatal);
  proc.on?.("unhandledRejection", fatal);
}

export async function main(argv: string[]): Promise<number> {
  const out = (s: string) => console.log(s);
  let label = "jreg";
  let helpHint: string | undefined;
  installProcessGuards(() => label);
  try {
    const [cmd, ...rest] = argv;
    if (cmd === undefined) {
      console.error(mainHelp());
      return 2;
    }
    if (cmd === "--help" || cmd === "-h" || cmd === "help") {
      if (cmd === "help" && rest.length > 0) return await main([...rest, "--help"]);
      out(mainHelp());
      return 0;
    }
    if (cmd === "--version" || cmd === "-V" || cmd === "version") {
      out(`jreg ${VERSION}`);
      return 0;
    }
    label = `jreg ${cmd}`;
    const entry = COMMANDS[cmd];
    if (!entry) {
      label = "jreg";
      throw unknownCommand(cmd.replace(/^-+/, ""), commandLines(), "");
    }
    if (!isGroup(entry)) {
      helpHint = `jreg ${cmd} --help`;
      return await entry.run(rest, { out });
    }
    const [sub, ...subArgs] = rest;
    if (sub === "--help" || sub === "-h") {
      out(groupHelp(entry));
      return 0;
    }
    if (sub === undefined) {
      console.error(groupHelp(entry));
      return 2;
    }
    const command = entry.subcommands[sub];
    if (!command) throw unknownCommand(sub, Object.keys(entry.subcommands), `${cmd} `);
    label = `jreg ${cmd} ${sub}`;
    helpHint = `jreg ${cmd} ${sub} --help`;
    return await command.run(subArgs, { out });
  } catch (e) {
    // Deno reports a closed stdout as a thrown BrokenPipe.
    if (e instanceof Error && e.name === "BrokenPipe") return 0;
    console.error(`${label}: ${errorMessage(e)}`);
    if (debug() && e instanceof Error && e.stack) console.error(e.stack);
    if (!isUsageError(e)) return 1;
    if (e instanceof UsageError && helpHint) console.error(`run "${helpHint}" for usage`);
    return 2;
  }
}

// Deno runs this file directly.
const deno = (globalThis as { Deno?: { args: string[]; exit(code: number): never; mainModule?: string } }).Deno;
if (deno && deno.mainModule === import.meta.url) {
  main(deno.args).then((code) => deno.exit(code));
}
