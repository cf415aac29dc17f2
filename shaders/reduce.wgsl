// Deterministic reductions into one slot of a device tensor (no float atomics):
//   reduce_partials: each workgroup sums ITEMS_PER_THREAD·WORKGROUP_SIZE elements
//     (x or x², fixed order, then a tree) into partials[partialOffset + workgroup];
//   reduce_finish: one workgroup adds all partials (each thread a fixed stride,
//     then a tree) and writes out[index] = total / divisor.
// The host runs reduce_partials once per binding-sized chunk of x.

const WORKGROUP_SIZE = 256u;
const ITEMS_PER_THREAD = 4u;

struct Params {
  n: u32,
  squares: u32,       // 1: Σ x², 0: Σ x
  partialOffset: u32, // reduce_partials: first slot of this chunk
  count: u32,         // reduce_finish: partials to add
  index: u32,         // reduce_finish: slot of out
  divisor: f32,       // reduce_finish: 1 for sums, n for means
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> partials: array<f32>;
@group(0) @binding(3) var<storage, read> partialsRead: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;

var<workgroup> scratch: array<f32, WORKGROUP_SIZE>;

fn treeSum(value: f32, lid: u32) -> f32 {
  scratch[lid] = value;
  workgroupBarrier();
  for (var stride = WORKGROUP_SIZE / 2u; stride > 0u; stride = stride / 2u) {
    if (lid < stride) { scratch[lid] = scratch[lid] + scratch[lid + stride]; }
    workgroupBarrier();
  }
  return scratch[0];
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn reduce_partials(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let group = wid.x + wid.y * nwg.x;
  let base = group * WORKGROUP_SIZE * ITEMS_PER_THREAD;
  var acc = 0.0;
  for (var e = 0u; e < ITEMS_PER_THREAD; e++) {
    let i = base + e * WORKGROUP_SIZE + lid;
    if (i < params.n) {
      let v = x[i];
      if (params.squares == 1u) { acc += v * v; } else { acc += v; }
    }
  }
  let total = treeSum(acc, lid);
  if (lid == 0u) { partials[params.partialOffset + group] = total; }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn reduce_finish(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var i = lid; i < params.count; i += WORKGROUP_SIZE) { acc += partialsRead[i]; }
  let total = treeSum(acc, lid);
  if (lid == 0u) { out[params.index] = total / params.divisor; }
}
