// The words a layer probe is trained and scored on: Brown's tagged words, each
// placed at ONE token position of the token stream the model reads.
//
// The stream is the data pipeline's: each document tokenized on its own, the
// documents joined by the end-of-text id (data/shards.ts concatDocuments). It is
// cut into consecutive windows of `seq` inputs as evaluation cuts the validation
// shard (data/sampler.ts: window w holds stream positions [w·seq, w·seq + seq]),
// so every stream position is an input of exactly one window.
//
// Word → position: the LAST token whose bytes overlap the word's bytes, so the
// causal state there has read the whole word (a word split over several tokens
// uses its last piece). Token byte spans come from the tokenizer's own token
// bytes, added up in order, and must spell the document byte for byte (a
// tokenizer that normalizes text or is character-level is refused). A token may
// end more than one word (a BPE piece such as `."` covers a period and a quote):
// such a position would carry two labels, so every word whose position is shared
// with another word is skipped (counted as `shared`). Words with no tag, and words
// past the last full window of the stream, are skipped too (counted).
import type { TaggedWord } from "../data/brown.ts";
import { windowCount } from "../data/sampler.ts";
import type { TokenBatch } from "../model/batch.ts";
import type { Tokenizer } from "../tokenizer/tokenizer.ts";
import { ProbeError } from "./linear-probe.ts";

export type ProbeTagSet = "full" | "coarse";
export const PROBE_TAG_SETS: readonly ProbeTagSet[] = ["full", "coarse"];

/**
 * The coarse form of a Brown tag: the first part of a compound (`ppss+ber` → `ppss`),
 * without the foreign-word prefix `fw-` and the title/headline/cited suffixes
 * `-tl`, `-hl`, `-nc` (also their truncated forms `-t`, `-n` that a few tags have),
 * and without the negation mark `*` (`do*` → `do`; the tag `*` itself, for "not",
 * stays). Possessive `$` stays (`nn$` is not `nn`). About 85 tags instead of 472.
 */
export function coarseTag(tag: string): string {
  let t = tag.toLowerCase().split("+")[0]!;
  if (t.startsWith("fw-")) t = t.slice(3);
  for (let prev = ""; prev !== t; ) {
    prev = t;
    t = t.replace(/-(tl|hl|nc|t|n)$/, "");
  }
  if (t.length > 1 && t.endsWith("*")) t = t.slice(0, -1);
  return t;
}

export function tagOf(tag: string, set: ProbeTagSet): string {
  return set === "coarse" ? coarseTag(tag) : tag.toLowerCase();
}

/** UTF-8 byte offset of every UTF-16 index of s (length s.length + 1). */
export function utf8Offsets(s: string): Int32Array {
  const at = new Int32Array(s.length + 1);
  let b = 0;
  for (let i = 0; i < s.length; i++) {
    at[i] = b;
    const c = s.charCodeAt(i);
    if (c < 0x80) b += 1;
    else if (c < 0x800) b += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      // a surrogate pair is 4 bytes; its low half shares the pair's start
      b += 4;
      at[++i] = at[i - 1]!;
    } else b += 3;
  }
  at[s.length] = b;
  return at;
}

/** Each id's bytes, fetched once per tokenizer (tokenToBytes copies; a corpus has millions of tokens). */
const PIECES = new WeakMap<Tokenizer, Uint8Array[]>();
function tokenPieces(tokenizer: Tokenizer): Uint8Array[] {
  let p = PIECES.get(tokenizer);
  if (!p) PIECES.set(tokenizer, (p = []));
  return p;
}

/**
 * End byte offset of every token of `ids` (tokens are contiguous from byte 0).
 * Throws when the tokens' bytes do not spell `text`'s UTF-8 exactly.
 */
export function tokenByteEnds(tokenizer: Tokenizer, ids: ArrayLike<number>, text: string, where: string): Int32Array {
  const bytes = new TextEncoder().encode(text);
  const ends = new Int32Array(ids.length);
  const pieces = tokenPieces(tokenizer);
  let at = 0;
  for (let t = 0; t < ids.length; t++) {
    const id = ids[t]!;
    const piece = pieces[id] ?? (pieces[id] = tokenizer.tokenToBytes(id));
    for (let j = 0; j < piece.length; j++) {
      if (bytes[at + j] !== piece[j]) {
        throw new ProbeError(
          `probe: ${where}: the tokenizer's token ${t} (id ${ids[t]}) does not spell the text at byte ${at + j}; ` +
            "the probe needs tokens that spell the text byte for byte (a byte-level BPE without a normalizer)",
        );
      }
    }
    at += piece.length;
    ends[t] = at;
  }
  if (at !== bytes.length) throw new ProbeError(`probe: ${where}: the tokens spell ${at} of the text's ${bytes.length} bytes`);
  return ends;
}

/**
 * The token index of each word (the last token overlapping it), or −1 for an
 * empty word. Words must be in text order, not overlapping (Brown's are).
 */
export function lastTokenOfWords(words: readonly Pick<TaggedWord, "start" | "end">[], text: string, ends: Int32Array): Int32Array {
  const byteAt = utf8Offsets(text);
  const out = new Int32Array(words.length);
  let t = 0;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const bs = byteAt[w.start]!;
    const be = byteAt[w.end]!;
    if (be <= bs) {
      out[i] = -1;
      continue;
    }
    // the last token starting before the word's end: token t starts at ends[t − 1]
    while (t + 1 < ends.length && ends[t]! < be) t++;
    if (t > 0 && ends[t - 1]! >= be) throw new ProbeError("probe: words must be in text order");
    out[i] = t;
  }
  return out;
}

export interface TaggedDocument {
  id: string;
  text: string;
  words: readonly TaggedWord[];
}

/** One split's probe inputs: the windows to run and, per kept word, its row in them and its tag. */
export interface ProbeSplit {
  /** windows of seq + 1 ids, in batches of at most batchRows rows */
  batches: TokenBatch[];
  /** per word: its row among all windows' positions, window ordinal · seq + column */
  rows: Int32Array;
  /** per word: its tag (of the chosen tag set) */
  tags: string[];
  /** words skipped: their last token also ends another word / untagged / past the last full window / left out by maxWords */
  skipped: { shared: number; untagged: number; beyondWindows: number; overLimit: number };
  /** windows of the stream, and how many of them are run */
  windows: { total: number; used: number };
}

export interface ProbeSplitOptions {
  seq: number;
  eot: number;
  tagSet: ProbeTagSet;
  /** keep at most this many words (windows evenly spread over the stream, then the first maxWords of their words) */
  maxWords: number;
  /** windows per forward batch (default 8) */
  batchRows?: number;
}

/** Tokenizes the documents as the data pipeline does and places every word (see the file comment). */
export function probeSplit(tokenizer: Tokenizer, docs: readonly TaggedDocument[], o: ProbeSplitOptions): ProbeSplit {
  const { seq } = o;
  const ids = tokenizer.encodeBatch(docs.map((d) => d.text));
  const positions: number[] = [];
  const tags: string[] = [];
  const skipped = { shared: 0, untagged: 0, beyondWindows: 0, overLimit: 0 };
  let offset = 0;
  docs.forEach((doc, di) => {
    if (di > 0) offset += 1; // the end-of-text id between documents
    const docIds = ids[di]!;
    const ends = tokenByteEnds(tokenizer, docIds, doc.text, `document ${doc.id}`);
    const last = lastTokenOfWords(doc.words, doc.text, ends);
    const uses = new Map<number, number>();
    for (let i = 0; i < last.length; i++) if (last[i]! >= 0) uses.set(last[i]!, (uses.get(last[i]!) ?? 0) + 1);
    for (let i = 0; i < last.length; i++) {
      const w = doc.words[i]!;
      if (!w.tag || last[i]! < 0) skipped.untagged++;
      else if (uses.get(last[i]!)! > 1) skipped.shared++;
      else {
        positions.push(offset + last[i]!);
        tags.push(tagOf(w.tag, o.tagSet));
      }
    }
    offset += docIds.length;
  });
  const streamLength = offset;
  const stream = new Int32Array(streamLength);
  let at = 0;
  ids.forEach((d, i) => {
    if (i > 0) stream[at++] = o.eot;
    stream.set(d, at);
    at += d.length;
  });

  const total = windowCount(streamLength, seq);
  // words per window, in stream order
  const perWindow: number[][] = Array.from({ length: total }, () => []);
  positions.forEach((p, i) => {
    const w = Math.floor(p / seq);
    if (w < total) perWindow[w]!.push(i);
    else skipped.beyondWindows++;
  });
  const placed = positions.length - skipped.beyondWindows;
  // enough windows, evenly spread over the stream, to hold about maxWords words
  // (grown until they do: words are not spread evenly over windows)
  const spread = (count: number) => Array.from({ length: count }, (_, i) => Math.floor((i * total) / count));
  const wordsIn = (ws: number[]) => ws.reduce((n, w) => n + perWindow[w]!.length, 0);
  let want = placed <= o.maxWords ? total : Math.min(total, Math.ceil((o.maxWords * total) / Math.max(1, placed)));
  let chosen = spread(want);
  while (want < total && wordsIn(chosen) < o.maxWords) {
    want = Math.min(total, Math.ceil(want * 1.05) + 1);
    chosen = spread(want);
  }
  const rows: number[] = [];
  const kept: string[] = [];
  chosen.forEach((w, ordinal) => {
    for (const i of perWindow[w]!) {
      if (rows.length >= o.maxWords) break;
      rows.push(ordinal * seq + (positions[i]! - w * seq));
      kept.push(tags[i]!);
    }
  });
  skipped.overLimit = placed - rows.length;

  const batchRows = o.batchRows ?? 8;
  const batches: TokenBatch[] = [];
  for (let first = 0; first < chosen.length; first += batchRows) {
    const n = Math.min(batchRows, chosen.length - first);
    const b = new Int32Array(n * (seq + 1));
    for (let r = 0; r < n; r++) b.set(stream.subarray(chosen[first + r]! * seq, chosen[first + r]! * seq + seq + 1), r * (seq + 1));
    batches.push({ batch: n, length: seq + 1, ids: b });
  }
  return { batches, rows: Int32Array.from(rows), tags: kept, skipped, windows: { total, used: chosen.length } };
}
