// `jreg sweep --config base.json --grid jreg.alpha=0,0.1,0.3 [--grid …] --seeds 3
// --out SWEEP_DIR [--jobs N]`: every setting × seed as a run directory, resumable,
// then the aggregate table (host/research/sweep.ts).
import { readRunConfigFile } from "../train/run-config.ts";
import { DEFAULT_SWEEP_GRID } from "../research/sweep-grid.ts";
import { runSweep, SWEEP_FILE, SWEEP_TABLE_FILE } from "../research/sweep.ts";
import { sweepTable } from "../research/sweep-aggregate.ts";
import { describeStorageError, fileStorage } from "../run/storage.ts";
import { UsageError } from "./args.ts";
import { defineCommand } from "./command.ts";
import { createProgress } from "./progress.ts";

export const sweepCommand = defineCommand(
  {
    name: "sweep",
    summary: "α sweeps with seeds: every grid setting × seed as a run, then mean ± sd and paired tests vs α = 0",
    description:
      "Each --grid KEY=V1,V2,… (a run-config key, values as in --set; arrays allowed: jreg.layers=[0,1,1],all) adds an\n" +
      "axis; every combination × seed (seeds: the config's seed, +1, …) is a run directory SWEEP_DIR/<setting>-seed<N>.\n" +
      "Settings that train identically are merged (at jreg.alpha = 0 the other jreg options change nothing).\n" +
      "Rerunning the same command resumes: complete runs are skipped, incomplete ones resumed from their newest\n" +
      "checkpoint. --jobs N runs N `jreg train` child processes (logs in SWEEP_DIR/logs). Then SWEEP_DIR/sweep.json and\n" +
      "sweep.txt: per setting, mean ± sd over seeds of the final val CE, early-exit CE per layer and J; against the α = 0\n" +
      "setting, a paired t-test over seeds (same seed = same init and data order) and a paired bootstrap over the\n" +
      "validation windows (10,000 resamples, seeded), with 95 % CIs and p-values. `jreg report SWEEP_DIR` shows it.\n" +
      `Default grid: ${DEFAULT_SWEEP_GRID.map((g) => `--grid ${g}`).join(" ")} (small α: at this scale α = 3 collapses R).`,
    flags: {
      config: { type: "string", metavar: "FILE.json", defaultText: "the built-in run defaults", help: "base run config" },
      grid: { type: "repeated", metavar: "KEY=V1,V2,…", defaultText: "the default grid above", help: "one axis of the grid (repeatable)" },
      seeds: { type: "integer", min: 1, default: 3, metavar: "N", help: "seeds per setting" },
      out: { type: "string", required: true, metavar: "SWEEP_DIR", help: "where the runs and the aggregate go" },
      jobs: { type: "integer", min: 1, default: 1, metavar: "N", help: "parallel runs (child processes); 1 = one after another in this process" },
    },
  },
  async ({ values: v }, { out }) => {
    if (v.out === "") throw new UsageError("--out must not be empty");
    const existing = await fileStorage.stat(v.out);
    if (existing && !existing.isDirectory) throw new Error(`--out ${v.out} is a file, not a directory`);
    await fileStorage.mkdir(v.out).catch((e) => {
      throw new Error(`cannot create --out ${v.out}: ${describeStorageError(e)}`);
    });
    const base = v.config === undefined ? undefined : await readRunConfigFile(v.config);
    const grid = v.grid.length > 0 ? v.grid : DEFAULT_SWEEP_GRID;
    const say = (line: string) => createProgress({ total: 1 }).log(`sweep: ${line}`);
    const result = await runSweep({ base, baseSource: v.config, grid, seeds: v.seeds, out: v.out, jobs: v.jobs, cliScript: process.argv[1], log: say });
    out(sweepTable(result.aggregate));
    out(`\n${result.runs.length} runs (${result.skipped.length} already complete, ${result.resumed.length} resumed, ${result.started.length} new); wrote ${v.out}/${SWEEP_FILE} and ${v.out}/${SWEEP_TABLE_FILE}`);
    return 0;
  },
);
