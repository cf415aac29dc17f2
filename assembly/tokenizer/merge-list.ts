// Resolves a tokenizer.json merge list ("a b" strings, or [a, b] pairs of
// vocabulary strings) to pairs of token ids in one pass over its UTF-8 text,
// against the token table. Reading it in JavaScript meant two new strings and
// two map lookups per merge (Gemma: 580k merges, ~0.7 s of its load).
//
// Only the common case is resolved here; anything else (a string without
// exactly one space, a token that is not in the table, a character outside the
// byte-level alphabet) returns that merge's index, and the host reads the list
// in JavaScript, which names the problem or handles the rare case (e.g. a merge
// of a vocabulary token that is also a special token, which the table leaves out).
import { bpeFindToken } from "./bpe";

/**
 * text: the UTF-8 of the strings, concatenated (valid UTF-8: the host checks the
 * strings are well-formed); lens: i32, the UTF-16 length of each string.
 * pairs 0: n strings "a b"; 1: 2n strings, a then b. alphabet: 0 when a
 * string's bytes are the token's bytes (character-level vocabularies); else
 * i32[0x144], the byte of each character of GPT-2's byte-level alphabet (-1:
 * not in it). Writes n (left, right) i32 pairs to out. scratch: room for the
 * longest string's bytes plus 8. Returns -1, or the first merge not resolved.
 */
export function bpeResolveMerges(text: usize, lens: usize, n: i32, pairs: i32, alphabet: usize, out: usize, scratch: usize): i32 {
  let p = text;
  for (let i = 0; i < n; i++) {
    let left: i32, right: i32;
    if (pairs) {
      const a = p;
      p = skipUnits(p, load<i32>(lens + (<usize>(2 * i) << 2)));
      const b = p;
      p = skipUnits(p, load<i32>(lens + (<usize>(2 * i + 1) << 2)));
      left = findString(a, b, alphabet, scratch);
      right = findString(b, p, alphabet, scratch);
    } else {
      const start = p;
      p = skipUnits(p, load<i32>(lens + (<usize>i << 2)));
      let space: usize = 0;
      let spaces = 0;
      for (let k = start; k < p; k++) {
        if (load<u8>(k) == 0x20) {
          if (spaces == 0) space = k;
          spaces++;
        }
      }
      if (spaces != 1) return i;
      left = findString(start, space, alphabet, scratch);
      right = findString(space + 1, p, alphabet, scratch);
    }
    if (left < 0 || right < 0) return i;
    store<i32>(out + (<usize>i << 3), left);
    store<i32>(out + (<usize>i << 3), right, 4);
  }
  return -1;
}

/** The end of `units` UTF-16 units of valid UTF-8 at p (a 4-byte character is two units). */
@inline function skipUnits(p: usize, units: i32): usize {
  while (units > 0) {
    const b = <u32>load<u8>(p);
    if (b < 0x80) {
      p++;
      units--;
    } else if (b < 0xe0) {
      p += 2;
      units--;
    } else if (b < 0xf0) {
      p += 3;
      units--;
    } else {
      p += 4;
      units -= 2;
    }
  }
  return p;
}

/** Id of the token written as [a, b), or -1. */
function findString(a: usize, b: usize, alphabet: usize, scratch: usize): i32 {
  const len = <i32>(b - a);
  if (len <= 0) return -1;
  if (!alphabet) return bpeFindToken(a, len); // the text has 8 bytes of slack
  // Byte-level alphabet: every character is below U+0144 (one or two UTF-8 bytes).
  let w: usize = 0;
  let k = a;
  while (k < b) {
    const b0 = <u32>load<u8>(k);
    let cp: u32;
    if (b0 < 0x80) {
      cp = b0;
      k++;
    } else if (b0 < 0xe0) {
      cp = ((b0 & 0x1f) << 6) | (<u32>load<u8>(k, 1) & 0x3f);
      k += 2;
    } else {
      return -1;
    }
    if (cp >= 0x144) return -1;
    const byte = load<i32>(alphabet + (<usize>cp << 2));
    if (byte < 0) return -1;
    store<u8>(scratch + w, <u8>byte);
    w++;
  }
  return bpeFindToken(scratch, <i32>w);
}
