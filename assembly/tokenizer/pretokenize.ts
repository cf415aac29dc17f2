// Native pre-tokenizers: split UTF-8 text into the pieces that BPE encodes one by
// one, with exactly the splits of the reference regexes (JavaScript `u` mode):
//
//   GPT-2 (r50k/p50k/gpt2):
//     's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
//   cl100k_base (also Llama 3):
//     (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
//     ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// Each function below answers "where does the regex match that starts at i end?"
// by walking the alternatives in the regex's order. Only ASCII apostrophes open a
// contraction (the patterns name ' only; ’ is punctuation).
//
//   Qwen2/Qwen3: cl100k with single digits (`\p{N}` instead of `\p{N}{1,3}`).
//   o200k_base (GPT-4o), as its tokenizer.json writes it:
//     [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|
//     [^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|
//     \p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+
//   none: the whole text is one piece (tokenizer.json without a pre-tokenizer,
//     or pieces the host splits itself).
//
// API for other AssemblyScript code (e.g. BPE training): `pieceEnd(pattern, p, end)`
// returns the end of the piece starting at p; loop `p = pieceEnd(...)` until end.
// The host-facing export `pretokenize` writes all piece ends into an i32 array.
import { charInfo, INFO_LEN_SHIFT, INFO_CLASS_MASK, INFO_DETAIL_MASK } from "./utf8";
import { CLASS_LETTER, CLASS_NUMBER, CLASS_SPACE, CLASS_OTHER, CLASS_UPPER, CLASS_LOWER, CLASS_MARK } from "./unicode-tables";

export const PATTERN_GPT2: i32 = 0;
export const PATTERN_CL100K: i32 = 1;
export const PATTERN_QWEN: i32 = 2;
export const PATTERN_NONE: i32 = 3;
export const PATTERN_O200K: i32 = 4;

const SPACE: u32 = 0x20;
const CR: u32 = 0x0d;
const LF: u32 = 0x0a;
const APOSTROPHE: u32 = 0x27;

@inline function classAt(p: usize, end: usize): u32 {
  return charInfo(p, end) & INFO_CLASS_MASK;
}

/** End of the run of characters of class `cls` that starts at p. */
@inline function runEnd(p: usize, end: usize, cls: u32): usize {
  while (p < end) {
    const info = charInfo(p, end);
    if ((info & INFO_CLASS_MASK) != cls) break;
    p += info >> INFO_LEN_SHIFT;
  }
  return p;
}

/** End of the letter run at p; ASCII letters skip the table lookup. */
@inline function letterRunEnd(p: usize, end: usize): usize {
  while (p < end) {
    const b = <u32>load<u8>(p);
    if ((b | 0x20) - 0x61 < 26) {
      p++;
      continue;
    }
    if (b < 0x80) break;
    const info = charInfo(p, end);
    if ((info & INFO_CLASS_MASK) != CLASS_LETTER) break;
    p += info >> INFO_LEN_SHIFT;
  }
  return p;
}

/** Length of a contraction at p (p holds an apostrophe), 0 if none. */
@inline function contraction(p: usize, end: usize, caseFold: u32): usize {
  if (p + 1 >= end) return 0;
  const c1 = <u32>load<u8>(p, 1) | caseFold;
  if (c1 == 0x73 || c1 == 0x74 || c1 == 0x6d || c1 == 0x64) return 2; // s t m d
  if (p + 2 >= end) return 0;
  const c2 = <u32>load<u8>(p, 2) | caseFold;
  if ((c1 == 0x72 && c2 == 0x65) || (c1 == 0x76 && c2 == 0x65) || (c1 == 0x6c && c2 == 0x6c)) return 3; // re ve ll
  return 0;
}

/**
 * Whitespace alternatives `\s+(?!\S)|\s+` at p (p holds whitespace): the whole run
 * when it reaches the end of text, else the run minus its last character (which
 * then joins the next piece), and a lone whitespace character by itself.
 */
@inline function whitespaceEnd(p: usize, end: usize): usize {
  let last = p;
  let k = p;
  let count = 0;
  while (k < end) {
    const info = charInfo(k, end);
    if ((info & INFO_CLASS_MASK) != CLASS_SPACE) break;
    last = k;
    k += info >> INFO_LEN_SHIFT;
    count++;
  }
  if (k == end || count == 1) return k;
  return last;
}

/** End of the GPT-2 piece that starts at p (p < end). */
export function gpt2PieceEnd(p: usize, end: usize): usize {
  const b = <u32>load<u8>(p);
  if (b == APOSTROPHE) {
    const n = contraction(p, end, 0);
    if (n) return p + n;
  }
  // ` ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+`: an optional literal space, then a run of one class.
  if (b == SPACE && p + 1 < end) {
    const next = classAt(p + 1, end);
    if (next == CLASS_LETTER) return letterRunEnd(p + 1, end);
    if (next != CLASS_SPACE) return runEnd(p + 1, end, next);
  }
  const cls = classAt(p, end);
  if (cls == CLASS_LETTER) return letterRunEnd(p, end);
  if (cls != CLASS_SPACE) return runEnd(p, end, cls);
  return whitespaceEnd(p, end);
}

/** End of the cl100k piece that starts at p (p < end). */
export function cl100kPieceEnd(p: usize, end: usize): usize {
  return cl100kLikePieceEnd(p, end, 3);
}

/** End of the Qwen piece (cl100k with single digits) that starts at p (p < end). */
export function qwenPieceEnd(p: usize, end: usize): usize {
  return cl100kLikePieceEnd(p, end, 1);
}

/** cl100k's alternatives with `\p{N}{1,maxDigits}`. */
@inline function cl100kLikePieceEnd(p: usize, end: usize, maxDigits: i32): usize {
  const b = <u32>load<u8>(p);
  if (b == APOSTROPHE) {
    const n = contraction(p, end, 0x20);
    if (n) return p + n;
  }
  const info = charInfo(p, end);
  const cls = info & INFO_CLASS_MASK;
  if (cls == CLASS_LETTER) return letterRunEnd(p, end);
  if (cls == CLASS_NUMBER) {
    // \p{N}{1,maxDigits}
    let k = p + (info >> INFO_LEN_SHIFT);
    for (let n = 1; n < maxDigits && k < end; n++) {
      const i2 = charInfo(k, end);
      if ((i2 & INFO_CLASS_MASK) != CLASS_NUMBER) break;
      k += i2 >> INFO_LEN_SHIFT;
    }
    return k;
  }
  // [^\r\n\p{L}\p{N}]?\p{L}+ : one non-CR/LF character glued to a following letter run.
  const next = p + (info >> INFO_LEN_SHIFT);
  if (b != CR && b != LF && next < end && classAt(next, end) == CLASS_LETTER) {
    return letterRunEnd(next, end);
  }
  // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
  let j: usize = 0;
  if (cls == CLASS_OTHER) j = p;
  else if (b == SPACE && next < end && classAt(next, end) == CLASS_OTHER) j = next;
  if (j) {
    let k = runEnd(j, end, CLASS_OTHER);
    while (k < end) {
      const c = <u32>load<u8>(k);
      if (c != CR && c != LF) break;
      k++;
    }
    return k;
  }
  return newlineOrWhitespaceEnd(p, end);
}

/** `\s*[\r\n]+|\s+(?!\S)|\s+` at p (p holds whitespace). */
@inline function newlineOrWhitespaceEnd(p: usize, end: usize): usize {
  // `\s*[\r\n]+`: up to and including the run's last CR/LF.
  let k = p;
  let lastNewline: usize = 0;
  let hasNewline = false;
  while (k < end) {
    const i2 = charInfo(k, end);
    if ((i2 & INFO_CLASS_MASK) != CLASS_SPACE) break;
    const c = <u32>load<u8>(k);
    if (c == CR || c == LF) {
      lastNewline = k;
      hasNewline = true;
    }
    k += i2 >> INFO_LEN_SHIFT;
  }
  if (hasNewline) return lastNewline + 1;
  return whitespaceEnd(p, end);
}

// o200k. Its two word alternatives, at a start q, after the optional prefix:
//   1. UPPER* LOWER+   2. UPPER+ LOWER*
// where UPPER = Lu Lt Lm Lo M and LOWER = Ll Lm Lo M (the "both" characters,
// Lm Lo and marks, sit in the two sets). With the regex's backtracking, 1 is:
// the maximal UPPER run, then, if an Ll follows, the LOWER run after it;
// otherwise the run cut just after its last "both" character; if the run has
// none, 1 fails there and 2 takes the run (non-empty) as it is.

/** Whether a refined class is in o200k's UPPER set (Lu Lt Lm Lo M). */
@inline function inUpperSet(d: u32): bool {
  return d == CLASS_UPPER || d == (CLASS_LETTER | 8) || d == CLASS_MARK;
}

/** Whether a refined class is in o200k's LOWER set (Ll Lm Lo M). */
@inline function inLowerSet(d: u32): bool {
  return d == CLASS_LOWER || d == (CLASS_LETTER | 8) || d == CLASS_MARK;
}

/** End of the LOWER run at p; ASCII lowercase skips the table lookup. */
@inline function lowerRunEnd(p: usize, end: usize): usize {
  while (p < end) {
    const b = <u32>load<u8>(p);
    if (b - 0x61 < 26) {
      p++;
      continue;
    }
    if (b < 0x80) break;
    const info = charInfo(p, end);
    if (!inLowerSet(info & INFO_DETAIL_MASK)) break;
    p += info >> INFO_LEN_SHIFT;
  }
  return p;
}

/**
 * o200k's word alternatives at q: `UPPER* LOWER+` (alternative2 false: that one
 * only), else `UPPER+ LOWER*`. Returns the end, or 0 when neither matches.
 */
function o200kWordEnd(q: usize, end: usize, alternative2: bool): usize {
  let k = q;
  let afterBoth: usize = 0;
  while (k < end) {
    const b = <u32>load<u8>(k);
    if (b - 0x41 < 26) {
      k++;
      continue;
    }
    if (b < 0x80) break;
    const info = charInfo(k, end);
    const d = info & INFO_DETAIL_MASK;
    if (!inUpperSet(d)) break;
    k += info >> INFO_LEN_SHIFT;
    if (d != CLASS_UPPER) afterBoth = k;
  }
  // An Ll after the run (a "both" character would be in the run).
  if (k < end && (charInfo(k, end) & INFO_DETAIL_MASK) == CLASS_LOWER) return lowerRunEnd(k, end);
  if (afterBoth) return afterBoth;
  return alternative2 && k > q ? k : 0;
}

/** `(?i:'s|'t|'re|'ve|'m|'ll|'d)?` at p (ASCII letters only, as the reference spells it). */
@inline function withContraction(p: usize, end: usize): usize {
  return p < end && <u32>load<u8>(p) == APOSTROPHE ? p + contraction(p, end, 0x20) : p;
}

/** End of the o200k piece that starts at p (p < end). */
export function o200kPieceEnd(p: usize, end: usize): usize {
  const b = <u32>load<u8>(p);
  const info = charInfo(p, end);
  const d = info & INFO_DETAIL_MASK;
  const cls = d & INFO_CLASS_MASK;
  const next = p + (info >> INFO_LEN_SHIFT);
  if (cls == CLASS_LETTER) {
    // No prefix (letters are not `[^\r\n\p{L}\p{N}]`); a letter always starts a word.
    const e = o200kWordEnd(p, end, true);
    return withContraction(e, end);
  }
  if (cls != CLASS_NUMBER && b != CR && b != LF) {
    // The prefix `[^\r\n\p{L}\p{N}]`, then alternative 1 after it.
    let e = next < end ? o200kWordEnd(next, end, false) : 0;
    if (e) return withContraction(e, end);
    // Alternative 1 without the prefix: a mark starts it and always matches.
    if (d == CLASS_MARK) return withContraction(o200kWordEnd(p, end, false), end);
    e = next < end ? o200kWordEnd(next, end, true) : 0;
    if (e) return withContraction(e, end);
  }
  if (cls == CLASS_NUMBER) {
    let k = next;
    for (let n = 1; n < 3 && k < end; n++) {
      const i2 = charInfo(k, end);
      if ((i2 & INFO_CLASS_MASK) != CLASS_NUMBER) break;
      k += i2 >> INFO_LEN_SHIFT;
    }
    return k;
  }
  // ` ?[^\s\p{L}\p{N}]+[\r\n/]*` (marks are in that class).
  let j: usize = 0;
  if (cls == CLASS_OTHER) j = p;
  else if (b == SPACE && next < end && classAt(next, end) == CLASS_OTHER) j = next;
  if (j) {
    let k = runEnd(j, end, CLASS_OTHER);
    while (k < end) {
      const c = <u32>load<u8>(k);
      if (c != CR && c != LF && c != 0x2f) break;
      k++;
    }
    return k;
  }
  return newlineOrWhitespaceEnd(p, end);
}

/** End of the piece that starts at p (p < end) under `pattern`. */
@inline export function pieceEnd(pattern: i32, p: usize, end: usize): usize {
  if (pattern == PATTERN_CL100K) return cl100kPieceEnd(p, end);
  if (pattern == PATTERN_O200K) return o200kPieceEnd(p, end);
  if (pattern == PATTERN_GPT2) return gpt2PieceEnd(p, end);
  if (pattern == PATTERN_QWEN) return qwenPieceEnd(p, end);
  return end;
}

/**
 * Splits text [textPtr, textPtr + textLen) and writes each piece's end offset,
 * relative to textPtr, as an i32 at endsPtr. Returns the number of pieces
 * (at most textLen, so endsPtr needs 4 * textLen bytes).
 */
export function pretokenize(pattern: i32, textPtr: usize, textLen: i32, endsPtr: usize): i32 {
  const end = textPtr + <usize>textLen;
  let p = textPtr;
  let n = 0;
  while (p < end) {
    p = pieceEnd(pattern, p, end);
    store<i32>(endsPtr + (<usize>n << 2), <i32>(p - textPtr));
    n++;
  }
  return n;
}

/**
 * Largest offset c in (0, textLen] at which text may be cut without changing any
 * split, for the gpt2, cl100k and Qwen patterns, or 0 if there is none: a position whose previous
 * byte is an ASCII letter and whose byte is a space. The letter run before it
 * ends there whatever follows, nothing before it looks past it, and the piece
 * after it starts there in the whole text too. Streaming encoders cut there.
 */
export function lastSafeCut(textPtr: usize, textLen: i32): i32 {
  for (let c = textLen - 1; c > 0; c--) {
    if (<u32>load<u8>(textPtr + <usize>c) != SPACE) continue;
    const prev = (<u32>load<u8>(textPtr + <usize>c - 1) | 0x20) - 0x61;
    if (prev < 26) return c;
  }
  return 0;
}
