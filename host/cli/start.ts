// `jreg start` (what `npm start` runs): the default experiment. Two runs of the
// default run config with the same seed, init and data order — a baseline
// (α = 0) and JREG (α = 3) — under RUNS/baseline and RUNS/jreg-a3, then
// RUNS/report.html and the comparison table on stdout.
//
// Rerunnable: a complete run is not trained again (the report is re-rendered),
// an incomplete one is resumed from its newest checkpoint, and a run directory
// whose config differs from the one asked for is an error (--fresh starts over).
import { openRunDir, RUN_CONFIG_FILE } from "../run/run-dir.ts";
import { fileStorage } from "../run/storage.ts";
import { savedStep } from "../train/job/run-job.ts";
import { checkUserSets, resolveRunConfig, runConfigHelp, type RunConfig } from "../train/run-config.ts";
import { readRunConfigFile } from "../train/run-config.ts";
import { comparisonTable } from "../report/table.ts";
import { writeReport } from "../report/write.ts";
import { defineCommand } from "./command.ts";
import { INTERRUPTED_EXIT } from "./interrupt.ts";
import { createProgress } from "./progress.ts";
import { RUN_CONFIG_FLAGS } from "./run-config-flags.ts";
import { summaryLine, trainWithProgress } from "./train.ts";

export const DEFAULT_JREG_ALPHA = 3;

/** The first dotted key where two JSON values differ, or null. */
export function firstDifference(a: unknown, b: unknown, prefix = ""): string | null {
  if (typeof a === "object" && a !== null && typeof b === "object" && b !== null && !Array.isArray(a) && !Array.isArray(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
    for (const k of keys) {
      const d = firstDifference((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${prefix}${k}.`);
      if (d !== null) return d;
    }
    return null;
  }
  return JSON.stringify(a) === JSON.stringify(b) ? null : prefix.slice(0, -1) || "(the whole config)";
}

/** The pair: the user's config layers, then the names, directories and α that define each run. */
export function defaultPair(file: unknown, sets: readonly string[], runsDir: string, alpha: number, source?: string): RunConfig[] {
  const runs: [string, number][] = [["baseline", 0], [`jreg-a${alpha}`, alpha]];
  return runs.map(([name, a]) =>
    resolveRunConfig(file, [...sets, `name=${name}`, `out=${runsDir}/${name}`, `jreg.alpha=${a}`], { source }),
  );
}

type Plan = "new" | "resume" | "complete";

async function planFor(cfg: RunConfig, fresh: boolean): Promise<Plan> {
  if (fresh || !(await fileStorage.exists(`${cfg.out}/${RUN_CONFIG_FILE}`))) return "new";
  const run = await openRunDir(cfg.out);
  let stored: unknown;
  try {
    stored = resolveRunConfig(run.config, [], { source: run.configPath });
  } catch (e) {
    throw new Error(`${(e as Error).message}; rerun with --fresh to start ${cfg.out} over`);
  }
  const diff = firstDifference(stored, cfg);
  if (diff !== null) {
    throw new Error(`${cfg.out} holds a run with another config (${diff} differs); rerun with --fresh to start it over, or choose another --runs`);
  }
  return (await savedStep(cfg.out)) === cfg.steps ? "complete" : "resume";
}

export const startCommand = defineCommand(
  {
    name: "start",
    summary: "the default experiment (npm start): baseline vs JREG α = 3 on Brown, report.html and a comparison table",
    description:
      "Trains two runs of the run config (the built-in defaults, then --config, then each --set) with the same seed,\n" +
      "init and data order: RUNS/baseline (jreg.alpha = 0) and RUNS/jreg-a<α> (jreg.alpha = --alpha); then writes\n" +
      "RUNS/report.html and prints the comparison table. Rerunning it trains nothing that is complete (it re-renders\n" +
      "the report) and resumes what is not; --fresh starts both runs over. Ctrl-C saves a checkpoint; rerun to continue.\n" +
      "--config and --set change both runs; name, out and jreg.alpha are the pair's own (use --runs and --alpha).",
    flags: {
      ...RUN_CONFIG_FLAGS,
      runs: { type: "string", default: "runs", metavar: "DIR", help: "where the two run directories and report.html go" },
      alpha: { type: "number", default: DEFAULT_JREG_ALPHA, min: 0, minExclusive: true, metavar: "A", help: "JREG weight of the second run" },
      fresh: { type: "boolean", help: "replace existing runs instead of resuming or reusing them" },
    },
  },
  async ({ values: v }, { out }) => {
    checkUserSets(v.set, [
      { key: "name", use: "--runs (the runs are baseline and jreg-aA)" },
      { key: "out", use: "--runs" },
      { key: "jreg.alpha", use: "--alpha" },
    ]);
    const file = v.config === undefined ? undefined : await readRunConfigFile(v.config);
    const pair = defaultPair(file, v.set, v.runs.replace(/[\\/]+$/, ""), v.alpha, v.config);
    const plans: Plan[] = [];
    for (const cfg of pair) plans.push(await planFor(cfg, v.fresh)); // every check before any training
    const note = (s: string) => createProgress({ total: 1 }).log(s);
    for (let i = 0; i < pair.length; i++) {
      const cfg = pair[i]!;
      if (plans[i] === "complete") {
        note(`${cfg.name}: ${cfg.out} is complete (step ${cfg.steps}); not training it again (--fresh starts over)`);
        continue;
      }
      const result = await trainWithProgress(cfg, { resume: plans[i] === "resume", overwrite: v.fresh });
      if (result.interrupted) {
        note(`rerun "jreg start" (npm start) to continue both runs where they stopped`);
        return INTERRUPTED_EXIT;
      }
      note(summaryLine(cfg, result));
    }
    const reportPath = `${v.runs.replace(/[\\/]+$/, "")}/report.html`;
    const { runs } = await writeReport(pair.map((c) => c.out), reportPath, { title: "JREG default run: baseline vs JREG" });
    out(comparisonTable(runs));
    out(`\nreport: ${reportPath}`);
    return 0;
  },
  async () => runConfigHelp(),
);
