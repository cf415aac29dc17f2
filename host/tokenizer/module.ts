// Loads build/tokenizer.wasm (embedded in the bundle) and manages its memory.
//
// Each tokenizer gets its own instance: the instance's globals point at that
// tokenizer's tables, and its linear memory belongs to it alone. The compiled
// module is shared. Memory above heapBase() is handed out by a bump allocator
// with a rewindable mark for per-call scratch.
import tokenizerBytes from "../../build/tokenizer.wasm";

const PAGE = 65536;
const MAX_PAGES = 65536;

/** Raw exports of build/tokenizer.wasm (offsets are byte addresses in `memory`). */
export interface TokenizerExports {
  memory: WebAssembly.Memory;
  heapBase(): number;
  pretokenize(pattern: number, textPtr: number, textLen: number, endsPtr: number): number;
  lastSafeCut(textPtr: number, textLen: number): number;
  bpeSetTables(
    bytes: number, spans: number, count: number, tokTable: number, tokenSlots: number,
    bytesToIds: number, whole: number, pattern: number,
  ): void;
  bpeSetMergeTable(table: number, mergeSlots: number, rankToMerged: number): void;
  bpeFindToken(p: number, len: number): number;
  bpeIndexTokens(): number;
  bpeAddMerges(pairs: number, n: number, scratch: number): number;
  bpeResolveMerges(text: number, lens: number, n: number, pairs: number, alphabet: number, out: number, scratch: number): number;
  bpeDeriveMergesFromRanks(): number;
  bpeCountRankMerges(): number;
  bpeMarkWholePieces(all: number, scratch: number): void;
  bpeBuildBytePairs(table: number): void;
  bpeSetPieceCache(table: number, entries: number): void;
  bpeEncode(textPtr: number, textLen: number, out: number, scratch: number, scratchBytes: number): number;
  bpeEncodedBytes(): number;
  bpeSetCharLevel(fallback: number, unk: number): void;
  bpeBuildCharTable(table: number): void;
  bpeBuildCharPairs(chosen: number, count: number, dense: number, pairs: number): void;
  bpeEncodePieces(textPtr: number, ends: number, count: number, out: number, scratch: number, scratchBytes: number): number;
  bpeEncodedPieces(): number;
  spSetCut(cut: number, blocked: number, merging: number, asciiPairs: number): void;
  spCutWords(src: number, len: number, dst: number, ends: number, map: number, prefix: number, prefixLen: number): number;
  spWritten(): number;
  bpePendingPiece(): number;
  bpeDecodedLength(ids: number, n: number): number;
  bpeDecode(ids: number, n: number, out: number): void;
  [name: string]: unknown;
}

let compiled: Promise<WebAssembly.Module> | undefined;

/** Compiles build/tokenizer.wasm once per process. */
export function compileTokenizerModule(): Promise<WebAssembly.Module> {
  return (compiled ??= WebAssembly.compile(tokenizerBytes as BufferSource));
}

function abort(_msg: number, _file: number, line: number, col: number): never {
  throw new Error(`tokenizer.wasm aborted at ${line}:${col}`);
}

/** One instance of the tokenizer module with a bump allocator over its memory. */
export class TokenizerModule {
  private top: number;

  private constructor(readonly exports: TokenizerExports) {
    this.top = align(exports.heapBase(), 16);
  }

  static async create(): Promise<TokenizerModule> {
    const instance = await WebAssembly.instantiate(await compileTokenizerModule(), { env: { abort } });
    return new TokenizerModule(instance.exports as unknown as TokenizerExports);
  }

  get memory(): WebAssembly.Memory {
    return this.exports.memory;
  }

  mark(): number {
    return this.top;
  }

  /** Frees everything allocated after `mark` (for per-call scratch). */
  reset(mark: number): void {
    this.top = mark;
  }

  /** Reserves `bytes` bytes (16-byte aligned by default), growing memory as needed. */
  alloc(bytes: number, alignment = 16): number {
    if (!Number.isFinite(bytes) || bytes < 0) throw new RangeError(`tokenizer memory: invalid allocation size ${bytes}`);
    const start = align(this.top, alignment);
    const end = start + bytes;
    const have = this.memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      if (have / PAGE + pages > MAX_PAGES) {
        throw new RangeError(`tokenizer memory: need ${(end / 2 ** 20).toFixed(1)} MiB, the WASM32 limit is 4096 MiB`);
      }
      this.memory.grow(pages);
    }
    this.top = end;
    return start;
  }

  /** Views are recreated on every call: growing memory detaches old ones. */
  u8(offset: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, offset, length);
  }

  i32(offset: number, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, offset, length);
  }
}

function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
