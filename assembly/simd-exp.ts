// exp(x) on four f32 lanes for the softmax kernels (attention, cross-entropy) and SwiGLU.
//
// Why not Mathf.exp: softmax needs one exp per score, and a scalar libm call per
// element dominates those kernels. This is a Cephes-style range reduction
// x = n·ln2 + r (ln2 split so n·LN2_HI is exact) with a degree-6 polynomial for
// e^r, using only plain mul/add (no FMA), so every runtime produces the same bits.
// Accuracy is about 1 ulp on [-87, 88]. Inputs below -87.9 are clamped there and
// return 0 or a tiny value (what a softmax of far-below-max scores wants); NaN
// stays NaN (pmin/pmax keep their first operand when a comparison fails).
//
// Speed notes (V8): n = round(x·log2e) uses the 1.5·2^23 "magic number" instead
// of floor + trunc_sat (the conversion alone costs several x64 instructions),
// and the constants are loaded from a static table: V8 rematerialises every
// v128.const inside the loop, while a load is one instruction. Together ~1.8×.
// Not re-exported from engine.ts: v128 cannot cross into JS.

// Each constant is repeated over four lanes; offsets are in bytes.
const EXP_TABLE = memory.data<f32>([
  -87.9, -87.9, -87.9, -87.9, // 0: lower clamp (n = round(x·log2e) ≥ -127, whose 2^n is +0)
  88.3762626647949, 88.3762626647949, 88.3762626647949, 88.3762626647949, // 16: upper clamp
  1.44269504088896341, 1.44269504088896341, 1.44269504088896341, 1.44269504088896341, // 32: log2 e
  12582912.0, 12582912.0, 12582912.0, 12582912.0, // 48: 1.5·2^23, rounds to an integer
  0.693359375, 0.693359375, 0.693359375, 0.693359375, // 64: ln2 high part
  -2.12194440e-4, -2.12194440e-4, -2.12194440e-4, -2.12194440e-4, // 80: ln2 low part
  1.9875691500e-4, 1.9875691500e-4, 1.9875691500e-4, 1.9875691500e-4, // 96: polynomial
  1.3981999507e-3, 1.3981999507e-3, 1.3981999507e-3, 1.3981999507e-3,
  8.3334519073e-3, 8.3334519073e-3, 8.3334519073e-3, 8.3334519073e-3,
  4.1665795894e-2, 4.1665795894e-2, 4.1665795894e-2, 4.1665795894e-2,
  1.6666665459e-1, 1.6666665459e-1, 1.6666665459e-1, 1.6666665459e-1,
  5.0000001201e-1, 5.0000001201e-1, 5.0000001201e-1, 5.0000001201e-1,
  1.0, 1.0, 1.0, 1.0, // 192
], 16);

// Bits of 1.5·2^23 minus the exponent bias: (bits(n + 1.5·2^23) − this) << 23 = 2^n.
// @ts-ignore: decorator
@inline const MAGIC_BITS_MINUS_BIAS: i32 = 0x4b400000 - 127;

// @ts-ignore: decorator
@inline
export function exp4(x: v128): v128 {
  x = f32x4.pmin(f32x4.pmax(x, v128.load(EXP_TABLE, 0)), v128.load(EXP_TABLE, 16));
  const magic = v128.load(EXP_TABLE, 48);
  const shifted = f32x4.add(f32x4.mul(x, v128.load(EXP_TABLE, 32)), magic);
  const n = f32x4.sub(shifted, magic);
  let r = f32x4.sub(x, f32x4.mul(n, v128.load(EXP_TABLE, 64)));
  r = f32x4.sub(r, f32x4.mul(n, v128.load(EXP_TABLE, 80)));
  let p = v128.load(EXP_TABLE, 96);
  p = f32x4.add(f32x4.mul(p, r), v128.load(EXP_TABLE, 112));
  p = f32x4.add(f32x4.mul(p, r), v128.load(EXP_TABLE, 128));
  p = f32x4.add(f32x4.mul(p, r), v128.load(EXP_TABLE, 144));
  p = f32x4.add(f32x4.mul(p, r), v128.load(EXP_TABLE, 160));
  p = f32x4.add(f32x4.mul(p, r), v128.load(EXP_TABLE, 176));
  const y = f32x4.add(f32x4.add(f32x4.mul(p, f32x4.mul(r, r)), r), v128.load(EXP_TABLE, 192));
  const pow2n = i32x4.shl(i32x4.sub(shifted, i32x4.splat(MAGIC_BITS_MINUS_BIAS)), 23);
  return f32x4.mul(y, pow2n);
}

/** Scalar exp with bits identical to one lane of exp4 (used for tails). */
// @ts-ignore: decorator
@inline
export function exp1(x: f32): f32 {
  return f32x4.extract_lane(exp4(f32x4.splat(x)), 0);
}
