// JREG: per-token cosine between the residual stream before and after a layer,
// the distances built from it (cosine, angular), and their gradients.
// Definitions (DESIGN.md): cos(a, b) = ⟨a, b⟩ / max(‖a‖·‖b‖, 1e-8) per row of width c.
//
// Accumulation choice: the three row sums ⟨a,b⟩, ‖a‖², ‖b‖² are formed in f64
// (each f32 promoted before multiplying) in a fixed order — two f64x2 lanes pairs
// per four floats, then the scalar tail — so cos is exact to f32 rounding for any
// width and the value never depends on how rows are split across threads.

// @ts-ignore: decorator
@inline const COS_EPS: f64 = 1e-8;

/** Writes cos[i], normA[i] = ‖a_i‖, normB[i] = ‖b_i‖ for rows [rowStart, rowEnd). */
export function cosineForward(cos: usize, normA: usize, normB: usize, a: usize, b: usize, c: i32, rowStart: i32, rowEnd: i32): void {
  const c4 = c & ~3;
  for (let i = rowStart; i < rowEnd; i++) {
    const pa = a + (<usize>i * <usize>c << 2);
    const pb = b + (<usize>i * <usize>c << 2);
    let ab0 = f64x2.splat(0), ab1 = f64x2.splat(0);
    let aa0 = f64x2.splat(0), aa1 = f64x2.splat(0);
    let bb0 = f64x2.splat(0), bb1 = f64x2.splat(0);
    for (let k = 0; k < c4; k += 4) {
      const va = v128.load(pa + (<usize>k << 2));
      const vb = v128.load(pb + (<usize>k << 2));
      const alo = f64x2.promote_low_f32x4(va);
      const ahi = f64x2.promote_low_f32x4(v128.shuffle<f32>(va, va, 2, 3, 0, 1));
      const blo = f64x2.promote_low_f32x4(vb);
      const bhi = f64x2.promote_low_f32x4(v128.shuffle<f32>(vb, vb, 2, 3, 0, 1));
      ab0 = f64x2.add(ab0, f64x2.mul(alo, blo));
      ab1 = f64x2.add(ab1, f64x2.mul(ahi, bhi));
      aa0 = f64x2.add(aa0, f64x2.mul(alo, alo));
      aa1 = f64x2.add(aa1, f64x2.mul(ahi, ahi));
      bb0 = f64x2.add(bb0, f64x2.mul(blo, blo));
      bb1 = f64x2.add(bb1, f64x2.mul(bhi, bhi));
    }
    const ab = f64x2.add(ab0, ab1);
    const aa = f64x2.add(aa0, aa1);
    const bb = f64x2.add(bb0, bb1);
    let sab = f64x2.extract_lane(ab, 0) + f64x2.extract_lane(ab, 1);
    let saa = f64x2.extract_lane(aa, 0) + f64x2.extract_lane(aa, 1);
    let sbb = f64x2.extract_lane(bb, 0) + f64x2.extract_lane(bb, 1);
    for (let k = c4; k < c; k++) {
      const x = <f64>load<f32>(pa + (<usize>k << 2));
      const y = <f64>load<f32>(pb + (<usize>k << 2));
      sab += x * y;
      saa += x * x;
      sbb += y * y;
    }
    const na = Math.sqrt(saa);
    const nb = Math.sqrt(sbb);
    const denom = Math.max(na * nb, COS_EPS);
    store<f32>(cos + (<usize>i << 2), <f32>(sab / denom));
    store<f32>(normA + (<usize>i << 2), <f32>na);
    store<f32>(normB + (<usize>i << 2), <f32>nb);
  }
}

// da_row += ca·b_row − cb·a_row in f64, rounded once per element.
// @ts-ignore: decorator
@inline
function accumulateCombination(dst: usize, x: usize, cx: f64, y: usize, cy: f64, c: i32): void {
  const c4 = c & ~3;
  const vcx = f64x2.splat(cx);
  const vcy = f64x2.splat(cy);
  for (let k = 0; k < c4; k += 4) {
    const off = <usize>k << 2;
    const vx = v128.load(x + off);
    const vy = v128.load(y + off);
    const xlo = f64x2.promote_low_f32x4(vx);
    const xhi = f64x2.promote_low_f32x4(v128.shuffle<f32>(vx, vx, 2, 3, 0, 1));
    const ylo = f64x2.promote_low_f32x4(vy);
    const yhi = f64x2.promote_low_f32x4(v128.shuffle<f32>(vy, vy, 2, 3, 0, 1));
    const rlo = f32x4.demote_f64x2_zero(f64x2.sub(f64x2.mul(vcx, xlo), f64x2.mul(vcy, ylo)));
    const rhi = f32x4.demote_f64x2_zero(f64x2.sub(f64x2.mul(vcx, xhi), f64x2.mul(vcy, yhi)));
    const r = v128.shuffle<f32>(rlo, rhi, 0, 1, 4, 5);
    v128.store(dst + off, f32x4.add(v128.load(dst + off), r));
  }
  for (let k = c4; k < c; k++) {
    const off = <usize>k << 2;
    const v = <f32>(cx * <f64>load<f32>(x + off) - cy * <f64>load<f32>(y + off));
    store<f32>(dst + off, load<f32>(dst + off) + v);
  }
}

/**
 * Accumulates da += dcos[i]·∂cos/∂a and db += dcos[i]·∂cos/∂b for rows
 * [rowStart, rowEnd), with ∂cos/∂a = b/(‖a‖‖b‖) − cos·a/‖a‖² (symmetric for b)
 * when ‖a‖‖b‖ > 1e-8, and b/1e-8 (resp. a/1e-8) where the clamp is active.
 * cos, normA and normB are cosineForward's outputs for the same a, b.
 */
export function cosineBackward(da: usize, db: usize, dcos: usize, a: usize, b: usize, cos: usize, normA: usize, normB: usize, c: i32, rowStart: i32, rowEnd: i32): void {
  for (let i = rowStart; i < rowEnd; i++) {
    const rowOff = <usize>i * <usize>c << 2;
    const g = <f64>load<f32>(dcos + (<usize>i << 2));
    const cs = <f64>load<f32>(cos + (<usize>i << 2));
    const na = <f64>load<f32>(normA + (<usize>i << 2));
    const nb = <f64>load<f32>(normB + (<usize>i << 2));
    const nab = na * nb;
    if (nab > COS_EPS) {
      accumulateCombination(da + rowOff, b + rowOff, g / nab, a + rowOff, (g * cs) / (na * na), c);
      accumulateCombination(db + rowOff, a + rowOff, g / nab, b + rowOff, (g * cs) / (nb * nb), c);
    } else {
      accumulateCombination(da + rowOff, b + rowOff, g / COS_EPS, a + rowOff, 0, c);
      accumulateCombination(db + rowOff, a + rowOff, g / COS_EPS, b + rowOff, 0, c);
    }
  }
}

// Bounds of the clamp used by the loss's angular distance, as f32 (PyTorch clamps
// an f32 tensor with the scalar rounded to f32: 1 − 1e-7 → 0.99999988).
// @ts-ignore: decorator
@inline const ANGULAR_LOSS_LIMIT: f32 = <f32>(1.0 - 1e-7);

// Distance kinds shared by distanceFromCos and distanceGrad (the host mirrors them).
const DISTANCE_COSINE: i32 = 0;
const DISTANCE_ANGULAR: i32 = 1;
const DISTANCE_ANGULAR_CLAMPED: i32 = 2;

// @ts-ignore: decorator
@inline
function clampLimit(kind: i32): f32 {
  return kind == DISTANCE_ANGULAR ? 1.0 : ANGULAR_LOSS_LIMIT;
}

/**
 * out[i] = distance from cos[i]: kind 0 = 1 − cos; kind 1 = arccos(clamp(cos, −1, 1))/π
 * (metrics); kind 2 = the same with cos clamped to [−1+1e-7, 1−1e-7] (loss).
 */
export function distanceFromCos(out: usize, cos: usize, n: i32, kind: i32): void {
  if (kind == DISTANCE_COSINE) {
    for (let i = 0; i < n; i++) store<f32>(out + (<usize>i << 2), 1.0 - load<f32>(cos + (<usize>i << 2)));
    return;
  }
  if (kind != DISTANCE_ANGULAR && kind != DISTANCE_ANGULAR_CLAMPED) abort("distanceFromCos: kind must be 0, 1 or 2");
  const lim = clampLimit(kind);
  for (let i = 0; i < n; i++) {
    const c = Mathf.min(Mathf.max(load<f32>(cos + (<usize>i << 2)), -lim), lim);
    store<f32>(out + (<usize>i << 2), <f32>(Math.acos(<f64>c) / Math.PI));
  }
}

/**
 * WRITES dcos[i] = coef · scale · dD/dcos for the distance `kind`, where coef =
 * scalars[index] (α·dR/dD_l, written on the device by jregScalars): kind 0 gives
 * −coef·scale; kinds 1 and 2 give −coef·scale/(π·sqrt(1 − c²)) inside the clamp and
 * 0 outside it (PyTorch's clamp gradient, which passes at the bounds themselves).
 * Kind 1 is infinite at |cos| = 1, which is why the loss uses kind 2. coef·scale
 * is rounded to f32 once, as the host used to pass it.
 */
export function distanceGrad(dcos: usize, cos: usize, n: i32, kind: i32, scalars: usize, index: i32, scale: f32): void {
  const k: f32 = <f32>(<f64>load<f32>(scalars + ((<usize>index) << 2)) * <f64>scale);
  if (kind == DISTANCE_COSINE) {
    for (let i = 0; i < n; i++) store<f32>(dcos + (<usize>i << 2), -k);
    return;
  }
  if (kind != DISTANCE_ANGULAR && kind != DISTANCE_ANGULAR_CLAMPED) abort("distanceGrad: kind must be 0, 1 or 2");
  const lim = clampLimit(kind);
  for (let i = 0; i < n; i++) {
    const c = load<f32>(cos + (<usize>i << 2));
    let g: f64 = 0;
    if (c >= -lim && c <= lim) {
      const c64 = <f64>c;
      g = -<f64>k / (Math.PI * Math.sqrt(1 - c64 * c64));
    } else if (c != c) g = NaN;
    store<f32>(dcos + (<usize>i << 2), <f32>g);
  }
}
