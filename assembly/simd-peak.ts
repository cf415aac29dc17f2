// The 128-bit SIMD mul+add ceiling of the machine and runtime this runs on, for
// bench/matmul.bench.mjs: the best a matmul micro-kernel built from f32x4.mul and
// f32x4.add (no FMA, like assembly/matmul.ts) could reach.
//
// Six independent multiply chains and six independent add chains: six in flight
// cover a 3-cycle latency on two pipes of each kind (AMD Zen: 2 FP mul + 2 FP add
// pipes; Intel: two pipes that do either), and 12 accumulators + 2 operands stay
// within the 16 xmm registers V8 allocates without AVX-512. The operands are
// parameters (1 and 0 from the bench) so the compiler cannot fold the chains,
// and they go through memory: V8 rematerializes a splat of a parameter inside the
// loop (a vbroadcastss that takes an FP pipe), a load it keeps outside.

/** 32 bytes of static memory for the two operand vectors. */
const OPERANDS = memory.data(32, 16);

/**
 * Runs `iterations` (even) rounds of 6 f32x4.mul + 6 f32x4.add on independent chains
 * (48 flops per round, counting a mul and an add as one flop each, as matmul's
 * 2·m·n·k does). Returns a sum of the chains so the work is not dead code.
 */
export function simdMulAddPeak(iterations: i32, scale: f32, offset: f32): f32 {
  v128.store(OPERANDS, f32x4.splat(scale));
  v128.store(OPERANDS, f32x4.splat(offset), 16);
  const s = v128.load(OPERANDS), o = v128.load(OPERANDS, 16);
  let m0 = f32x4.splat(1), m1 = f32x4.splat(1.5), m2 = f32x4.splat(2), m3 = f32x4.splat(2.5), m4 = f32x4.splat(3), m5 = f32x4.splat(3.5);
  let a0 = f32x4.splat(1), a1 = f32x4.splat(2), a2 = f32x4.splat(3), a3 = f32x4.splat(4), a4 = f32x4.splat(5), a5 = f32x4.splat(6);
  // Two rounds per trip so the loop counter and V8's stack check stay a small share.
  for (let i = 0; i < iterations; i += 2) {
    m0 = f32x4.mul(m0, s); a0 = f32x4.add(a0, o);
    m1 = f32x4.mul(m1, s); a1 = f32x4.add(a1, o);
    m2 = f32x4.mul(m2, s); a2 = f32x4.add(a2, o);
    m3 = f32x4.mul(m3, s); a3 = f32x4.add(a3, o);
    m4 = f32x4.mul(m4, s); a4 = f32x4.add(a4, o);
    m5 = f32x4.mul(m5, s); a5 = f32x4.add(a5, o);
    m0 = f32x4.mul(m0, s); a0 = f32x4.add(a0, o);
    m1 = f32x4.mul(m1, s); a1 = f32x4.add(a1, o);
    m2 = f32x4.mul(m2, s); a2 = f32x4.add(a2, o);
    m3 = f32x4.mul(m3, s); a3 = f32x4.add(a3, o);
    m4 = f32x4.mul(m4, s); a4 = f32x4.add(a4, o);
    m5 = f32x4.mul(m5, s); a5 = f32x4.add(a5, o);
  }
  const m = f32x4.add(f32x4.add(f32x4.add(m0, m1), f32x4.add(m2, m3)), f32x4.add(m4, m5));
  const a = f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(a4, a5));
  const t = f32x4.add(m, a);
  return f32x4.extract_lane(t, 0) + f32x4.extract_lane(t, 1) + f32x4.extract_lane(t, 2) + f32x4.extract_lane(t, 3);
}
