// Reads one character of UTF-8 text and classifies it for the pre-tokenizers.
//
// The result packs the character's byte length (bits 4..6) with its class
// (bits 0..3, see unicode-tables.ts: the base class in bits 0..1, read with
// INFO_CLASS_MASK; o200k's letter case and marks in bits 2..3, INFO_DETAIL_MASK).
// Invalid UTF-8 — stray continuation bytes, overlong forms, encoded surrogates,
// truncated sequences, bytes F5..FF — is read as one byte of class "other", so
// any byte string splits deterministically and its bytes survive BPE unchanged.
import { CLASS_STAGE1, CLASS_STAGE2, CLASS_BLOCK_SHIFT, CLASS_OTHER } from "./unicode-tables";

export const INFO_LEN_SHIFT: u32 = 4;
export const INFO_CLASS_MASK: u32 = 3;
export const INFO_DETAIL_MASK: u32 = 15;

@inline export function classOfCodePoint(cp: u32): u32 {
  const block = <u32>load<u8>(CLASS_STAGE1 + (cp >> CLASS_BLOCK_SHIFT));
  return <u32>load<u8>(CLASS_STAGE2 + (block << CLASS_BLOCK_SHIFT) + (cp & ((1 << CLASS_BLOCK_SHIFT) - 1)));
}

const INVALID: u32 = (1 << INFO_LEN_SHIFT) | CLASS_OTHER;

@inline function isCont(b: u32): bool {
  return (b & 0xc0) == 0x80;
}

/** Length and class of the character at p (p < end). ASCII takes the inline path. */
@inline export function charInfo(p: usize, end: usize): u32 {
  const b0 = <u32>load<u8>(p);
  // Block 0 of the stage-2 table is the first block (code points 0..127).
  if (b0 < 0x80) return (1 << INFO_LEN_SHIFT) | <u32>load<u8>(CLASS_STAGE2 + b0);
  return charInfoMultiByte(p, end, b0);
}

function charInfoMultiByte(p: usize, end: usize, b0: u32): u32 {
  const avail = end - p;
  if (b0 < 0xc2) return INVALID;
  if (b0 < 0xe0) {
    if (avail < 2) return INVALID;
    const b1 = <u32>load<u8>(p, 1);
    if (!isCont(b1)) return INVALID;
    return (2 << INFO_LEN_SHIFT) | classOfCodePoint(((b0 & 0x1f) << 6) | (b1 & 0x3f));
  }
  if (b0 < 0xf0) {
    if (avail < 3) return INVALID;
    const b1 = <u32>load<u8>(p, 1);
    const b2 = <u32>load<u8>(p, 2);
    const lo: u32 = b0 == 0xe0 ? 0xa0 : 0x80;
    const hi: u32 = b0 == 0xed ? 0x9f : 0xbf;
    if (b1 < lo || b1 > hi || !isCont(b2)) return INVALID;
    return (3 << INFO_LEN_SHIFT) | classOfCodePoint(((b0 & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f));
  }
  if (b0 < 0xf5) {
    if (avail < 4) return INVALID;
    const b1 = <u32>load<u8>(p, 1);
    const b2 = <u32>load<u8>(p, 2);
    const b3 = <u32>load<u8>(p, 3);
    const lo: u32 = b0 == 0xf0 ? 0x90 : 0x80;
    const hi: u32 = b0 == 0xf4 ? 0x8f : 0xbf;
    if (b1 < lo || b1 > hi || !isCont(b2) || !isCont(b3)) return INVALID;
    return (4 << INFO_LEN_SHIFT) | classOfCodePoint(((b0 & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((b2 & 0x3f) << 6) | (b3 & 0x3f));
  }
  return INVALID;
}
