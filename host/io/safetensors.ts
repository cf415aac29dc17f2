// Reading and writing the safetensors format (https://github.com/huggingface/safetensors):
//   8 bytes  little-endian u64 N = header length
//   N bytes  UTF-8 JSON: { "__metadata__"?: {str: str}, name: {dtype, shape, data_offsets: [begin, end]} }
//   rest     the data section; offsets are relative to its start.
//
// Files are untrusted input. Every size is checked against the file size before
// anything is decoded or allocated from it, and the tensors must tile the data
// section exactly (no overlaps, no holes, no trailing bytes), as the reference
// implementation requires. F16 and BF16 are widened to f32 bit-exactly.

import { describeValue } from "./describe-value.ts";
export class SafetensorsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SafetensorsError";
  }
}

export interface SafetensorsTensor {
  /** The dtype stored in the file ("F32", "F16" or "BF16"); data is always f32. */
  dtype: "F32" | "F16" | "BF16" | string;
  shape: number[];
  data: Float32Array;
}

export interface SafetensorsInput {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** Bytes per element of every dtype the format defines; only the first three can be read. */
const DTYPE_SIZES: Record<string, number> = {
  F32: 4,
  F16: 2,
  BF16: 2,
  F64: 8,
  I64: 8,
  U64: 8,
  I32: 4,
  U32: 4,
  I16: 2,
  U16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
};
const READABLE_DTYPES = ["F32", "F16", "BF16"];

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

type Entry = SafetensorsEntry;

function describe(v: unknown): string {
  if (v === undefined) return "missing";
  if (typeof v === "object" && v !== null && !Array.isArray(v)) return "an object";
  return describeValue(v);
}

const isSize = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/**
 * The keys of the top-level JSON object in file order, including repeats.
 * JSON.parse keeps only the last of duplicate keys, so duplicates must be found
 * on the text. Only called on text that JSON.parse accepted as an object.
 */
function topLevelKeys(json: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  for (let i = 0; i < json.length; i++) {
    const ch = json[i];
    if (ch === '"') {
      const start = i;
      for (i++; json[i] !== '"'; i++) if (json[i] === "\\") i++;
      if (depth === 1) {
        let j = i + 1;
        while (j < json.length && " \t\r\n".includes(json[j])) j++;
        if (json[j] === ":") keys.push(JSON.parse(json.slice(start, i + 1)) as string);
      }
    } else if (ch === "{" || ch === "[") depth++;
    else if (ch === "}" || ch === "]") depth--;
  }
  return keys;
}

/** Number of elements, or -1 as soon as it exceeds `limit` (so huge shapes never overflow). */
function elementCount(shape: number[], limit: number): number {
  if (shape.includes(0)) return 0;
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (n > limit) return -1;
  }
  return n;
}

function f16ToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return sign | 0x7f800000 | (mant << 13); // inf / NaN (payload kept)
  if (exp !== 0) return sign | ((exp + 112) << 23) | (mant << 13); // normal: rebias 15 -> 127
  if (mant === 0) return sign; // ±0
  // Subnormal half: mant · 2^-24. Shift until the implicit bit appears; every
  // half subnormal is a normal f32.
  let e = 113; // biased f32 exponent of 2^-14
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e--;
  }
  return sign | (e << 23) | ((mant & 0x3ff) << 13);
}

/** Copies `bytes` (little-endian elements of `width` bytes) into an aligned buffer in native order. */
function nativeCopy(bytes: Uint8Array, width: number): ArrayBuffer {
  // new Uint8Array(x) always copies; Buffer#slice would share the (pooled) memory.
  const copy = new Uint8Array(bytes);
  if (!LITTLE_ENDIAN) {
    for (let i = 0; i < copy.length; i += width) copy.subarray(i, i + width).reverse();
  }
  return copy.buffer;
}

/** Widens the raw little-endian bytes of one F32, F16 or BF16 tensor to f32 (bit-exact). */
export function decodeSafetensorsData(dtype: string, raw: Uint8Array): Float32Array {
  if (dtype === "F32") return new Float32Array(nativeCopy(raw, 4));
  // the halves are only read: an aligned little-endian input is used in place (a
  // 1B checkpoint's block is 117 MB of BF16 that would otherwise be copied once more)
  const halves = LITTLE_ENDIAN && raw.byteOffset % 2 === 0 ? new Uint16Array(raw.buffer, raw.byteOffset, raw.length >> 1) : new Uint16Array(nativeCopy(raw, 2));
  const out = new Float32Array(halves.length);
  const bits = new Uint32Array(out.buffer);
  if (dtype === "BF16") {
    for (let i = 0; i < halves.length; i++) bits[i] = halves[i] << 16;
  } else {
    for (let i = 0; i < halves.length; i++) bits[i] = f16ToF32Bits(halves[i]);
  }
  return out;
}

/**
 * Parses a safetensors file into f32 tensors. Throws SafetensorsError (message
 * prefixed with `opts.source`) for any malformed or unsupported content.
 */
export function parseSafetensors(bytes: Uint8Array, opts: { source?: string } = {}): Map<string, SafetensorsTensor> {
  const source = opts.source ?? "safetensors data";
  if (bytes.length < 8) throw new SafetensorsError(`${source}: file is ${bytes.length} bytes, shorter than the 8-byte header length field`);
  const headerLen = safetensorsHeaderLength(bytes.subarray(0, 8));
  const header = parseSafetensorsHeader(bytes.subarray(8, 8 + Math.min(headerLen, bytes.length - 8)), headerLen, bytes.length, source);
  const out = new Map<string, SafetensorsTensor>();
  for (const e of header.entries.values()) {
    const raw = bytes.subarray(header.dataStart + e.begin, header.dataStart + e.end);
    out.set(e.name, { dtype: e.dtype, shape: e.shape, data: decodeSafetensorsData(e.dtype, raw) });
  }
  return out;
}

/** A tensor's place in a safetensors file: data_offsets relative to the data section. */
export interface SafetensorsEntry {
  name: string;
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  /** byte offset of the data section in the file (8 + header length) */
  dataStart: number;
  entries: Map<string, SafetensorsEntry>;
}

/** The header length N from the first 8 bytes of a file (may be inexact above 2^53, still too big). */
export function safetensorsHeaderLength(first8: Uint8Array): number {
  const view = new DataView(first8.buffer, first8.byteOffset, 8);
  return view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
}

/**
 * Validates a safetensors header against the file's length without reading the
 * data section (for lazy, per-tensor reads of large files). `headerBytes` are the
 * bytes after the length field (at most headerLen of them).
 */
export function parseSafetensorsHeader(headerBytes: Uint8Array, headerLen: number, fileLength: number, source: string): SafetensorsHeader {
  const fail = (msg: string): never => {
    throw new SafetensorsError(`${source}: ${msg}`);
  };
  if (fileLength < 8) fail(`file is ${fileLength} bytes, shorter than the 8-byte header length field`);
  if (headerLen > fileLength - 8) {
    fail(`header length ${headerLen} bytes runs past the end of the file (${fileLength} bytes, ${fileLength - 8} after the length field)`);
  }
  if (headerLen < 2) fail(`header length ${headerLen} is too short to hold a JSON object`);
  let text = "";
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(headerBytes.subarray(0, headerLen));
  } catch {
    fail("header is not valid UTF-8");
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(`header is not valid JSON (${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) {
    fail(`header must be a JSON object, got ${Array.isArray(header) ? "an array" : describe(header)}`);
  }
  const seen = new Set<string>();
  for (const key of topLevelKeys(text)) {
    if (seen.has(key)) fail(`duplicate tensor name "${key}" in header`);
    seen.add(key);
  }

  const dataStart = 8 + headerLen;
  const dataLen = fileLength - dataStart;
  const entries: Entry[] = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (typeof info !== "object" || info === null || Array.isArray(info)) fail(`__metadata__ must be an object of strings, got ${describe(info)}`);
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== "string") fail(`__metadata__.${k} must be a string, got ${describe(v)}`);
      }
      continue;
    }
    const where = `tensor "${name}"`;
    if (typeof info !== "object" || info === null || Array.isArray(info)) fail(`${where}: entry must be an object with dtype, shape, data_offsets, got ${describe(info)}`);
    const { dtype, shape, data_offsets: offsets } = info as Record<string, unknown>;
    if (typeof dtype !== "string" || !(dtype in DTYPE_SIZES)) {
      fail(`${where}: unknown dtype ${describe(dtype)} (safetensors dtypes: ${Object.keys(DTYPE_SIZES).join(", ")})`);
    }
    const dt = dtype as string;
    if (!READABLE_DTYPES.includes(dt)) fail(`${where}: dtype ${dt} is not supported; only ${READABLE_DTYPES.join(", ")} can be read`);
    if (!Array.isArray(shape) || !shape.every(isSize)) fail(`${where}: shape must be an array of non-negative integers, got ${describe(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isSize)) {
      fail(`${where}: data_offsets must be [begin, end] non-negative integers, got ${describe(offsets)}`);
    }
    const [begin, end] = offsets as number[];
    if (begin > end) fail(`${where}: data_offsets [${begin}, ${end}] has begin after end`);
    if (end > dataLen) fail(`${where}: data_offsets [${begin}, ${end}] out of range; the data section is ${dataLen} bytes`);
    const dims = shape as number[];
    const size = DTYPE_SIZES[dt];
    const numel = elementCount(dims, dataLen);
    if (numel < 0 || numel * size !== end - begin) {
      fail(`${where}: data_offsets span ${end - begin} bytes but shape [${dims.join(", ")}] of ${dt} needs ${numel < 0 ? "more than the file holds" : `${numel * size} bytes`}`);
    }
    entries.push({ name, dtype: dt, shape: dims.slice(), begin, end });
  }

  // The tensors must tile [0, dataLen) exactly.
  const ordered = entries.slice().sort((a, b) => a.begin - b.begin || a.end - b.end);
  let cursor = 0;
  let previous: Entry | undefined;
  for (const e of ordered) {
    if (e.begin < cursor) fail(`tensor "${e.name}" [${e.begin}, ${e.end}] overlaps tensor "${previous!.name}" [${previous!.begin}, ${previous!.end}]`);
    if (e.begin > cursor) fail(`hole in the data section: bytes [${cursor}, ${e.begin}) before tensor "${e.name}" belong to no tensor`);
    cursor = e.end;
    previous = e;
  }
  if (cursor !== dataLen) fail(`data section is ${dataLen} bytes but the tensors cover only ${cursor}; bytes [${cursor}, ${dataLen}) belong to no tensor`);

  return { dataStart, entries: new Map(entries.map((e) => [e.name, e])) };
}

/**
 * Serializes f32 tensors: names sorted, contiguous data in that order, header
 * padded with spaces so the data section starts 8-byte aligned.
 */
export function serializeSafetensors(tensors: SafetensorsInput[], metadata?: Record<string, string>): Uint8Array {
  const sorted = tensors.slice().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata !== undefined) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== "string") throw new SafetensorsError(`metadata "${k}" must be a string, got ${describe(v)}`);
    }
    header.__metadata__ = { ...metadata };
  }
  let offset = 0;
  for (const t of sorted) {
    if (t.name === "__metadata__" || t.name in header) throw new SafetensorsError(`tensor name "${t.name}" is reserved or used twice`);
    if (!Array.isArray(t.shape) || !t.shape.every(isSize)) throw new SafetensorsError(`tensor "${t.name}": shape must be non-negative integers, got ${describe(t.shape)}`);
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (!(t.data instanceof Float32Array) || t.data.length !== numel) {
      throw new SafetensorsError(`tensor "${t.name}": shape [${t.shape.join(", ")}] needs ${numel} f32 values, got ${t.data?.length}`);
    }
    header[t.name] = { dtype: "F32", shape: t.shape.slice(), data_offsets: [offset, offset + numel * 4] };
    offset += numel * 4;
  }
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  const headerBytes = new Uint8Array(padded).fill(0x20);
  headerBytes.set(json);
  json = headerBytes;

  const out = new Uint8Array(8 + padded + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, padded, true);
  view.setUint32(4, 0, true);
  out.set(json, 8);
  let at = 8 + padded;
  for (const t of sorted) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(bytes, at);
    if (!LITTLE_ENDIAN) for (let i = at; i < at + bytes.length; i += 4) out.subarray(i, i + 4).reverse();
    at += bytes.length;
  }
  return out;
}
