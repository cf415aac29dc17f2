// A checkpoint directory opened for reading one tensor at a time: config.json is
// parsed, every safetensors header (single file or the shards the index names) is
// validated against its file's size, and tensor data is read by offset only when
// asked for. A multi-GB checkpoint therefore never sits in memory whole; the
// layer-streaming analysis (host/analysis/streaming-forward.ts) reads a block at a time.
import type { FileHandle } from "node:fs/promises";
import { architectureFromHF, type Architecture } from "./hf-architecture.ts";
import { CheckpointError, CONFIG_FILE, INDEX_FILE, parseShardIndex, WEIGHTS_FILE } from "./checkpoint.ts";
import { fileExists, joinPath, readBytes } from "./files.ts";
import { decodeSafetensorsData, parseSafetensorsHeader, safetensorsHeaderLength, type SafetensorsEntry } from "./safetensors.ts";

interface Located {
  file: string;
  handle: FileHandle;
  dataStart: number;
  entry: SafetensorsEntry;
}

export class LazyCheckpoint {
  private constructor(
    readonly dir: string,
    readonly architecture: Architecture,
    private readonly tensors: Map<string, Located>,
    private readonly handles: FileHandle[],
  ) {}

  /** Opens `dir`: config.json, then model.safetensors, else the index and its shards (headers only). */
  static async open(dir: string): Promise<LazyCheckpoint> {
    const { stat, open } = await import("node:fs/promises");
    const info = await stat(dir).catch(() => undefined);
    if (info === undefined) throw new CheckpointError(`checkpoint directory ${dir} does not exist`);
    if (!info.isDirectory()) throw new CheckpointError(`checkpoint path ${dir} is not a directory`);
    const configPath = joinPath(dir, CONFIG_FILE);
    if (!(await fileExists(configPath))) throw new CheckpointError(`${configPath} not found (a checkpoint needs the model config)`);
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(await readBytes(configPath)));
    } catch (e) {
      throw new CheckpointError(`${configPath}: not valid JSON (${(e as Error).message})`);
    }
    const architecture = architectureFromHF(json, configPath);

    let files: string[];
    let weightMap: Map<string, string> | null = null;
    if (await fileExists(joinPath(dir, WEIGHTS_FILE))) files = [WEIGHTS_FILE];
    else if (await fileExists(joinPath(dir, INDEX_FILE))) {
      weightMap = parseShardIndex(await readBytes(joinPath(dir, INDEX_FILE)), joinPath(dir, INDEX_FILE));
      files = [...new Set(weightMap.values())];
    } else throw new CheckpointError(`${dir} contains neither ${WEIGHTS_FILE} nor ${INDEX_FILE}`);

    const handles: FileHandle[] = [];
    const tensors = new Map<string, Located>();
    try {
      for (const file of files) {
        const path = joinPath(dir, file);
        if (!(await fileExists(path))) throw new CheckpointError(`${path} not found (a shard named in ${INDEX_FILE})`);
        const handle = await open(path, "r");
        handles.push(handle);
        const size = (await handle.stat()).size;
        const first8 = new Uint8Array(8);
        await handle.read(first8, 0, Math.min(8, size), 0);
        const headerLen = size >= 8 ? safetensorsHeaderLength(first8) : 0;
        const headerBytes = new Uint8Array(Math.max(0, Math.min(headerLen, size - 8)));
        if (headerBytes.length > 0) await handle.read(headerBytes, 0, headerBytes.length, 8);
        const header = parseSafetensorsHeader(headerBytes, headerLen, size, path);
        for (const entry of header.entries.values()) {
          if (weightMap) {
            const expected = weightMap.get(entry.name);
            if (expected === undefined) throw new CheckpointError(`${path}: tensor ${entry.name} is not listed in ${INDEX_FILE}`);
            if (expected !== file) throw new CheckpointError(`${path}: tensor ${entry.name} is listed in ${INDEX_FILE} under shard ${expected}`);
          }
          tensors.set(entry.name, { file: path, handle, dataStart: header.dataStart, entry });
        }
      }
      if (weightMap) {
        for (const [name, shard] of weightMap) {
          if (!tensors.has(name)) throw new CheckpointError(`${INDEX_FILE} lists tensor ${name} in ${shard}, but that shard does not contain it`);
        }
      }
    } catch (e) {
      for (const h of handles) await h.close();
      throw e;
    }
    return new LazyCheckpoint(dir, architecture, tensors, handles);
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  /** The tensor's shape as stored. */
  shape(name: string): number[] {
    return this.locate(name).entry.shape;
  }

  /** Reads one tensor, widened to f32; checks its shape when `shape` is given. */
  async read(name: string, shape?: number[]): Promise<Float32Array> {
    const t = this.locate(name);
    if (shape && (t.entry.shape.length !== shape.length || t.entry.shape.some((d, i) => d !== shape[i]))) {
      throw new CheckpointError(`${t.file}: tensor ${name} has shape [${t.entry.shape.join(", ")}], expected [${shape.join(", ")}]`);
    }
    const raw = new Uint8Array(t.entry.end - t.entry.begin);
    await this.readInto(t, raw, t.dataStart + t.entry.begin, name);
    return decodeSafetensorsData(t.entry.dtype, raw);
  }

  /**
   * Rows [start, start + count) of a 2-D tensor, widened to f32: large tables (the
   * embedding, an untied LM head) are uploaded in slices, never whole on the host.
   */
  async readRows(name: string, start: number, count: number): Promise<Float32Array> {
    const t = this.locate(name);
    const rows = t.entry.shape[0]!;
    if (t.entry.shape.length !== 2 || start < 0 || start + count > rows) throw new RangeError(`readRows ${name}: rows [${start}, ${start + count}) of [${t.entry.shape.join(", ")}]`);
    const rowBytes = (t.entry.end - t.entry.begin) / rows;
    const raw = new Uint8Array(count * rowBytes);
    await this.readInto(t, raw, t.dataStart + t.entry.begin + start * rowBytes, name);
    return decodeSafetensorsData(t.entry.dtype, raw);
  }

  private async readInto(t: Located, raw: Uint8Array, position: number, name: string): Promise<void> {
    let done = 0;
    while (done < raw.length) {
      const { bytesRead } = await t.handle.read(raw, done, raw.length - done, position + done);
      if (bytesRead === 0) throw new CheckpointError(`${t.file}: file ended while reading tensor ${name}`);
      done += bytesRead;
    }
  }

  async close(): Promise<void> {
    for (const h of this.handles.splice(0)) await h.close();
  }

  private locate(name: string): Located {
    const t = this.tensors.get(name);
    if (!t) throw new CheckpointError(`${this.dir}: the checkpoint has no tensor ${name}`);
    return t;
  }
}
