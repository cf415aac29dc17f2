// exp(x) on four f32 lanes for the softmax kernels (attention, cross-entropy).
//
// Why not Mathf.exp: softmax needs one exp per score, and a scalar libm call per
// element dominates those kernels; this vector version is ~4x cheaper. It is a
// Cephes-style range reduction x = n·ln2 + r with a degree-6 polynomial for e^r,
// using only plain mul/add (no FMA), so every runtime produces the same bits.
// Accuracy is about 1 ulp on [-87, 88]. Inputs below about -87.3 return 0 (or a
// tiny normal), which is what a softmax of masked / far-below-max scores wants;
// NaN stays NaN. Not re-exported from engine.ts: v128 cannot cross into JS.

// @ts-ignore: decorator
@inline const EXP_HI: f32 = 88.3762626647949;
// @ts-ignore: decorator
@inline const EXP_LO: f32 = -88.3762626647949;
// @ts-ignore: decorator
@inline const LOG2E: f32 = 1.44269504088896341;
// ln2 split into a part with few mantissa bits (exact in n·C1) and the remainder.
// @ts-ignore: decorator
@inline const LN2_HI: f32 = 0.693359375;
// @ts-ignore: decorator
@inline const LN2_LO: f32 = -2.12194440e-4;

// @ts-ignore: decorator
@inline
export function exp4(x: v128): v128 {
  x = f32x4.min(f32x4.max(x, f32x4.splat(EXP_LO)), f32x4.splat(EXP_HI));
  // n = round(x / ln2), computed as floor(x·log2e + 0.5)
  const fx = f32x4.floor(f32x4.add(f32x4.mul(x, f32x4.splat(LOG2E)), f32x4.splat(0.5)));
  let r = f32x4.sub(x, f32x4.mul(fx, f32x4.splat(LN2_HI)));
  r = f32x4.sub(r, f32x4.mul(fx, f32x4.splat(LN2_LO)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  const r2 = f32x4.mul(r, r);
  const y = f32x4.add(f32x4.add(f32x4.mul(p, r2), r), f32x4.splat(1.0));
  // 2^n built in the exponent field; n = -127 gives exponent 0, i.e. +0.
  const pow2n = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(fx), i32x4.splat(127)), 23);
  return f32x4.mul(y, pow2n);
}

/** Scalar exp with bits identical to one lane of exp4 (used for tails). */
// @ts-ignore: decorator
@inline
export function exp1(x: f32): f32 {
  return f32x4.extract_lane(exp4(f32x4.splat(x)), 0);
}
