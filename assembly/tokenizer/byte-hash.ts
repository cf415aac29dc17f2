// Hashing and comparison of short byte strings (BPE tokens and pieces).

@inline function mix(h: u32, word: u32): u32 {
  return (rotl<u32>(h, 5) ^ word) * 0x27d4eb2f;
}

/** 32-bit hash of bytes [p, p + len). Reads whole words; never reads past the end. */
@inline export function hashBytes(p: usize, len: usize): u32 {
  let h: u32 = <u32>len * 0x9e3779b1;
  let i: usize = 0;
  while (i + 4 <= len) {
    h = mix(h, load<u32>(p + i));
    i += 4;
  }
  if (i < len) {
    let t: u32 = 0;
    let shift: u32 = 0;
    while (i < len) {
      t |= <u32>load<u8>(p + i) << shift;
      shift += 8;
      i++;
    }
    h = mix(h, t);
  }
  // murmur3's finalizer: table slots use the low bits, which the multiplies alone leave weak.
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  return h ^ (h >> 16);
}

@inline export function bytesEqual(a: usize, b: usize, len: usize): bool {
  let i: usize = 0;
  while (i + 8 <= len) {
    if (load<u64>(a + i) != load<u64>(b + i)) return false;
    i += 8;
  }
  while (i < len) {
    if (load<u8>(a + i) != load<u8>(b + i)) return false;
    i++;
  }
  return true;
}

/** Hash of an ordered pair of token ids, for the merge table. */
@inline export function hashPair(key: u64): u32 {
  return <u32>((key * 0x9e3779b97f4a7c15) >> 32);
}

/**
 * The first min(len, 8) bytes at p as a little-endian u64, zero-padded. Reads 8
 * bytes, so callers keep 8 readable bytes after any text or token.
 */
@inline export function loadPrefix(p: usize, len: i32): u64 {
  const word = load<u64>(p);
  return len >= 8 ? word : word & ((<u64>1 << (<u64>len << 3)) - 1);
}

/**
 * Hash of a token of at most 8 bytes given as its prefix word. Tables index
 * with the low bits of the result, so every input bit must reach them: one
 * multiply alone carries bit k only upward, and the index bits (32 and up)
 * would ignore the word's top bytes ("▁abc" words sharing 6 bytes collide).
 */
@inline export function hashWord(word: u64, len: i32): u32 {
  let x = (word ^ (<u64>len << 59)) * 0x9e3779b97f4a7c15;
  x ^= x >> 29;
  x *= 0xbf58476d1ce4e5b9;
  return <u32>(x >> 32);
}
