// SwiGLU, the Llama MLP's gate: out = silu(gate) · up, silu(g) = g / (1 + exp(−g)).
//
// exp has no SIMD instruction, so expNeg4 evaluates it on four lanes with the
// Cephes expf polynomial (≈1 ulp, plain mul/add only, so the same bits on every
// runtime). The scalar tail goes through the same four-lane code, so an element
// gets identical bits whether it lands in the vector body or in the tail; the
// host may therefore split these kernels at any element offset.

// exp(x) = 2^n · e^r with n = round(x·log2 e) and r = x − n·ln 2 (ln 2 split in
// two so that n·LN2_HI is exact), e^r by the Cephes polynomial.
const LOG2E: f32 = 1.44269504088896341;
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
// Clamp so that 2^n stays a normal float: below, exp is < 2^-126 and only feeds
// 1 + exp (where it vanishes); above, 1 + exp(88) ≈ 1.7e38 already makes silu ≈ 0.
const EXP_LO: f32 = -87.0;
const EXP_HI: f32 = 88.0;
// Adding 1.5·2^23 rounds a float of magnitude < 2^22 to an integer (ties to even)
// and leaves that integer in the low mantissa bits: this gives n as a float and
// the bits of 2^n without floor or a float→int conversion (V8 expands both).
const ROUND_MAGIC: f32 = 12582912.0;
const P0: f32 = 1.9875691500e-4;
const P1: f32 = 1.3981999507e-3;
const P2: f32 = 8.3334519073e-3;
const P3: f32 = 4.1665795894e-2;
const P4: f32 = 1.6666665459e-1;
const P5: f32 = 5.0000001201e-1;

/** exp(−g) on four lanes. */
@inline function expNeg4(g: v128): v128 {
  // pmin/pmax map to single instructions; min/max must propagate NaN and order
  // −0 < +0, which V8 emulates with several. A NaN gate is clamped here, but the
  // NaN still reaches the output through the division by (1 + exp) of g itself.
  let x = f32x4.neg(g);
  x = f32x4.pmax(f32x4.splat(EXP_LO), f32x4.pmin(f32x4.splat(EXP_HI), x));
  const shifted = f32x4.add(f32x4.mul(x, f32x4.splat(LOG2E)), f32x4.splat(ROUND_MAGIC));
  const n = f32x4.sub(shifted, f32x4.splat(ROUND_MAGIC));
  const r = f32x4.sub(f32x4.sub(x, f32x4.mul(n, f32x4.splat(LN2_HI))), f32x4.mul(n, f32x4.splat(LN2_LO)));
  const r2 = f32x4.mul(r, r);
  let p = f32x4.add(f32x4.mul(f32x4.splat(P0), r), f32x4.splat(P1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P4));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(P5));
  const er = f32x4.add(f32x4.add(f32x4.mul(p, r2), r), f32x4.splat(1));
  // bits(shifted) − bits(ROUND_MAGIC) = n, since both share one exponent.
  const pow2n = i32x4.shl(i32x4.add(i32x4.sub(shifted, f32x4.splat(ROUND_MAGIC)), i32x4.splat(127)), 23);
  return f32x4.mul(er, pow2n);
}

/** Loads the last `count` (< 4) floats at p into the low lanes of a vector. */
@inline function loadPartial(p: usize, count: usize): v128 {
  let v = f32x4.splat(0);
  v = f32x4.replace_lane(v, 0, load<f32>(p));
  if (count > 1) v = f32x4.replace_lane(v, 1, load<f32>(p + 4));
  if (count > 2) v = f32x4.replace_lane(v, 2, load<f32>(p + 8));
  return v;
}

@inline function storePartial(p: usize, v: v128, count: usize): void {
  store<f32>(p, f32x4.extract_lane(v, 0));
  if (count > 1) store<f32>(p + 4, f32x4.extract_lane(v, 1));
  if (count > 2) store<f32>(p + 8, f32x4.extract_lane(v, 2));
}

@inline function swiglu4(g: v128, u: v128): v128 {
  const silu = f32x4.div(g, f32x4.add(f32x4.splat(1), expNeg4(g)));
  return f32x4.mul(silu, u);
}

/** out[i] = silu(gate[i]) · up[i] for i in [0, n). out may alias gate or up. */
export function swigluForward(out: usize, gate: usize, up: usize, n: i32): void {
  const bytes = (<usize>n) << 2;
  const vecBytes = bytes & ~(<usize>15);
  let o: usize = 0;
  for (; o < vecBytes; o += 16) {
    v128.store(out + o, swiglu4(v128.load(gate + o), v128.load(up + o)));
  }
  const rest = (bytes - vecBytes) >> 2;
  if (rest > 0) {
    storePartial(out + o, swiglu4(loadPartial(gate + o, rest), loadPartial(up + o, rest)), rest);
  }
}

/**
 * With s = sigmoid(g): d silu/dg = s · (1 + g · (1 − s)), so
 *   dgate += dout · up · s · (1 + g(1 − s)),   dup += dout · silu(g).
 * dgate and dup must not alias the inputs.
 */
@inline function swigluBackward4(
  dgate: usize, dup: usize, d: v128, g: v128, u: v128, count: usize,
): void {
  const one = f32x4.splat(1);
  const denom = f32x4.add(one, expNeg4(g));
  const s = f32x4.div(one, denom);
  const silu = f32x4.div(g, denom);
  const dsilu = f32x4.mul(s, f32x4.add(one, f32x4.mul(g, f32x4.sub(one, s))));
  const dg = f32x4.mul(f32x4.mul(d, u), dsilu);
  const du = f32x4.mul(d, silu);
  if (count == 4) {
    v128.store(dgate, f32x4.add(v128.load(dgate), dg));
    v128.store(dup, f32x4.add(v128.load(dup), du));
  } else {
    storePartial(dgate, f32x4.add(loadPartial(dgate, count), dg), count);
    storePartial(dup, f32x4.add(loadPartial(dup, count), du), count);
  }
}

export function swigluBackward(dgate: usize, dup: usize, dout: usize, gate: usize, up: usize, n: i32): void {
  const bytes = (<usize>n) << 2;
  const vecBytes = bytes & ~(<usize>15);
  let o: usize = 0;
  for (; o < vecBytes; o += 16) {
    swigluBackward4(dgate + o, dup + o, v128.load(dout + o), v128.load(gate + o), v128.load(up + o), 4);
  }
  const rest = (bytes - vecBytes) >> 2;
  if (rest > 0) {
    swigluBackward4(
      dgate + o, dup + o,
      loadPartial(dout + o, rest), loadPartial(gate + o, rest), loadPartial(up + o, rest), rest,
    );
  }
}
