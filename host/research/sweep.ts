// `jreg sweep`: every grid setting × seed as a normal run directory
// (SWEEP_DIR/<setting>-seed<N>/, written by runTraining), one after another or
// as N child processes (`jreg train`), resumable: a complete run is skipped, an
// incomplete one resumed from its newest checkpoint. Then, for every complete
// run, the per-window validation CE of its final checkpoint (val-windows.json:
// the paired bootstrap's units), and the aggregate (sweep-aggregate.ts) in
// SWEEP_DIR/sweep.json and sweep.txt.
//
// Pairing: seed s is the same seed in every setting, so two runs of one seed
// start from the same weights and see the same batches in the same order
// (BatchSampler is seeded by cfg.seed); the validation windows are the fixed
// subset of the shared data config, the same windows for every run.
import { evaluate } from "../analysis/evaluate.ts";
import { prepareCorpus } from "../data/prepare.ts";
import { createEngine } from "../engine.ts";
import type { TokenBatch } from "../model/batch.ts";
import { openRunDir, RUN_CONFIG_FILE, runConfigText } from "../run/run-dir.ts";
import { fileStorage, joinPath, type Storage } from "../run/storage.ts";
import { readCheckpointFiles } from "../train/job/checkpoint-files.ts";
import { corpusOptionsFor, runTraining, validationSubset } from "../train/job/run-job.ts";
import { resolveRunConfig, type RunConfig } from "../train/run-config.ts";
import { aggregateSweep, sweepTable, type SweepAggregate, type SweepRunResult } from "./sweep-aggregate.ts";
import { expandGrid, parseGridAxis, type SweepSetting } from "./sweep-grid.ts";

export const SWEEP_FILE = "sweep.json";
export const SWEEP_TABLE_FILE = "sweep.txt";
export const WINDOWS_FILE = "val-windows.json";

export interface SweepOptions {
  /** the parsed base run config (--config), or undefined for the defaults */
  base?: unknown;
  baseSource?: string;
  /** --grid KEY=V1,V2,… texts */
  grid: readonly string[];
  seeds: number;
  out: string;
  /** parallel child processes; 1 = in this process, one after another */
  jobs?: number;
  /** the CLI script child processes run (`node SCRIPT train …`); needed for jobs > 1 */
  cliScript?: string;
  storage?: Storage;
  log?: (line: string) => void;
  /** for tests: resamples of the bootstrap (default 10,000) */
  bootstrapResamples?: number;
}

export interface PlannedRun {
  setting: SweepSetting;
  seed: number;
  name: string;
  config: RunConfig;
}

export interface SweepResult {
  runs: PlannedRun[];
  skipped: string[];
  resumed: string[];
  started: string[];
  aggregate: SweepAggregate;
}

/** Every setting × seed as a resolved run config in SWEEP_DIR (seeds base.seed, base.seed + 1, …). */
export function planSweep(opts: Pick<SweepOptions, "base" | "baseSource" | "grid" | "seeds" | "out">): PlannedRun[] {
  const settings = expandGrid(opts.grid.map(parseGridAxis), opts.base, opts.baseSource);
  const seed0 = resolveRunConfig(opts.base, [], { source: opts.baseSource }).seed;
  const runs: PlannedRun[] = [];
  for (const setting of settings) {
    for (let i = 0; i < opts.seeds; i++) {
      const seed = seed0 + i;
      const name = `${setting.name}-seed${seed}`;
      const out = joinPath(opts.out, name);
      const config = resolveRunConfig(opts.base, [...setting.sets, `seed=${seed}`, `name=${name}`, `out=${out}`], { source: opts.baseSource });
      runs.push({ setting, seed, name, config });
    }
  }
  return runs;
}

type RunState = "complete" | "incomplete" | "new";

async function runState(run: PlannedRun, storage: Storage): Promise<RunState> {
  if (!(await storage.exists(joinPath(run.config.out, RUN_CONFIG_FILE)))) return "new";
  const opened = await openRunDir(run.config.out, storage);
  if (JSON.stringify(opened.config) !== JSON.stringify(run.config)) {
    throw new Error(`${opened.configPath} differs from the sweep's config for ${run.name}: another sweep (or a changed --config/--grid) wrote SWEEP_DIR; use a new --out`);
  }
  return opened.latest?.step === run.config.steps ? "complete" : "incomplete";
}

async function runChild(script: string, args: string[], logPath: string): Promise<void> {
  const { spawn } = await import("node:child_process");
  const fs = await import("node:fs");
  const log = fs.openSync(logPath, "a");
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [script, ...args], { stdio: ["ignore", log, log] });
      child.on("error", reject);
      child.on("exit", (code, signal) => {
        if (code === 0) resolve();
        else reject(new Error(`jreg ${args.join(" ")} failed (${signal ?? `exit ${code}`}); see ${logPath}`));
      });
    });
  } finally {
    fs.closeSync(log);
  }
}

/** The CE of each validation window (one row = one window) of the run's final checkpoint. */
export async function windowCes(cfg: RunConfig, storage: Storage = fileStorage): Promise<number[]> {
  const opened = await openRunDir(cfg.out, storage);
  if (!opened.latest || opened.latest.step !== cfg.steps) throw new Error(`${cfg.out} is not complete`);
  const decoded = await readCheckpointFiles(storage, opened.latest.path);
  const prepared = await prepareCorpus(corpusOptionsFor(cfg, storage));
  const engine = await createEngine({ backend: cfg.backend, threads: cfg.threads || undefined });
  try {
    const model = engine.loadModel(decoded.checkpoint);
    const out: number[] = [];
    for (const b of validationSubset(prepared, cfg)) {
      for (let r = 0; r < b.batch; r++) {
        const row: TokenBatch = { batch: 1, length: b.length, ids: b.ids.slice(r * b.length, (r + 1) * b.length) };
        out.push((await evaluate(model, row)).ce);
      }
    }
    return out;
  } finally {
    await engine.dispose();
  }
}

async function readWindows(run: PlannedRun, storage: Storage): Promise<number[]> {
  const path = joinPath(run.config.out, WINDOWS_FILE);
  if (await storage.exists(path)) {
    const w = JSON.parse(await storage.readText(path)) as { step?: number; window_ce?: number[] };
    if (w.step === run.config.steps && Array.isArray(w.window_ce)) return w.window_ce;
  }
  const window_ce = await windowCes(run.config, storage);
  await storage.writeAtomic(path, JSON.stringify({ step: run.config.steps, window_ce }) + "\n");
  return window_ce;
}

export async function runSweep(opts: SweepOptions): Promise<SweepResult> {
  const storage = opts.storage ?? fileStorage;
  const log = opts.log ?? (() => {});
  const jobs = opts.jobs ?? 1;
  const runs = planSweep(opts);
  await storage.mkdir(opts.out);
  const states = new Map<string, RunState>();
  for (const r of runs) states.set(r.name, await runState(r, storage));
  const skipped = runs.filter((r) => states.get(r.name) === "complete").map((r) => r.name);
  const todo = runs.filter((r) => states.get(r.name) !== "complete");
  log(`sweep ${opts.out}: ${runs.length} runs (${new Set(runs.map((r) => r.setting.name)).size} settings × ${opts.seeds} seeds); ${skipped.length} complete, ${todo.length} to run`);

  const resumed: string[] = [];
  const started: string[] = [];
  const runOne = async (r: PlannedRun) => {
    const resume = states.get(r.name) === "incomplete";
    (resume ? resumed : started).push(r.name);
    log(`${resume ? "resuming" : "starting"} ${r.name} (${r.setting.label}, seed ${r.seed})`);
    if (jobs <= 1) {
      const res = await runTraining(r.config, { resume, storage });
      if (!res.complete) throw new Error(`${r.name} stopped at step ${res.step} of ${r.config.steps}`);
    } else {
      if (!opts.cliScript) throw new Error("--jobs > 1 needs the jreg CLI script to start child processes");
      const logs = joinPath(opts.out, "logs");
      await storage.mkdir(logs);
      let args: string[];
      if (resume) {
        args = ["train", "--resume", r.config.out];
      } else {
        const configs = joinPath(opts.out, "configs");
        await storage.mkdir(configs);
        const file = joinPath(configs, `${r.name}.json`);
        await storage.writeAtomic(file, runConfigText(r.config));
        args = ["train", "--config", file];
      }
      await runChild(opts.cliScript, args, joinPath(logs, `${r.name}.log`));
    }
    log(`done ${r.name}`);
  };

  if (todo.length > 0 && jobs > 1) {
    // Prepare the shared corpus cache once, so the children only read it.
    await prepareCorpus(corpusOptionsFor(todo[0]!.config, storage));
    const queue = [...todo];
    const worker = async () => {
      for (let r = queue.shift(); r; r = queue.shift()) await runOne(r);
    };
    await Promise.all(Array.from({ length: Math.min(jobs, todo.length) }, worker));
  } else {
    for (const r of todo) await runOne(r);
  }

  const { loadRun } = await import("../report/load.ts");
  const results: SweepRunResult[] = [];
  for (const r of runs) {
    const data = await loadRun(r.config.out);
    results.push({ name: r.name, setting: r.setting, seed: r.seed, config: r.config, data, windowCe: await readWindows(r, storage) });
  }
  const aggregate = aggregateSweep(results, { resamples: opts.bootstrapResamples });
  await storage.writeAtomic(joinPath(opts.out, SWEEP_FILE), JSON.stringify(aggregate, null, 2) + "\n");
  await storage.writeAtomic(joinPath(opts.out, SWEEP_TABLE_FILE), sweepTable(aggregate) + "\n");
  return { runs, skipped, resumed, started, aggregate };
}
