// Fused optimizers over the whole parameter buffer (one thread per element; the
// host splits buffers larger than a binding into chunks and passes each chunk's
// element offset, so weight decay applies to global indices [0, decayLength)).
// Both read ClipScale, Skip and Updates from the step scalars: a skipped step
// leaves p, m and v untouched.
// AdamW follows PyTorch's single-tensor path operation by operation:
//   p *= 1 − lr·wd;  m += (1 − β1)(g − m);  v = v·β2 + (1 − β2)·g·g
//   p += (−lr / (1 − β1^t))·m / (sqrt(v) / sqrt(1 − β2^t) + eps)
// β^t is formed in f32 by repeated squaring (≈ log2(t) roundings, relative error
// ≲ 1e-6 of 1 − β^t for every t), where PyTorch and the CPU kernel use f64.

const WORKGROUP_SIZE = 256u;
const SLOT_CLIP_SCALE = 5u;
const SLOT_SKIP = 6u;
const SLOT_UPDATES = 7u;

struct Params {
  n: u32,
  offset: u32,      // global element index of this chunk's first element
  decayLength: u32,
  applyDecay: u32,
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  decay: f32,       // f32(1 − lr·wd), made on the host in f64
  oneMinusBeta1: f32,
  oneMinusBeta2: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> p: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
@group(0) @binding(5) var<storage, read> s: array<f32>;

fn powInt(base: f32, exponent: u32) -> f32 {
  var result = 1.0;
  var b = base;
  var e = exponent;
  loop {
    if (e == 0u) { break; }
    if ((e & 1u) == 1u) { result *= b; }
    b *= b;
    e = e >> 1u;
  }
  return result;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn adamw_step(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  if (i >= params.n || s[SLOT_SKIP] != 0.0) { return; }
  let t = u32(s[SLOT_UPDATES]);
  let bc1 = 1.0 - powInt(params.beta1, t);
  let bc2 = 1.0 - powInt(params.beta2, t);
  let negStepSize = -params.lr / bc1;
  let bc2Sqrt = sqrt(bc2);
  var pv = p[i];
  if (params.applyDecay == 1u && params.offset + i < params.decayLength) { pv = pv * params.decay; }
  let gv = g[i] * s[SLOT_CLIP_SCALE];
  var mv = m[i];
  mv = mv + params.oneMinusBeta1 * (gv - mv);
  var vv = v[i];
  vv = vv * params.beta2 + (params.oneMinusBeta2 * gv) * gv;
  let denom = sqrt(vv) / bc2Sqrt + params.eps;
  pv = pv + (negStepSize * mv) / denom;
  m[i] = mv;
  v[i] = vv;
  p[i] = pv;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn sgd_step(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  if (i >= params.n || s[SLOT_SKIP] != 0.0) { return; }
  p[i] = p[i] - params.lr * (g[i] * s[SLOT_CLIP_SCALE]);
}
