// SwiGLU, the Llama MLP gate: out = silu(gate) · up, silu(g) = g / (1 + exp(−g)),
// on the fused gate|up projection's output: row i of gateUp [n, 2f] holds gate
// (columns [0, f)) then up ([f, 2f)).
// Backward with s = sigmoid(g), WRITING: dgate = dout·up·s·(1 + g(1 − s)),
// dup = dout·silu(g) into dGateUp (same layout), and act = silu(g)·up recomputed
// with the forward's arithmetic, so the forward's product need not be kept.
// One thread per element of [n, f], 2-D grid of workgroups.

const WORKGROUP_SIZE = 256u;

struct Params {
  /** n · f elements */
  count: u32,
  f: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// forward writes out, the backward writes act (the same [n, f] role)
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> gateUp: array<f32>;
// backward
@group(0) @binding(4) var<storage, read_write> dGateUp: array<f32>;
@group(0) @binding(6) var<storage, read> dout: array<f32>;

fn elementIndex(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
}

/** Index of element i's gate in gateUp (its up is f further). */
fn gateIndex(i: u32) -> u32 {
  return i + (i / params.f) * params.f;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn swiglu_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = elementIndex(wid, nwg, lid);
  if (i >= params.count) { return; }
  let gi = gateIndex(i);
  let g = gateUp[gi];
  out[i] = (g / (1.0 + exp(-g))) * gateUp[gi + params.f];
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn swiglu_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = elementIndex(wid, nwg, lid);
  if (i >= params.count) { return; }
  let gi = gateIndex(i);
  let g = gateUp[gi];
  let u = gateUp[gi + params.f];
  let d = dout[i];
  let denom = 1.0 + exp(-g);
  let s = 1.0 / denom;
  let silu = g / denom;
  let dsilu = s * (1.0 + g * (1.0 - s));
  dGateUp[gi] = (d * u) * dsilu;
  dGateUp[gi + params.f] = d * silu;
  out[i] = silu * u;
}
