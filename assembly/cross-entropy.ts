// Cross-entropy fused with the softmax over rows of `v` logits.
//
// Forward keeps only lse[i] = logsumexp(logits[i, :]) per row (max-subtracted),
// so backward can rebuild softmax = exp(logit − lse) without storing it. The sum
// of exponentials is accumulated in f64 (two f64x2 accumulators, then the tail in
// index order) so large vocabularies lose nothing to f32 rounding; the order is
// fixed, so a row's result never depends on how rows are split across threads.
// A target outside [0, v) makes that row's loss NaN (reported as a non-finite
// step by the trainer) and drops the one-hot term from its gradient.
import { exp4, exp1 } from "./simd-exp";

// @ts-ignore: decorator
@inline
function rowMax(row: usize, v: i32): f32 {
  const v4 = v & ~3;
  let m = f32x4.splat(-Infinity);
  for (let j = 0; j < v4; j += 4) m = f32x4.max(m, v128.load(row + (<usize>j << 2)));
  let r = Mathf.max(Mathf.max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), Mathf.max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
  for (let j = v4; j < v; j++) r = Mathf.max(r, load<f32>(row + (<usize>j << 2)));
  return r;
}

/** losses[i] = lse[i] − logits[i, targets[i]] and lse[i] for rows [rowStart, rowEnd). */
export function crossEntropyForward(losses: usize, lse: usize, logits: usize, targets: usize, v: i32, rowStart: i32, rowEnd: i32): void {
  const v4 = v & ~3;
  for (let i = rowStart; i < rowEnd; i++) {
    const row = logits + (<usize>i * <usize>v << 2);
    const m = rowMax(row, v);
    const vm = f32x4.splat(m);
    let acc0 = f64x2.splat(0);
    let acc1 = f64x2.splat(0);
    for (let j = 0; j < v4; j += 4) {
      const e = exp4(f32x4.sub(v128.load(row + (<usize>j << 2)), vm));
      acc0 = f64x2.add(acc0, f64x2.promote_low_f32x4(e));
      acc1 = f64x2.add(acc1, f64x2.promote_low_f32x4(v128.shuffle<f32>(e, e, 2, 3, 0, 1)));
    }
    const acc = f64x2.add(acc0, acc1);
    let s = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
    for (let j = v4; j < v; j++) s += <f64>exp1(load<f32>(row + (<usize>j << 2)) - m);
    const l = <f64>m + Math.log(s);
    const target = load<i32>(targets + (<usize>i << 2));
    const loss = target >= 0 && target < v ? l - <f64>load<f32>(row + (<usize>target << 2)) : NaN;
    store<f32>(lse + (<usize>i << 2), <f32>l);
    store<f32>(losses + (<usize>i << 2), <f32>loss);
  }
}

/**
 * WRITES dlogits[i, j] = (exp(logits[i, j] − lse[i]) − [j == targets[i]])·scale for
 * rows [rowStart, rowEnd). dlogits may alias logits (in place): each element is
 * read before it is written and no other element depends on it.
 */
export function crossEntropyBackward(dlogits: usize, logits: usize, lse: usize, targets: usize, v: i32, scale: f32, rowStart: i32, rowEnd: i32): void {
  const v4 = v & ~3;
  const vs = f32x4.splat(scale);
  for (let i = rowStart; i < rowEnd; i++) {
    const rowOff = <usize>i * <usize>v << 2;
    const src = logits + rowOff;
    const dst = dlogits + rowOff;
    const l = load<f32>(lse + (<usize>i << 2));
    const vl = f32x4.splat(l);
    const target = load<i32>(targets + (<usize>i << 2));
    const hasTarget = target >= 0 && target < v;
    // Read before the row is overwritten, so that in-place and out-of-place agree.
    const targetLogit = hasTarget ? load<f32>(src + (<usize>target << 2)) : 0;
    for (let j = 0; j < v4; j += 4) {
      const off = <usize>j << 2;
      v128.store(dst + off, f32x4.mul(exp4(f32x4.sub(v128.load(src + off), vl)), vs));
    }
    for (let j = v4; j < v; j++) {
      const off = <usize>j << 2;
      store<f32>(dst + off, exp1(load<f32>(src + off) - l) * scale);
    }
    if (hasTarget) store<f32>(dst + (<usize>target << 2), (exp1(targetLogit - l) - 1.0) * scale);
  }
}
