// RMSNorm as Hugging Face's LlamaRMSNorm computes it in float32:
//   rstd = 1 / sqrt(mean(x²) + eps),   out = w · (x · rstd).
// Backward with g = dout·w:
//   dx += rstd·g − x·(rstd³/c)·Σ_j g_j x_j,   dw += Σ_rows dout·x·rstd.
// Row sums are workgroup tree reductions (one workgroup per row). dw is reduced
// without float atomics: rmsnorm_dw_partials sums ROWS_PER_PARTIAL rows per
// column into a partials buffer, then rmsnorm_dw_reduce adds the partials in
// ascending order, so the same device always gives the same bits.

const WORKGROUP_SIZE = 256u;
const ROWS_PER_PARTIAL = 64u;

struct Params {
  n: u32,
  c: u32,
  eps: f32,
  partials: u32, // ceil(n / ROWS_PER_PARTIAL)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> rstd: array<f32>;
// forward
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
// backward
@group(0) @binding(5) var<storage, read> dout: array<f32>;
@group(0) @binding(6) var<storage, read> rstdRead: array<f32>;
@group(0) @binding(7) var<storage, read_write> dx: array<f32>;
@group(0) @binding(8) var<storage, read_write> partials: array<f32>;
@group(0) @binding(9) var<storage, read_write> dw: array<f32>;
@group(0) @binding(10) var<storage, read> partialsRead: array<f32>;

var<workgroup> scratch: array<f32, WORKGROUP_SIZE>;

// Tree reduction of one value per thread; every thread gets the total.
fn workgroupSum(value: f32, lid: u32) -> f32 {
  scratch[lid] = value;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) { scratch[lid] = scratch[lid] + scratch[lid + stride]; }
    workgroupBarrier();
  }
  let total = scratch[0];
  workgroupBarrier();
  return total;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn rmsnorm_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.n) { return; } // uniform per workgroup
  let base = row * params.c;
  var ss = 0.0;
  for (var j = lid; j < params.c; j += WORKGROUP_SIZE) { let v = x[base + j]; ss += v * v; }
  let total = workgroupSum(ss, lid);
  let r = 1.0 / sqrt(total / f32(params.c) + params.eps);
  if (lid == 0u) { rstd[row] = r; }
  for (var j = lid; j < params.c; j += WORKGROUP_SIZE) { out[base + j] = w[j] * (x[base + j] * r); }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn rmsnorm_backward_dx(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let row = wid.x + wid.y * nwg.x;
  if (row >= params.n) { return; }
  let base = row * params.c;
  var dot = 0.0;
  for (var j = lid; j < params.c; j += WORKGROUP_SIZE) { dot += dout[base + j] * w[j] * x[base + j]; }
  let total = workgroupSum(dot, lid);
  let r = rstdRead[row];
  let k = r * r * r * total / f32(params.c);
  for (var j = lid; j < params.c; j += WORKGROUP_SIZE) {
    let g = dout[base + j] * w[j];
    dx[base + j] = dx[base + j] + (g * r - x[base + j] * k);
  }
}

// grid: (ceil(c / WORKGROUP_SIZE), partials)
@compute @workgroup_size(WORKGROUP_SIZE)
fn rmsnorm_dw_partials(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let col = wid.x * WORKGROUP_SIZE + lid;
  if (col >= params.c) { return; }
  let first = wid.y * ROWS_PER_PARTIAL;
  let last = min(first + ROWS_PER_PARTIAL, params.n);
  var acc = 0.0;
  for (var row = first; row < last; row++) {
    let e = row * params.c + col;
    acc += dout[e] * (x[e] * rstdRead[row]);
  }
  partials[wid.y * params.c + col] = acc;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn rmsnorm_dw_reduce(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let col = wid.x * WORKGROUP_SIZE + lid;
  if (col >= params.c) { return; }
  var acc = 0.0;
  for (var p = 0u; p < params.partials; p++) { acc += partialsRead[p * params.c + col]; }
  dw[col] = dw[col] + acc;
}
