// JREG: per-token cosine between residual states and the distances built on it.
//   cos(a, b) = ⟨a, b⟩ / max(‖a‖·‖b‖, 1e-8)           (one workgroup per row)
//   ∂cos/∂a = b/(‖a‖‖b‖) − cos·a/‖a‖²  (b/1e-8 where the clamp is active)
//   distances: 0 cosine 1 − cos; 1 angular arccos(clamp(cos, −1, 1))/π;
//              2 the loss's angular, clamped to ±limit (limit = f32(1 − 1e-7))
// Row sums are f32 tree reductions (the CPU kernel sums in f64): see shaders/README.md.
// arccos is written as atan2(sqrt((1 − c)(1 + c)), c): (1 − c) and (1 + c) are exact
// in f32, so the angle stays accurate next to c = ±1 where 1 − c² would cancel.

const WORKGROUP_SIZE = 256u;
const COS_EPS = 1e-8;
const PI = 3.14159265358979;

struct Params {
  n: u32,
  c: u32,
  kind: u32,
  limit: f32,   // clamp bound of the distance kind
  scale: f32,   // distance_grad: extra factor
  index: u32,   // distance_grad: slot of the coefficient in the step scalars
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
// cosine forward
@group(0) @binding(3) var<storage, read_write> cosOut: array<f32>;
@group(0) @binding(4) var<storage, read_write> normA: array<f32>;
@group(0) @binding(5) var<storage, read_write> normB: array<f32>;
// cosine backward
@group(0) @binding(6) var<storage, read> dcos: array<f32>;
@group(0) @binding(12) var<storage, read> cosRead: array<f32>;
@group(0) @binding(13) var<storage, read> normARead: array<f32>;
@group(0) @binding(14) var<storage, read> normBRead: array<f32>;
@group(0) @binding(7) var<storage, read_write> da: array<f32>;
@group(0) @binding(8) var<storage, read_write> db: array<f32>;
// distances
@group(0) @binding(9) var<storage, read> cosIn: array<f32>;
@group(0) @binding(10) var<storage, read_write> distOut: array<f32>;
@group(0) @binding(11) var<storage, read> scalars: array<f32>;

var<workgroup> sumAB: array<f32, WORKGROUP_SIZE>;
var<workgroup> sumAA: array<f32, WORKGROUP_SIZE>;
var<workgroup> sumBB: array<f32, WORKGROUP_SIZE>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn cosine_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.n) { return; }
  let base = row * params.c;
  var ab = 0.0; var aa = 0.0; var bb = 0.0;
  for (var j = lid; j < params.c; j += WORKGROUP_SIZE) {
    let x = a[base + j]; let y = b[base + j];
    ab += x * y; aa += x * x; bb += y * y;
  }
  sumAB[lid] = ab; sumAA[lid] = aa; sumBB[lid] = bb;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) {
      sumAB[lid] += sumAB[lid + stride];
      sumAA[lid] += sumAA[lid + stride];
      sumBB[lid] += sumBB[lid + stride];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let na = sqrt(sumAA[0]);
    let nb = sqrt(sumBB[0]);
    cosOut[row] = sumAB[0] / max(na * nb, COS_EPS);
    normA[row] = na;
    normB[row] = nb;
  }
}

// One thread per element; the per-row scalars are re-read by each thread.
@compute @workgroup_size(WORKGROUP_SIZE)
fn cosine_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  if (e >= params.n * params.c) { return; }
  let row = e / params.c;
  let g = dcos[row];
  let cs = cosRead[row];
  let na = normARead[row];
  let nb = normBRead[row];
  let nab = na * nb;
  let x = a[e];
  let y = b[e];
  if (nab > COS_EPS) {
    let k = g / nab;
    da[e] = da[e] + (k * y - (g * cs / (na * na)) * x);
    db[e] = db[e] + (k * x - (g * cs / (nb * nb)) * y);
  } else {
    da[e] = da[e] + (g / COS_EPS) * y;
    db[e] = db[e] + (g / COS_EPS) * x;
  }
}

fn isNan(v: f32) -> bool {
  let bits = bitcast<u32>(v);
  return (bits & 0x7f800000u) == 0x7f800000u && (bits & 0x007fffffu) != 0u;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn distance_from_cos(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  if (i >= params.n) { return; }
  let c0 = cosIn[i];
  if (params.kind == 0u) { distOut[i] = 1.0 - c0; return; }
  if (isNan(c0)) { distOut[i] = c0; return; }
  let c = clamp(c0, -params.limit, params.limit);
  distOut[i] = atan2(sqrt((1.0 - c) * (1.0 + c)), c) / PI;
}

// WRITES dcos = scalars[index]·scale·dD/dcos (0 outside the clamp, as PyTorch's clamp).
@compute @workgroup_size(WORKGROUP_SIZE)
fn distance_grad(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  if (i >= params.n) { return; }
  let coef = scalars[params.index] * params.scale;
  if (params.kind == 0u) { distOut[i] = -coef; return; }
  let c = cosIn[i];
  var g = 0.0;
  if (isNan(c)) { g = c; }
  else if (c >= -params.limit && c <= params.limit) { g = -coef / (PI * sqrt((1.0 - c) * (1.0 + c))); }
  distOut[i] = g;
}
