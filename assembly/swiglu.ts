// SwiGLU, the Llama MLP's gate: out = silu(gate) · up, silu(g) = g / (1 + exp(−g)).
//
// exp has no SIMD instruction, so expNeg4 evaluates it on four lanes with the
// shared Cephes-style exp4 (simd-exp.ts: ≈1 ulp, plain mul/add only, so the same
// bits on every runtime). The scalar tail goes through the same four-lane code, so an element
// gets identical bits whether it lands in the vector body or in the tail; the
// host may therefore split these kernels at any element offset.

import { exp4 } from "./simd-exp";

/** exp(−g) on four lanes (the shared softmax exp; NaN propagates). */
// @ts-ignore: decorator
@inline function expNeg4(g: v128): v128 {
  return exp4(f32x4.neg(g));
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
 *   dgate = dout · up · s · (1 + g(1 − s)),   dup = dout · silu(g),
 * both WRITTEN, and act = silu(g) · up recomputed with swiglu4's arithmetic (the
 * forward's bits), for `count` (≤ 4) lanes. Outputs must not alias the inputs.
 */
@inline function swigluBackward4(
  dgate: usize, dup: usize, act: usize, d: v128, g: v128, u: v128, count: usize,
): void {
  const one = f32x4.splat(1);
  const denom = f32x4.add(one, expNeg4(g));
  const s = f32x4.div(one, denom);
  const silu = f32x4.div(g, denom);
  const dsilu = f32x4.mul(s, f32x4.add(one, f32x4.mul(g, f32x4.sub(one, s))));
  const dg = f32x4.mul(f32x4.mul(d, u), dsilu);
  const du = f32x4.mul(d, silu);
  const a = f32x4.mul(silu, u);
  if (count == 4) {
    v128.store(dgate, dg);
    v128.store(dup, du);
    v128.store(act, a);
  } else {
    storePartial(dgate, dg, count);
    storePartial(dup, du, count);
    storePartial(act, a, count);
  }
}

/** dgate, dup (written) and act (recomputed) for n elements; see swigluBackward4. */
export function swigluBackward(dgate: usize, dup: usize, act: usize, dout: usize, gate: usize, up: usize, n: i32): void {
  const bytes = (<usize>n) << 2;
  const vecBytes = bytes & ~(<usize>15);
  let o: usize = 0;
  for (; o < vecBytes; o += 16) {
    swigluBackward4(dgate + o, dup + o, act + o, v128.load(dout + o), v128.load(gate + o), v128.load(up + o), 4);
  }
  const rest = (bytes - vecBytes) >> 2;
  if (rest > 0) {
    swigluBackward4(
      dgate + o, dup + o, act + o,
      loadPartial(dout + o, rest), loadPartial(gate + o, rest), loadPartial(up + o, rest), rest,
    );
  }
}

// Row entry points for the fused gate|up projection: row i of gateUp [n, 2f] holds
// gate (columns [0, f)) then up ([f, 2f)). Rows are independent and each element's
// bits do not depend on where it sits in a row, so any split of rows gives the bits
// of one whole call (and of the elementwise kernels above on separate gate and up).

/** out[i, :] = silu(gate_i)·up_i for rows [rowStart, rowEnd); out [n, f]. */
export function swigluForwardRows(out: usize, gateUp: usize, f: i32, rowStart: i32, rowEnd: i32): void {
  const rowBytes = (<usize>f) << 2;
  for (let i = rowStart; i < rowEnd; i++) {
    const g = gateUp + (<usize>i) * (rowBytes << 1);
    swigluForward(out + (<usize>i) * rowBytes, g, g + rowBytes, f);
  }
}

/** dGateUp [n, 2f] (written) and act [n, f] (recomputed) for rows [rowStart, rowEnd). */
export function swigluBackwardRows(dGateUp: usize, act: usize, dout: usize, gateUp: usize, f: i32, rowStart: i32, rowEnd: i32): void {
  const rowBytes = (<usize>f) << 2;
  for (let i = rowStart; i < rowEnd; i++) {
    const wide = (<usize>i) * (rowBytes << 1);
    const narrow = (<usize>i) * rowBytes;
    swigluBackward(dGateUp + wide, dGateUp + wide + rowBytes, act + narrow, dout + narrow, gateUp + wide, gateUp + wide + rowBytes, f);
  }
}
