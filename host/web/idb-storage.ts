// The run Storage (host/run/storage.ts) on IndexedDB, for the browser page: the
// same interface the file system implements, so prepareCorpus, the run's
// checkpoints and its metrics go through the code the CLI uses.
//
// One object store maps a normalized path to an entry: a directory marker or a
// file's bytes. IndexedDB commits a transaction all or nothing and durably, so
// writeAtomic and rename (one transaction over every key under the old path)
// are atomic without temporary files; fsyncDir has nothing left to do.
import type { AppendHandle, Storage, StorageEntryInfo } from "../run/storage.ts";

const STORE = "entries";

type Entry = { dir: true } | { data: Uint8Array };

/** "/a//b/" → "/a/b"; relative paths are taken from the root. */
function norm(path: string): string {
  const parts = path.split(/[/\\]+/).filter((p) => p !== "" && p !== ".");
  return "/" + parts.join("/");
}

const below = (dir: string) => IDBKeyRange.bound(dir === "/" ? "/" : dir + "/", (dir === "/" ? "/" : dir + "/") + "\uffff", true, false);

const encoder = new TextEncoder();
const bytesOf = (data: Uint8Array | string) => (typeof data === "string" ? encoder.encode(data) : data.slice());

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

class NotFound extends Error {
  code = "ENOENT";
}

export class IndexedDbStorage implements Storage {
  private constructor(private readonly db: IDBDatabase) {}

  /** Opens (creating it if needed) the database `name`. */
  static async open(name = "jreg-runs"): Promise<IndexedDbStorage> {
    const req = indexedDB.open(name, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    return new IndexedDbStorage(await request(req));
  }

  /** Runs `fn` in one transaction and resolves with its result once the transaction has committed. */
  private async tx<T>(mode: IDBTransactionMode, fn: (store: IDBObjectStore) => Promise<T>): Promise<T> {
    const t = this.db.transaction(STORE, mode, { durability: "strict" } as IDBTransactionOptions);
    const done = new Promise<void>((resolve, reject) => {
      t.oncomplete = () => resolve();
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error ?? new Error("storage: transaction aborted"));
    });
    const out = await fn(t.objectStore(STORE));
    await done;
    return out;
  }

  private async entry(path: string): Promise<Entry | undefined> {
    return this.tx("readonly", (s) => request(s.get(norm(path)) as IDBRequest<Entry | undefined>));
  }

  async readBytes(path: string): Promise<Uint8Array> {
    const e = await this.entry(path);
    if (!e) throw new NotFound(`storage: ${path} does not exist`);
    if ("dir" in e) throw new Error(`storage: ${path} is a directory`);
    return e.data;
  }

  async readText(path: string): Promise<string> {
    return new TextDecoder().decode(await this.readBytes(path));
  }

  async readRange(path: string, offset: number, length: number): Promise<Uint8Array> {
    return (await this.readBytes(path)).slice(offset, offset + length);
  }

  async stat(path: string): Promise<StorageEntryInfo | null> {
    if (norm(path) === "/") return { size: 0, isDirectory: true, isFile: false };
    const e = await this.entry(path);
    if (!e) return null;
    return "dir" in e ? { size: 0, isDirectory: true, isFile: false } : { size: e.data.byteLength, isDirectory: false, isFile: true };
  }

  async exists(path: string): Promise<boolean> {
    return (await this.stat(path)) !== null;
  }

  async list(dir: string): Promise<string[]> {
    const d = norm(dir);
    const info = await this.stat(d);
    if (!info) throw new NotFound(`storage: directory ${dir} does not exist`);
    if (!info.isDirectory) throw new Error(`storage: ${dir} is a file, not a directory`);
    const keys = (await this.tx("readonly", (s) => request(s.getAllKeys(below(d))))) as string[];
    const prefix = d === "/" ? 1 : d.length + 1;
    return keys.map((k) => k.slice(prefix)).filter((rest) => !rest.includes("/")).sort();
  }

  async mkdir(dir: string): Promise<void> {
    const parts = norm(dir).split("/").filter(Boolean);
    await this.tx("readwrite", async (s) => {
      let path = "";
      for (const p of parts) {
        path += "/" + p;
        const e = (await request(s.get(path))) as Entry | undefined;
        if (e && !("dir" in e)) throw new Error(`storage: ${path} is a file, not a directory`);
        if (!e) s.put({ dir: true }, path);
      }
    });
  }

  async remove(path: string): Promise<void> {
    const p = norm(path);
    await this.tx("readwrite", async (s) => {
      s.delete(p);
      s.delete(below(p));
    });
  }

  async rename(from: string, to: string): Promise<void> {
    const f = norm(from);
    const t = norm(to);
    await this.tx("readwrite", async (s) => {
      const e = (await request(s.get(f))) as Entry | undefined;
      if (!e) throw new NotFound(`storage: cannot rename ${from}: it does not exist`);
      const keys = (await request(s.getAllKeys(below(f)))) as string[];
      const values = (await request(s.getAll(below(f)))) as Entry[];
      s.delete(t);
      s.delete(below(t));
      s.put(e, t);
      keys.forEach((k, i) => s.put(values[i], t + k.slice(f.length)));
      s.delete(f);
      s.delete(below(f));
    });
  }

  async writeDurable(path: string, data: Uint8Array | string): Promise<void> {
    await this.writeAtomic(path, data);
  }

  async writeAtomic(path: string, data: Uint8Array | string): Promise<void> {
    const p = norm(path);
    const parent = p.slice(0, p.lastIndexOf("/")) || "/";
    const bytes = bytesOf(data);
    await this.tx("readwrite", async (s) => {
      if (parent !== "/") {
        const d = (await request(s.get(parent))) as Entry | undefined;
        if (!d || !("dir" in d)) throw new NotFound(`storage: cannot write ${path}: the directory ${parent} does not exist`);
      }
      s.put({ data: bytes }, p);
    });
  }

  async openAppend(path: string): Promise<AppendHandle> {
    let pending: Uint8Array[] = [];
    const flush = async () => {
      if (pending.length === 0) return;
      const old = (await this.exists(path)) ? await this.readBytes(path) : new Uint8Array(0);
      const size = pending.reduce((n, b) => n + b.byteLength, old.byteLength);
      const out = new Uint8Array(size);
      out.set(old);
      let at = old.byteLength;
      for (const b of pending) {
        out.set(b, at);
        at += b.byteLength;
      }
      pending = [];
      await this.writeAtomic(path, out);
    };
    if (!(await this.exists(path))) await this.writeAtomic(path, new Uint8Array(0));
    return {
      append: async (data) => {
        pending.push(bytesOf(data));
        await flush();
      },
      sync: flush,
      close: flush,
    };
  }

  async fsyncDir(): Promise<void> {
    // committed IndexedDB transactions are already durable
  }

  close(): void {
    this.db.close();
  }
}
