// Byte-level BPE encoding and decoding over tables in linear memory.
//
// Tables (allocated by the host, registered with bpeSetTables):
// - token bytes, concatenated, and per id an (offset, length) span; length -1
//   marks an id with no token (a gap in the vocabulary);
// - a token table: open addressing, 16-byte slots (u64 first 8 bytes of the
//   token and u32 bytes 8..11, zero-padded; u32 whole << 31 | length << 20 | id,
//   all ones empty), mapping a byte string to its id and its "whole piece" flag.
//   Most pieces are at most 12 bytes, so one slot compare settles them without
//   touching the token's bytes (one cache miss per piece, not three);
// - a merge table: open addressing, 8-byte slots (rank << 40 | left << 20 | right;
//   all-ones empty), so ids are below 2^20 and ranks below 2^24. The merged id
//   is the rank itself (tiktoken) or comes from a rank -> merged array (merge lists),
//   read only for the pair that actually merges (a lookup finds ranks only);
// - the id of each single byte (i32[256]);
// - a flag byte per id: 2 "special": decodable, but never produced from text
//   (the host sets it before bpeIndexTokens); 1 "whole piece": a piece equal to
//   that token encodes to it without merging. tiktoken defines encoding this
//   way; for merge-list tokenizers the flag is set only where merging reaches
//   the token anyway, so the shortcut never changes a result;
// - a byte-pair table and an optional piece cache (see below).
//
// Character-level mode (SentencePiece-style BPE as tokenizer.json writes it,
// e.g. Llama 2, Mistral, Gemma): tokens are still stored as UTF-8 bytes, but a
// piece starts as one symbol per UTF-8 character instead of one per byte. A
// character that is not a token can never merge (merges join tokens) and is
// emitted as its bytes' `<0xXX>` tokens (byte_fallback), or as the unk id when
// those are missing. In the symbol arrays such a character is the negative
// marker -2 - (its offset in the piece), which no merge matches.
//
// Merging follows tiktoken's `_byte_pair_merge` (and Hugging Face's BPE word
// merge): repeatedly join the adjacent pair of lowest rank, leftmost first.
import { hashBytes, bytesEqual, hashPair, hashWord, loadPrefix } from "./byte-hash";
import { pieceEnd } from "./pretokenize";
import { charInfo, INFO_LEN_SHIFT } from "./utf8";

const EMPTY_KEY: u64 = 0xffffffffffffffff;
const NO_MERGE: u64 = 0x7fffffffffffffff;
const FLAG_WHOLE: u8 = 1;
const FLAG_SPECIAL: u8 = 2;

let tokenBytes: usize = 0;
let tokenSpans: usize = 0;
let tokenCount: i32 = 0;
let tokenTable: usize = 0;
let tokenMask: u32 = 0;
let mergeTable: usize = 0;
let mergeMask: u32 = 0;
let mergedOfRank: usize = 0;
const KEY_MASK: u64 = (<u64>1 << 40) - 1;
let byteTokens: usize = 0;
let bytePairs: usize = 0;
let cacheTable: usize = 0;
let cacheMask: u32 = 0;
let wholePiece: usize = 0;
let pattern: i32 = 0;
let charLevel: bool = false;
let fallbackIds: usize = 0;
let unkId: i32 = -1;
let charIds: usize = 0;
let denseOfChar: usize = 0;
let charPairs: usize = 0;
/** A character without a dense index (see bpeBuildCharPairs). */
const NOT_DENSE: u32 = 255;

/**
 * Registers the token tables. `tokenSlots` is a power of two, at least twice
 * the number of tokens. Clears the token table and the byte and flag tables.
 * The token bytes need 8 readable bytes after the last token.
 */
export function bpeSetTables(
  bytes: usize, spans: usize, count: i32,
  tokTable: usize, tokenSlots: i32,
  bytesToIds: usize, whole: usize, pat: i32,
): void {
  tokenBytes = bytes;
  tokenSpans = spans;
  tokenCount = count;
  tokenTable = tokTable;
  tokenMask = <u32>tokenSlots - 1;
  byteTokens = bytesToIds;
  wholePiece = whole;
  pattern = pat;
  memory.fill(tokTable, 0xff, <usize>tokenSlots << 4);
  memory.fill(bytesToIds, 0xff, 256 << 2);
  memory.fill(whole, 0, <usize>count);
  charLevel = false;
}

/**
 * Switches to character-level BPE (call after bpeSetTables, before merges are
 * marked). `fallback`: i32[256], the id of each byte's `<0xXX>` token or -1;
 * `unk`: the id for a character that has neither a token nor all its byte
 * tokens (-1: none; such an id in the output tells the host to report it).
 */
export function bpeSetCharLevel(fallback: usize, unk: i32): void {
  charLevel = true;
  fallbackIds = fallback;
  unkId = unk;
  charIds = 0;
}

/**
 * Character-level mode: fills `table` (i32[65536]) with the id of each
 * two- or three-byte character that is a token by itself (-1: none), so that
 * splitting a piece into characters reads a table instead of probing the token
 * table. Call after bpeIndexTokens.
 */
export function bpeBuildCharTable(table: usize): void {
  memory.fill(table, 0xff, 65536 << 2);
  for (let id = 0; id < tokenCount; id++) {
    const len = spanLength(id);
    if (len < 2 || len > 3 || load<u8>(wholePiece + <usize>id) == FLAG_SPECIAL) continue;
    const p = spanStart(id);
    if (<i32>(charInfo(p, p + <usize>len) >> INFO_LEN_SHIFT) != len) continue;
    store<i32>(table + (<usize>codePoint23(p, len) << 2), id);
  }
  charIds = table;
}

/** Code point of a valid two- or three-byte UTF-8 character at p. */
@inline function codePoint23(p: usize, len: i32): u32 {
  const b0 = <u32>load<u8>(p);
  const b1 = <u32>load<u8>(p, 1) & 0x3f;
  if (len == 2) return ((b0 & 0x1f) << 6) | b1;
  return ((b0 & 0x0f) << 12) | (b1 << 6) | (<u32>load<u8>(p, 2) & 0x3f);
}

/**
 * Character-level mode, after the merges and bpeBuildCharTable: gives dense
 * indices 0..count-1 (count <= 255) to the single-character tokens `chosen`
 * (i32 ids; the host picks the characters of the first merges, the most
 * frequent ones) and fills `pairs` (u32[65536], the rank of the merge of each
 * two of them, all ones: none) and `dense` (u8[65536], each code point's index,
 * NOT_DENSE for the others). The first round of merging, one lookup per pair of
 * characters, then reads a 256 KiB table instead of probing the merge table
 * (Gemma's: 8 MiB), as the byte-pair table does for byte-level BPE.
 */
export function bpeBuildCharPairs(chosen: usize, count: i32, dense: usize, pairs: usize): void {
  memory.fill(dense, <u8>NOT_DENSE, 65536);
  memory.fill(pairs, 0xff, 65536 << 2);
  for (let a = 0; a < count; a++) {
    const id = load<i32>(chosen + (<usize>a << 2));
    const len = spanLength(id);
    const p = spanStart(id);
    store<u8>(dense + <usize>(len == 1 ? <u32>load<u8>(p) : codePoint23(p, len)), <u8>a);
    for (let b = 0; b < count; b++) {
      const v = lookupMerge(id, load<i32>(chosen + (<usize>b << 2)));
      if (v != NO_MERGE) store<u32>(pairs + (<usize>((a << 8) | b) << 2), <u32>(v >> 32));
    }
  }
  denseOfChar = dense;
  charPairs = pairs;
}

/**
 * Writes one symbol per UTF-8 character of [p, p + len) to ids, and its dense
 * index (NOT_DENSE: none) to dense (u8); returns their number.
 */
function charSymbols(p: usize, len: i32, ids: usize, dense: usize): i32 {
  const end = p + <usize>len;
  const denseOf = denseOfChar;
  let n = 0;
  let k = p;
  while (k < end) {
    const clen = <i32>(charInfo(k, end) >> INFO_LEN_SHIFT);
    let id: i32;
    let d = NOT_DENSE;
    if (clen == 1) {
      const b = <usize>load<u8>(k);
      id = load<i32>(byteTokens + (b << 2));
      if (denseOf) d = <u32>load<u8>(denseOf + b);
    } else if (clen <= 3 && charIds) {
      const cp = <usize>codePoint23(k, clen);
      id = load<i32>(charIds + (cp << 2));
      if (denseOf) d = <u32>load<u8>(denseOf + cp);
    } else {
      id = bpeFindToken(k, clen);
    }
    // Special tokens are in none of these tables (bpeIndexTokens skips them).
    if (id < 0) {
      id = -2 - <i32>(k - p);
      d = NOT_DENSE;
    }
    store<i32>(ids + (<usize>n << 2), id);
    store<u8>(dense + <usize>n, <u8>d);
    n++;
    k += <usize>clen;
  }
  return n;
}

/** rank << 32 of the merge of symbols i and i + 1 of a piece just split by charSymbols (NO_MERGE: none). */
@inline function firstCharPair(ids: usize, dense: usize, i: usize): u64 {
  const da = <u32>load<u8>(dense + i);
  const db = <u32>load<u8>(dense + i + 1);
  if (da < NOT_DENSE && db < NOT_DENSE) {
    const r = load<u32>(charPairs + (<usize>((da << 8) | db) << 2));
    return r == 0xffffffff ? NO_MERGE : <u64>r << 32;
  }
  return lookupMerge(load<i32>(ids + (i << 2)), load<i32>(ids + ((i + 1) << 2)));
}

/** Writes symbol `id` to out, expanding an unknown character; returns the ids written. */
@inline function emitSymbol(p: usize, len: i32, id: i32, out: usize): i32 {
  if (id >= 0) {
    store<i32>(out, id);
    return 1;
  }
  const at = p + <usize>(-2 - id);
  const clen = <i32>(charInfo(at, p + <usize>len) >> INFO_LEN_SHIFT);
  let complete = fallbackIds != 0;
  for (let i = 0; complete && i < clen; i++) complete = load<i32>(fallbackIds + (<usize>load<u8>(at + <usize>i) << 2)) >= 0;
  if (!complete) {
    store<i32>(out, unkId);
    return 1;
  }
  for (let i = 0; i < clen; i++) store<i32>(out + (<usize>i << 2), load<i32>(fallbackIds + (<usize>load<u8>(at + <usize>i) << 2)));
  return clen;
}

/**
 * Registers and clears the merge table: `mergeSlots` (a power of two) slots of
 * 8 bytes, at least 1.5 times the merges it will hold (see bpeCountRankMerges).
 * `rankToMerged`: an i32 per merge for merge lists, 0 when the rank is the id.
 */
export function bpeSetMergeTable(table: usize, mergeSlots: i32, rankToMerged: usize): void {
  mergeTable = table;
  mergeMask = <u32>mergeSlots - 1;
  mergedOfRank = rankToMerged;
  memory.fill(table, 0xff, <usize>mergeSlots << 3);
}

@inline function spanStart(id: i32): usize {
  return tokenBytes + <usize>load<i32>(tokenSpans + (<usize>id << 3));
}

@inline function spanLength(id: i32): i32 {
  return load<i32>(tokenSpans + (<usize>id << 3), 4);
}

/** Bytes 8..11 of [p, p + len) as a little-endian u32, zero-padded (0 when len <= 8). */
@inline function secondWord(p: usize, len: i32): u32 {
  if (len <= 8) return 0;
  const word = load<u32>(p + 8);
  return len >= 12 ? word : word & ((<u32>1 << (<u32>(len - 8) << 3)) - 1);
}

@inline function tokenHash(p: usize, len: i32, prefix: u64): u32 {
  if (len <= 8) return hashWord(prefix, len);
  // 9..16 bytes (SentencePiece words with their 3-byte "▁"): two words, no loop.
  if (len <= 16) return hashWord(prefix ^ (loadPrefix(p + 8, len - 8) * 0xc2b2ae3d27d4eb4f), len);
  return hashBytes(p, <usize>len);
}

/**
 * A token-table slot's last word: the whole-piece flag (bit 31), length (11
 * bits, 2047 for longer) and id (20 bits); all ones when empty. The flag in the
 * slot spares encodePiece a second random read (the flag array) per piece.
 */
const SLOT_EMPTY: u32 = 0xffffffff;
const SLOT_LONG: u32 = 2047;
const SLOT_WHOLE: u32 = 0x80000000;
const SLOT_LEN_MASK: u32 = 0x7ff00000;

@inline function slotTag(len: i32, id: i32): u32 {
  return (min(<u32>len, SLOT_LONG) << 20) | <u32>id;
}

/** Slot of the token with bytes [p, p + len), or 0 when there is none. May read 8 bytes past p + len (callers keep them readable). */
function findTokenSlot(p: usize, len: i32): usize {
  const prefix = loadPrefix(p, len);
  const second = secondWord(p, len);
  const lenTag = min(<u32>len, SLOT_LONG) << 20;
  let slot = tokenHash(p, len, prefix) & tokenMask;
  while (true) {
    const s = tokenTable + (<usize>slot << 4);
    const tag = load<u32>(s, 12);
    if (tag == SLOT_EMPTY) return 0;
    // The slot holds the first 12 bytes: shorter tokens never touch their bytes.
    if ((tag & SLOT_LEN_MASK) == lenTag && load<u64>(s) == prefix && load<u32>(s, 8) == second) {
      const id = <i32>(tag & 0xfffff);
      if (len <= 12 || (spanLength(id) == len && bytesEqual(spanStart(id) + 12, p + 12, <usize>(len - 12)))) return s;
    }
    slot = (slot + 1) & tokenMask;
  }
}

/** Id of the token with bytes [p, p + len), or -1. May read 8 bytes past p + len (callers keep them readable). */
export function bpeFindToken(p: usize, len: i32): i32 {
  const s = findTokenSlot(p, len);
  return s ? <i32>(load<u32>(s, 12) & 0xfffff) : -1;
}

/**
 * Indexes every token with a span into the token table and the byte table.
 * Returns -1 when all byte strings are distinct, else the first id whose bytes
 * repeat an earlier token's.
 */
export function bpeIndexTokens(): i32 {
  for (let id = 0; id < tokenCount; id++) {
    const len = spanLength(id);
    if (len < 0 || load<u8>(wholePiece + <usize>id) == FLAG_SPECIAL) continue;
    const p = spanStart(id);
    if (bpeFindToken(p, len) >= 0) return id;
    const prefix = loadPrefix(p, len);
    let slot = tokenHash(p, len, prefix) & tokenMask;
    while (load<u32>(tokenTable + (<usize>slot << 4), 12) != SLOT_EMPTY) slot = (slot + 1) & tokenMask;
    const s = tokenTable + (<usize>slot << 4);
    store<u64>(s, prefix);
    store<u32>(s, secondWord(p, len), 8);
    store<u32>(s, slotTag(len, id), 12);
    if (len == 1) store<i32>(byteTokens + (<usize>load<u8>(p) << 2), id);
  }
  return -1;
}

/**
 * Fills the byte-pair table (65536 u64, rank << 32 of each pair of
 * single-byte tokens): the first round of every merge reads it directly
 * instead of probing the merge table. Call after all merges are added.
 */
export function bpeBuildBytePairs(table: usize): void {
  for (let a = 0; a < 256; a++) {
    const left = load<i32>(byteTokens + (<usize>a << 2));
    for (let b = 0; b < 256; b++) {
      // Indexed by the two bytes read as a little-endian u16: second byte high.
      store<u64>(table + ((<usize>(b << 8) | <usize>a) << 3), lookupMerge(left, load<i32>(byteTokens + (<usize>b << 2))));
    }
  }
  bytePairs = table;
}

@inline function bytePairMerge(p: usize): u64 {
  return load<u64>(bytePairs + (<usize>load<u16>(p) << 3));
}

@inline function pairKey(left: i32, right: i32): u64 {
  return (<u64><u32>left << 20) | <u64><u32>right;
}

/** rank << 32 for the pair, or NO_MERGE (ordered like ranks: larger than any). */
@inline function lookupMerge(left: i32, right: i32): u64 {
  if ((left | right) < 0) return NO_MERGE; // an unknown character (character-level mode)
  const key = pairKey(left, right);
  let slot = hashPair(key) & mergeMask;
  while (true) {
    const v = load<u64>(mergeTable + (<usize>slot << 3));
    if ((v & KEY_MASK) == key) return (v >> 40) << 32;
    if (v == EMPTY_KEY) return NO_MERGE;
    slot = (slot + 1) & mergeMask;
  }
}

/** The token a merge of rank (v >> 32) produces. */
@inline function mergedOf(v: u64): i32 {
  const rank = <i32>(v >> 32);
  return mergedOfRank ? load<i32>(mergedOfRank + (<usize>rank << 2)) : rank;
}

/** Inserts a merge; returns false when the pair is already present (the first rank stays). */
function insertMerge(left: i32, right: i32, rank: i32, merged: i32): bool {
  const key = pairKey(left, right);
  let slot = hashPair(key) & mergeMask;
  while (true) {
    const s = mergeTable + (<usize>slot << 3);
    const v = load<u64>(s);
    if ((v & KEY_MASK) == key) return false;
    if (v == EMPTY_KEY) {
      store<u64>(s, (<u64><u32>rank << 40) | key);
      if (mergedOfRank) store<i32>(mergedOfRank + (<usize>rank << 2), merged);
      return true;
    }
    slot = (slot + 1) & mergeMask;
  }
}

/**
 * Adds merges from a merge list: `pairs` holds n (left, right) i32 pairs in rank
 * order. The merged token is the token whose bytes are left's then right's.
 * `scratch` needs room for the longest concatenation. Returns -1 on success,
 * else the index of the first pair whose ids are invalid or whose concatenation
 * is not a token (bit 30 set for the latter). A repeated pair keeps its first rank.
 */
export function bpeAddMerges(pairs: usize, n: i32, scratch: usize): i32 {
  for (let i = 0; i < n; i++) {
    const left = load<i32>(pairs + (<usize>i << 3));
    const right = load<i32>(pairs + (<usize>i << 3), 4);
    if (left < 0 || left >= tokenCount || right < 0 || right >= tokenCount) return i;
    const ll = spanLength(left);
    const rl = spanLength(right);
    if (ll < 0 || rl < 0) return i;
    memory.copy(scratch, spanStart(left), <usize>ll);
    memory.copy(scratch + <usize>ll, spanStart(right), <usize>rl);
    const merged = bpeFindToken(scratch, ll + rl);
    if (merged < 0) return i | (1 << 30);
    insertMerge(left, right, i, merged);
  }
  return -1;
}

/**
 * tiktoken semantics: any adjacent pair whose concatenation is a token merges,
 * with that token's id as its rank. Derives the merge table by splitting every
 * token at every position where both halves are tokens. Returns the number of merges.
 */
export function bpeDeriveMergesFromRanks(): i32 {
  let count = 0;
  for (let id = 0; id < tokenCount; id++) {
    const len = spanLength(id);
    if (len < 2 || load<u8>(wholePiece + <usize>id) == FLAG_SPECIAL) continue;
    const p = spanStart(id);
    for (let cut = 1; cut < len; cut++) {
      const left = bpeFindToken(p, cut);
      if (left < 0) continue;
      const right = bpeFindToken(p + <usize>cut, len - cut);
      if (right < 0) continue;
      if (insertMerge(left, right, id, id)) count++;
    }
  }
  return count;
}

/** Number of merges bpeDeriveMergesFromRanks will insert (sizes the merge table). */
export function bpeCountRankMerges(): i32 {
  let count = 0;
  for (let id = 0; id < tokenCount; id++) {
    const len = spanLength(id);
    if (len < 2 || load<u8>(wholePiece + <usize>id) == FLAG_SPECIAL) continue;
    const p = spanStart(id);
    for (let cut = 1; cut < len; cut++) {
      if (bpeFindToken(p, cut) >= 0 && bpeFindToken(p + <usize>cut, len - cut) >= 0) count++;
    }
  }
  return count;
}

/** Scratch bytes per piece byte that merging needs (either algorithm). */
export const SCRATCH_PER_BYTE: i32 = 48;
/** Pieces longer than this merge with a heap (O(n log n)) instead of rescanning (O(n²)). */
const HEAP_MERGE_MIN: i32 = 128;

/** BPE of one piece of len >= 2 bytes. Writes ids to out; returns their number. */
function mergePiece(p: usize, len: i32, out: usize, scratch: usize): i32 {
  return len < HEAP_MERGE_MIN ? mergePieceScan(p, len, out, scratch) : mergePieceHeap(p, len, out, scratch);
}

/**
 * Short pieces: keep the parts and the ranks of adjacent pairs in two small
 * arrays; each step scans for the lowest (rank, position) and closes the gap.
 * scratch: 13 * len bytes.
 */
function mergePieceScan(p: usize, len: i32, out: usize, scratch: usize): i32 {
  const ids = scratch;
  const pairs = scratch + (<usize>len << 2); // u64 per adjacent pair: rank << 32 (NO_MERGE: none)
  let n = len;
  if (charLevel) {
    const dense = pairs + (<usize>len << 3); // u8 per symbol
    n = charSymbols(p, len, ids, dense);
    for (let i = 0; i < n - 1; i++) store<u64>(pairs + (<usize>i << 3), firstCharPair(ids, dense, <usize>i));
  } else {
    for (let i = 0; i < len; i++) {
      store<i32>(ids + (<usize>i << 2), load<i32>(byteTokens + (<usize>load<u8>(p + <usize>i) << 2)));
    }
    for (let i = 0; i < len - 1; i++) {
      store<u64>(pairs + (<usize>i << 3), bytePairMerge(p + <usize>i));
    }
  }
  while (n > 1) {
    let best = NO_MERGE;
    let at = -1;
    for (let i = 0; i < n - 1; i++) {
      const v = load<u64>(pairs + (<usize>i << 3));
      if (v < best) {
        best = v;
        at = i;
      }
    }
    if (at < 0) break;
    store<i32>(ids + (<usize>at << 2), mergedOf(best));
    // Drop part at+1 and the pair (at, at+1). Plain loops: pieces are short, and
    // memory.copy is a call into the engine that costs more than these few moves.
    for (let i = at + 1; i < n - 1; i++) {
      store<i32>(ids + (<usize>i << 2), load<i32>(ids + (<usize>(i + 1) << 2)));
    }
    for (let i = at + 1; i < n - 2; i++) {
      store<u64>(pairs + (<usize>i << 3), load<u64>(pairs + (<usize>(i + 1) << 3)));
    }
    n--;
    const merged = load<i32>(ids + (<usize>at << 2));
    if (at > 0) store<u64>(pairs + (<usize>(at - 1) << 3), lookupMerge(load<i32>(ids + (<usize>(at - 1) << 2)), merged));
    if (at < n - 1) store<u64>(pairs + (<usize>at << 3), lookupMerge(merged, load<i32>(ids + (<usize>(at + 1) << 2))));
  }
  if (charLevel) {
    let w = 0;
    for (let i = 0; i < n; i++) w += emitSymbol(p, len, load<i32>(ids + (<usize>i << 2)), out + (<usize>w << 2));
    return w;
  }
  for (let i = 0; i < n; i++) store<i32>(out + (<usize>i << 2), load<i32>(ids + (<usize>i << 2)));
  return n;
}

/**
 * Long pieces (e.g. a megabyte without a space): parts form a linked list by
 * byte position and candidate merges sit in a min-heap keyed (rank << 32 | position),
 * so the order of merges, leftmost among equal ranks, is the scan's. Entries are
 * checked against the current pair when popped (lazy deletion).
 * scratch: 45 * len bytes.
 */
function mergePieceHeap(p: usize, len: i32, out: usize, scratch: usize): i32 {
  const byteLen = len;
  const B = <usize>len;
  const ids = scratch;
  const next = ids + (B << 2);
  const prev = next + (B << 2);
  const pairs = prev + (B << 2); // u64 per position: rank << 32 of the pair starting there
  const heap = pairs + (B << 3); // u64 entries, at most 3 * len
  const dense = heap + (B << 3) * 3; // u8 per symbol (character-level)
  let size: usize = 0;
  if (charLevel) {
    len = charSymbols(p, len, ids, dense); // from here on, len counts symbols
  } else {
    for (let i: usize = 0; i < B; i++) store<i32>(ids + (i << 2), load<i32>(byteTokens + (<usize>load<u8>(p + i) << 2)));
  }
  const L = <usize>len;
  for (let i: usize = 0; i < L; i++) {
    store<i32>(next + (i << 2), <i32>i + 1);
    store<i32>(prev + (i << 2), <i32>i - 1);
  }
  for (let i: usize = 0; i < L; i++) {
    let v = NO_MERGE;
    if (i + 1 < L) v = charLevel ? firstCharPair(ids, dense, i) : bytePairMerge(p + i);
    store<u64>(pairs + (i << 3), v);
    if (v != NO_MERGE) size = heapPush(heap, size, v | <u64>i);
  }
  while (size > 0) {
    const top = load<u64>(heap);
    size = heapPopMin(heap, size);
    const pos = <usize>(top & 0xffffffff);
    const v = load<u64>(pairs + (pos << 3));
    if (v == NO_MERGE || (v >> 32) != (top >> 32)) continue; // stale entry
    const right = <usize>load<i32>(next + (pos << 2));
    const after = load<i32>(next + (right << 2));
    const merged = mergedOf(v);
    store<i32>(ids + (pos << 2), merged);
    store<i32>(next + (pos << 2), after);
    if (after < len) store<i32>(prev + (<usize>after << 2), <i32>pos);
    store<u64>(pairs + (right << 3), NO_MERGE);
    const vr = after < len ? lookupMerge(merged, load<i32>(ids + (<usize>after << 2))) : NO_MERGE;
    store<u64>(pairs + (pos << 3), vr);
    if (vr != NO_MERGE) size = heapPush(heap, size, vr | <u64>pos);
    const before = load<i32>(prev + (pos << 2));
    if (before >= 0) {
      const vl = lookupMerge(load<i32>(ids + (<usize>before << 2)), merged);
      store<u64>(pairs + (<usize>before << 3), vl);
      if (vl != NO_MERGE) size = heapPush(heap, size, vl | <u64>before);
    }
  }
  let n = 0;
  for (let i = 0; i < len; i = load<i32>(next + (<usize>i << 2))) {
    const id = load<i32>(ids + (<usize>i << 2));
    if (charLevel) {
      n += emitSymbol(p, byteLen, id, out + (<usize>n << 2));
    } else {
      store<i32>(out + (<usize>n << 2), id);
      n++;
    }
  }
  return n;
}

@inline function heapPush(heap: usize, size: usize, v: u64): usize {
  let i = size;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    const pv = load<u64>(heap + (parent << 3));
    if (pv <= v) break;
    store<u64>(heap + (i << 3), pv);
    i = parent;
  }
  store<u64>(heap + (i << 3), v);
  return size + 1;
}

/** Removes the minimum (heap[0]); returns the new size. */
@inline function heapPopMin(heap: usize, size: usize): usize {
  const n = size - 1;
  const v = load<u64>(heap + (n << 3));
  let i: usize = 0;
  while (true) {
    let child: usize = 2 * i + 1;
    if (child >= n) break;
    let cv = load<u64>(heap + (child << 3));
    if (child + 1 < n) {
      const c2 = load<u64>(heap + ((child + 1) << 3));
      if (c2 < cv) {
        child++;
        cv = c2;
      }
    }
    if (v <= cv) break;
    store<u64>(heap + (i << 3), cv);
    i = child;
  }
  store<u64>(heap + (i << 3), v);
  return n;
}

/**
 * Optional piece cache: pieces of 2..24 bytes, with their ids (up to 8),
 * pieces that are a whole token included, in a four-way set-associative table
 * of 64-byte entries: u64 bytes 0..7, 8..15, 16..23 (zero-padded), i32 length (0: empty), i32 id count,
 * 8 ids. A set is four adjacent entries (256 bytes). A new piece takes the
 * first empty way, or replaces the last; a hit in way k > 0 swaps it with way
 * k - 1. So pieces that recur climb to way 0 (one cache line per hit), and a
 * burst of rare words replaces only the last way instead of pushing the
 * frequent ones out (two ways, as before, thrashed whenever three pieces met in
 * a set: ~10 % of the lookups of a 6 MB text missed). A hit returns exactly
 * what merging would, so the cache changes speed only. A piece looks here
 * first: one random read per piece, where the token table and then the cache
 * cost two for every piece that is no token (Llama 2: 28 % of Brown's pieces,
 * Gemma 17 %, cl100k 6 %; measured 1.11× and 1.18× on the whole corpus for the
 * first two, neutral for cl100k). 24 bytes: SentencePiece
 * words carry a 3-byte "▁", and most English words still fit.
 */
const CACHE_MAX_PIECE: i32 = 24;
const CACHE_MAX_IDS: i32 = 8;

const CACHE_WAYS_SHIFT: u32 = 2;
const CACHE_WAYS: usize = 1 << CACHE_WAYS_SHIFT;

/** Enables the piece cache with `entries` (a power of two, at least 4) 64-byte entries at table; 0 disables it. */
export function bpeSetPieceCache(table: usize, entries: i32): void {
  cacheTable = table;
  cacheMask = entries > 0 ? (<u32>entries >> CACHE_WAYS_SHIFT) - 1 : 0;
  if (entries > 0) memory.fill(table, 0, <usize>entries << 6);
}

/** Encodes one piece; returns the number of ids written to out. */
@inline function encodePiece(p: usize, len: i32, out: usize, scratch: usize): i32 {
  if (len == 1) {
    const single = load<i32>(byteTokens + (<usize>load<u8>(p) << 2));
    if (single >= 0) {
      store<i32>(out, single);
      return 1;
    }
    return mergePiece(p, len, out, scratch); // character-level: byte fallback
  }
  if (cacheTable != 0 && len <= CACHE_MAX_PIECE) return mergePieceCached(p, len, out, scratch);
  const s = findTokenSlot(p, len);
  if (s) {
    const tag = load<u32>(s, 12);
    if (tag & SLOT_WHOLE) {
      store<i32>(out, <i32>(tag & 0xfffff));
      return 1;
    }
  }
  return mergePiece(p, len, out, scratch);
}

@inline function cacheHit(e: usize, len: i32, w0: u64, w1: u64, w2: u64): bool {
  return load<i32>(e, 24) == len && load<u64>(e) == w0 && load<u64>(e, 8) == w1 && load<u64>(e, 16) == w2;
}

/** Copies a cache entry's ids to out; returns their number. */
@inline function cacheRead(e: usize, out: usize): i32 {
  const n = load<i32>(e, 28);
  for (let i = 0; i < n; i++) store<i32>(out + (<usize>i << 2), load<i32>(e + 32 + (<usize>i << 2)));
  return n;
}

/** Swaps the 64-byte entries at a and b. */
@inline function swapEntries(a: usize, b: usize): void {
  for (let k: usize = 0; k < 64; k += 16) {
    const x = v128.load(a + k);
    v128.store(a + k, v128.load(b + k));
    v128.store(b + k, x);
  }
}

/** Encodes a piece through the piece cache (on a miss: the token table, else merging). */
function mergePieceCached(p: usize, len: i32, out: usize, scratch: usize): i32 {
  const w0 = loadPrefix(p, len);
  const w1 = len > 8 ? loadPrefix(p + 8, len - 8) : 0;
  const w2 = len > 16 ? loadPrefix(p + 16, len - 16) : 0;
  const h = hashWord(w0 ^ rotl<u64>(w1, 29) ^ (w1 >> 7) ^ rotl<u64>(w2, 43) ^ (w2 >> 3), len);
  const set = cacheTable + (<usize>(h & cacheMask) << (6 + CACHE_WAYS_SHIFT));
  let e = set;
  const last = set + ((CACHE_WAYS - 1) << 6);
  while (true) {
    if (cacheHit(e, len, w0, w1, w2)) {
      if (e != set) {
        swapEntries(e - 64, e);
        e -= 64;
      }
      return cacheRead(e, out);
    }
    // Ways fill in order and never empty: past an empty one, all are empty.
    if (load<i32>(e, 24) == 0 || e == last) break;
    e += 64;
  }
  let n = 1;
  const s = findTokenSlot(p, len); // a whole piece skips merging
  if (s && (load<u32>(s, 12) & SLOT_WHOLE)) store<i32>(out, <i32>(load<u32>(s, 12) & 0xfffff));
  else n = mergePiece(p, len, out, scratch);
  if (n <= CACHE_MAX_IDS) {
    // e: the first empty way, or the last one.
    store<u64>(e, w0);
    store<u64>(e, w1, 8);
    store<u64>(e, w2, 16);
    store<i32>(e, len, 24);
    store<i32>(e, n, 28);
    for (let i = 0; i < n; i++) store<i32>(e + 32 + (<usize>i << 2), load<i32>(out + (<usize>i << 2)));
  }
  return n;
}

/**
 * Sets the whole-piece flags: all tokens (`all` != 0: tiktoken, or Hugging Face
 * `ignore_merges`), or exactly those that merging their own bytes reproduces.
 * scratch: (SCRATCH_PER_BYTE + 4) * (longest token length) bytes.
 */
export function bpeMarkWholePieces(all: i32, scratch: usize): void {
  for (let id = 0; id < tokenCount; id++) {
    const len = spanLength(id);
    if (len < 1 || load<u8>(wholePiece + <usize>id) == FLAG_SPECIAL) continue;
    let ok = all != 0 || len == 1;
    if (!ok) {
      const out = scratch;
      const n = mergePiece(spanStart(id), len, out, scratch + (<usize>len << 2));
      ok = n == 1 && load<i32>(out) == id;
    }
    store<u8>(wholePiece + <usize>id, ok ? FLAG_WHOLE : 0);
    const s = findTokenSlot(spanStart(id), len);
    const tag = load<u32>(s, 12) & ~SLOT_WHOLE;
    store<u32>(s, ok ? tag | SLOT_WHOLE : tag, 12);
  }
}

let encodedBytes: i32 = 0;
let encodedPieces: i32 = 0;
let pendingPiece: i32 = 0;

/**
 * Pre-tokenizes and encodes text [textPtr, textPtr + textLen). Writes ids (i32)
 * to out (room for textLen ids) and returns their number. Merging a piece of
 * length L needs SCRATCH_PER_BYTE * L bytes of scratch; when a piece needs more than
 * scratchBytes, encoding stops before it: bpeEncodedBytes() then tells how many
 * bytes were encoded and bpePendingPiece() the length of that piece, so the host
 * can grow scratch and continue from there.
 */
export function bpeEncode(textPtr: usize, textLen: i32, out: usize, scratch: usize, scratchBytes: i32): i32 {
  const end = textPtr + <usize>textLen;
  const pat = pattern;
  const maxPiece = scratchBytes / SCRATCH_PER_BYTE;
  let p = textPtr;
  let n = 0;
  pendingPiece = 0;
  while (p < end) {
    const e = pieceEnd(pat, p, end);
    const len = <i32>(e - p);
    if (len > maxPiece) {
      pendingPiece = len;
      break;
    }
    n += encodePiece(p, len, out + (<usize>n << 2), scratch);
    p = e;
  }
  encodedBytes = <i32>(p - textPtr);
  return n;
}

/**
 * Encodes pieces the host has split: piece i is [textPtr + ends[i-1], textPtr +
 * ends[i]) (ends: i32, relative to textPtr, non-decreasing; empty pieces give
 * nothing). Like bpeEncode, stops before a piece that needs more scratch; then
 * bpeEncodedPieces() tells how many pieces were done and bpePendingPiece() its length.
 */
export function bpeEncodePieces(textPtr: usize, ends: usize, count: i32, out: usize, scratch: usize, scratchBytes: i32): i32 {
  const maxPiece = scratchBytes / SCRATCH_PER_BYTE;
  let start = 0;
  let n = 0;
  let i = 0;
  pendingPiece = 0;
  for (; i < count; i++) {
    const e = load<i32>(ends + (<usize>i << 2));
    const len = e - start;
    if (len > maxPiece) {
      pendingPiece = len;
      break;
    }
    if (len > 0) n += encodePiece(textPtr + <usize>start, len, out + (<usize>n << 2), scratch);
    start = e;
  }
  encodedPieces = i;
  return n;
}

/** Pieces consumed by the last bpeEncodePieces. */
export function bpeEncodedPieces(): i32 {
  return encodedPieces;
}

/** Bytes consumed by the last bpeEncode. */
export function bpeEncodedBytes(): i32 {
  return encodedBytes;
}

/** Length of the piece the last bpeEncode stopped at for lack of scratch, else 0. */
export function bpePendingPiece(): i32 {
  return pendingPiece;
}

/** Number of bytes that ids decode to, or -1 - i for the first id i with no token. */
export function bpeDecodedLength(ids: usize, n: i32): i32 {
  let total = 0;
  for (let i = 0; i < n; i++) {
    const id = load<i32>(ids + (<usize>i << 2));
    if (<u32>id >= <u32>tokenCount) return -1 - i;
    const len = spanLength(id);
    if (len < 0) return -1 - i;
    total += len;
  }
  return total;
}

/** Writes the bytes of ids to out (validate with bpeDecodedLength first). */
export function bpeDecode(ids: usize, n: i32, out: usize): void {
  for (let i = 0; i < n; i++) {
    const id = load<i32>(ids + (<usize>i << 2));
    const len = <usize>spanLength(id);
    const src = spanStart(id);
    if (len <= 8) {
      // Most tokens are short: one unaligned word copy beats memory.copy's call.
      // out has 8 bytes of slack (the host allocates them).
      store<u64>(out, load<u64>(src));
    } else {
      memory.copy(out, src, len);
    }
    out += len;
  }
}
