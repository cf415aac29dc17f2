// Where runs, checkpoints, caches and shards are stored. Everything in host/run
// and host/data goes through this interface, so that another backing store can
// replace the file system: browser storage (OPFS) comes later and will implement
// the same interface. The file-system implementation uses node:fs/promises,
// which Node and Deno both provide; it is imported lazily so that importing this
// module still works in a browser.

export interface StorageEntryInfo {
  size: number;
  isDirectory: boolean;
  /** False for what is neither a plain file nor a directory (a device such as /dev/zero, a pipe); absent where a store cannot tell. */
  isFile?: boolean;
}

/**
 * Reads a text file that a reader is about to parse whole, after checking that
 * it is a plain file of at most `maxBytes` (so a directory, /dev/zero or a
 * runaway file is refused instead of filling memory). `fail` builds the error.
 */
export async function readTextChecked(storage: Storage, path: string, maxBytes: number, fail: (why: string) => Error): Promise<string> {
  let info: StorageEntryInfo | null;
  try {
    info = await storage.stat(path);
  } catch (e) {
    throw fail(describeStorageError(e));
  }
  if (!info) throw fail("it does not exist");
  if (info.isDirectory) throw fail("it is a directory, not a file");
  if (info.isFile === false) throw fail("it is not a regular file (a device, pipe or socket)");
  if (info.size > maxBytes) throw fail(`it is ${info.size} bytes, more than the ${maxBytes} bytes this reader accepts`);
  try {
    return await storage.readText(path);
  } catch (e) {
    throw fail(describeStorageError(e));
  }
}

/** An open file that is appended to (the metrics log). */
export interface AppendHandle {
  append(data: Uint8Array | string): Promise<void>;
  /** Makes everything appended so far durable (fsync). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface Storage {
  readText(path: string): Promise<string>;
  readBytes(path: string): Promise<Uint8Array>;
  /** `length` bytes from `offset` (fewer at the end of the file). */
  readRange(path: string, offset: number, length: number): Promise<Uint8Array>;
  /** Size and kind of the entry at `path`, or null if nothing is there. */
  stat(path: string): Promise<StorageEntryInfo | null>;
  exists(path: string): Promise<boolean>;
  /** Names (not paths) of the entries of a directory, sorted. */
  list(dir: string): Promise<string[]>;
  /** Creates a directory and its missing parents; no error if it exists. */
  mkdir(dir: string): Promise<void>;
  /** Removes a file or a directory tree; no error if nothing is there. */
  remove(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** Writes a new file (replacing one) and fsyncs it; not atomic: use it inside a directory that is renamed into place. */
  writeDurable(path: string, data: Uint8Array | string): Promise<void>;
  /** Replaces `path` all or nothing: a temporary sibling file, fsync, rename, fsync of the directory. */
  writeAtomic(path: string, data: Uint8Array | string): Promise<void>;
  openAppend(path: string): Promise<AppendHandle>;
  /** Makes renames and creations inside `dir` durable (best effort where directories cannot be opened). */
  fsyncDir(dir: string): Promise<void>;
}

/** `dir/name`, without doubling a trailing separator. */
export function joinPath(dir: string, name: string): string {
  return dir.endsWith("/") || dir.endsWith("\\") ? dir + name : `${dir}/${name}`;
}

/** The directory that holds `path` ("." for a bare name). */
export function parentDir(path: string): string {
  const trimmed = path.replace(/[/\\]+$/, "");
  const slash = Math.max(trimmed.lastIndexOf("/"), trimmed.lastIndexOf("\\"));
  if (slash < 0) return ".";
  return slash === 0 ? "/" : trimmed.slice(0, slash);
}

export function baseName(path: string): string {
  const trimmed = path.replace(/[/\\]+$/, "");
  return trimmed.slice(Math.max(trimmed.lastIndexOf("/"), trimmed.lastIndexOf("\\")) + 1);
}

/** A short random hex string for temporary names (not security relevant). */
export function randomSuffix(): string {
  return Math.floor(Math.random() * 0x100000000).toString(16).padStart(8, "0");
}

const PLAIN_CAUSES: Record<string, string> = {
  ENOSPC: "the disk is full",
  EDQUOT: "the disk quota is exceeded",
  EACCES: "permission denied",
  EPERM: "permission denied",
  EROFS: "the file system is read-only",
  ENOENT: "the directory does not exist",
  ENOTDIR: "a part of the path is a file, not a directory",
  EISDIR: "it is a directory",
  EIO: "an input/output error occurred",
  EMFILE: "too many files are open",
  ENAMETOOLONG: "the name is too long",
};

/** The cause of a storage error in plain words ("the disk is full (ENOSPC)"). */
export function describeStorageError(e: unknown): string {
  const err = e as { code?: string; message?: string };
  const plain = err?.code ? PLAIN_CAUSES[err.code] : undefined;
  if (plain) return `${plain} (${err.code})`;
  return err?.message ?? String(e);
}

/**
 * The temporary files that atomic writes of `base` make beside it
 * (.BASE.HEX.tmp, .BASE.HEX.N.tmp, and BASE.tmp-MILLIS of older tokenize
 * builds). A write killed before its rename leaves one behind; the next write
 * of the same file removes them.
 */
export function staleTempPattern(base: string): RegExp {
  const b = base.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^(?:\\.${b}\\.[0-9a-f]+(?:\\.\\d+)?\\.tmp|${b}\\.tmp-\\d+)$`);
}

/** Removes what killed atomic writes of `path` left in its directory (best effort). */
export async function removeStaleTemps(path: string): Promise<void> {
  const fs = await nodeFs();
  const dir = parentDir(path);
  const pattern = staleTempPattern(baseName(path));
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return;
  }
  for (const name of names) if (pattern.test(name)) await fs.rm(joinPath(dir, name), { force: true }).catch(() => {});
}

type Fs = typeof import("node:fs/promises");

async function nodeFs(): Promise<Fs> {
  try {
    return await import("node:fs/promises");
  } catch {
    throw new Error("storage: the file system is not available here (it needs Node or Deno); browser storage is not implemented yet");
  }
}

function asBytes(buf: { buffer: ArrayBufferLike; byteOffset: number; byteLength: number }): Uint8Array {
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/**
 * `mkdir -p`. Node's recursive mkdir reports ENOENT when creating a missing
 * directory fails for another reason (EROFS on a read-only mount), which would
 * tell the user a directory is missing when the disk is read-only; on ENOENT
 * this creates the path one directory at a time to surface the real cause.
 */
export async function mkdirRecursive(fs: { mkdir(path: string, opts?: { recursive: boolean }): Promise<unknown> }, dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true });
    return;
  } catch (e) {
    if ((e as { code?: string }).code !== "ENOENT") throw e;
  }
  const absolute = dir.startsWith("/");
  const parts = dir.split(/[/\\]+/).filter((p) => p !== "");
  for (let i = 1; i <= parts.length; i++) {
    const path = (absolute ? "/" : "") + parts.slice(0, i).join("/");
    try {
      await fs.mkdir(path);
    } catch (e) {
      if ((e as { code?: string }).code !== "EEXIST") throw e;
    }
  }
}

/** The Storage of the local file system (Node and Deno). */
export class FileStorage implements Storage {
  async readText(path: string): Promise<string> {
    return (await nodeFs()).readFile(path, "utf8");
  }

  async readBytes(path: string): Promise<Uint8Array> {
    return asBytes(await (await nodeFs()).readFile(path));
  }

  async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    const handle = await (await nodeFs()).open(path, "r");
    try {
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(out, done, length - done, offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return out.subarray(0, done);
    } finally {
      await handle.close();
    }
  }

  async stat(path: string): Promise<StorageEntryInfo | null> {
    try {
      const info = await (await nodeFs()).stat(path);
      return { size: info.size, isDirectory: info.isDirectory(), isFile: info.isFile() };
    } catch (e) {
      if ((e as { code?: string }).code === "ENOENT" || (e as { code?: string }).code === "ENOTDIR") return null;
      throw e;
    }
  }

  async exists(path: string): Promise<boolean> {
    return (await this.stat(path)) !== null;
  }

  async list(dir: string): Promise<string[]> {
    return (await (await nodeFs()).readdir(dir)).sort();
  }

  async mkdir(dir: string): Promise<void> {
    await mkdirRecursive(await nodeFs(), dir);
  }

  async remove(path: string): Promise<void> {
    await (await nodeFs()).rm(path, { recursive: true, force: true });
  }

  async rename(from: string, to: string): Promise<void> {
    await (await nodeFs()).rename(from, to);
  }

  async writeDurable(path: string, data: Uint8Array | string): Promise<void> {
    const handle = await (await nodeFs()).open(path, "w");
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }

  async writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
    const fs = await nodeFs();
    const dir = parentDir(path);
    const temp = joinPath(dir, `.${baseName(path)}.${randomSuffix()}.tmp`);
    await removeStaleTemps(path);
    try {
      const handle = await fs.open(temp, "wx");
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(temp, path);
    } catch (e) {
      await fs.rm(temp, { force: true }).catch(() => {});
      throw e;
    }
    await this.fsyncDir(dir);
  }

  async openAppend(path: string): Promise<AppendHandle> {
    const handle = await (await nodeFs()).open(path, "a");
    return {
      append: async (data) => {
        await handle.appendFile(data);
      },
      sync: () => handle.sync(),
      close: () => handle.close(),
    };
  }

  async fsyncDir(dir: string): Promise<void> {
    const fs = await nodeFs();
    let handle;
    try {
      handle = await fs.open(dir, "r");
    } catch {
      return; // Windows cannot open a directory; renames there are still atomic, only their durability is weaker.
    }
    try {
      await handle.sync();
    } catch {
      /* some file systems refuse fsync on a directory */
    } finally {
      await handle.close();
    }
  }
}

/** The process-wide file-system storage. */
export const fileStorage: Storage = new FileStorage();
