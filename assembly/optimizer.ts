// Optimizer updates, elementwise over one parameter tensor and its gradient.
//
// adamwStep follows PyTorch's torch.optim.AdamW single-tensor path operation by
// operation, so a float32 PyTorch run and this kernel round the same way:
//   p *= 1 − lr·wd
//   m.lerp_(g, 1 − β1)              → m + (1 − β1)·(g − m)
//   v.mul_(β2).addcmul_(g, g, 1 − β2) → v·β2 + (1 − β2)·g·g
//   denom = sqrt(v) / sqrt(1 − β2^step) + eps
//   p.addcdiv_(m, denom, −lr / (1 − β1^step)) → p + (−stepSize·m) / denom
// As in PyTorch, the per-step scalars are computed in f64 and then used as f32.

/**
 * One AdamW update of n parameters. `step` counts from 1. weightDecay 0 skips the
 * decay multiply, so p is not touched by it at all (the host passes 0 for norms).
 */
export function adamwStep(
  p: usize, g: usize, m: usize, v: usize, n: i32,
  lr: f32, beta1: f32, beta2: f32, eps: f32, weightDecay: f32, step: i32,
): void {
  const lr64 = <f64>lr;
  const decay = <f32>(1.0 - lr64 * <f64>weightDecay);
  const oneMinusBeta1 = <f32>(1.0 - <f64>beta1);
  const oneMinusBeta2 = <f32>(1.0 - <f64>beta2);
  const bc1 = 1.0 - Math.pow(<f64>beta1, <f64>step);
  const bc2 = 1.0 - Math.pow(<f64>beta2, <f64>step);
  const negStepSize = <f32>(-lr64 / bc1);
  const bc2Sqrt = <f32>Math.sqrt(bc2);
  const applyDecay = weightDecay != 0;

  const decayV = f32x4.splat(decay);
  const omb1V = f32x4.splat(oneMinusBeta1);
  const omb2V = f32x4.splat(oneMinusBeta2);
  const beta2V = f32x4.splat(beta2);
  const negStepV = f32x4.splat(negStepSize);
  const bc2SqrtV = f32x4.splat(bc2Sqrt);
  const epsV = f32x4.splat(eps);

  const bytes = (<usize>n) << 2;
  const vecBytes = bytes & ~(<usize>15);
  let o: usize = 0;
  for (; o < vecBytes; o += 16) {
    let pv = v128.load(p + o);
    if (applyDecay) pv = f32x4.mul(pv, decayV);
    const gv = v128.load(g + o);
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
  for (; o < bytes; o += 4) {
    let pv = load<f32>(p + o);
    if (applyDecay) pv = pv * decay;
    const gv = load<f32>(g + o);
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
}

/** Plain SGD: p −= lr·g. */
export function sgdStep(p: usize, g: usize, n: i32, lr: f32): void {
  const bytes = (<usize>n) << 2;
  const vecBytes = bytes & ~(<usize>15);
  const lrV = f32x4.splat(lr);
  let o: usize = 0;
  for (; o < vecBytes; o += 16) {
    v128.store(p + o, f32x4.sub(v128.load(p + o), f32x4.mul(lrV, v128.load(g + o))));
  }
  for (; o < bytes; o += 4) store<f32>(p + o, load<f32>(p + o) - lr * load<f32>(g + o));
}
