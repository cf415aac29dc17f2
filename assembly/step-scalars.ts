// Reductions into the step scalars and the small scalar logic of a training step
// (host/backend/backend.ts `StepSlot`): R and α·dR/dD_l from the profile, the
// gradient norm, the clip scale and the skip decision. They run on the device
// (here: the CPU kernels) so that a step never has to read anything back.
import { mean, sumSquares } from "./reduce";

// Mirrors host StepSlot.
const SLOT_CE: i32 = 0;
const SLOT_R: i32 = 1;
const SLOT_LOSS: i32 = 2;
const SLOT_GRAD_SUM_SQUARES: i32 = 3;
const SLOT_GRAD_NORM: i32 = 4;
const SLOT_CLIP_SCALE: i32 = 5;
const SLOT_SKIP: i32 = 6;
const SLOT_UPDATES: i32 = 7;
const SLOT_PROFILE: i32 = 8;

const SKIP_LOSS: f32 = 1;
const SKIP_GRADIENT: f32 = 2;

// @ts-ignore: decorator
@inline
function get(s: usize, i: i32): f32 {
  return load<f32>(s + ((<usize>i) << 2));
}
// @ts-ignore: decorator
@inline
function set(s: usize, i: i32, v: f32): void {
  store<f32>(s + ((<usize>i) << 2), v);
}
// @ts-ignore: decorator
@inline
function isFinite32(x: f32): bool {
  return x - x == 0;
}

/** out[index] = mean(x[0..n)) (f64 sum, fixed order; see reduce.ts), rounded to f32. */
export function meanInto(out: usize, index: i32, x: usize, n: i32): void {
  set(out, index, <f32>mean(x, n));
}

/** out[index] = Σ x² (f64, fixed order), rounded to f32. */
export function sumSquaresInto(out: usize, index: i32, x: usize, n: i32): void {
  set(out, index, <f32>sumSquares(x, n));
}

/**
 * From s[Ce] and the profile s[Profile + l] (l < L): A = Σ num[l]·D_l and, when
 * hasDenominator, Mid = Σ den[l]·D_l, R = A / Mid; else R = A. Writes s[R],
 * s[Loss] = Ce + α·R (exactly Ce when α = 0) and the coefficients
 * s[Profile + L + l] = α·dR/dD_l = α·(num[l]/Mid − den[l]·A/Mid²) (or α·num[l]).
 * num and den are f64[L]; the arithmetic is f64, rounded to f32 once per slot.
 */
export function jregScalars(s: usize, numLayers: i32, alpha: f64, num: usize, den: usize, hasDenominator: i32): void {
  let A: f64 = 0;
  let Mid: f64 = 1;
  for (let l = 0; l < numLayers; l++) A += load<f64>(num + ((<usize>l) << 3)) * <f64>get(s, SLOT_PROFILE + l);
  if (hasDenominator != 0) {
    Mid = 0;
    for (let l = 0; l < numLayers; l++) Mid += load<f64>(den + ((<usize>l) << 3)) * <f64>get(s, SLOT_PROFILE + l);
  }
  const R = hasDenominator != 0 ? A / Mid : A;
  const ce = get(s, SLOT_CE);
  set(s, SLOT_R, <f32>R);
  set(s, SLOT_LOSS, alpha == 0 ? ce : <f32>(<f64>ce + alpha * R));
  for (let l = 0; l < numLayers; l++) {
    let d = load<f64>(num + ((<usize>l) << 3));
    if (hasDenominator != 0) d = d / Mid - (load<f64>(den + ((<usize>l) << 3)) * A) / (Mid * Mid);
    set(s, SLOT_PROFILE + numLayers + l, alpha == 0 ? 0 : <f32>(alpha * d));
  }
}

/**
 * From s[Loss] and s[GradSumSquares]: s[GradNorm] = √Σg², s[ClipScale] =
 * min(1, clip/(GradNorm + 1e-6)) (torch's clip_grad_norm_; 1 when clip = 0),
 * s[Skip] = 1 for a non-finite loss, 2 for a non-finite gradient, else 0, and
 * s[Updates] += 1 unless skipped.
 */
export function stepControl(s: usize, clip: f64): void {
  const norm = <f32>Math.sqrt(<f64>get(s, SLOT_GRAD_SUM_SQUARES));
  set(s, SLOT_GRAD_NORM, norm);
  let scale: f32 = 1;
  if (clip > 0) {
    const coef = clip / (<f64>norm + 1e-6);
    if (coef < 1) scale = <f32>coef;
  }
  set(s, SLOT_CLIP_SCALE, scale);
  let skip: f32 = 0;
  if (!isFinite32(get(s, SLOT_LOSS))) skip = SKIP_LOSS;
  else if (!isFinite32(norm)) skip = SKIP_GRADIENT;
  set(s, SLOT_SKIP, skip);
  if (skip == 0) set(s, SLOT_UPDATES, get(s, SLOT_UPDATES) + 1);
}
