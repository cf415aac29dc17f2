// RUN_DIR/checkpoint-<step>/ directories, complete or absent.
//
// The write itself is run/directory-swap.ts's writeDirectory: every file of a checkpoint is written and fsync'd inside a hidden temporary
// sibling, RUN_DIR/.tmp-checkpoint-<step>-<random>/; the directory is fsync'd and
// then renamed to checkpoint-<step> in one step, and RUN_DIR is fsync'd. A crash
// at any moment leaves either the whole new checkpoint or none of it; temporary
// directories left by a crash are ignored and removed by the next
// latestCheckpoint / writeCheckpoint. A checkpoint is complete iff its directory
// has its final name and holds trainer_state.json (the rename is what makes a
// name final, so the check only guards against directories made by hand).
//
// Rewriting an existing step (e.g. a Ctrl-C save at a step that was already
// saved) moves the old directory to .old-checkpoint-<step>-<random> first; if a
// crash strikes between the two renames, latestCheckpoint renames it back.
import { DirectoryWriteError, writeDirectory } from "./directory-swap.ts";
import { describeStorageError, joinPath, randomSuffix, type Storage } from "./storage.ts";

export const TRAINER_STATE_FILE = "trainer_state.json";
const FINAL = /^checkpoint-(\d+)$/;
const TEMP = /^\.tmp-checkpoint-\d+-[0-9a-f]+$/;
const OLD = /^\.old-checkpoint-(\d+)-[0-9a-f]+$/;
/** A pruned checkpoint on its way out: renamed first, so a kill mid-delete never leaves a partial checkpoint-<step>. */
const TRASH = /^\.trash-checkpoint-\d+-[0-9a-f]+$/;

export interface CheckpointInfo {
  step: number;
  /** RUN_DIR/checkpoint-<step> */
  path: string;
}

export class CheckpointWriteError extends Error {
  override name = "CheckpointWriteError";
}

export function checkpointName(step: number): string {
  return `checkpoint-${step}`;
}

function checkStep(step: number): void {
  if (!Number.isSafeInteger(step) || step < 0) throw new RangeError(`checkpoint: step must be an integer ≥ 0, got ${step}`);
}

/** Complete checkpoints of a run, oldest first. */
export async function listCheckpoints(storage: Storage, runDir: string): Promise<CheckpointInfo[]> {
  if (!(await storage.exists(runDir))) return [];
  const found: CheckpointInfo[] = [];
  for (const name of await storage.list(runDir)) {
    const m = FINAL.exec(name);
    // checkpoint-99999999999999999999 was not written by this engine (steps are safe integers).
    if (!m || !Number.isSafeInteger(Number(m[1]))) continue;
    const path = joinPath(runDir, name);
    if (await storage.exists(joinPath(path, TRAINER_STATE_FILE))) found.push({ step: Number(m[1]), path });
  }
  return found.sort((a, b) => a.step - b.step);
}

/**
 * Removes what interrupted writes left behind: temporary directories, and old
 * copies whose replacement was renamed in (an old copy whose replacement never
 * arrived is renamed back).
 */
export async function cleanInterruptedWrites(storage: Storage, runDir: string): Promise<void> {
  if (!(await storage.exists(runDir))) return;
  for (const name of await storage.list(runDir)) {
    const path = joinPath(runDir, name);
    if (TEMP.test(name) || TRASH.test(name)) {
      await storage.remove(path);
      continue;
    }
    const old = OLD.exec(name);
    if (old) {
      const final = joinPath(runDir, checkpointName(Number(old[1])));
      if (await storage.exists(joinPath(final, TRAINER_STATE_FILE))) await storage.remove(path);
      else {
        await storage.remove(final);
        await storage.rename(path, final);
      }
    }
  }
}

/** The newest complete checkpoint, or null; cleans up after interrupted writes first. */
export async function latestCheckpoint(storage: Storage, runDir: string): Promise<CheckpointInfo | null> {
  await cleanInterruptedWrites(storage, runDir);
  const all = await listCheckpoints(storage, runDir);
  return all.length ? all[all.length - 1]! : null;
}

/**
 * Keeps the newest `keep` complete checkpoints (by step) and removes the others.
 * Each goes by an atomic rename to a hidden .trash- name first: deleting a
 * directory is not atomic, and a kill in the middle must not leave a
 * checkpoint-<step> that still holds trainer_state.json but lost its weights.
 */
export async function pruneCheckpoints(storage: Storage, runDir: string, keep: number): Promise<CheckpointInfo[]> {
  if (!Number.isInteger(keep) || keep < 1) throw new RangeError(`keepCheckpoints must be an integer ≥ 1, got ${keep}`);
  const all = await listCheckpoints(storage, runDir);
  const removed = all.slice(0, Math.max(0, all.length - keep));
  for (const c of removed) {
    const trash = joinPath(runDir, `.trash-${checkpointName(c.step)}-${randomSuffix()}`);
    await storage.rename(c.path, trash);
    await storage.remove(trash);
  }
  return removed;
}

export interface WriteCheckpointOptions {
  /** After the write, keep only this many checkpoints (default: keep all). */
  keepCheckpoints?: number;
}

/**
 * Writes RUN_DIR/checkpoint-<step>/ with the given files (name → contents; it
 * must include trainer_state.json, which marks the checkpoint complete).
 * On a write error the previous checkpoints are untouched, the temporary
 * directory is removed, and a CheckpointWriteError names the path and the cause.
 */
export async function writeCheckpoint(
  storage: Storage,
  runDir: string,
  step: number,
  files: Record<string, Uint8Array | string>,
  options: WriteCheckpointOptions = {},
): Promise<CheckpointInfo> {
  checkStep(step);
  if (!(TRAINER_STATE_FILE in files)) throw new Error(`checkpoint: the files must include ${TRAINER_STATE_FILE}`);
  for (const name of Object.keys(files)) {
    if (!name || name.includes("/") || name.includes("\\") || name.startsWith(".")) throw new Error(`checkpoint: bad file name ${JSON.stringify(name)}`);
  }
  await cleanInterruptedWrites(storage, runDir);
  const final = joinPath(runDir, checkpointName(step));
  try {
    await writeDirectory(storage, final, new Map(Object.entries(files)), TRAINER_STATE_FILE);
  } catch (e) {
    const previous = await listCheckpoints(storage, runDir).catch(() => []);
    const last = previous[previous.length - 1];
    const cause = e instanceof DirectoryWriteError ? e.message : `writing ${final} failed: ${describeStorageError(e)}`;
    throw new CheckpointWriteError(
      `could not save ${checkpointName(step)}: ${cause}. ` + (last ? `The previous checkpoint ${last.path} is intact.` : "No earlier checkpoint exists."),
    );
  }
  if (options.keepCheckpoints !== undefined) await pruneCheckpoints(storage, runDir, options.keepCheckpoints);
  return { step, path: final };
}
