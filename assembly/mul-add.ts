// acc + a·b for the matmul and attention micro-kernels, in one of two builds:
//   exact   (engine.wasm, engine-threads.wasm): f32x4.mul then f32x4.add, two
//           roundings, the same bits in every runtime and on every machine;
//   relaxed (engine-relaxed.wasm, engine-threads-relaxed.wasm, built with
//           --enable relaxed-simd): f32x4.relaxed_madd, which V8 compiles to a
//           fused multiply-add (one rounding) where the CPU has FMA and to
//           mul + add where it has not, so its bits depend on the machine and
//           the runtime. Opt-in only (engine option kernels: "relaxed").
// ASC_FEATURE_RELAXED_SIMD is a compile-time constant: each build has one path.

/** acc + a·b (see the header for which rounding each build does). */
// @ts-ignore: decorator
@inline
export function mulAdd(acc: v128, a: v128, b: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, acc);
  return f32x4.add(acc, f32x4.mul(a, b));
}

/** True in the relaxed build, so the host can check which module it loaded. */
export function kernelsRelaxed(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}
