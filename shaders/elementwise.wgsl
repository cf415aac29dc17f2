// Elementwise copies over flat f32 buffers: fill, copy, accumulate (dst += src).
// One thread per element; the workgroup grid is 2-D so that more than
// 65,535 × WORKGROUP_SIZE elements fit (row-major linear workgroup id).
// The host splits buffers larger than maxStorageBufferBindingSize into chunks.

const WORKGROUP_SIZE = 256u;

struct Params {
  n: u32,
  value: f32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<storage, read> src: array<f32>;

fn elementIndex(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn fill(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = elementIndex(wid, nwg, lid);
  if (i < params.n) { dst[i] = params.value; }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn copy(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = elementIndex(wid, nwg, lid);
  if (i < params.n) { dst[i] = src[i]; }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn accumulate(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = elementIndex(wid, nwg, lid);
  if (i < params.n) { dst[i] = dst[i] + src[i]; }
}
