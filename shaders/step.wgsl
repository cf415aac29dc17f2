// The step's data-dependent scalars, computed on the device so that a training
// step reads nothing back (tiny single-thread kernels over the step-scalar tensor;
// slots as StepSlot in host/backend/backend.ts).
//   jreg_scalars: R = A / Mid (or A), Loss = Ce + α·R (exactly Ce when α = 0),
//                 coef[l] = α·dR/dD_l with the gradient through A and Mid.
//   step_control: GradNorm, ClipScale (torch's clip_grad_norm_), Skip, Updates.

const SLOT_CE = 0u;
const SLOT_R = 1u;
const SLOT_LOSS = 2u;
const SLOT_GRAD_SUM_SQUARES = 3u;
const SLOT_GRAD_NORM = 4u;
const SLOT_CLIP_SCALE = 5u;
const SLOT_SKIP = 6u;
const SLOT_UPDATES = 7u;
const SLOT_PROFILE = 8u;
const MAX_LAYERS = 256u;

// One parameter block for both entry points (step_control reads only clip).
struct StepParams {
  numLayers: u32,
  alpha: f32,
  normalized: u32, // 1: R = A / Mid
  clip: f32,       // 0: no clipping
  numerator: array<vec4<f32>, 64>,   // MAX_LAYERS / 4
  denominator: array<vec4<f32>, 64>,
}

@group(0) @binding(0) var<uniform> jreg: StepParams;
@group(0) @binding(1) var<storage, read_write> s: array<f32>;

fn numeratorAt(l: u32) -> f32 { return jreg.numerator[l / 4u][l % 4u]; }
fn denominatorAt(l: u32) -> f32 { return jreg.denominator[l / 4u][l % 4u]; }

fn isFinite(v: f32) -> bool { return (bitcast<u32>(v) & 0x7f800000u) != 0x7f800000u; }

@compute @workgroup_size(1)
fn jreg_scalars() {
  let L = jreg.numLayers;
  var A = 0.0;
  var mid = 0.0;
  for (var l = 0u; l < L; l++) {
    let d = s[SLOT_PROFILE + l];
    A += numeratorAt(l) * d;
    mid += denominatorAt(l) * d;
  }
  var R = A;
  if (jreg.normalized == 1u) { R = A / mid; }
  s[SLOT_R] = R;
  if (jreg.alpha == 0.0) {
    s[SLOT_LOSS] = s[SLOT_CE];
    for (var l = 0u; l < L; l++) { s[SLOT_PROFILE + L + l] = 0.0; }
    return;
  }
  s[SLOT_LOSS] = s[SLOT_CE] + jreg.alpha * R;
  for (var l = 0u; l < L; l++) {
    var dR = numeratorAt(l);
    if (jreg.normalized == 1u) { dR = numeratorAt(l) / mid - A * denominatorAt(l) / (mid * mid); }
    s[SLOT_PROFILE + L + l] = jreg.alpha * dR;
  }
}

@compute @workgroup_size(1)
fn step_control() {
  let sumSquares = s[SLOT_GRAD_SUM_SQUARES];
  let norm = sqrt(sumSquares);
  s[SLOT_GRAD_NORM] = norm;
  var scale = 1.0;
  if (jreg.clip > 0.0) { scale = min(1.0, jreg.clip / (norm + 1e-6)); }
  s[SLOT_CLIP_SCALE] = scale;
  var skip = 0.0;
  if (!isFinite(s[SLOT_LOSS])) { skip = 1.0; }
  else if (!isFinite(sumSquares)) { skip = 2.0; }
  s[SLOT_SKIP] = skip;
  if (skip == 0.0) { s[SLOT_UPDATES] = s[SLOT_UPDATES] + 1.0; }
}
