// Optimizer updates: one fused pass over the whole parameter buffer and its
// gradient, driven by the step scalars (host/backend/backend.ts `StepSlot`) that
// earlier ops of the same step wrote: the skip flag, the clip scale, and the
// number of updates applied so far (this one included).
//
// adamwStep follows PyTorch's torch.optim.AdamW single-tensor path operation by
// operation, so a float32 PyTorch run and this kernel round the same way:
//   g' = g·clipScale                 (clip_grad_norm_ scales g in place first)
//   p *= 1 − lr·wd                   (only on [0, decayLength): matrices, embeddings)
//   m.lerp_(g', 1 − β1)              → m + (1 − β1)·(g' − m)
//   v.mul_(β2).addcmul_(g', g', 1 − β2) → v·β2 + (1 − β2)·g'·g'
//   denom = sqrt(v) / sqrt(1 − β2^step) + eps
//   p.addcdiv_(m, denom, −lr / (1 − β1^step)) → p + (−stepSize·m) / denom
// As in PyTorch, the per-step scalars are computed in f64 and then used as f32.
// Every element is computed the same way whatever [start, end) a thread is given.

// Slots of the step scalars that the optimizer reads (mirrors host StepSlot).
const SLOT_CLIP_SCALE: i32 = 5;
const SLOT_SKIP: i32 = 6;
const SLOT_UPDATES: i32 = 7;

// @ts-ignore: decorator
@inline
function slot(s: usize, i: i32): f32 {
  return load<f32>(s + ((<usize>i) << 2));
}

// One AdamW element update at byte offset o (scalar form of the vector loop).
// @ts-ignore: decorator
@inline
function adamwScalar(p: usize, g: usize, m: usize, v: usize, o: usize, clipScale: f32, applyDecay: bool, decay: f32,
  oneMinusBeta1: f32, beta2: f32, oneMinusBeta2: f32, bc2Sqrt: f32, eps: f32, negStepSize: f32): void {
  let pv = load<f32>(p + o);
  if (applyDecay) pv = pv * decay;
  const gv = load<f32>(g + o) * clipScale;
  let mv = load<f32>(m + o);
  mv = mv + oneMinusBeta1 * (gv - mv);
  let vv = load<f32>(v + o);
  vv = vv * beta2 + (oneMinusBeta2 * gv) * gv;
  const denom = Mathf.sqrt(vv) / bc2Sqrt + eps;
  pv = pv + (negStepSize * mv) / denom;
  store<f32>(m + o, mv);
  store<f32>(v + o, vv);
  store<f32>(p + o, pv);
}

/**
 * AdamW on elements [start, end) of p, g, m, v, unless s[Skip] ≠ 0. Bias correction
 * uses step = s[Updates]. Weight decay applies to elements below decayLength only;
 * weightDecay 0 skips the multiply, so p is not touched by it at all.
 */
export function adamwStep(
  p: usize, g: usize, m: usize, v: usize,
  lr: f32, beta1: f32, beta2: f32, eps: f32, weightDecay: f32, decayLength: i32, s: usize,
  start: i32, end: i32,
): void {
  if (slot(s, SLOT_SKIP) != 0) return;
  const clipScale = slot(s, SLOT_CLIP_SCALE);
  const step = <f64>slot(s, SLOT_UPDATES);
  const lr64 = <f64>lr;
  const decay = <f32>(1.0 - lr64 * <f64>weightDecay);
  const oneMinusBeta1 = <f32>(1.0 - <f64>beta1);
  const oneMinusBeta2 = <f32>(1.0 - <f64>beta2);
  const bc1 = 1.0 - Math.pow(<f64>beta1, step);
  const bc2 = 1.0 - Math.pow(<f64>beta2, step);
  const negStepSize = <f32>(-lr64 / bc1);
  const bc2Sqrt = <f32>Math.sqrt(bc2);
  const hasDecay = weightDecay != 0;

  const clipV = f32x4.splat(clipScale);
  const decayV = f32x4.splat(decay);
  const omb1V = f32x4.splat(oneMinusBeta1);
  const omb2V = f32x4.splat(oneMinusBeta2);
  const beta2V = f32x4.splat(beta2);
  const negStepV = f32x4.splat(negStepSize);
  const bc2SqrtV = f32x4.splat(bc2Sqrt);
  const epsV = f32x4.splat(eps);

  let i = start;
  // scalar head up to a multiple of 4, so the vector body is the same for any split
  for (; i < end && (i & 3) != 0; i++) {
    adamwScalar(p, g, m, v, (<usize>i) << 2, clipScale, hasDecay && i < decayLength, decay, oneMinusBeta1, beta2, oneMinusBeta2, bc2Sqrt, eps, negStepSize);
  }
  for (; i + 4 <= end; i += 4) {
    const o = (<usize>i) << 2;
    let pv = v128.load(p + o);
    if (hasDecay && i < decayLength) {
      if (i + 4 <= decayLength) pv = f32x4.mul(pv, decayV);
      else {
        // the decay boundary falls inside this group: decay lane by lane
        for (let j = 0; j < 4; j++) {
          if (i + j < decayLength) adamwScalar(p, g, m, v, o + ((<usize>j) << 2), clipScale, true, decay, oneMinusBeta1, beta2, oneMinusBeta2, bc2Sqrt, eps, negStepSize);
          else adamwScalar(p, g, m, v, o + ((<usize>j) << 2), clipScale, false, decay, oneMinusBeta1, beta2, oneMinusBeta2, bc2Sqrt, eps, negStepSize);
        }
        continue;
      }
    }
    const gv = f32x4.mul(v128.load(g + o), clipV);
    let mv = v128.load(m + o);
    mv = f32x4.add(mv, f32x4.mul(omb1V, f32x4.sub(gv, mv)));
    let vv = v128.load(v + o);
    vv = f32x4.add(f32x4.mul(vv, beta2V), f32x4.mul(f32x4.mul(omb2V, gv), gv));
    const denom = f32x4.add(f32x4.div(f32x4.sqrt(vv), bc2SqrtV), epsV);
    pv = f32x4.add(pv, f32x4.div(f32x4.mul(negStepV, mv), denom));
    v128.store(m + o, mv);
    v128.store(v + o, vv);
    v128.store(p + o, pv);
  }
  for (; i < end; i++) {
    adamwScalar(p, g, m, v, (<usize>i) << 2, clipScale, hasDecay && i < decayLength, decay, oneMinusBeta1, beta2, oneMinusBeta2, bc2Sqrt, eps, negStepSize);
  }
}

/** Plain SGD on elements [start, end), unless s[Skip] ≠ 0: p −= lr·(g·s[ClipScale]). */
export function sgdStep(p: usize, g: usize, lr: f32, s: usize, start: i32, end: i32): void {
  if (slot(s, SLOT_SKIP) != 0) return;
  const clipScale = slot(s, SLOT_CLIP_SCALE);
  const lrV = f32x4.splat(lr);
  const clipV = f32x4.splat(clipScale);
  let i = start;
  for (; i < end && (i & 3) != 0; i++) {
    const o = (<usize>i) << 2;
    store<f32>(p + o, load<f32>(p + o) - lr * (load<f32>(g + o) * clipScale));
  }
  for (; i + 4 <= end; i += 4) {
    const o = (<usize>i) << 2;
    v128.store(p + o, f32x4.sub(v128.load(p + o), f32x4.mul(lrV, f32x4.mul(v128.load(g + o), clipV))));
  }
  for (; i < end; i++) {
    const o = (<usize>i) << 2;
    store<f32>(p + o, load<f32>(p + o) - lr * (load<f32>(g + o) * clipScale));
  }
}
