// SwiGLU, the Llama MLP gate: out = silu(gate) · up, silu(g) = g / (1 + exp(−g)).
// Backward with s = sigmoid(g): dgate += dout·up·s·(1 + g(1 − s)), dup += dout·silu(g).
// One thread per element, 2-D grid of workgroups.

const WORKGROUP_SIZE = 256u;

struct Params {
  n: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
// forward
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
@group(0) @binding(2) var<storage, read> gate: array<f32>;
@group(0) @binding(3) var<storage, read> up: array<f32>;
// backward (bindings 2 and 3 are shared with the forward: gate and up)
@group(0) @binding(4) var<storage, read_write> dgate: array<f32>;
@group(0) @binding(5) var<storage, read_write> dup: array<f32>;
@group(0) @binding(6) var<storage, read> dout: array<f32>;

fn elementIndex(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn swiglu_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = elementIndex(wid, nwg, lid);
  if (i >= params.n) { return; }
  let g = gate[i];
  out[i] = (g / (1.0 + exp(-g))) * up[i];
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn swiglu_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = elementIndex(wid, nwg, lid);
  if (i >= params.n) { return; }
  let g = gate[i];
  let d = dout[i];
  let denom = 1.0 + exp(-g);
  let s = 1.0 / denom;
  let silu = g / denom;
  let dsilu = s * (1.0 + g * (1.0 - s));
  dgate[i] = dgate[i] + (d * up[i]) * dsilu;
  dup[i] = dup[i] + d * silu;
}
