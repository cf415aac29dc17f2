// Deterministic parameter initialisation.
//
// Samples come from a counter-based generator: element i of a tensor is a pure
// function of (seed, stream, i), so a tensor's values never depend on the order
// in which tensors are allocated, on how the host splits the work, or on the
// runtime. Each parameter tensor gets its own stream number.
//
// Generator: splitmix64's finaliser (a strong 64-bit mixer) applied to a key
// derived from (seed, stream) plus a per-pair counter. Pair j = i >> 1 yields two
// uniforms and, by Box–Muller in f64, the two normals for elements 2j and 2j+1.

const GOLDEN: u64 = 0x9e3779b97f4a7c15;

@inline function mix64(z: u64): u64 {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
  z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
  return z ^ (z >> 31);
}

/** Key of one (seed, stream) pair; mixed twice so nearby seeds and streams decorrelate. */
@inline function streamKey(seed: u32, stream: u32): u64 {
  return mix64(mix64((<u64>seed) * GOLDEN + 0x2545f4914f6cdd1d) ^ ((<u64>stream) * 0xd1b54a32d192ed03));
}

/** Uniform in (0, 1] from the top 53 bits (never 0, so log is finite). */
@inline function uniformOpen(bits: u64): f64 {
  return (<f64>((bits >> 11) + 1)) * 1.1102230246251565e-16; // 2^-53
}

/** dst[i] = normal(0, std) sample number i of (seed, stream), rounded to f32. */
export function initNormal(dst: usize, n: i32, std: f32, seed: u32, stream: u32): void {
  const key = streamKey(seed, stream);
  const sd = <f64>std;
  const pairs = (n + 1) >> 1;
  for (let j = 0; j < pairs; j++) {
    const counter = key + (<u64>j) * (GOLDEN << 1);
    const u1 = uniformOpen(mix64(counter));
    const u2 = uniformOpen(mix64(counter + GOLDEN));
    const radius = Math.sqrt(-2.0 * Math.log(u1)) * sd;
    const angle = 2.0 * Math.PI * u2;
    const i = j << 1;
    store<f32>(dst + ((<usize>i) << 2), <f32>(radius * Math.cos(angle)));
    if (i + 1 < n) store<f32>(dst + ((<usize>(i + 1)) << 2), <f32>(radius * Math.sin(angle)));
  }
}
