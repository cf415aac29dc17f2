// Bias of a linear layer (Qwen2's q/k/v projections): x[i, j] += bias[j] over n
// rows of width c (one thread per element), and its backward, the column sum
// dbias[j] += Σ_i dout[i, j]: one thread per column summing the rows in order, so
// the result is deterministic (no float atomics) and matches the CPU kernel's order.

const WORKGROUP_SIZE = 256u;

struct Params {
  n: u32,
  c: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> dbias: array<f32>;
@group(0) @binding(4) var<storage, read> dout: array<f32>;

fn elementIndex(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn bias_add(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = elementIndex(wid, nwg, lid);
  if (i >= params.n * params.c) { return; }
  x[i] = x[i] + bias[i % params.c];
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn bias_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let j = elementIndex(wid, nwg, lid);
  if (j >= params.c) { return; }
  var s = 0.0;
  for (var i = 0u; i < params.n; i = i + 1u) { s = s + dout[i * params.c + j]; }
  dbias[j] = dbias[j] + s;
}
