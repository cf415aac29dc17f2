// `jreg bench [SUITE…]`: the benchmark suites of bench/run.mjs. They live in the
// source checkout (bench/ is not part of the published package), next to dist/.
import { UsageError } from "./args.ts";
import { defineCommand } from "./command.ts";
import { fileExists } from "../io/files.ts";
import { closestMatch } from "../util/suggest.ts";

interface BenchModule {
  SUITES: Record<string, { path: string; about: string }>;
  runSuites(names: string[]): Promise<void>;
}

/** bench/run.mjs of this checkout: dist/cli/main.js and dist/<chunk>.js both sit two or one levels below. */
async function loadBench(): Promise<BenchModule> {
  const { fileURLToPath } = await import("node:url");
  for (const rel of ["../../bench/run.mjs", "../bench/run.mjs"]) {
    const url = new URL(rel, import.meta.url);
    if (url.protocol === "file:" && (await fileExists(fileURLToPath(url)))) return (await import(url.href)) as BenchModule;
  }
  throw new Error("bench/run.mjs not found: the benchmarks ship with the source checkout, not the package (run from a clone, after npm run build)");
}

export const benchCommand = defineCommand(
  {
    name: "bench",
    summary: "run the benchmark suites (all, or the ones named); each prints a markdown table",
    description: "Some suites take minutes and use every core; the suites' own flags: node bench/<suite>.bench.mjs --help.",
    flags: {},
    positionals: { name: "SUITE", help: "a suite to run (see below); none: all of them" },
  },
  async ({ positionals }) => {
    const bench = await loadBench();
    const names = Object.keys(bench.SUITES);
    for (const p of positionals) {
      if (!names.includes(p)) {
        const guess = closestMatch(p, names);
        throw new UsageError(`unknown benchmark suite ${JSON.stringify(p)}` + (guess ? ` (did you mean ${guess}?)` : `; suites: ${names.join(", ")}`));
      }
    }
    await bench.runSuites(positionals);
    return 0;
  },
  async () => {
    try {
      const { SUITES } = await loadBench();
      const w = Math.max(...Object.keys(SUITES).map((n) => n.length)) + 2;
      return ["suites:", ...Object.entries(SUITES).map(([n, s]) => `  ${n.padEnd(w)}${s.about}`)].join("\n");
    } catch (e) {
      return `suites: unavailable here (${(e as Error).message})`;
    }
  },
);
