// Small file helpers over node:fs/promises. The module is imported lazily inside
// each function so that this file (and everything that imports it) still loads in
// a browser; Node and Deno both provide node:fs/promises.

import { describeStorageError, removeStaleTemps } from "../run/storage.ts";

type Fs = typeof import("node:fs/promises");

let fsModule: Promise<Fs> | undefined;
function fs(): Promise<Fs> {
  fsModule ??= import("node:fs/promises");
  return fsModule;
}

export async function readBytes(path: string): Promise<Uint8Array> {
  const buf = await (await fs()).readFile(path);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export async function readText(path: string): Promise<string> {
  return (await fs()).readFile(path, "utf8");
}

/** Plain words for the file-system errors a user can act on. */
const PLAIN_READ_CAUSES: Record<string, string> = {
  ENOENT: "it does not exist",
  ENOTDIR: "a part of the path is a file, not a directory",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EISDIR: "it is a directory, not a file",
  ELOOP: "too many levels of symbolic links",
  EMFILE: "too many files are open",
  ENAMETOOLONG: "the name is too long",
  EIO: "an input/output error occurred",
};

/** "permission denied (EACCES)", or the system's message for anything else. */
export function describeFileError(e: unknown): string {
  const err = e as { code?: string; message?: string };
  const plain = err?.code ? PLAIN_READ_CAUSES[err.code] : undefined;
  return plain ? `${plain} (${err.code})` : (err?.message ?? String(e));
}

/**
 * The largest text file read whole into one string: V8's longest string is
 * 2^29 − 24 characters, and a UTF-8 file has at least as many bytes as characters.
 */
export const MAX_TEXT_BYTES = 2 ** 29 - 24;

const OURS = Symbol("readBoundedFile refusal");

/**
 * Reads a whole regular file of at most `maxBytes`. The size is checked before
 * anything is allocated, and the read stops at the size the file had then, so
 * a directory, a device (/dev/zero), a FIFO or a file that grows without end is
 * refused instead of filling memory. Errors come from `error(message)` with
 * `where` ("--tokens ids.json") in front.
 */
export async function readBoundedFile(path: string, maxBytes: number, where: string, error: (msg: string) => Error = (m) => new Error(m)): Promise<Uint8Array> {
  const f = await fs();
  let handle;
  try {
    handle = await f.open(path, "r");
  } catch (e) {
    throw error(`cannot read ${where}: ${describeFileError(e)}`);
  }
  const refuse = (why: string): never => {
    throw Object.assign(error(`cannot read ${where}: ${why}`), { [OURS]: true });
  };
  try {
    const info = await handle.stat();
    if (info.isDirectory()) refuse("it is a directory, not a file");
    if (!info.isFile()) refuse("it is not a regular file (a device, pipe or socket)");
    if (info.size > maxBytes) refuse(`it is ${info.size} bytes, more than the ${maxBytes} bytes this reader accepts`);
    const out = new Uint8Array(info.size);
    let done = 0;
    while (done < out.length) {
      const { bytesRead } = await handle.read(out, done, out.length - done, done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return out.subarray(0, done);
  } catch (e) {
    if ((e as Record<symbol, unknown>)?.[OURS]) throw e;
    throw error(`cannot read ${where}: ${describeFileError(e)}`);
  } finally {
    await handle.close();
  }
}

/** `dir/name`, without doubling a trailing separator. */
export function joinPath(dir: string, name: string): string {
  return dir.endsWith("/") || dir.endsWith("\\") ? dir + name : `${dir}/${name}`;
}

/** True if something exists at `path` (file or directory). */
export async function fileExists(path: string): Promise<boolean> {
  try {
    await (await fs()).stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why writing the file `path` failed, in words that say what to change:
 * "PATH is a directory; give a file name", "its directory DIR does not exist",
 * else the plain cause ("the disk is full (ENOSPC)"). The system's own message
 * would name the temporary file, which the user never asked for.
 */
export async function describeOutputError(e: unknown, path: string): Promise<string> {
  const code = (e as { code?: string } | undefined)?.code;
  if (code === "EISDIR" || code === "EEXIST" || code === "ENOTDIR") {
    // "DIR/" fails as ENOTDIR (a rename onto a name with a trailing slash).
    const info = await (await fs()).stat(path).catch(() => undefined);
    if (info?.isDirectory()) return `${path} is a directory; give a file name`;
  }
  if (code === "ENOENT") return `its directory ${splitPath(path).dir} does not exist`;
  return describeStorageError(e);
}

let tempCounter = 0;

function splitPath(path: string): { dir: string; base: string } {
  const slash = Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\"));
  return { dir: slash >= 0 ? path.slice(0, slash) || "/" : ".", base: path.slice(slash + 1) };
}

/** Temporary files are hidden and end in .tmp: `.NAME.RANDOM.N.tmp` next to the target. */
function tempPathFor(path: string): string {
  const { dir, base } = splitPath(path);
  const rand = Math.floor(Math.random() * 0x100000000).toString(16);
  return `${dir}/.${base}.${rand}.${tempCounter++}.tmp`;
}

/**
 * Writes `data` so that `path` holds either its previous content or the new
 * content in full, never a mix. See writeFilesAtomic.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  await writeFilesAtomic([{ path, data }]);
}

/**
 * Writes several files, each atomically: first every file's bytes go to a
 * temporary file in the target's directory (a rename across file systems is not
 * atomic) and are fsync'd; only when all are on disk are they renamed over
 * their targets, in the given order. A failure while writing (disk full, I/O
 * error, a crash) leaves every target untouched and removes the temporary
 * files. The renames are atomic one by one; put the file that others depend on
 * last (e.g. weights before the config that describes them).
 */
export async function writeFilesAtomic(files: { path: string; data: Uint8Array | string }[]): Promise<void> {
  const f = await fs();
  for (const { path } of files) await removeStaleTemps(path);
  const temps: string[] = [];
  let renamed = 0;
  try {
    for (const { path, data } of files) {
      const temp = tempPathFor(path);
      const handle = await f.open(temp, "wx");
      temps.push(temp);
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    for (; renamed < files.length; renamed++) await f.rename(temps[renamed], files[renamed].path);
  } catch (e) {
    for (const temp of temps.slice(renamed)) await f.rm(temp, { force: true }).catch(() => {});
    throw e;
  }
  // Make the renames durable. Not every platform can open a directory (Windows
  // cannot), so this is best effort.
  for (const dir of new Set(files.map((x) => splitPath(x.path).dir))) {
    try {
      const d = await f.open(dir, "r");
      try {
        await d.sync();
      } finally {
        await d.close();
      }
    } catch {
      /* directory fsync unsupported */
    }
  }
}

/** A file written piece by piece that appears at its path only when complete. */
export interface AtomicWriter {
  write(data: Uint8Array | string): Promise<void>;
  /** fsync, rename into place, fsync the directory. */
  commit(): Promise<void>;
  /** Removes the temporary file; safe to call after a failed write or commit. */
  abort(): Promise<void>;
}

/**
 * Opens a hidden temporary file beside `path` (.NAME.RANDOM.N.tmp) for a
 * streamed write; commit() makes it `path` all at once, abort() leaves `path`
 * as it was and no temporary file behind.
 */
export async function openAtomicWriter(path: string): Promise<AtomicWriter> {
  const f = await fs();
  await removeStaleTemps(path);
  const temp = tempPathFor(path);
  const handle = await f.open(temp, "wx");
  let open = true;
  const close = async () => {
    if (open) {
      open = false;
      await handle.close();
    }
  };
  return {
    write: async (data) => {
      if (typeof data === "string") await handle.write(data);
      else await handle.write(data);
    },
    commit: async () => {
      await handle.sync();
      await close();
      await f.rename(temp, path);
      const dir = splitPath(path).dir;
      try {
        const d = await f.open(dir, "r");
        try {
          await d.sync();
        } finally {
          await d.close();
        }
      } catch {
        /* directory fsync unsupported */
      }
    },
    abort: async () => {
      await close().catch(() => {});
      await f.rm(temp, { force: true }).catch(() => {});
    },
  };
}
