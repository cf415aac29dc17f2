// The run directory, in the Hugging Face Trainer layout:
//   RUN_DIR/config.json          the resolved run config
//   RUN_DIR/metrics.jsonl        one JSON object per logged step (run/metrics.ts)
//   RUN_DIR/checkpoint-<step>/   complete or absent (run/checkpoint-dir.ts)
// A new run refuses a directory that already has files in it, unless asked to
// replace a previous run there; --resume opens an existing one instead.
import { latestCheckpoint, type CheckpointInfo } from "./checkpoint-dir.ts";
import { describeStorageError, fileStorage, joinPath, parentDir, readTextChecked, type Storage } from "./storage.ts";

export const RUN_CONFIG_FILE = "config.json";
export const METRICS_FILE = "metrics.jsonl";

/** A run config is a few kilobytes; a bigger file is not one. */
const MAX_RUN_CONFIG_BYTES = 16 * 1024 * 1024;

export class RunDirError extends Error {
  override name = "RunDirError";
}

export interface RunDir {
  dir: string;
  configPath: string;
  metricsPath: string;
  storage: Storage;
}

export interface OpenedRunDir extends RunDir {
  /** The parsed RUN_DIR/config.json. */
  config: Record<string, unknown>;
  /** The newest complete checkpoint, or null when none was saved yet. */
  latest: CheckpointInfo | null;
}

function runDir(dir: string, storage: Storage): RunDir {
  return { dir, configPath: joinPath(dir, RUN_CONFIG_FILE), metricsPath: joinPath(dir, METRICS_FILE), storage };
}

/** Where a run's tokenizers and shards are cached by default: RUN_DIR/../.cache (e.g. runs/.cache). */
export function defaultCacheDir(dir: string): string {
  return joinPath(parentDir(dir), ".cache");
}

export function runConfigText(config: object): string {
  return JSON.stringify(config, null, 2) + "\n";
}

export interface CreateRunDirOptions {
  /** Replace a previous run in `dir` (a directory holding config.json). Default false. */
  overwrite?: boolean;
  storage?: Storage;
}

/** Creates RUN_DIR (and its parents) and writes config.json. */
export async function createRunDir(dir: string, config: object, options: CreateRunDirOptions = {}): Promise<RunDir> {
  const storage = options.storage ?? fileStorage;
  const run = runDir(dir, storage);
  const info = await storage.stat(dir);
  if (info && !info.isDirectory) throw new RunDirError(`run directory ${dir} is a file; choose another --out`);
  if (info) {
    const entries = await storage.list(dir);
    if (entries.length > 0) {
      const isRun = entries.includes(RUN_CONFIG_FILE);
      if (!options.overwrite || !isRun) {
        const shown = entries.slice(0, 3).join(", ") + (entries.length > 3 ? ", …" : "");
        throw new RunDirError(
          isRun
            ? `run directory ${dir} already holds a run (${shown}); continue it with --resume ${dir}, or choose another --out`
            : `run directory ${dir} is not empty (${shown}) and holds no run; choose another --out`,
        );
      }
      await storage.remove(dir);
    }
  }
  try {
    await storage.mkdir(dir);
    await storage.writeAtomic(run.configPath, runConfigText(config));
    await storage.fsyncDir(parentDir(dir));
  } catch (e) {
    throw new RunDirError(`could not create the run directory ${dir}: ${describeStorageError(e)}`);
  }
  return run;
}

/** Opens an existing run for --resume: reads config.json and finds the newest complete checkpoint. */
export async function openRunDir(dir: string, storage: Storage = fileStorage): Promise<OpenedRunDir> {
  const run = runDir(dir, storage);
  const info = await storage.stat(dir);
  if (!info) throw new RunDirError(`cannot resume: run directory ${dir} does not exist`);
  if (!info.isDirectory) throw new RunDirError(`cannot resume: ${dir} is a file, not a run directory`);
  if (!(await storage.exists(run.configPath))) throw new RunDirError(`cannot resume: ${dir} has no ${RUN_CONFIG_FILE}, so it is not a run directory`);
  const text = await readTextChecked(storage, run.configPath, MAX_RUN_CONFIG_BYTES, (why) => new RunDirError(`cannot resume: cannot read ${run.configPath}: ${why}`));
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (e) {
    throw new RunDirError(`cannot resume: ${run.configPath} is not valid JSON (${(e as Error).message})`);
  }
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new RunDirError(`cannot resume: ${run.configPath} must hold a JSON object`);
  }
  const latest = await latestCheckpoint(storage, dir);
  return { ...run, config: config as Record<string, unknown>, latest };
}
