// Character-level (SentencePiece-style) BPE without a pre-tokenizer sees a whole
// section of text as one word. The host knows where that word may be cut without
// changing its BPE: before the cut character (U+2581 "▁", or a space) unless the
// character before it is "blocked" (some token holds that pair, so a merge could
// join across the cut; see safeCutOf in host/tokenizer/load-hf.ts). Cutting
// keeps words short, so the piece cache sees the same words again and again.
// The word may also be cut on both sides of a character that no token of two or
// more characters holds (it never merges), e.g. "\n" in Llama 2, and between
// two ASCII characters that no token holds side by side (no merge can join
// them), e.g. after Gemma's "\n", which merges only with "\n". Cutting at
// fewer of these places is always correct: the fast path below checks only
// where a run of plain ASCII starts, not inside it.
//
// spCutWords does that cutting natively, in one pass over the UTF-8 text, and
// applies the normalizer on the way when it is a substitution (a prefix, then
// each ASCII byte replaced by one character: Prepend and Replace " " → "▁" of
// Llama 2 / Mistral / Gemma), so the normalized string is never built in
// JavaScript. The text must be valid UTF-8 (the host writes it with
// TextEncoder and sends text with lone surrogates elsewhere).

let cutChar: i32 = -1;
let blockedBits: usize = 0;
let mergingBits: usize = 0;
let pairBits: usize = 0;

/**
 * Registers the cut character and two bitmaps of 0x110000 bits: `blocked`, bit
 * c set when code point c never precedes the cut character in a cut;
 * `merging`, bit c set when some token of two or more characters holds c; and
 * `pairs` (0: none), 128 * 128 bits, bit 128 a + b set when some token holds
 * ASCII character a followed by b.
 */
export function spSetCut(cut: i32, blocked: usize, merging: usize, pairs: usize): void {
  cutChar = cut;
  blockedBits = blocked;
  mergingBits = merging;
  pairBits = pairs;
}

@inline function bitAt(bits: usize, cp: i32): bool {
  return ((<u32>load<u8>(bits + (<usize>cp >> 3)) >> (<u32>cp & 7)) & 1) != 0;
}

/** Whether the word may be cut before cp, which follows prev (>= 0). */
@inline function cutBefore(prev: i32, cp: i32, cut: i32): bool {
  if (cp == cut && !bitAt(blockedBits, prev)) return true;
  if (!bitAt(mergingBits, cp) || !bitAt(mergingBits, prev)) return true;
  return pairBits != 0 && (prev | cp) < 128 && !bitAt(pairBits, (prev << 7) | cp);
}

/**
 * The one ASCII byte that a pass must stop at (substituted, or the cut
 * character): 0x80 when there is none (no ASCII byte matches it), -1 when
 * there are several (then every byte takes the slow path).
 */
function asciiSpecial(map: usize, cut: i32): i32 {
  let special = 0x80;
  for (let c = 0; c < 128; c++) {
    if (c != cut && (map == 0 || load<i32>(map + (<usize>c << 4)) == c)) continue;
    if (special != 0x80) return -1;
    special = c;
  }
  return special;
}

@inline function addEnd(ends: usize, count: i32, w: usize): i32 {
  store<i32>(ends + (<usize>count << 2), <i32>w);
  return count + 1;
}

let written: i32 = 0;

/** Bytes the last spCutWords wrote to dst. */
export function spWritten(): i32 {
  return written;
}

/**
 * Writes prefix [prefix, prefix + prefixLen) and then text [src, src + len),
 * each ASCII byte b replaced per `map` (0: none; else 128 entries of 16 bytes:
 * u32 code point, u32 UTF-8 length 1..4, the UTF-8 bytes), to dst; writes the
 * end of each word (relative to dst, the last one = spWritten()) to ends (i32)
 * and returns the number of words. dst may equal src when map is 0 and there
 * is no prefix. dst needs prefixLen + 4 * len bytes, ends 4 * (words) bytes,
 * at most 4 * (len + prefixLen + 1).
 */
export function spCutWords(src: usize, len: i32, dst: usize, ends: usize, map: usize, prefix: usize, prefixLen: i32): i32 {
  let w: usize = 0;
  let prev: i32 = -1;
  let count = 0;
  const cut = cutChar;
  const special = asciiSpecial(map, cut);
  const ones: u64 = 0x0101010101010101;
  const highs: u64 = 0x8080808080808080;
  const controls: u64 = 0x2020202020202020;
  const specials = <u64>special * ones;
  // The prefix (never substituted: the host composes it already), then the text.
  for (let part = 0; part < 2; part++) {
    const start = part == 0 ? prefix : src;
    const stop = start + <usize>(part == 0 ? prefixLen : len);
    const mapped = part == 1 ? map : 0;
    let i = start;
    while (i < stop) {
      // Eight bytes at a time: the ASCII bytes before the first special one
      // (most of a text) are copied as they are.
      if (special >= 0 && i + 8 <= stop) {
        const word = load<u64>(i);
        if ((word & highs) == 0) {
          const x = word ^ specials;
          // Lowest set bit: the first special byte, or control byte (below 0x20:
          // "\n", "\t" never merge in many vocabularies, so they may cut).
          const zero = ((x - ones) & ~x & highs) | ((word - controls) & ~word & highs);
          const k: usize = zero == 0 ? <usize>8 : <usize>(ctz(zero) >> 3);
          if (k > 0) {
            // The run's first byte may start a word (e.g. after "\n"); inside it, no cut is looked for.
            if (prev >= 0 && cutBefore(prev, <i32>(word & 0xff), cut)) count = addEnd(ends, count, w);
            store<u64>(dst + w, word); // bytes past k are rewritten next
            w += k;
            i += k;
            prev = <i32>((word >> ((<u64>k - 1) << 3)) & 0xff);
            continue;
          }
        }
      }
      const b0 = <u32>load<u8>(i);
      let cp: i32;
      if (b0 < 0x80) {
        if (mapped) {
          const e = mapped + (<usize>b0 << 4);
          cp = load<i32>(e);
          if (prev >= 0 && cutBefore(prev, cp, cut)) count = addEnd(ends, count, w);
          const n = load<u32>(e, 4);
          // Up to 4 bytes at once (dst has room: each byte becomes at most 4).
          store<u32>(dst + w, load<u32>(e, 8));
          w += n;
        } else {
          cp = <i32>b0;
          if (prev >= 0 && cutBefore(prev, cp, cut)) count = addEnd(ends, count, w);
          store<u8>(dst + w, <u8>b0);
          w++;
        }
        prev = cp;
        i++;
        continue;
      }
      // Valid UTF-8: the lead byte gives the length.
      const n: usize = b0 < 0xe0 ? 2 : b0 < 0xf0 ? 3 : 4;
      cp = <i32>(n == 2 ? b0 & 0x1f : n == 3 ? b0 & 0x0f : b0 & 0x07);
      for (let k: usize = 1; k < n; k++) cp = (cp << 6) | (<i32>load<u8>(i + k) & 0x3f);
      if (prev >= 0 && cutBefore(prev, cp, cut)) count = addEnd(ends, count, w);
      for (let k: usize = 0; k < n; k++) store<u8>(dst + w + k, load<u8>(i + k));
      w += n;
      i += n;
      prev = cp;
    }
  }
  written = <i32>w;
  if (w == 0) return 0;
  return addEnd(ends, count, w);
}
