// Cross-entropy fused with the softmax over rows of v logits.
// Forward (one workgroup per row): lse = max + log Σ exp(x − max) (tree
// reductions), loss = lse − x[target]; a target outside [0, v) gives NaN, which
// the step control reports as a non-finite loss.
// Backward, in place (one thread per element): x ← (exp(x − lse) − [j = target])·scale.

const WORKGROUP_SIZE = 256u;
// A quiet NaN for invalid targets/tokens (a private var: WGSL rejects NaN constants).
var<private> nanBits: u32 = 0x7fc00000u;

struct Params {
  n: u32,
  v: u32,
  scale: f32,
  blocksPerRow: u32, // ceil(v / WORKGROUP_SIZE), backward only
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> targets: array<i32>;
// forward
@group(0) @binding(2) var<storage, read> logits: array<f32>;
@group(0) @binding(3) var<storage, read_write> losses: array<f32>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;
// backward
@group(0) @binding(5) var<storage, read_write> logitsInPlace: array<f32>;
@group(0) @binding(6) var<storage, read> lseRead: array<f32>;

var<workgroup> scratch: array<f32, WORKGROUP_SIZE>;


@compute @workgroup_size(WORKGROUP_SIZE)
fn cross_entropy_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.n) { return; }
  let base = row * params.v;
  var m = -3.0e38;
  for (var j = lid; j < params.v; j += WORKGROUP_SIZE) { m = max(m, logits[base + j]); }
  scratch[lid] = m;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) { scratch[lid] = max(scratch[lid], scratch[lid + stride]); }
    workgroupBarrier();
  }
  let rowMax = scratch[0];
  workgroupBarrier();
  var s = 0.0;
  for (var j = lid; j < params.v; j += WORKGROUP_SIZE) { s += exp(logits[base + j] - rowMax); }
  scratch[lid] = s;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) { scratch[lid] = scratch[lid] + scratch[lid + stride]; }
    workgroupBarrier();
  }
  if (lid == 0u) {
    let l = rowMax + log(scratch[0]);
    lse[row] = l;
    let t = targets[row];
    if (t >= 0 && u32(t) < params.v) { losses[row] = l - logits[base + u32(t)]; }
    else { losses[row] = bitcast<f32>(nanBits); }
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn cross_entropy_backward_in_place(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let block = wid.x + wid.y * nwg.x;
  let row = block / params.blocksPerRow;
  let col = (block % params.blocksPerRow) * WORKGROUP_SIZE + lid;
  if (row >= params.n || col >= params.v) { return; }
  let e = row * params.v + col;
  let p = exp(logitsInPlace[e] - lseRead[row]);
  let t = targets[row];
  if (t >= 0 && u32(t) == col) { logitsInPlace[e] = (p - 1.0) * params.scale; }
  else { logitsInPlace[e] = p * params.scale; }
}
