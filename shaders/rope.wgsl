// Rotary position embedding in place, Hugging Face `rotate_half` convention:
// dimension i pairs with i + hd/2 and
//   x₁' = x₁·cos − x₂·sin,   x₂' = x₂·cos + x₁·sin.
// The inverse (the backward: the rotation's transpose) uses −sin. cos and sin are
// [t, hd/2] tables made on the host. One thread per (row, pair); x is
// [b, t, heads, hd], so a row is one head of one token.

const WORKGROUP_SIZE = 256u;

struct Params {
  pairs: u32,   // b·t·heads·(hd/2)
  t: u32,
  heads: u32,
  half: u32,    // hd/2
  sinSign: f32, // 1 forward, −1 inverse
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> x: array<f32>;
@group(0) @binding(2) var<storage, read> cosTable: array<f32>;
@group(0) @binding(3) var<storage, read> sinTable: array<f32>;

@compute @workgroup_size(WORKGROUP_SIZE)
fn rope_in_place(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let p = (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
  if (p >= params.pairs) { return; }
  let i = p % params.half;
  let row = p / params.half;
  let pos = (row / params.heads) % params.t;
  let c = cosTable[pos * params.half + i];
  let s = sinTable[pos * params.half + i] * params.sinSign;
  let base = row * 2u * params.half;
  let x1 = x[base + i];
  let x2 = x[base + i + params.half];
  x[base + i] = x1 * c - x2 * s;
  x[base + i + params.half] = x2 * c + x1 * s;
}
