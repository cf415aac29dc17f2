// A byte-level BPE tokenizer backed by build/tokenizer.wasm. Pre-tokenizing,
// merging and decoding all run in WebAssembly; the host only moves bytes in and
// ids out, and finds allowed special tokens.
import { TokenizerModule } from "./module.ts";
import { PATTERN_IDS, PATTERN_NONE_ID, type PreTokenizerPattern } from "./pre-tokenizer.ts";
import { SpecialMatcher } from "./special-tokens.ts";
import type { BpeDefinition, MergeList, PipelineInfo, TextPipeline } from "./definition.ts";
import { BYTE_TO_CHAR } from "./byte-level.ts";
import type { PostProcessorPlan } from "./post-processors.ts";

export interface EncodeOptions {
  /**
   * Special tokens recognised in the input: "all", or a list of their texts.
   * Default none: special-token text is encoded as ordinary text.
   */
  allowedSpecial?: "all" | Iterable<string>;
  /**
   * Wrap the ids in the post-processor's special tokens (BOS, CLS/SEP, ...), as
   * Hugging Face's add_special_tokens=True does. Default false.
   */
  addSpecialTokens?: boolean;
}

export interface StreamOptions extends EncodeOptions {
  /** Bytes of text gathered before a chunk is encoded (default 1 MiB). */
  chunkBytes?: number;
}

export type TextInput = string | Uint8Array;

export interface TokenizerOptions {
  /**
   * Cache the ids of short pieces that needed merging (default true). The cache
   * lives in the tokenizer's memory, persists across calls, and never changes
   * a result; turn it off to measure uncached speed (see setPieceCache).
   */
  pieceCache?: boolean;
}

/** Piece-cache entries (64 bytes each, four per set: 16 MiB, room for the distinct words of a corpus like Brown). */
const PIECE_CACHE_ENTRIES = 1 << 18;

const FLAG_SPECIAL = 2;
/** The merge table packs two ids (20 bits each) and a rank (24 bits) in 8 bytes. */
export const MAX_IDS = 1 << 20;
const MAX_MERGES = 1 << 24;
const MIN_SCRATCH = 1 << 20;
const encoder = new TextEncoder();

function pow2AtLeast(n: number): number {
  let p = 16;
  while (p < n) p *= 2;
  return p;
}

export class Tokenizer {
  /** Number of ids (largest id + 1), special tokens included. */
  readonly vocabSize: number;
  /** The native splitter ("none": pieces come whole, from the JavaScript pre-tokenizer or one per section). */
  readonly pattern: PreTokenizerPattern | "none";
  readonly specialTokens: ReadonlyMap<string, number>;
  /** What the tokenizer.json pipeline is made of (undefined for tokenizers not loaded from one). */
  readonly info: PipelineInfo | undefined;
  /**
   * True when a pre-tokenizer regex runs as a JavaScript RegExp because the
   * native splitter does not implement it (exact, slower).
   */
  readonly regexFallback: boolean;
  /** The special tokens that addSpecialTokens wraps around a sequence (undefined: none). */
  readonly postProcessor: PostProcessorPlan | undefined;
  private readonly pipeline: TextPipeline | undefined;
  private readonly specialNames: Map<number, string>;
  private readonly tokenBytes: ReadonlyArray<Uint8Array | null>;
  private readonly ioMark: number;
  private readonly matchers = new Map<string, SpecialMatcher>();
  private scratchBytes = MIN_SCRATCH;
  /** Where the normalizer's Substitution lives in memory for spCutWords (map 0: none). */
  private readonly substitution: { map: number; prefix: number; prefixLen: number };

  private constructor(
    private readonly m: TokenizerModule,
    definition: BpeDefinition,
    tokens: ReadonlyArray<Uint8Array | null>,
    specials: Map<string, number>,
    private readonly pieceCachePtr: number,
    substitution: { map: number; prefix: number; prefixLen: number },
  ) {
    this.substitution = substitution;
    this.vocabSize = tokens.length;
    this.pattern = definition.pattern;
    this.specialTokens = specials;
    this.tokenBytes = tokens;
    this.ioMark = m.mark();
    this.info = definition.info;
    this.regexFallback = definition.info?.regexFallback ?? false;
    this.postProcessor = definition.postProcessor;
    this.pipeline = definition.pipeline;
    this.specialNames = new Map([...specials].map(([name, id]) => [id, name]));
  }

  /** Builds the tables of a tokenizer. Errors name what is wrong with the definition. */
  static async create(definition: BpeDefinition, options: TokenizerOptions = {}): Promise<Tokenizer> {
    const pattern = definition.pattern;
    if (!(pattern in PATTERN_IDS) && pattern !== "none") throw new Error(`tokenizer: unsupported pre-tokenizer pattern "${pattern}"`);
    const charLevel = definition.pipeline?.charLevel;
    const specials = new Map(Object.entries(definition.specialTokens ?? {}));
    const tokens: (Uint8Array | null)[] = definition.tokens.slice();
    for (const [text, id] of specials) {
      if (!Number.isInteger(id) || id < 0) throw new Error(`tokenizer: special token ${JSON.stringify(text)} has invalid id ${id}`);
      const bytes = encoder.encode(text);
      const existing = tokens[id];
      if (existing && !sameBytes(existing, bytes)) {
        throw new Error(`tokenizer: duplicate id ${id}: special token ${JSON.stringify(text)} and an ordinary token`);
      }
      while (tokens.length <= id) tokens.push(null);
      tokens[id] = bytes;
    }
    const count = tokens.length;
    if (count >= MAX_IDS) throw new Error(`tokenizer: vocabulary has ${count} ids; at most ${MAX_IDS - 1} are supported`);
    let totalBytes = 0;
    let longest = 1;
    for (const t of tokens) {
      if (!t) continue;
      totalBytes += t.length;
      longest = Math.max(longest, t.length);
    }
    let merges = definition.merges;
    let denseChars: number[] = [];
    const mergeList = merges ? undefined : definition.mergeList;
    const tokenSlots = pow2AtLeast(2 * count + 1);

    const m = await TokenizerModule.create();
    const bytesPtr = m.alloc(totalBytes + 8);
    const spansPtr = m.alloc(count * 8);
    const tokenTable = m.alloc(tokenSlots * 16);
    const byteIds = m.alloc(256 * 4);
    const flags = m.alloc(count);
    const k = m.exports;
    k.bpeSetTables(bytesPtr, spansPtr, count, tokenTable, tokenSlots, byteIds, flags, pattern === "none" ? PATTERN_NONE_ID : PATTERN_IDS[pattern]);
    if (charLevel) {
      const fallbackPtr = m.alloc(256 * 4);
      m.i32(fallbackPtr, 256).set(charLevel.byteFallback);
      k.bpeSetCharLevel(fallbackPtr, charLevel.unkId);
    }

    const heap = m.u8(bytesPtr, totalBytes);
    const spans = m.i32(spansPtr, count * 2);
    let offset = 0;
    for (let id = 0; id < count; id++) {
      const t = tokens[id];
      if (!t) {
        spans[2 * id] = 0;
        spans[2 * id + 1] = -1;
        continue;
      }
      heap.set(t, offset);
      spans[2 * id] = offset;
      spans[2 * id + 1] = t.length;
      offset += t.length;
    }
    const flagView = m.u8(flags, count);
    for (const id of specials.values()) flagView[id] = FLAG_SPECIAL;

    const duplicate = k.bpeIndexTokens();
    if (duplicate >= 0) {
      const first = tokens.findIndex((t, i) => i !== duplicate && t !== null && !specialIds(specials).has(i) && sameBytes(t, tokens[duplicate]!));
      throw new Error(`tokenizer: tokens ${first} and ${duplicate} have the same bytes ${describeBytes(tokens[duplicate]!)}`);
    }
    if (charLevel) k.bpeBuildCharTable(m.alloc(65536 * 4));
    const substitution = { map: 0, prefix: 0, prefixLen: 0 };
    if (charLevel?.safeCut) {
      const cut = charLevel.safeCut;
      const bitsPtr = m.alloc(0x110000 / 8);
      const bits = m.u8(bitsPtr, 0x110000 / 8);
      for (const cp of cut.blockedAfter) bits[cp >> 3] |= 1 << (cp & 7);
      const mergingPtr = m.alloc(cut.merging.length);
      m.u8(mergingPtr, cut.merging.length).set(cut.merging);
      let pairsPtr = 0;
      if (cut.asciiPairs) {
        pairsPtr = m.alloc(cut.asciiPairs.length);
        m.u8(pairsPtr, cut.asciiPairs.length).set(cut.asciiPairs);
      }
      k.spSetCut(cut.char.codePointAt(0)!, bitsPtr, mergingPtr, pairsPtr);
      const sub = definition.pipeline!.substitution;
      if (sub) {
        // 128 entries of 16 bytes: code point, UTF-8 length, UTF-8 bytes (see spCutWords).
        substitution.map = m.alloc(128 * 16);
        const map = m.u8(substitution.map, 128 * 16);
        const words = m.i32(substitution.map, 128 * 4);
        for (let c = 0; c < 128; c++) {
          const to = sub.map[c] ?? String.fromCharCode(c);
          const bytes = encoder.encode(to);
          words[4 * c] = to.codePointAt(0)!;
          words[4 * c + 1] = bytes.length;
          map.set(bytes, 16 * c + 8);
        }
        const prefix = encoder.encode(sub.prefix);
        substitution.prefix = m.alloc(prefix.length + 8);
        substitution.prefixLen = prefix.length;
        m.u8(substitution.prefix, prefix.length).set(prefix);
      }
    }
    const byteView = m.i32(byteIds, 256);
    for (let b = 0; b < 256 && !charLevel; b++) {
      if (byteView[b] < 0) throw new Error(`tokenizer: byte-level BPE needs a token for every byte; byte 0x${b.toString(16).padStart(2, "0")} has none`);
    }

    // Sized by the exact number of merges, filled at most 2/3 (linear probing
    // then ends within a cache line or two): a smaller table stays in cache
    // (Gemma's 580k merges: 8 MiB, not the 16 MiB of a table at most half full).
    const listed = merges !== undefined || mergeList !== undefined;
    const mergeCount = merges ? merges.length : mergeList ? mergeList.entries.length : k.bpeCountRankMerges();
    if (mergeCount >= MAX_MERGES) throw new Error(`tokenizer: ${mergeCount} merges; at most ${MAX_MERGES - 1} are supported`);
    const mergeSlots = pow2AtLeast(Math.ceil(1.5 * mergeCount) + 1);
    k.bpeSetMergeTable(m.alloc(mergeSlots * 8), mergeSlots, listed ? m.alloc(mergeCount * 4 + 4) : 0);
    const scratch = m.mark();
    if (listed) {
      let pairsPtr = mergeList ? resolveMergeList(m, mergeList) : undefined;
      if (pairsPtr === undefined) {
        m.reset(scratch);
        merges ??= mergeList!.resolve();
        pairsPtr = m.alloc(merges.length * 8);
        const pairs = m.i32(pairsPtr, merges.length * 2);
        for (let i = 0; i < merges.length; i++) {
          pairs[2 * i] = merges[i][0];
          pairs[2 * i + 1] = merges[i][1];
        }
      }
      const concat = m.alloc(2 * longest + 8);
      const failed = k.bpeAddMerges(pairsPtr, mergeCount, concat);
      if (failed >= 0) {
        const i = failed & ~(1 << 30);
        const [a, b] = m.i32(pairsPtr + 8 * i, 2);
        if (failed & (1 << 30)) {
          throw new Error(`tokenizer: merge ${i} (${a}, ${b}) produces bytes that are not a token`);
        }
        throw new Error(`tokenizer: merge ${i} references unknown token id ${tokens[a] ? b : a}`);
      }
      if (charLevel) denseChars = firstMergedChars(m.i32(pairsPtr, 2 * mergeCount), tokens, specials);
    } else {
      k.bpeDeriveMergesFromRanks();
    }
    m.reset(scratch);
    k.bpeBuildBytePairs(m.alloc(65536 * 8));
    if (charLevel) {
      const chosen = m.alloc(denseChars.length * 4 + 4);
      m.i32(chosen, denseChars.length).set(denseChars);
      k.bpeBuildCharPairs(chosen, denseChars.length, m.alloc(65536), m.alloc(65536 * 4));
    }
    const pieceCache = m.alloc(PIECE_CACHE_ENTRIES * 64, 256);
    const tables = m.mark();
    const markScratch = m.alloc((scratchPerByte(m) + 4) * longest + 64);
    k.bpeMarkWholePieces(listed && !definition.ignoreMerges ? 0 : 1, markScratch);
    m.reset(tables);
    const tokenizer = new Tokenizer(m, definition, tokens, specials, pieceCache, substitution);
    tokenizer.setPieceCache(options.pieceCache ?? true);
    return tokenizer;
  }

  /** Turns the piece cache on (emptied) or off. Results are the same either way. */
  setPieceCache(enabled: boolean): void {
    this.m.exports.bpeSetPieceCache(this.pieceCachePtr, enabled ? PIECE_CACHE_ENTRIES : 0);
  }

  /** Bytes of one id (a copy). */
  tokenToBytes(id: number): Uint8Array {
    const t = Number.isInteger(id) ? this.tokenBytes[id] : undefined;
    if (!t) throw new RangeError(`tokenizer: id ${id} is not a token (vocabulary has ${this.vocabSize} ids)`);
    return t.slice();
  }

  /**
   * Encodes text (a string, or UTF-8 bytes; invalid bytes are kept as bytes,
   * except with a tokenizer.json normalizer or JavaScript pre-tokenizer, which
   * read bytes as UTF-8 text with U+FFFD for invalid sequences).
   */
  encode(text: TextInput, options: EncodeOptions = {}): Uint32Array {
    const ids = this.pipeline ? this.encodePipeline(text, this.matcher(options)) : this.encodeDirect(text, options);
    return options.addSpecialTokens ? this.wrapSpecial(ids) : ids;
  }

  private wrapSpecial(ids: Uint32Array): Uint32Array {
    const post = this.postProcessor;
    if (!post || post.before.length + post.after.length === 0) return ids;
    const out = new Uint32Array(post.before.length + ids.length + post.after.length);
    out.set(post.before, 0);
    out.set(ids, post.before.length);
    out.set(post.after, post.before.length + ids.length);
    return out;
  }

  /** `normalizeNonAscii`: a normalizer that keeps ASCII, applied only when the text is not ASCII. */
  private encodeDirect(text: TextInput, options: EncodeOptions, normalizeNonAscii?: (s: string) => string): Uint32Array {
    const m = this.m;
    m.reset(this.ioMark);
    let { ptr, len } = this.writeText(text);
    if (normalizeNonAscii && typeof text === "string" && len !== text.length) {
      m.reset(this.ioMark);
      ({ ptr, len } = this.writeText(normalizeNonAscii(text)));
    }
    const out = m.alloc(len * 4 + 4);
    const n = this.encodeWritten(ptr, len, out, this.matcher(options));
    return new Uint32Array(m.memory.buffer, out, n).slice();
  }

  /** Encodes each document separately (no tokens span documents). */
  encodeBatch(docs: ReadonlyArray<TextInput>, options: EncodeOptions = {}): Uint32Array[] {
    if (this.pipeline || options.addSpecialTokens) return docs.map((d) => this.encode(d, options));
    const matcher = this.matcher(options);
    const m = this.m;
    const result: Uint32Array[] = new Array(docs.length);
    for (let i = 0; i < docs.length; i++) {
      m.reset(this.ioMark);
      const { ptr, len } = this.writeText(docs[i]);
      const out = m.alloc(len * 4 + 4);
      const n = this.encodeWritten(ptr, len, out, matcher);
      result[i] = new Uint32Array(m.memory.buffer, out, n).slice();
    }
    return result;
  }

  /**
   * Encodes a stream of text chunks (strings or UTF-8 bytes, split anywhere) and
   * yields ids chunk by chunk. Text is cut only where the pre-tokenizer's split
   * cannot change (a space after an ASCII letter) and never inside an allowed
   * special token, so the concatenated ids equal encode(whole text). Memory
   * stays near chunkBytes unless the text has no such position for longer.
   * Tokenizers with a tokenizer.json pipeline (normalizer, JavaScript
   * pre-tokenizer or character-level BPE) have no such safe positions in
   * general: they gather the whole stream and yield its ids once.
   * addSpecialTokens wraps the whole stream, not each chunk.
   */
  async *encodeStream(
    source: AsyncIterable<TextInput> | Iterable<TextInput>,
    options: StreamOptions = {},
  ): AsyncGenerator<Uint32Array> {
    if (this.pipeline || options.addSpecialTokens) {
      const parts: Uint8Array[] = [];
      let pendingString = "";
      for await (const chunk of source as AsyncIterable<TextInput>) {
        if (typeof chunk === "string") pendingString += chunk;
        else {
          if (pendingString) parts.push(encoder.encode(pendingString));
          pendingString = "";
          parts.push(chunk);
        }
      }
      if (pendingString) parts.push(encoder.encode(pendingString));
      const total = parts.reduce((n, p) => n + p.length, 0);
      const all = new Uint8Array(total);
      let at = 0;
      for (const p of parts) {
        all.set(p, at);
        at += p.length;
      }
      yield this.encode(all, options);
      return;
    }
    const chunkBytes = Math.max(1024, options.chunkBytes ?? 1 << 20);
    const matcher = this.matcher(options);
    let pending = new Uint8Array(chunkBytes * 2);
    let fill = 0;
    let highSurrogate = "";
    let searchedFrom = 1;
    const append = (bytes: Uint8Array) => {
      if (fill + bytes.length > pending.length) {
        const bigger = new Uint8Array(Math.max(pending.length * 2, fill + bytes.length));
        bigger.set(pending.subarray(0, fill));
        pending = bigger;
      }
      pending.set(bytes, fill);
      fill += bytes.length;
    };
    for await (const chunk of source as AsyncIterable<TextInput>) {
      if (typeof chunk === "string") {
        // A surrogate pair split between two string chunks must stay one character.
        let s = highSurrogate + chunk;
        highSurrogate = "";
        const last = s.charCodeAt(s.length - 1);
        if (last >= 0xd800 && last < 0xdc00) {
          highSurrogate = s.slice(-1);
          s = s.slice(0, -1);
        }
        append(encoder.encode(s));
      } else {
        if (highSurrogate) {
          append(encoder.encode(highSurrogate));
          highSurrogate = "";
        }
        append(chunk);
      }
      if (fill < chunkBytes) continue;
      const cut = this.streamCut(pending, fill, matcher, searchedFrom);
      if (cut === 0) {
        searchedFrom = Math.max(1, fill - matcher.maxLength - 1);
        continue;
      }
      yield this.encodeBytesWith(pending.subarray(0, cut), matcher);
      pending.copyWithin(0, cut, fill);
      fill -= cut;
      searchedFrom = 1;
    }
    if (highSurrogate) append(encoder.encode(highSurrogate));
    if (fill > 0) yield this.encodeBytesWith(pending.subarray(0, fill), matcher);
  }

  /**
   * Bytes of the ids. Throws a RangeError naming the first id that is not a
   * token. Character-level tokenizers return the UTF-8 of decodeText (their
   * tokens are text to be run through the tokenizer.json decoder).
   */
  decode(ids: ArrayLike<number>): Uint8Array {
    if (this.pipeline?.charLevel) return encoder.encode(this.decodeText(ids));
    return this.decodeBytes(ids);
  }

  private decodeBytes(ids: ArrayLike<number>): Uint8Array {
    const m = this.m;
    const k = m.exports;
    m.reset(this.ioMark);
    const n = ids.length;
    const idsPtr = m.alloc(n * 4 + 4);
    const view = m.i32(idsPtr, n);
    if (ids instanceof Uint32Array || ids instanceof Int32Array) {
      view.set(ids as ArrayLike<number>);
    } else {
      for (let i = 0; i < n; i++) {
        const id = ids[i];
        if (!Number.isInteger(id) || id < 0 || id >= this.vocabSize) throw this.badId(id, i);
        view[i] = id;
      }
    }
    const total = k.bpeDecodedLength(idsPtr, n);
    if (total < 0) throw this.badId(ids[-1 - total], -1 - total);
    const out = m.alloc(total + 8);
    k.bpeDecode(idsPtr, n, out);
    return m.u8(out, total).slice();
  }

  /** Text of the ids. Throws a TypeError when their bytes are not valid UTF-8. */
  decodeText(ids: ArrayLike<number>): string {
    const charLevel = this.pipeline?.charLevel;
    if (charLevel) {
      const tokens: string[] = new Array(ids.length);
      for (let i = 0; i < ids.length; i++) {
        const t = Number.isInteger(ids[i]) ? charLevel.tokenStrings[ids[i]] : undefined;
        if (t === undefined) throw this.badId(ids[i], i);
        tokens[i] = t;
      }
      return charLevel.decode(tokens).join("");
    }
    const bytes = this.decodeBytes(ids);
    try {
      // ignoreBOM: a leading U+FEFF is text here, not a byte-order mark to drop.
      return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
    } catch {
      throw new TypeError("tokenizer: decoded bytes are not valid UTF-8 (use decode() for bytes)");
    }
  }

  /**
   * tokenizer.json pipeline: split at allowed special tokens (stripping
   * whitespace beside those that ask for it), then per section normalize,
   * pre-tokenize (natively or in JavaScript), and BPE the pieces in WASM.
   */
  private encodePipeline(text: TextInput, matcher: SpecialMatcher): Uint32Array {
    const p = this.pipeline!;
    const s = typeof text === "string" ? text : lenientDecoder.decode(text);
    const sections: (string | number)[] = [];
    if (matcher.empty) {
      sections.push(s);
    } else {
      // Matching on UTF-8 bytes keeps one definition of "longest allowed special wins".
      const bytes = encoder.encode(s);
      let at = 0;
      for (const match of matcher.find(bytes)) {
        if (match.start > at) sections.push(lenientDecoder.decode(bytes.subarray(at, match.start)));
        sections.push(match.id);
        at = match.end;
      }
      if (at < bytes.length) sections.push(lenientDecoder.decode(bytes.subarray(at)));
      if (p.strip) {
        for (let i = 0; i < sections.length; i++) {
          const id = sections[i];
          if (typeof id !== "number") continue;
          const rule = p.strip[this.specialNames.get(id) ?? ""];
          if (!rule) continue;
          if (rule.left && i > 0 && typeof sections[i - 1] === "string") sections[i - 1] = (sections[i - 1] as string).trimEnd();
          if (rule.right && i + 1 < sections.length && typeof sections[i + 1] === "string") sections[i + 1] = (sections[i + 1] as string).trimStart();
        }
      }
    }
    const chunks: Uint32Array[] = [];
    let total = 0;
    for (let i = 0; i < sections.length; i++) {
      const section = sections[i];
      let ids: Uint32Array;
      if (typeof section === "number") {
        ids = Uint32Array.of(section);
      } else {
        if (section.length === 0) continue;
        const fast = p.charLevel?.safeCut && !p.split && (p.substitution || !p.normalize) ? this.encodeSubstituted(section) : undefined;
        if (fast) {
          ids = this.checkUnknown(fast, p.charLevel!.unkId, p.charLevel!.fuseUnk);
          chunks.push(ids);
          total += ids.length;
          continue;
        }
        // The native byte-level path writes the text anyway: it normalizes only text that is not ASCII.
        const late = p.normalizeKeepsAscii && !p.split && !p.charLevel && !p.prefixSpace ? p.normalize : undefined;
        let x = p.normalize && !late ? p.normalize(section) : section;
        if (x.length === 0) continue;
        if (p.charLevel && !isWellFormed(x)) {
          ids = this.encodeWithLoneSurrogates(p.split ? p.split(x, i) : [x], p.charLevel.byteFallback, p.charLevel.unkId);
        } else if (p.split) {
          const ends = p.splitEnds?.(x);
          ids = ends ? this.encodeAtEnds(x, ends) : this.encodePieces(p.split(x, i));
        } else if (p.charLevel?.safeCut) {
          ids = this.encodeCut(x);
        } else {
          if (p.prefixSpace && !x.startsWith(" ")) x = " " + x;
          ids = this.encodeDirect(x, {}, late);
        }
        if (p.charLevel) ids = this.checkUnknown(ids, p.charLevel.unkId, p.charLevel.fuseUnk);
      }
      chunks.push(ids);
      total += ids.length;
    }
    if (chunks.length === 1) return chunks[0];
    const out = new Uint32Array(total);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }

  /** Encodes pieces that the JavaScript pre-tokenizer made (each one BPE word). */
  private encodePieces(pieces: string[]): Uint32Array {
    const m = this.m;
    m.reset(this.ioMark);
    let utf16 = 0;
    for (const piece of pieces) utf16 += piece.length;
    const textPtr = m.alloc(utf16 * 3 + 8);
    const endsPtr = m.alloc(pieces.length * 4 + 4);
    const ends = m.i32(endsPtr, pieces.length);
    const text = m.u8(textPtr, utf16 * 3);
    let len = 0;
    for (let i = 0; i < pieces.length; i++) {
      // One piece at a time: a lone surrogate at a piece's edge stays a lone one.
      len += encoder.encodeInto(pieces[i], text.subarray(len)).written;
      ends[i] = len;
    }
    return this.runPieces(textPtr, len, endsPtr, pieces.length);
  }

  /** Encodes a string cut at UTF-16 piece ends (contiguous pieces covering it). */
  private encodeAtEnds(x: string, utf16Ends: Int32Array): Uint32Array {
    const m = this.m;
    m.reset(this.ioMark);
    const textPtr = m.alloc(x.length * 3 + 8);
    const { written } = encoder.encodeInto(x, m.u8(textPtr, x.length * 3));
    const endsPtr = m.alloc(utf16Ends.length * 4 + 4);
    const ends = m.i32(endsPtr, utf16Ends.length);
    // UTF-8 offset of each UTF-16 end, as encodeInto counts: a pair is 4 bytes,
    // a lone surrogate 3 (U+FFFD). Pieces from a `u` regex never split a pair.
    let bytes = 0;
    let i = 0;
    for (let k = 0; k < utf16Ends.length; k++) {
      const end = utf16Ends[k];
      for (; i < end; i++) {
        const c = x.charCodeAt(i);
        if (c < 0x80) bytes += 1;
        else if (c < 0x800) bytes += 2;
        else if (c >= 0xd800 && c < 0xdc00 && i + 1 < end) {
          const d = x.charCodeAt(i + 1);
          if (d >= 0xdc00 && d <= 0xdfff) {
            bytes += 4;
            i++;
          } else bytes += 3;
        } else bytes += 3;
      }
      ends[k] = bytes;
    }
    if (bytes !== written) return this.encodePieces(piecesAt(x, utf16Ends)); // a pair split across pieces
    return this.runPieces(textPtr, written, endsPtr, utf16Ends.length);
  }

  /** Character-level BPE of one well-formed section, cut at safe points (see safeCut): spCutWords in place. */
  private encodeCut(x: string): Uint32Array {
    const m = this.m;
    const k = m.exports;
    m.reset(this.ioMark);
    const textPtr = m.alloc(x.length * 3 + 8);
    const { written } = encoder.encodeInto(x, m.u8(textPtr, x.length * 3));
    const endsPtr = m.alloc(written * 4 + 8);
    const count = k.spCutWords(textPtr, written, textPtr, endsPtr, 0, 0, 0);
    return count === 0 ? new Uint32Array(0) : this.runPieces(textPtr, written, endsPtr, count);
  }

  /**
   * Character-level BPE of a section whose normalizer is a Substitution (or
   * none), cut at safe points: spCutWords substitutes the UTF-8 bytes as it
   * copies them, so the normalized string is never built. Returns undefined
   * when the text has lone surrogates (the caller takes the general path).
   */
  private encodeSubstituted(section: string): Uint32Array | undefined {
    if (!isWellFormed(section)) return undefined;
    const sub = this.substitution;
    const m = this.m;
    const k = m.exports;
    m.reset(this.ioMark);
    const srcPtr = m.alloc(section.length * 3 + 8);
    const { written } = encoder.encodeInto(section, m.u8(srcPtr, section.length * 3));
    // Each byte becomes at most one 4-byte character; one word per character at most.
    const dstPtr = m.alloc(sub.prefixLen + written * 4 + 8);
    const endsPtr = m.alloc((written + sub.prefixLen + 2) * 4);
    const count = k.spCutWords(srcPtr, written, dstPtr, endsPtr, sub.map, sub.prefix, sub.prefixLen);
    return count === 0 ? new Uint32Array(0) : this.runPieces(dstPtr, k.spWritten(), endsPtr, count);
  }

  /** BPE of `count` pieces of the text at textPtr (ends at endsPtr, in bytes, relative to textPtr). */
  private runPieces(textPtr: number, len: number, endsPtr: number, count: number): Uint32Array {
    const m = this.m;
    const k = m.exports;
    const out = m.alloc(len * 4 + 4);
    let n = 0;
    let done = 0;
    while (done < count) {
      const mark = m.mark();
      const scratch = m.alloc(this.scratchBytes);
      const base = done === 0 ? 0 : m.i32(endsPtr + (done - 1) * 4, 1)[0];
      // Ends are relative to the text start; shift the window to the first undone piece.
      const view = m.i32(endsPtr + done * 4, count - done);
      if (base) for (let i = 0; i < view.length; i++) view[i] -= base;
      n += k.bpeEncodePieces(textPtr + base, endsPtr + done * 4, count - done, out + n * 4, scratch, this.scratchBytes);
      if (base) for (let i = 0; i < view.length; i++) view[i] += base;
      m.reset(mark);
      done += k.bpeEncodedPieces();
      const pending = k.bpePendingPiece();
      if (pending > 0) this.scratchBytes = Math.max(this.scratchBytes * 2, pending * scratchPerByte(m) + 64);
    }
    return new Uint32Array(m.memory.buffer, out, n).slice();
  }

  /**
   * Character-level BPE of pieces with lone surrogates. A lone surrogate is a
   * character with no token (the reference byte-falls-back the UTF-8 of
   * U+FFFD, EF BF BD, even where "\uFFFD" itself is a token). Such a character
   * never merges, so the text on either side of it encodes independently.
   */
  private encodeWithLoneSurrogates(pieces: string[], byteFallback: Int32Array, unkId: number): Uint32Array {
    const replacement = [0xef, 0xbf, 0xbd].map((b) => byteFallback[b]);
    const lone = replacement.every((id) => id >= 0) ? replacement : [unkId < 0 ? 0xffffffff : unkId];
    const out: number[] = [];
    const words: string[] = [];
    const flush = () => {
      if (words.length) for (const id of this.encodePieces(words.splice(0))) out.push(id);
    };
    for (const piece of pieces) {
      let start = 0;
      for (let j = 0; j < piece.length; j++) {
        const c = piece.charCodeAt(j);
        if (c < 0xd800 || c > 0xdfff) continue;
        const d = piece.charCodeAt(j + 1);
        if (c < 0xdc00 && d >= 0xdc00 && d <= 0xdfff) {
          j++; // a valid pair
          continue;
        }
        if (j > start) words.push(piece.slice(start, j));
        flush();
        out.push(...lone);
        start = j + 1;
      }
      if (start < piece.length) words.push(piece.slice(start));
    }
    flush();
    return Uint32Array.from(out);
  }

  /** Character-level BPE: fuse runs of unk (fuse_unk) and report characters with no id at all. */
  private checkUnknown(ids: Uint32Array, unkId: number, fuse: boolean): Uint32Array {
    const missing = ids.indexOf(0xffffffff);
    if (missing >= 0) {
      throw new Error("tokenizer: the text has a character that is not a token, has no <0xXX> byte tokens and the tokenizer has no unk_token");
    }
    if (!fuse || unkId < 0 || ids.indexOf(unkId) < 0) return ids;
    const out: number[] = [];
    for (let i = 0; i < ids.length; i++) if (!(ids[i] === unkId && i > 0 && ids[i - 1] === unkId)) out.push(ids[i]);
    return Uint32Array.from(out);
  }

  private badId(id: number, at: number): RangeError {
    return new RangeError(`tokenizer: id ${id} at position ${at} is not a token (vocabulary has ${this.vocabSize} ids)`);
  }

  private matcher(options: EncodeOptions): SpecialMatcher {
    const allowed = options.allowedSpecial;
    if (!allowed) return EMPTY_MATCHER;
    const names = allowed === "all" ? [...this.specialTokens.keys()] : [...allowed];
    const key = names.join("\u0000");
    let matcher = this.matchers.get(key);
    if (!matcher) {
      matcher = new SpecialMatcher(
        names.map((name) => {
          const id = this.specialTokens.get(name);
          if (id === undefined) throw new Error(`tokenizer: allowedSpecial names ${JSON.stringify(name)}, which is not a special token`);
          return { bytes: encoder.encode(name), id };
        }),
      );
      this.matchers.set(key, matcher);
    }
    return matcher;
  }

  /** Writes text as UTF-8 at the top of memory; returns where and how long. */
  private writeText(text: TextInput): { ptr: number; len: number } {
    const m = this.m;
    if (typeof text === "string") {
      const ptr = m.alloc(text.length * 3 + 8);
      const { written } = encoder.encodeInto(text, m.u8(ptr, text.length * 3));
      m.reset(ptr);
      m.alloc(written + 8);
      return { ptr, len: written };
    }
    const ptr = m.alloc(text.length + 8);
    m.u8(ptr, text.length).set(text);
    return { ptr, len: text.length };
  }

  private encodeBytesWith(bytes: Uint8Array, matcher: SpecialMatcher): Uint32Array {
    const m = this.m;
    m.reset(this.ioMark);
    const { ptr, len } = this.writeText(bytes);
    const out = m.alloc(len * 4 + 4);
    const n = this.encodeWritten(ptr, len, out, matcher);
    return new Uint32Array(m.memory.buffer, out, n).slice();
  }

  /** Encodes text already in memory, splitting at allowed special tokens. */
  private encodeWritten(ptr: number, len: number, out: number, matcher: SpecialMatcher): number {
    if (matcher.empty) return this.encodeRange(ptr, len, out, 0);
    let n = 0;
    let at = 0;
    for (const s of matcher.find(this.m.u8(ptr, len))) {
      n = this.encodeRange(ptr + at, s.start - at, out, n);
      this.m.i32(out + n * 4, 1)[0] = s.id;
      n++;
      at = s.end;
    }
    return this.encodeRange(ptr + at, len - at, out, n);
  }

  /** Encodes [ptr, ptr + len) into out starting at id index n; returns the new count. */
  private encodeRange(ptr: number, len: number, out: number, n: number): number {
    const m = this.m;
    const k = m.exports;
    let done = 0;
    while (done < len) {
      const mark = m.mark();
      const scratch = m.alloc(this.scratchBytes);
      n += k.bpeEncode(ptr + done, len - done, out + n * 4, scratch, this.scratchBytes);
      m.reset(mark);
      done += k.bpeEncodedBytes();
      const pending = k.bpePendingPiece();
      if (pending > 0) this.scratchBytes = Math.max(this.scratchBytes * 2, pending * scratchPerByte(m) + 64);
    }
    return n;
  }

  /**
   * Where a stream may cut pending[0, fill): the last safe split position (the
   * rule of lastSafeCut in assembly/tokenizer/pretokenize.ts: a space after an
   * ASCII letter) at or above `from`, not inside an allowed special token; 0 if none.
   * Scanning only above `from` keeps text without such positions linear.
   */
  private streamCut(pending: Uint8Array, fill: number, matcher: SpecialMatcher, from: number): number {
    // Leave room for a special token that might straddle the cut to be seen whole.
    const searchEnd = matcher.empty ? fill : fill - matcher.maxLength;
    let cut = 0;
    for (let c = searchEnd - 1; c >= Math.max(1, from); c--) {
      if (pending[c] === 0x20 && ((pending[c - 1] | 0x20) - 0x61) >>> 0 < 26) {
        cut = c;
        break;
      }
    }
    if (cut > 0 && !matcher.empty) {
      for (const s of matcher.find(pending, 0, fill)) {
        if (s.start < cut && cut < s.end) cut = s.start;
      }
    }
    return cut;
  }
}

const EMPTY_MATCHER = new SpecialMatcher([]);
const lenientDecoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** The code point that ends just before index i (i > 0). */
export function codePointBefore(s: string, i: number): number {
  const c = s.charCodeAt(i - 1);
  if (c >= 0xdc00 && c <= 0xdfff && i >= 2) {
    const h = s.charCodeAt(i - 2);
    if (h >= 0xd800 && h < 0xdc00) return ((h - 0xd800) << 10) + (c - 0xdc00) + 0x10000;
  }
  return c;
}

function piecesAt(x: string, ends: Int32Array): string[] {
  const out: string[] = [];
  let start = 0;
  for (const e of ends) {
    out.push(x.slice(start, e));
    start = e;
  }
  return out;
}

/** String.prototype.isWellFormed where the runtime has it (no lone surrogates). */
export function isWellFormed(s: string): boolean {
  const f = (s as { isWellFormed?: () => boolean }).isWellFormed;
  return f ? f.call(s) : !/\p{Cs}/u.test(s);
}

/**
 * The first 255 distinct single-character tokens of code point below 65536
 * that the merges, in rank order, join: the characters that merging meets most
 * (see bpeBuildCharPairs). `pairs`: (left, right) ids by rank.
 */
function firstMergedChars(pairs: Int32Array, tokens: ReadonlyArray<Uint8Array | null>, specials: ReadonlyMap<string, number>): number[] {
  const special = new Set(specials.values());
  const chosen: number[] = [];
  const seen = new Set<number>();
  for (let i = 0; i < pairs.length && chosen.length < 255; i++) {
    const id = pairs[i];
    if (seen.has(id)) continue;
    seen.add(id);
    const t = tokens[id];
    if (!t || special.has(id) || t.length > 3) continue;
    const lead = t[0];
    const charLength = lead < 0x80 ? 1 : lead >= 0xc2 && lead < 0xe0 ? 2 : lead >= 0xe0 && lead < 0xf0 ? 3 : 0;
    if (charLength === t.length) chosen.push(id);
  }
  return chosen;
}

/** GPT-2's byte-level alphabet as i32[0x144]: the byte of each character, -1 for the others (see bpeResolveMerges). */
const BYTE_LEVEL_ALPHABET = (() => {
  const table = new Int32Array(0x144).fill(-1);
  BYTE_TO_CHAR.forEach((c, b) => (table[c.charCodeAt(0)] = b));
  return table;
})();

/**
 * Resolves a merge list in WebAssembly (see bpeResolveMerges); returns where
 * its id pairs are, or undefined when some merge needs the JavaScript reading
 * (a malformed entry, a lone surrogate, a string that is no table token).
 */
function resolveMergeList(m: TokenizerModule, list: MergeList): number | undefined {
  const entries = list.entries;
  const n = entries.length;
  const pairForm = n > 0 && typeof entries[0] !== "string";
  const strings: string[] = new Array(pairForm ? 2 * n : n);
  for (let i = 0; i < n; i++) {
    const e = entries[i];
    if (!pairForm) {
      if (typeof e !== "string") return undefined;
      strings[i] = e;
    } else {
      if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== "string" || typeof e[1] !== "string") return undefined;
      strings[2 * i] = e[0];
      strings[2 * i + 1] = e[1];
    }
  }
  const lensPtr = m.alloc(strings.length * 4 + 4);
  const lens = m.i32(lensPtr, strings.length);
  let longest = 0;
  for (let i = 0; i < strings.length; i++) {
    const s = strings[i];
    // A string ending in a high surrogate could pair with the next one's start once joined.
    const last = s.charCodeAt(s.length - 1);
    if (last >= 0xd800 && last < 0xdc00) return undefined;
    lens[i] = s.length;
    longest = Math.max(longest, s.length);
  }
  const text = strings.join("");
  if (!isWellFormed(text)) return undefined;
  const textPtr = m.alloc(text.length * 3 + 8);
  encoder.encodeInto(text, m.u8(textPtr, text.length * 3));
  let alphabetPtr = 0;
  if (list.byteLevel) {
    alphabetPtr = m.alloc(BYTE_LEVEL_ALPHABET.byteLength);
    m.i32(alphabetPtr, BYTE_LEVEL_ALPHABET.length).set(BYTE_LEVEL_ALPHABET);
  }
  const out = m.alloc(n * 8 + 8);
  const scratch = m.alloc(3 * longest + 8);
  return m.exports.bpeResolveMerges(textPtr, lensPtr, n, pairForm ? 1 : 0, alphabetPtr, out, scratch) < 0 ? out : undefined;
}

/** Scratch bytes that merging needs per byte of a piece (a constant of the wasm module). */
function scratchPerByte(m: TokenizerModule): number {
  return (m.exports.SCRATCH_PER_BYTE as WebAssembly.Global).value as number;
}

function specialIds(specials: Map<string, number>): Set<number> {
  return new Set(specials.values());
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function describeBytes(b: Uint8Array): string {
  const text = new TextDecoder().decode(b);
  return JSON.stringify(text);
}

/** Creates a tokenizer from its definition (see BpeDefinition). */
export function createTokenizer(definition: BpeDefinition, options: TokenizerOptions = {}): Promise<Tokenizer> {
  return Tokenizer.create(definition, options);
}
