// Byte-level BPE training.
//
// The host feeds text as UTF-8 bytes; the native pre-tokenizer (pretokenize.ts)
// splits it and identical pieces are counted in a hash map ("words"). Training
// then runs the classic incremental algorithm on the (word, count) list:
//
//   - every adjacent symbol pair has a count (weighted by word counts, overlapping
//     occurrences included: "aaa" holds the pair (a, a) twice) and a list of the
//     words it occurs in (duplicates and stale entries allowed, they are skipped);
//   - a max-heap of (count, pair) entries is updated lazily: counts of existing
//     pairs only fall, except pairs that touch the token just produced, which are
//     pushed afresh; a popped entry whose count is stale is re-pushed or dropped;
//   - merging pair (A, B) into C rewrites each listed word left to right (no
//     overlaps) and adjusts only the neighbouring pairs' counts.
//
// Tie-breaking (deterministic, independent of id assignment): the pair with the
// highest count wins; among equal counts the pair whose LEFT token has the
// lexicographically smallest byte string wins (unsigned bytes, a proper prefix
// sorts first), then the smallest RIGHT token byte string.
//
// Ids: 0..255 are the single bytes (id = byte value); each merge whose byte
// string is new gets the next id. A merge whose result already exists as a token
// (e.g. "a"+"bc" after "ab"+"c") reuses that id and adds no vocab entry, as
// Hugging Face tokenizers does. A pair is merged at most once. The host appends
// the special tokens after the learned ones.
//
// Memory: this module never uses the managed heap. All state lives in a bump
// region above the address given to bpeTrainReset (this module's own instance
// memory); growable arrays move to the top when they outgrow their block (in
// place when they are the last block), word-list chunks come from fixed slabs and
// are recycled through a free list, and the region is discarded as a whole by the
// next reset. Memory is grown with
// memory.grow, so the host must re-read its views of memory after every call.

import { pieceEnd } from "./pretokenize";

// ---- bump region -------------------------------------------------------------

let top: usize = 0;
/** 0 = ok, 1 = out of memory (the host turns this into an error). */
let errorCode: i32 = 0;

function ensureMemory(end: usize): void {
  const have = (<usize>memory.size()) << 16;
  if (end > have) {
    const pages = <i32>((end - have + 0xffff) >> 16);
    if (memory.grow(pages) < 0) {
      errorCode = 1;
      unreachable();
    }
  }
}

function rawAlloc(bytes: usize): usize {
  const start = (top + 15) & ~(<usize>15);
  ensureMemory(start + bytes);
  top = start + bytes;
  return start;
}

/** Grows a block, in place when it is the last one in the region. */
function regrow(ptr: usize, oldBytes: usize, newBytes: usize): usize {
  if (ptr != 0 && ptr + oldBytes == top) {
    ensureMemory(ptr + newBytes);
    top = ptr + newBytes;
    return ptr;
  }
  const p = rawAlloc(newBytes);
  if (oldBytes > 0) memory.copy(p, ptr, oldBytes);
  return p;
}

@inline function grownCapacity(cap: i32, need: i32): i32 {
  let c = cap < 16 ? 16 : cap;
  while (c < need) c = c + (c >> 1) + 16;
  return c;
}

// ---- hashing -----------------------------------------------------------------

@inline function mix32(h: u32): u32 {
  h ^= h >> 16;
  h *= 0x7feb352d;
  h ^= h >> 15;
  h *= 0x846ca68b;
  h ^= h >> 16;
  return h;
}

function hashBytes(ptr: usize, len: i32): u32 {
  let h: u32 = 0x811c9dc5 ^ <u32>len;
  let i = 0;
  for (; i + 4 <= len; i += 4) {
    h = (h ^ load<u32>(ptr + <usize>i)) * 0x01000193;
    h = rotl<u32>(h, 13);
  }
  for (; i < len; i++) h = (h ^ <u32>load<u8>(ptr + <usize>i)) * 0x01000193;
  return mix32(h);
}

@inline function hashPair(a: i32, b: i32): u32 {
  return mix32((<u32>a * 0x9e3779b1) ^ (<u32>b + 0x7f4a7c15));
}

function bytesEqual(p: usize, q: usize, len: i32): bool {
  let i = 0;
  for (; i + 8 <= len; i += 8) if (load<u64>(p + <usize>i) != load<u64>(q + <usize>i)) return false;
  for (; i < len; i++) if (load<u8>(p + <usize>i) != load<u8>(q + <usize>i)) return false;
  return true;
}

// ---- words: unique pre-tokenizer pieces with their counts --------------------

let wordCap: i32 = 0;
let wordN: i32 = 0;
let wordOff: usize = 0; // i32: byte offset of the word in wordBytes (and in sym)
let wordLen: usize = 0; // i32: length in bytes
let wordCnt: usize = 0; // i64: occurrences
let wordHash: usize = 0; // u32

let wordBytesCap: i32 = 0;
let wordBytesN: i32 = 0;
let wordBytes: usize = 0; // u8

let wordMapCap: i32 = 0; // power of two
let wordMap: usize = 0; // i32: word index + 1, 0 = empty

let piecesSeen: i64 = 0;
let bytesSeen: i64 = 0;

function ensureWords(need: i32): void {
  if (need <= wordCap) return;
  const c = grownCapacity(wordCap, need);
  wordOff = regrow(wordOff, <usize>wordCap << 2, <usize>c << 2);
  wordLen = regrow(wordLen, <usize>wordCap << 2, <usize>c << 2);
  wordCnt = regrow(wordCnt, <usize>wordCap << 3, <usize>c << 3);
  wordHash = regrow(wordHash, <usize>wordCap << 2, <usize>c << 2);
  wordCap = c;
}

function ensureWordBytes(need: i32): void {
  if (need <= wordBytesCap) return;
  const c = grownCapacity(wordBytesCap, need);
  wordBytes = regrow(wordBytes, <usize>wordBytesCap, <usize>c);
  wordBytesCap = c;
}

function rehashWords(cap: i32): void {
  wordMap = rawAlloc(<usize>cap << 2);
  memory.fill(wordMap, 0, <usize>cap << 2);
  wordMapCap = cap;
  const mask = <u32>(cap - 1);
  for (let w = 0; w < wordN; w++) {
    let slot = load<u32>(wordHash + (<usize>w << 2)) & mask;
    while (load<i32>(wordMap + (<usize>slot << 2)) != 0) slot = (slot + 1) & mask;
    store<i32>(wordMap + (<usize>slot << 2), w + 1);
  }
}

function countPiece(ptr: usize, len: i32, count: i64): void {
  if (len <= 0) return;
  const h = hashBytes(ptr, len);
  const mask = <u32>(wordMapCap - 1);
  let slot = h & mask;
  while (true) {
    const e = load<i32>(wordMap + (<usize>slot << 2));
    if (e == 0) break;
    const w = e - 1;
    if (
      load<u32>(wordHash + (<usize>w << 2)) == h &&
      load<i32>(wordLen + (<usize>w << 2)) == len &&
      bytesEqual(wordBytes + <usize>load<i32>(wordOff + (<usize>w << 2)), ptr, len)
    ) {
      const cp = wordCnt + (<usize>w << 3);
      store<i64>(cp, load<i64>(cp) + count);
      return;
    }
    slot = (slot + 1) & mask;
  }
  const w = wordN;
  ensureWords(w + 1);
  ensureWordBytes(wordBytesN + len);
  memory.copy(wordBytes + <usize>wordBytesN, ptr, <usize>len);
  store<i32>(wordOff + (<usize>w << 2), wordBytesN);
  store<i32>(wordLen + (<usize>w << 2), len);
  store<i64>(wordCnt + (<usize>w << 3), count);
  store<u32>(wordHash + (<usize>w << 2), h);
  wordBytesN += len;
  wordN = w + 1;
  store<i32>(wordMap + (<usize>slot << 2), w + 1);
  if (wordN * 2 > wordMapCap) rehashWords(wordMapCap * 2);
}

// ---- host staging buffers ----------------------------------------------------

let textCap: i32 = 0;
let textBuf: usize = 0;

// ---- training state ----------------------------------------------------------

let sym: usize = 0; // i32 per word byte: current symbols, word w at wordOff[w]
let wordCur: usize = 0; // i32: current symbol count
let wordStamp: usize = 0; // i32: last merge step that rewrote the word

let pairCap: i32 = 0;
let pairN: i32 = 0;
let pairA: usize = 0; // i32
let pairB: usize = 0; // i32
let pairCnt: usize = 0; // i64
let pairHead: usize = 0; // u32: address of the first chunk of the word list, 0 = none
let pairStamp: usize = 0; // i32: last step that queued the pair for a heap push
let pairMerged: usize = 0; // u8

let pairMapCap: i32 = 0;
let pairMap: usize = 0; // i32: pair index + 1, 0 = empty

// Word lists are chains of fixed-size chunks [next address, n, items x CHUNK_ITEMS],
// carved from slabs so they never move; a merged pair's chunks are recycled.
const CHUNK_INTS: i32 = 16;
const CHUNK_ITEMS: i32 = CHUNK_INTS - 2;
const CHUNK_BYTES: usize = <usize>CHUNK_INTS << 2;
const SLAB_BYTES: usize = CHUNK_BYTES * 4096;
let slabNext: usize = 0;
let slabEnd: usize = 0;
let chunkFree: usize = 0; // u32 chain through the next field

let heapCap: i32 = 0;
let heapN: i32 = 0;
let heapCnt: usize = 0; // i64: count when pushed
let heapPair: usize = 0; // i32

let tokCap: i32 = 0;
let tokN: i32 = 0;
let tokOff: usize = 0; // i32: offset in tokBytes
let tokLen: usize = 0; // i32
let tokHash: usize = 0; // u32
let tokBytesCap: i32 = 0;
let tokBytesN: i32 = 0;
let tokBytes: usize = 0; // u8
let tokMapCap: i32 = 0;
let tokMap: usize = 0; // i32: token id + 1

let mergeCap: i32 = 0;
let mergeN: i32 = 0;
let mergeA: usize = 0; // i32
let mergeB: usize = 0; // i32
let mergeC: usize = 0; // i32
let mergeFreq: usize = 0; // f64: pair count when merged (exact below 2^53)

let touchedCap: i32 = 0;
let touchedN: i32 = 0;
let touched: usize = 0; // i32: pairs whose count rose during the current step

/** 0 = running, 1 = reached the target, 2 = best count below the minimum, 3 = no pairs left. */
let stopReason: i32 = 0;

// ---- pairs -------------------------------------------------------------------

function ensurePairs(need: i32): void {
  if (need <= pairCap) return;
  const c = grownCapacity(pairCap, need);
  const o = <usize>pairCap;
  const n = <usize>c;
  pairA = regrow(pairA, o << 2, n << 2);
  pairB = regrow(pairB, o << 2, n << 2);
  pairCnt = regrow(pairCnt, o << 3, n << 3);
  pairHead = regrow(pairHead, o << 2, n << 2);
  pairStamp = regrow(pairStamp, o << 2, n << 2);
  pairMerged = regrow(pairMerged, o, n);
  pairCap = c;
}

function rehashPairs(cap: i32): void {
  pairMap = rawAlloc(<usize>cap << 2);
  memory.fill(pairMap, 0, <usize>cap << 2);
  pairMapCap = cap;
  const mask = <u32>(cap - 1);
  for (let p = 0; p < pairN; p++) {
    let slot = hashPair(load<i32>(pairA + (<usize>p << 2)), load<i32>(pairB + (<usize>p << 2))) & mask;
    while (load<i32>(pairMap + (<usize>slot << 2)) != 0) slot = (slot + 1) & mask;
    store<i32>(pairMap + (<usize>slot << 2), p + 1);
  }
}

/** Index of pair (a, b), created with count 0 when new. */
function pairIndex(a: i32, b: i32): i32 {
  const mask = <u32>(pairMapCap - 1);
  let slot = hashPair(a, b) & mask;
  while (true) {
    const e = load<i32>(pairMap + (<usize>slot << 2));
    if (e == 0) break;
    const p = e - 1;
    if (load<i32>(pairA + (<usize>p << 2)) == a && load<i32>(pairB + (<usize>p << 2)) == b) return p;
    slot = (slot + 1) & mask;
  }
  const p = pairN;
  ensurePairs(p + 1);
  store<i32>(pairA + (<usize>p << 2), a);
  store<i32>(pairB + (<usize>p << 2), b);
  store<i64>(pairCnt + (<usize>p << 3), 0);
  store<u32>(pairHead + (<usize>p << 2), 0);
  store<i32>(pairStamp + (<usize>p << 2), 0);
  store<u8>(pairMerged + <usize>p, 0);
  pairN = p + 1;
  store<i32>(pairMap + (<usize>slot << 2), p + 1);
  if (pairN * 2 > pairMapCap) rehashPairs(pairMapCap * 2);
  return p;
}

function allocChunk(): usize {
  let c = chunkFree;
  if (c != 0) {
    chunkFree = <usize>load<u32>(c);
  } else {
    if (slabNext + CHUNK_BYTES > slabEnd) {
      slabNext = rawAlloc(SLAB_BYTES);
      slabEnd = slabNext + SLAB_BYTES;
    }
    c = slabNext;
    slabNext += CHUNK_BYTES;
  }
  return c;
}

/** Returns a chain of chunks to the free list. */
function freeChunks(c: usize): void {
  while (c != 0) {
    const next = <usize>load<u32>(c);
    store<u32>(c, <u32>chunkFree);
    chunkFree = c;
    c = next;
  }
}

/** Appends word w to the word list of pair p (skips an immediate repeat). */
function listWord(p: i32, w: i32): void {
  const hp = pairHead + (<usize>p << 2);
  const head = <usize>load<u32>(hp);
  if (head != 0) {
    const n = load<i32>(head, 4);
    if (load<i32>(head + (<usize>(n + 1) << 2)) == w) return;
    if (n < CHUNK_ITEMS) {
      store<i32>(head + (<usize>(n + 2) << 2), w);
      store<i32>(head, n + 1, 4);
      return;
    }
  }
  const c = allocChunk();
  store<u32>(c, <u32>head);
  store<i32>(c, 1, 4);
  store<i32>(c, w, 8);
  store<u32>(hp, <u32>c);
}

function ensureTouched(need: i32): void {
  if (need <= touchedCap) return;
  const c = grownCapacity(touchedCap, need);
  touched = regrow(touched, <usize>touchedCap << 2, <usize>c << 2);
  touchedCap = c;
}

/** Adds delta to the count of (a, b); a rise lists word w and queues a heap push. */
function addPair(a: i32, b: i32, delta: i64, w: i32, step: i32): void {
  const p = pairIndex(a, b);
  const cp = pairCnt + (<usize>p << 3);
  store<i64>(cp, load<i64>(cp) + delta);
  if (delta > 0) {
    listWord(p, w);
    const sp = pairStamp + (<usize>p << 2);
    if (load<i32>(sp) != step) {
      store<i32>(sp, step);
      ensureTouched(touchedN + 1);
      store<i32>(touched + (<usize>touchedN << 2), p);
      touchedN++;
    }
  }
}

// ---- tokens ------------------------------------------------------------------

function ensureTokens(need: i32): void {
  if (need <= tokCap) return;
  const c = grownCapacity(tokCap, need);
  tokOff = regrow(tokOff, <usize>tokCap << 2, <usize>c << 2);
  tokLen = regrow(tokLen, <usize>tokCap << 2, <usize>c << 2);
  tokHash = regrow(tokHash, <usize>tokCap << 2, <usize>c << 2);
  tokCap = c;
}

function ensureTokBytes(need: i32): void {
  if (need <= tokBytesCap) return;
  const c = grownCapacity(tokBytesCap, need);
  tokBytes = regrow(tokBytes, <usize>tokBytesCap, <usize>c);
  tokBytesCap = c;
}

function rehashTokens(cap: i32): void {
  tokMap = rawAlloc(<usize>cap << 2);
  memory.fill(tokMap, 0, <usize>cap << 2);
  tokMapCap = cap;
  const mask = <u32>(cap - 1);
  for (let t = 0; t < tokN; t++) {
    let slot = load<u32>(tokHash + (<usize>t << 2)) & mask;
    while (load<i32>(tokMap + (<usize>slot << 2)) != 0) slot = (slot + 1) & mask;
    store<i32>(tokMap + (<usize>slot << 2), t + 1);
  }
}

/**
 * Id of the token whose bytes were just appended at tokBytes[tokBytesN..+len]:
 * an existing id (the bytes are then dropped again) or a new one.
 */
function internAppendedToken(len: i32): i32 {
  const ptr = tokBytes + <usize>tokBytesN;
  const h = hashBytes(ptr, len);
  const mask = <u32>(tokMapCap - 1);
  let slot = h & mask;
  while (true) {
    const e = load<i32>(tokMap + (<usize>slot << 2));
    if (e == 0) break;
    const t = e - 1;
    if (
      load<u32>(tokHash + (<usize>t << 2)) == h &&
      load<i32>(tokLen + (<usize>t << 2)) == len &&
      bytesEqual(tokBytes + <usize>load<i32>(tokOff + (<usize>t << 2)), ptr, len)
    ) return t;
    slot = (slot + 1) & mask;
  }
  const t = tokN;
  ensureTokens(t + 1);
  store<i32>(tokOff + (<usize>t << 2), tokBytesN);
  store<i32>(tokLen + (<usize>t << 2), len);
  store<u32>(tokHash + (<usize>t << 2), h);
  tokBytesN += len;
  tokN = t + 1;
  store<i32>(tokMap + (<usize>slot << 2), t + 1);
  if (tokN * 2 > tokMapCap) rehashTokens(tokMapCap * 2);
  return t;
}

/** Lexicographic comparison of two tokens' byte strings (unsigned; prefix first). */
function compareTokens(x: i32, y: i32): i32 {
  const px = tokBytes + <usize>load<i32>(tokOff + (<usize>x << 2));
  const py = tokBytes + <usize>load<i32>(tokOff + (<usize>y << 2));
  const lx = load<i32>(tokLen + (<usize>x << 2));
  const ly = load<i32>(tokLen + (<usize>y << 2));
  const n = lx < ly ? lx : ly;
  for (let i = 0; i < n; i++) {
    const bx = <i32>load<u8>(px + <usize>i);
    const by = <i32>load<u8>(py + <usize>i);
    if (bx != by) return bx - by;
  }
  return lx - ly;
}

// ---- heap ----------------------------------------------------------------------

/** True when entry (cp, p) must be merged before entry (cq, q). */
function before(cp: i64, p: i32, cq: i64, q: i32): bool {
  if (cp != cq) return cp > cq;
  const pa = load<i32>(pairA + (<usize>p << 2));
  const qa = load<i32>(pairA + (<usize>q << 2));
  if (pa != qa) return compareTokens(pa, qa) < 0;
  const pb = load<i32>(pairB + (<usize>p << 2));
  const qb = load<i32>(pairB + (<usize>q << 2));
  if (pb != qb) return compareTokens(pb, qb) < 0;
  return false;
}

function heapPush(cnt: i64, p: i32): void {
  if (heapN + 1 > heapCap) {
    const c = grownCapacity(heapCap, heapN + 1);
    heapCnt = regrow(heapCnt, <usize>heapCap << 3, <usize>c << 3);
    heapPair = regrow(heapPair, <usize>heapCap << 2, <usize>c << 2);
    heapCap = c;
  }
  let i = heapN++;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    const pc = load<i64>(heapCnt + (<usize>parent << 3));
    const pp = load<i32>(heapPair + (<usize>parent << 2));
    if (!before(cnt, p, pc, pp)) break;
    store<i64>(heapCnt + (<usize>i << 3), pc);
    store<i32>(heapPair + (<usize>i << 2), pp);
    i = parent;
  }
  store<i64>(heapCnt + (<usize>i << 3), cnt);
  store<i32>(heapPair + (<usize>i << 2), p);
}

function heapPopTop(): void {
  const n = --heapN;
  if (n == 0) return;
  const cnt = load<i64>(heapCnt + (<usize>n << 3));
  const p = load<i32>(heapPair + (<usize>n << 2));
  let i = 0;
  while (true) {
    let child = 2 * i + 1;
    if (child >= n) break;
    let cc = load<i64>(heapCnt + (<usize>child << 3));
    let cp = load<i32>(heapPair + (<usize>child << 2));
    const r = child + 1;
    if (r < n) {
      const rc = load<i64>(heapCnt + (<usize>r << 3));
      const rp = load<i32>(heapPair + (<usize>r << 2));
      if (before(rc, rp, cc, cp)) {
        child = r;
        cc = rc;
        cp = rp;
      }
    }
    if (!before(cc, cp, cnt, p)) break;
    store<i64>(heapCnt + (<usize>i << 3), cc);
    store<i32>(heapPair + (<usize>i << 2), cp);
    i = child;
  }
  store<i64>(heapCnt + (<usize>i << 3), cnt);
  store<i32>(heapPair + (<usize>i << 2), p);
}

/** Pops stale entries until the top is current; returns its pair or -1. */
function bestPair(): i32 {
  while (heapN > 0) {
    const stored = load<i64>(heapCnt);
    const p = load<i32>(heapPair);
    if (load<u8>(pairMerged + <usize>p) != 0) {
      heapPopTop();
      continue;
    }
    const cur = load<i64>(pairCnt + (<usize>p << 3));
    if (cur == stored) return p;
    heapPopTop();
    // A rise was pushed as its own entry; a fall is re-queued at its current count.
    if (cur > 0 && cur < stored) heapPush(cur, p);
  }
  return -1;
}

// ---- exports -------------------------------------------------------------------

/** Discards all training state; the bump region starts at `base` (from the host). */
export function bpeTrainReset(base: usize): void {
  top = base;
  errorCode = 0;
  stopReason = 0;
  wordCap = wordN = wordBytesCap = wordBytesN = 0;
  wordOff = wordLen = wordCnt = wordHash = wordBytes = 0;
  textCap = 0;
  textBuf = 0;
  pairCap = pairN = heapCap = heapN = 0;
  pairA = pairB = pairCnt = pairHead = pairStamp = pairMerged = heapCnt = heapPair = 0;
  slabNext = slabEnd = chunkFree = 0;
  tokCap = tokN = tokBytesCap = tokBytesN = 0;
  tokOff = tokLen = tokHash = tokBytes = 0;
  mergeCap = mergeN = touchedCap = touchedN = 0;
  mergeA = mergeB = mergeC = mergeFreq = touched = 0;
  sym = wordCur = wordStamp = 0;
  piecesSeen = bytesSeen = 0;
  rehashWords(1024);
}

export function bpeTrainError(): i32 {
  return errorCode;
}

/** A buffer of at least `bytes` bytes for UTF-8 text (reused; may move, keeping its contents). */
export function bpeTrainTextBuffer(bytes: i32): usize {
  if (bytes > textCap) {
    const c = grownCapacity(textCap, bytes);
    textBuf = regrow(textBuf, <usize>textCap, <usize>c);
    textCap = c;
  }
  return textBuf;
}

/**
 * Splits text [ptr, ptr + len) with the native pre-tokenizer (`pattern` as in
 * pretokenize.ts) and counts every piece.
 */
export function bpeTrainCountText(pattern: i32, ptr: usize, len: i32): void {
  const end = ptr + <usize>len;
  let p = ptr;
  let n: i64 = 0;
  while (p < end) {
    const q = pieceEnd(pattern, p, end);
    countPiece(p, <i32>(q - p), 1);
    p = q;
    n++;
  }
  piecesSeen += n;
  bytesSeen += <i64>len;
}

export function bpeTrainUniqueWords(): i32 {
  return wordN;
}

export function bpeTrainPiecesSeen(): f64 {
  return <f64>piecesSeen;
}

export function bpeTrainBytesSeen(): f64 {
  return <f64>bytesSeen;
}

/** Builds the symbol arrays, the 256 byte tokens, all pair counts and the heap. */
export function bpeTrainBegin(): void {
  // Tokens: id = byte value for the initial alphabet.
  rehashTokens(1024);
  ensureTokens(512);
  ensureTokBytes(4096);
  for (let b = 0; b < 256; b++) {
    store<u8>(tokBytes + <usize>tokBytesN, <u8>b);
    internAppendedToken(1);
  }
  const nBytes = <usize>wordBytesN;
  sym = rawAlloc(nBytes << 2);
  for (let i: usize = 0; i < nBytes; i++) store<i32>(sym + (i << 2), <i32>load<u8>(wordBytes + i));
  wordCur = rawAlloc(<usize>wordN << 2);
  memory.copy(wordCur, wordLen, <usize>wordN << 2);
  wordStamp = rawAlloc(<usize>wordN << 2);
  memory.fill(wordStamp, 0, <usize>wordN << 2);

  rehashPairs(4096);
  for (let w = 0; w < wordN; w++) {
    const base = sym + (<usize>load<i32>(wordOff + (<usize>w << 2)) << 2);
    const len = load<i32>(wordLen + (<usize>w << 2));
    const cnt = load<i64>(wordCnt + (<usize>w << 3));
    for (let i = 0; i + 1 < len; i++) {
      const p = pairIndex(load<i32>(base + (<usize>i << 2)), load<i32>(base + (<usize>(i + 1) << 2)));
      const cp = pairCnt + (<usize>p << 3);
      store<i64>(cp, load<i64>(cp) + cnt);
      listWord(p, w);
    }
  }
  for (let p = 0; p < pairN; p++) {
    const c = load<i64>(pairCnt + (<usize>p << 3));
    if (c > 0) heapPush(c, p);
  }
}

function recordMerge(a: i32, b: i32, c: i32, freq: i64): void {
  if (mergeN + 1 > mergeCap) {
    const n = grownCapacity(mergeCap, mergeN + 1);
    mergeA = regrow(mergeA, <usize>mergeCap << 2, <usize>n << 2);
    mergeB = regrow(mergeB, <usize>mergeCap << 2, <usize>n << 2);
    mergeC = regrow(mergeC, <usize>mergeCap << 2, <usize>n << 2);
    mergeFreq = regrow(mergeFreq, <usize>mergeCap << 3, <usize>n << 3);
    mergeCap = n;
  }
  store<i32>(mergeA + (<usize>mergeN << 2), a);
  store<i32>(mergeB + (<usize>mergeN << 2), b);
  store<i32>(mergeC + (<usize>mergeN << 2), c);
  store<f64>(mergeFreq + (<usize>mergeN << 3), <f64>freq);
  mergeN++;
}

/** Rewrites every word that holds pair p = (a, b) with token c, updating neighbour pairs. */
function applyMerge(p: i32, a: i32, b: i32, c: i32, step: i32): void {
  touchedN = 0;
  const first = <usize>load<u32>(pairHead + (<usize>p << 2));
  let chunk = first;
  while (chunk != 0) {
    const n = load<i32>(chunk, 4);
    for (let k = 0; k < n; k++) {
      const w = load<i32>(chunk + (<usize>(k + 2) << 2));
      const sp = wordStamp + (<usize>w << 2);
      if (load<i32>(sp) == step) continue;
      store<i32>(sp, step);
      const len = load<i32>(wordCur + (<usize>w << 2));
      if (len < 2) continue;
      const base = sym + (<usize>load<i32>(wordOff + (<usize>w << 2)) << 2);
      const cnt = load<i64>(wordCnt + (<usize>w << 3));
      let i = 0;
      let out = 0;
      while (i < len) {
        const s = load<i32>(base + (<usize>i << 2));
        if (s == a && i + 1 < len && load<i32>(base + (<usize>(i + 1) << 2)) == b) {
          // The left neighbour is read from the rewritten prefix, so a preceding
          // merge in the same word (…C A B…) correctly turns (C, A) into (C, C).
          if (out > 0) {
            const prev = load<i32>(base + (<usize>(out - 1) << 2));
            addPair(prev, a, -cnt, w, step);
            addPair(prev, c, cnt, w, step);
          }
          if (i + 2 < len) {
            const next = load<i32>(base + (<usize>(i + 2) << 2));
            addPair(b, next, -cnt, w, step);
            addPair(c, next, cnt, w, step);
          }
          store<i32>(base + (<usize>out << 2), c);
          out++;
          i += 2;
        } else {
          store<i32>(base + (<usize>out << 2), s);
          out++;
          i++;
        }
      }
      store<i32>(wordCur + (<usize>w << 2), out);
    }
    chunk = <usize>load<u32>(chunk);
  }
  // The pair is never merged again: its word list can be reused.
  freeChunks(first);
  store<u32>(pairHead + (<usize>p << 2), 0);
  store<u8>(pairMerged + <usize>p, 1);
  store<i64>(pairCnt + (<usize>p << 3), 0);
  for (let k = 0; k < touchedN; k++) {
    const q = load<i32>(touched + (<usize>k << 2));
    const cq = load<i64>(pairCnt + (<usize>q << 3));
    if (cq > 0 && load<u8>(pairMerged + <usize>q) == 0) heapPush(cq, q);
  }
}

/**
 * Learns up to `maxMerges` merges, stopping once `targetTokens` tokens exist
 * (specials excluded) or the best pair's count is below `minFrequency`.
 * Returns the number of merges done by this call; bpeTrainStopReason() tells
 * why training ended (0 while it may continue).
 */
export function bpeTrainStep(maxMerges: i32, targetTokens: i32, minFrequency: f64): i32 {
  const minCount = <i64>minFrequency;
  let done = 0;
  while (done < maxMerges) {
    if (tokN >= targetTokens) {
      stopReason = 1;
      break;
    }
    const p = bestPair();
    if (p < 0) {
      stopReason = 3;
      break;
    }
    const cnt = load<i64>(pairCnt + (<usize>p << 3));
    if (cnt < minCount) {
      stopReason = 2;
      break;
    }
    heapPopTop();
    const a = load<i32>(pairA + (<usize>p << 2));
    const b = load<i32>(pairB + (<usize>p << 2));
    const la = load<i32>(tokLen + (<usize>a << 2));
    const lb = load<i32>(tokLen + (<usize>b << 2));
    ensureTokBytes(tokBytesN + la + lb);
    const dst = tokBytes + <usize>tokBytesN;
    memory.copy(dst, tokBytes + <usize>load<i32>(tokOff + (<usize>a << 2)), <usize>la);
    memory.copy(dst + <usize>la, tokBytes + <usize>load<i32>(tokOff + (<usize>b << 2)), <usize>lb);
    const c = internAppendedToken(la + lb);
    recordMerge(a, b, c, cnt);
    applyMerge(p, a, b, c, mergeN);
    done++;
  }
  return done;
}

export function bpeTrainStopReason(): i32 {
  return stopReason;
}

export function bpeTrainTokenCount(): i32 {
  return tokN;
}
export function bpeTrainTokenOffsets(): usize {
  return tokOff;
}
export function bpeTrainTokenLengths(): usize {
  return tokLen;
}
export function bpeTrainTokenBytes(): usize {
  return tokBytes;
}

export function bpeTrainMergeCount(): i32 {
  return mergeN;
}
export function bpeTrainMergeLeft(): usize {
  return mergeA;
}
export function bpeTrainMergeRight(): usize {
  return mergeB;
}
export function bpeTrainMergeResult(): usize {
  return mergeC;
}
export function bpeTrainMergeFrequency(): usize {
  return mergeFreq;
}

/** Words after training, for checking an encoder against the training segmentation. */
export function bpeTrainWordOffsets(): usize {
  return wordOff;
}
export function bpeTrainWordSymbolCounts(): usize {
  return wordCur;
}
export function bpeTrainWordCounts(): usize {
  return wordCnt;
}
export function bpeTrainSymbols(): usize {
  return sym;
}
export function bpeTrainWordBytes(): usize {
  return wordBytes;
}
export function bpeTrainWordByteLengths(): usize {
  return wordLen;
}
