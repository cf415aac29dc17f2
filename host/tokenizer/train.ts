// Byte-level BPE training: the host side of assembly/tokenizer/train.ts.
//
// Text goes into the wasm module as UTF-8 in chunks; the native pre-tokenizer
// splits it and the module counts unique pieces, then learns merges. Everything
// that decides the result runs in wasm or in integer-only host code, so the same
// input and options give the same vocabulary in Node, Deno and browsers.
//
// Ids: 0..255 are the single bytes (id = byte value), then the learned tokens in
// the order they were learned, then the special tokens in the order given.
// Tie-breaking between pairs of equal count: the smaller left token byte string,
// then the smaller right token byte string (see assembly/tokenizer/train.ts).
import { TokenizerModule } from "./module.ts";
import { PATTERN_IDS } from "./pre-tokenizer.ts";
import type { PreTokenizerPattern } from "./pre-tokenizer.ts";
import type { BpeDefinition } from "./definition.ts";

/** Raw training exports of build/tokenizer.wasm. */
interface TrainExports {
  memory: WebAssembly.Memory;
  lastSafeCut(textPtr: number, textLen: number): number;
  bpeTrainReset(base: number): void;
  bpeTrainError(): number;
  bpeTrainTextBuffer(bytes: number): number;
  bpeTrainCountText(pattern: number, ptr: number, len: number): void;
  bpeTrainUniqueWords(): number;
  bpeTrainPiecesSeen(): number;
  bpeTrainBytesSeen(): number;
  bpeTrainBegin(): void;
  bpeTrainStep(maxMerges: number, targetTokens: number, minFrequency: number): number;
  bpeTrainStopReason(): number;
  bpeTrainTokenCount(): number;
  bpeTrainTokenOffsets(): number;
  bpeTrainTokenLengths(): number;
  bpeTrainTokenBytes(): number;
  bpeTrainMergeCount(): number;
  bpeTrainMergeLeft(): number;
  bpeTrainMergeRight(): number;
  bpeTrainMergeResult(): number;
  bpeTrainMergeFrequency(): number;
  bpeTrainWordOffsets(): number;
  bpeTrainWordSymbolCounts(): number;
  bpeTrainWordCounts(): number;
  bpeTrainSymbols(): number;
  bpeTrainWordBytes(): number;
  bpeTrainWordByteLengths(): number;
}

export interface BpeTrainProgress {
  /** "count": reading text (done/total in UTF-16 code units of the current text set); "merge": learning merges. */
  phase: "count" | "merge";
  done: number;
  /** Total of the phase; NaN while counting an iterable of unknown length. */
  total: number;
}

export interface BpeTrainOptions {
  /** Target vocabulary size: 256 bytes + learned tokens + special tokens. */
  vocabSize: number;
  /** Stop when the most frequent pair occurs fewer times than this (default 2). */
  minFrequency?: number;
  /** Special tokens: ids after the learned tokens; never learned from text (text is split around them). */
  specialTokens?: string[];
  /** Pre-tokenizer (default "gpt2"). */
  pattern?: PreTokenizerPattern;
  /** Also return the final segmentation of every unique piece (for analysis and tests). */
  includeWords?: boolean;
  onProgress?: (p: BpeTrainProgress) => void;
}

/** One learned merge: `left` + `right` → `result` (an id that may already exist, see train.ts). */
export interface BpeMerge {
  left: number;
  right: number;
  result: number;
  /** Occurrences of the pair when it was merged. */
  count: number;
}

export interface BpeTrainedWord {
  bytes: Uint8Array;
  count: number;
  /** Ids of the piece after all merges. */
  ids: number[];
}

export type BpeStopReason = "vocab-size" | "min-frequency" | "no-pairs";

export interface TrainedBpe {
  pattern: PreTokenizerPattern;
  /** Byte string of each non-special token, by id (0..255 are the single bytes). */
  tokens: Uint8Array[];
  /** Merges in rank order. */
  merges: BpeMerge[];
  specialTokens: { id: number; content: string }[];
  /** tokens.length + specialTokens.length. */
  vocabSize: number;
  stoppedBy: BpeStopReason;
  stats: {
    /** UTF-8 bytes of text read (special tokens excluded). */
    bytes: number;
    pieces: number;
    uniquePieces: number;
    /** Size of the wasm memory at the end of training. */
    wasmMemoryBytes: number;
  };
  words?: BpeTrainedWord[];
}

export const MAX_VOCAB_SIZE = 1 << 24;
export const DEFAULT_MIN_FREQUENCY = 2;
const PATTERNS: readonly PreTokenizerPattern[] = ["gpt2", "cl100k"];
/** UTF-16 code units encoded per chunk: bounds the staging buffer (3 bytes per unit at most). */
const CHUNK_UNITS = 1 << 20;
const MERGES_PER_PROGRESS = 1000;
const STOP_REASONS: Record<number, BpeStopReason> = { 1: "vocab-size", 2: "min-frequency", 3: "no-pairs" };

/** Checks training options; throws an error that names the bad option. */
export function validateBpeTrainOptions(opts: BpeTrainOptions): Required<Pick<BpeTrainOptions, "vocabSize" | "minFrequency" | "specialTokens" | "pattern">> {
  if (opts === null || typeof opts !== "object") throw new TypeError("trainBpe: options must be an object with vocabSize");
  const specialTokens = opts.specialTokens ?? [];
  if (!Array.isArray(specialTokens)) throw new TypeError("trainBpe: specialTokens must be an array of strings");
  const seen = new Set<string>();
  for (const s of specialTokens) {
    if (typeof s !== "string" || s.length === 0) throw new TypeError(`trainBpe: special tokens must be non-empty strings, got ${JSON.stringify(s)}`);
    if (seen.has(s)) throw new RangeError(`trainBpe: duplicate special token ${JSON.stringify(s)}`);
    seen.add(s);
  }
  const { vocabSize } = opts;
  const minVocab = 256 + specialTokens.length;
  if (typeof vocabSize !== "number" || !Number.isInteger(vocabSize)) {
    throw new TypeError(`trainBpe: vocabSize must be an integer, got ${JSON.stringify(vocabSize)}`);
  }
  if (vocabSize < minVocab) {
    throw new RangeError(
      `trainBpe: vocabSize ${vocabSize} is below ${minVocab} (256 byte tokens + ${specialTokens.length} special tokens)`,
    );
  }
  if (vocabSize > MAX_VOCAB_SIZE) throw new RangeError(`trainBpe: vocabSize ${vocabSize} is above the maximum ${MAX_VOCAB_SIZE}`);
  const minFrequency = opts.minFrequency ?? DEFAULT_MIN_FREQUENCY;
  if (typeof minFrequency !== "number" || !Number.isInteger(minFrequency) || minFrequency < 0 || minFrequency > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(`trainBpe: minFrequency must be a non-negative integer, got ${JSON.stringify(minFrequency)}`);
  }
  const pattern = opts.pattern ?? "gpt2";
  if (!PATTERNS.includes(pattern)) throw new RangeError(`trainBpe: pattern must be one of ${PATTERNS.join(", ")}, got ${JSON.stringify(pattern)}`);
  if (opts.onProgress !== undefined && typeof opts.onProgress !== "function") throw new TypeError("trainBpe: onProgress must be a function");
  return { vocabSize, minFrequency, specialTokens, pattern };
}

/** Splits text around special tokens (leftmost match; the longest one at a position). */
function specialSplitter(specials: string[]): (text: string) => string[] {
  if (specials.length === 0) return (text) => [text];
  const escaped = [...specials].sort((a, b) => b.length - a.length).map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const re = new RegExp(escaped.join("|"), "g");
  return (text) => text.split(re);
}

/** Feeds text to the module in chunks cut where no pre-tokenizer split can change. */
class PieceCounter {
  private readonly encoder = new TextEncoder();
  /** Bytes of the current text not yet counted, kept at the start of the staging buffer. */
  private carry = 0;

  constructor(private readonly k: TrainExports, private readonly pattern: number) {}

  /** Counts one text segment (pieces never span segments). */
  countSegment(text: string): void {
    const k = this.k;
    for (let at = 0; at < text.length; ) {
      let end = Math.min(text.length, at + CHUNK_UNITS);
      // Never split a surrogate pair: that would turn both halves into U+FFFD.
      if (end < text.length && isHighSurrogate(text.charCodeAt(end - 1))) end--;
      const part = end - at === text.length ? text : text.slice(at, end);
      const buf = k.bpeTrainTextBuffer(this.carry + part.length * 3);
      const view = new Uint8Array(k.memory.buffer, buf + this.carry, part.length * 3);
      const { written } = this.encoder.encodeInto(part, view);
      const len = this.carry + written;
      const last = end === text.length;
      const cut = last ? len : k.lastSafeCut(buf, len);
      if (cut > 0) {
        k.bpeTrainCountText(this.pattern, buf, cut);
        const mem = new Uint8Array(k.memory.buffer);
        mem.copyWithin(buf, buf + cut, buf + len);
      }
      this.carry = len - cut;
      at = end;
    }
  }
}

function isHighSurrogate(u: number): boolean {
  return u >= 0xd800 && u <= 0xdbff;
}

async function* asAsync(texts: Iterable<string> | AsyncIterable<string>): AsyncIterable<string> {
  yield* texts as AsyncIterable<string>;
}

/** Runs a wasm call, turning a trap after memory exhaustion into a clear error. */
function guarded<T>(k: TrainExports, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (k.bpeTrainError() === 1) {
      throw new RangeError("trainBpe: out of WebAssembly memory (the wasm32 limit is 4 GiB); train on less text or fewer unique pieces");
    }
    throw e;
  }
}

/**
 * Learns a byte-level BPE vocabulary. `texts` is one string or an iterable of
 * documents (sync or async); pre-tokenizer pieces never span documents or
 * special tokens.
 */
export async function trainBpe(
  texts: Iterable<string> | AsyncIterable<string> | string,
  opts: BpeTrainOptions,
): Promise<TrainedBpe> {
  const { vocabSize, minFrequency, specialTokens, pattern } = validateBpeTrainOptions(opts);
  if (texts === null || texts === undefined || (typeof texts !== "string" && !(Symbol.iterator in Object(texts)) && !(Symbol.asyncIterator in Object(texts)))) {
    throw new TypeError("trainBpe: texts must be a string or an iterable of strings");
  }
  const onProgress = opts.onProgress;
  const module = await TokenizerModule.create();
  const k = module.exports as unknown as TrainExports;
  k.bpeTrainReset(module.mark());

  const split = specialSplitter(specialTokens);
  const counter = new PieceCounter(k, PATTERN_IDS[pattern]);
  const docs = typeof texts === "string" ? [texts] : texts;
  const total = typeof texts === "string" ? texts.length : Array.isArray(texts) ? texts.reduce((s: number, t: unknown) => s + (typeof t === "string" ? t.length : 0), 0) : NaN;
  let done = 0;
  let index = 0;
  for await (const text of asAsync(docs)) {
    if (typeof text !== "string") throw new TypeError(`trainBpe: document ${index} is ${typeof text}, expected a string`);
    for (const segment of split(text)) guarded(k, () => counter.countSegment(segment));
    done += text.length;
    index++;
    onProgress?.({ phase: "count", done, total });
  }

  guarded(k, () => k.bpeTrainBegin());
  const targetTokens = vocabSize - specialTokens.length;
  const totalMerges = targetTokens - 256;
  while (guarded(k, () => k.bpeTrainStep(MERGES_PER_PROGRESS, targetTokens, minFrequency)) > 0) {
    onProgress?.({ phase: "merge", done: k.bpeTrainTokenCount() - 256, total: totalMerges });
  }
  const stoppedBy = STOP_REASONS[k.bpeTrainStopReason()] ?? "vocab-size";
  onProgress?.({ phase: "merge", done: k.bpeTrainTokenCount() - 256, total: totalMerges });

  const tokens = readTokens(k);
  const merges = readMerges(k);
  const specials = specialTokens.map((content, i) => ({ id: tokens.length + i, content }));
  const trained: TrainedBpe = {
    pattern,
    tokens,
    merges,
    specialTokens: specials,
    vocabSize: tokens.length + specials.length,
    stoppedBy,
    stats: {
      bytes: k.bpeTrainBytesSeen(),
      pieces: k.bpeTrainPiecesSeen(),
      uniquePieces: k.bpeTrainUniqueWords(),
      wasmMemoryBytes: k.memory.buffer.byteLength,
    },
  };
  if (opts.includeWords) trained.words = readWords(k);
  return trained;
}

function readTokens(k: TrainExports): Uint8Array[] {
  const n = k.bpeTrainTokenCount();
  const mem = k.memory.buffer;
  const off = new Int32Array(mem, k.bpeTrainTokenOffsets(), n);
  const len = new Int32Array(mem, k.bpeTrainTokenLengths(), n);
  const bytes = new Uint8Array(mem, k.bpeTrainTokenBytes());
  const tokens: Uint8Array[] = [];
  for (let t = 0; t < n; t++) tokens.push(bytes.slice(off[t], off[t] + len[t]));
  return tokens;
}

function readMerges(k: TrainExports): BpeMerge[] {
  const n = k.bpeTrainMergeCount();
  if (n === 0) return [];
  const mem = k.memory.buffer;
  const left = new Int32Array(mem, k.bpeTrainMergeLeft(), n);
  const right = new Int32Array(mem, k.bpeTrainMergeRight(), n);
  const result = new Int32Array(mem, k.bpeTrainMergeResult(), n);
  const freq = new Float64Array(mem, k.bpeTrainMergeFrequency(), n);
  const merges: BpeMerge[] = [];
  for (let i = 0; i < n; i++) merges.push({ left: left[i], right: right[i], result: result[i], count: freq[i] });
  return merges;
}

function readWords(k: TrainExports): BpeTrainedWord[] {
  const n = k.bpeTrainUniqueWords();
  if (n === 0) return [];
  const mem = k.memory.buffer;
  const off = new Int32Array(mem, k.bpeTrainWordOffsets(), n);
  const byteLen = new Int32Array(mem, k.bpeTrainWordByteLengths(), n);
  const symCount = new Int32Array(mem, k.bpeTrainWordSymbolCounts(), n);
  const counts = new BigInt64Array(mem, k.bpeTrainWordCounts(), n);
  const bytes = new Uint8Array(mem, k.bpeTrainWordBytes());
  const syms = new Int32Array(mem, k.bpeTrainSymbols());
  const words: BpeTrainedWord[] = [];
  for (let w = 0; w < n; w++) {
    words.push({
      bytes: bytes.slice(off[w], off[w] + byteLen[w]),
      count: Number(counts[w]),
      ids: Array.from(syms.subarray(off[w], off[w] + symCount[w])),
    });
  }
  return words;
}

/** The trained tokenizer as a definition for createTokenizer (no file round trip). */
export function trainedBpeDefinition(trained: TrainedBpe): BpeDefinition {
  const specialTokens: Record<string, number> = {};
  for (const { id, content } of trained.specialTokens) specialTokens[content] = id;
  return {
    tokens: trained.tokens,
    merges: trained.merges.map(({ left, right }) => [left, right] as const),
    pattern: trained.pattern,
    specialTokens,
  };
}
