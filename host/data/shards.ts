// Binary token shards (`.bin`): the format training reads, instead of JSON ids.
//
//   bytes 0..7    magic "JREGTOK1"
//   bytes 8..11   u32 little-endian: length H of the JSON header in bytes
//   bytes 12..    the header, UTF-8 JSON:
//                 {"version":1,"dtype":"uint16"|"uint32","tokens":N,"documents":D,
//                  "eot":id|null,"vocab_size":V,"tokenizer_sha256":hex}
//   then zero bytes up to a multiple of 8,
//   then N tokens, little-endian, of dtype (uint16 when V ≤ 65,536).
//
// Documents are concatenated with the end-of-text token between them (not after
// the last). The reader checks the magic, every header field and the file size
// before it reads the tokens, so a truncated, corrupt or endless file is refused
// with an error that names it instead of being read whole.
import { describeStorageError, fileStorage, type Storage } from "../run/storage.ts";
import { describeValue } from "../io/describe-value.ts";

export const SHARD_MAGIC = "JREGTOK1";
export const SHARD_VERSION = 1;
/** A header longer than this is corruption, not a header. */
const MAX_HEADER_BYTES = 1 << 16;
const PREFIX_BYTES = 12;

export type ShardDtype = "uint16" | "uint32";

export interface ShardHeader {
  version: number;
  dtype: ShardDtype;
  tokens: number;
  documents: number;
  /** Id of the end-of-text token between documents; null when the shard has no separator (one document). */
  eot: number | null;
  vocab_size: number;
  tokenizer_sha256: string;
}

export interface TokenShard {
  header: ShardHeader;
  tokens: Uint16Array | Uint32Array;
}

export class ShardError extends Error {
  override name = "ShardError";
}

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function dtypeForVocab(vocabSize: number): ShardDtype {
  return vocabSize <= 65536 ? "uint16" : "uint32";
}

function bytesPerToken(dtype: ShardDtype): number {
  return dtype === "uint16" ? 2 : 4;
}

function tokenOffset(headerBytes: number): number {
  return Math.ceil((PREFIX_BYTES + headerBytes) / 8) * 8;
}

/**
 * Concatenates documents' ids with `eot` between them. Every id must be < vocabSize;
 * `eot` may be null only for a single document.
 */
export function concatDocuments(docs: ReadonlyArray<ArrayLike<number>>, eot: number | null, vocabSize: number): Uint16Array | Uint32Array {
  if (eot === null && docs.length > 1) throw new ShardError("shard: several documents need an end-of-text token between them");
  const total = docs.reduce((s, d) => s + d.length, 0) + Math.max(0, docs.length - 1);
  const out = dtypeForVocab(vocabSize) === "uint16" ? new Uint16Array(total) : new Uint32Array(total);
  let at = 0;
  docs.forEach((d, i) => {
    if (i > 0) out[at++] = eot!;
    for (let j = 0; j < d.length; j++) {
      const id = d[j]!;
      if (!(id >= 0 && id < vocabSize)) throw new ShardError(`shard: document ${i} has token id ${id}, outside the vocabulary [0, ${vocabSize})`);
      out[at++] = id;
    }
  });
  return out;
}

function checkHeader(h: unknown, where: string): ShardHeader {
  const fail = (msg: string): never => {
    throw new ShardError(`${where}: ${msg}`);
  };
  if (typeof h !== "object" || h === null || Array.isArray(h)) fail("the header is not a JSON object");
  const o = h as Record<string, unknown>;
  const count = (name: string, min: number) => {
    const v = o[name];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) fail(`header field "${name}" must be an integer ≥ ${min}, got ${describeValue(v)}`);
    return v as number;
  };
  if (o.version !== SHARD_VERSION) fail(`unsupported shard version ${describeValue(o.version)} (this build reads version ${SHARD_VERSION})`);
  if (o.dtype !== "uint16" && o.dtype !== "uint32") fail(`header field "dtype" must be "uint16" or "uint32", got ${describeValue(o.dtype)}`);
  const tokens = count("tokens", 0);
  const documents = count("documents", 0);
  const vocab = count("vocab_size", 1);
  if (o.dtype === "uint16" && vocab > 65536) fail(`vocab_size ${vocab} does not fit dtype uint16`);
  if (vocab > 0x100000000) fail(`vocab_size ${vocab} does not fit dtype uint32`);
  if (o.eot !== null && (typeof o.eot !== "number" || !Number.isInteger(o.eot) || o.eot < 0 || o.eot >= vocab)) {
    fail(`header field "eot" must be null or a token id below vocab_size ${vocab}, got ${describeValue(o.eot)}`);
  }
  if (typeof o.tokenizer_sha256 !== "string" || !/^[0-9a-f]{64}$/.test(o.tokenizer_sha256)) {
    fail(`header field "tokenizer_sha256" must be 64 lowercase hex digits, got ${describeValue(o.tokenizer_sha256)}`);
  }
  return {
    version: SHARD_VERSION,
    dtype: o.dtype as ShardDtype,
    tokens,
    documents,
    eot: o.eot as number | null,
    vocab_size: vocab,
    tokenizer_sha256: o.tokenizer_sha256 as string,
  };
}

/** The bytes of a shard file. */
export function encodeShard(header: Omit<ShardHeader, "version" | "tokens" | "dtype">, tokens: Uint16Array | Uint32Array): Uint8Array {
  const dtype: ShardDtype = tokens instanceof Uint16Array ? "uint16" : "uint32";
  const full = checkHeader({ version: SHARD_VERSION, dtype, tokens: tokens.length, ...header }, "shard");
  // Fixed key order, so equal shards are equal bytes.
  const json = encoder.encode(JSON.stringify({
    version: full.version, dtype: full.dtype, tokens: full.tokens, documents: full.documents,
    eot: full.eot, vocab_size: full.vocab_size, tokenizer_sha256: full.tokenizer_sha256,
  }));
  const offset = tokenOffset(json.length);
  const width = bytesPerToken(dtype);
  const out = new Uint8Array(offset + tokens.length * width);
  out.set(encoder.encode(SHARD_MAGIC), 0);
  const view = new DataView(out.buffer);
  view.setUint32(8, json.length, true);
  out.set(json, PREFIX_BYTES);
  if (littleEndian) {
    out.set(new Uint8Array(tokens.buffer, tokens.byteOffset, tokens.byteLength), offset);
  } else {
    for (let i = 0; i < tokens.length; i++) {
      if (width === 2) view.setUint16(offset + 2 * i, tokens[i]!, true);
      else view.setUint32(offset + 4 * i, tokens[i]!, true);
    }
  }
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i]! >= full.vocab_size) throw new ShardError(`shard: token ${i} is ${tokens[i]}, not below vocab_size ${full.vocab_size}`);
  }
  return out;
}

/** Writes a shard atomically (temporary file, fsync, rename). */
export async function writeShard(
  path: string,
  header: Omit<ShardHeader, "version" | "tokens" | "dtype">,
  tokens: Uint16Array | Uint32Array,
  storage: Storage = fileStorage,
): Promise<void> {
  const bytes = encodeShard(header, tokens);
  try {
    await storage.writeAtomic(path, bytes);
  } catch (e) {
    throw new ShardError(`could not write the shard ${path}: ${describeStorageError(e)}`);
  }
}

/** Parses the fixed prefix and header; returns the header and where the tokens start. */
function parsePrefix(prefix: Uint8Array, where: string): { headerBytes: number } {
  if (prefix.length < PREFIX_BYTES) throw new ShardError(`${where}: truncated (${prefix.length} bytes; a shard starts with a 12-byte prefix)`);
  let magic = "";
  for (let i = 0; i < 8; i++) magic += String.fromCharCode(prefix[i]!);
  if (magic !== SHARD_MAGIC) throw new ShardError(`${where}: not a token shard (the file does not start with ${SHARD_MAGIC})`);
  const headerBytes = new DataView(prefix.buffer, prefix.byteOffset, prefix.byteLength).getUint32(8, true);
  if (headerBytes === 0 || headerBytes > MAX_HEADER_BYTES) throw new ShardError(`${where}: corrupt header length ${headerBytes}`);
  return { headerBytes };
}

function parseHeaderJson(bytes: Uint8Array, where: string): ShardHeader {
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(bytes));
  } catch {
    throw new ShardError(`${where}: the header is not valid UTF-8 JSON (the file is corrupt)`);
  }
  return checkHeader(json, where);
}

/** Reads and checks only the header (cheap: a few hundred bytes). */
export async function readShardHeader(path: string, storage: Storage = fileStorage): Promise<{ header: ShardHeader; tokenOffset: number; fileBytes: number }> {
  const info = await storage.stat(path);
  if (!info) throw new ShardError(`shard ${path} does not exist`);
  if (info.isDirectory) throw new ShardError(`shard ${path} is a directory, not a .bin file`);
  const where = `shard ${path}`;
  const prefix = await storage.readRange(path, 0, PREFIX_BYTES);
  const { headerBytes } = parsePrefix(prefix, where);
  if (info.size < PREFIX_BYTES + headerBytes) throw new ShardError(`${where}: truncated inside the header (${info.size} bytes, the header needs ${PREFIX_BYTES + headerBytes})`);
  const header = parseHeaderJson(await storage.readRange(path, PREFIX_BYTES, headerBytes), where);
  const offset = tokenOffset(headerBytes);
  const expected = offset + header.tokens * bytesPerToken(header.dtype);
  if (info.size < expected) throw new ShardError(`${where}: truncated: ${info.size} bytes, but its header says ${header.tokens} ${header.dtype} tokens (${expected} bytes)`);
  if (info.size > expected) throw new ShardError(`${where}: ${info.size - expected} bytes more than its header says (${header.tokens} ${header.dtype} tokens, ${expected} bytes); the file is corrupt`);
  return { header, tokenOffset: offset, fileBytes: expected };
}

/** Decodes shard bytes already in memory (e.g. fetched in a browser). */
export function decodeShard(bytes: Uint8Array, source = "shard"): TokenShard {
  const { headerBytes } = parsePrefix(bytes, source);
  if (bytes.length < PREFIX_BYTES + headerBytes) throw new ShardError(`${source}: truncated inside the header`);
  const header = parseHeaderJson(bytes.subarray(PREFIX_BYTES, PREFIX_BYTES + headerBytes), source);
  const offset = tokenOffset(headerBytes);
  const expected = offset + header.tokens * bytesPerToken(header.dtype);
  if (bytes.length !== expected) {
    throw new ShardError(`${source}: ${bytes.length} bytes, but its header says ${header.tokens} ${header.dtype} tokens (${expected} bytes); the file is ${bytes.length < expected ? "truncated" : "corrupt"}`);
  }
  for (let i = 12 + headerBytes; i < offset; i++) {
    if (bytes[i] !== 0) throw new ShardError(`${source}: corrupt padding after the header`);
  }
  const n = header.tokens;
  const tokens = header.dtype === "uint16" ? new Uint16Array(n) : new Uint32Array(n);
  const body = bytes.subarray(offset);
  if (littleEndian) {
    // Copy through bytes: the file's buffer need not be aligned for a typed view.
    new Uint8Array(tokens.buffer).set(body);
  } else {
    const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
    for (let i = 0; i < n; i++) tokens[i] = header.dtype === "uint16" ? view.getUint16(2 * i, true) : view.getUint32(4 * i, true);
  }
  const vocab = header.vocab_size;
  for (let i = 0; i < n; i++) {
    if (tokens[i]! >= vocab) throw new ShardError(`${source}: token ${i} is ${tokens[i]}, not below vocab_size ${vocab}; the file is corrupt`);
  }
  return { header, tokens };
}

/** Reads a shard; checks the size against the header before reading the tokens. */
export async function readShard(path: string, storage: Storage = fileStorage): Promise<TokenShard> {
  const { fileBytes } = await readShardHeader(path, storage);
  const bytes = await storage.readBytes(path);
  if (bytes.length !== fileBytes) throw new ShardError(`shard ${path}: changed while it was read (${bytes.length} bytes, expected ${fileBytes})`);
  return decodeShard(bytes, `shard ${path}`);
}
