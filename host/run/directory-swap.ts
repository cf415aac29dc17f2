// Writing a whole directory complete-or-absent, the one mechanism behind both
// RUN_DIR/checkpoint-<step>/ (run/checkpoint-dir.ts) and the Hugging Face
// checkpoint directories of `jreg init --out` / `jreg step --out`
// (io/checkpoint.ts).
//
//   1. every file goes, fsync'd, into a hidden sibling PARENT/.tmp-<name>-<hex>/
//      (the marker file last), and that directory is fsync'd;
//   2. if PARENT/<name> exists it is renamed to PARENT/.old-<name>-<hex>;
//   3. the temporary directory is renamed to PARENT/<name>; PARENT is fsync'd;
//   4. the old copy is removed.
// A crash at any moment leaves the previous directory or the new one under the
// final name, except between 2 and 3, where only the old copy exists;
// recoverDirectory renames it back. recoverDirectory also removes temporary
// directories and old copies whose replacement arrived.
import { baseName, describeStorageError, joinPath, parentDir, randomSuffix, type Storage } from "./storage.ts";

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

export function tempDirPattern(name: string): RegExp {
  return new RegExp(`^\\.tmp-${escape(name)}-[0-9a-f]+$`);
}

export function oldDirPattern(name: string): RegExp {
  return new RegExp(`^\\.old-${escape(name)}-[0-9a-f]+$`);
}

/** A failed directory write: which path failed and why, in plain words. */
export class DirectoryWriteError extends Error {
  override name = "DirectoryWriteError";
  constructor(
    readonly path: string,
    readonly reason: unknown,
  ) {
    super(`writing ${path} failed: ${describeStorageError(reason)}`);
  }
}

/**
 * Undoes what an interrupted writeDirectory left beside `final`: temporary
 * directories are removed; an old copy is renamed back when `final` is missing
 * or incomplete (`isComplete`), else removed.
 */
export async function recoverDirectory(storage: Storage, final: string, isComplete: (dir: string) => Promise<boolean>): Promise<void> {
  const parent = parentDir(final);
  const name = baseName(final);
  if (!(await storage.exists(parent))) return;
  const temp = tempDirPattern(name);
  const old = oldDirPattern(name);
  for (const entry of await storage.list(parent)) {
    const path = joinPath(parent, entry);
    if (temp.test(entry)) await storage.remove(path);
    else if (old.test(entry)) {
      if (await isComplete(final)) await storage.remove(path);
      else {
        await storage.remove(final);
        await storage.rename(path, final);
      }
    }
  }
}

/**
 * Writes `files` (name → contents, plain names) as the directory `final`,
 * replacing what was there as a whole. `marker` is written last (a checkpoint's
 * config.json or trainer_state.json). On failure the temporary directory is
 * removed, `final` is as before, and a DirectoryWriteError names the path.
 */
export async function writeDirectory(
  storage: Storage,
  final: string,
  files: ReadonlyMap<string, Uint8Array | string>,
  marker: string,
): Promise<void> {
  for (const name of files.keys()) {
    if (!name || name.includes("/") || name.includes("\\") || name === "." || name === "..") throw new Error(`directory write: bad file name ${JSON.stringify(name)}`);
  }
  if (!files.has(marker)) throw new Error(`directory write: the files must include ${marker}`);
  const parent = parentDir(final);
  const temp = joinPath(parent, `.tmp-${baseName(final)}-${randomSuffix()}`);
  let current = temp;
  let old: string | undefined;
  try {
    await storage.mkdir(temp);
    const names = [...files.keys()].sort((a, b) => Number(a === marker) - Number(b === marker));
    for (const name of names) {
      current = joinPath(temp, name);
      await storage.writeDurable(current, files.get(name)!);
    }
    current = temp;
    await storage.fsyncDir(temp);
    current = final;
    if (await storage.exists(final)) {
      old = joinPath(parent, `.old-${baseName(final)}-${randomSuffix()}`);
      await storage.rename(final, old);
      await storage.rename(temp, final);
      await storage.fsyncDir(parent);
      await storage.remove(old);
    } else {
      await storage.rename(temp, final);
    }
    current = parent;
    await storage.fsyncDir(parent);
  } catch (e) {
    await storage.remove(temp).catch(() => {});
    // The old copy was moved aside but the new one never arrived: put it back.
    if (old !== undefined && !(await storage.exists(final).catch(() => true))) await storage.rename(old, final).catch(() => {});
    throw new DirectoryWriteError(current, e);
  }
}
