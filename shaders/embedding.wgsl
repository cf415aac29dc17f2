// Token embedding: gather rows of the table (forward) and scatter-add gradient rows
// back (backward). The backward is deterministic without float atomics: a counting
// sort of token positions (integer atomics only count, so the counts are exact),
// then each thread owns one (vocab row, column) and adds the gradient rows of its
// token in ascending position order — the same order as the CPU kernel.
//   embedding_count   counts[tok] += 1 per position (u32 atomics)
//   embedding_offsets exclusive prefix sum of counts (one thread: V is small)
//   embedding_place   sorted[offsets[tok] + rank] = position, rank = earlier equal tokens
//   embedding_backward dtable[v, col] += Σ dout[sorted[..], col] in position order

const WORKGROUP_SIZE = 256u;
// A quiet NaN for invalid targets/tokens (a private var: WGSL rejects NaN constants).
var<private> nanBits: u32 = 0x7fc00000u;

struct Params {
  n: u32,      // tokens
  c: u32,      // row width
  vocab: u32,  // table rows
  total: u32,  // threads: n·c (forward) or vocab·c (backward)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> tokens: array<i32>;
// forward
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read> table: array<f32>;
// backward
@group(0) @binding(4) var<storage, read_write> counts: array<atomic<u32>>;
@group(0) @binding(5) var<storage, read_write> offsets: array<u32>;
@group(0) @binding(6) var<storage, read> countsRead: array<u32>;
@group(0) @binding(7) var<storage, read_write> sorted: array<u32>;
@group(0) @binding(8) var<storage, read> offsetsRead: array<u32>;
@group(0) @binding(9) var<storage, read> sortedRead: array<u32>;
@group(0) @binding(10) var<storage, read_write> dtable: array<f32>;
@group(0) @binding(11) var<storage, read> dout: array<f32>;

fn threadIndex(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
  return (wid.x + wid.y * nwg.x) * WORKGROUP_SIZE + lid;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn embedding_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e = threadIndex(wid, nwg, lid);
  if (e >= params.total) { return; }
  let i = e / params.c;
  let col = e % params.c;
  let tok = tokens[i];
  if (tok < 0 || u32(tok) >= params.vocab) { out[e] = bitcast<f32>(nanBits); return; }
  out[e] = table[u32(tok) * params.c + col];
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn embedding_count(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = threadIndex(wid, nwg, lid);
  if (i >= params.n) { return; }
  let tok = tokens[i];
  if (tok < 0 || u32(tok) >= params.vocab) { return; }
  atomicAdd(&counts[u32(tok)], 1u);
}

@compute @workgroup_size(1)
fn embedding_offsets() {
  var running = 0u;
  for (var v = 0u; v < params.vocab; v++) {
    offsets[v] = running;
    running += countsRead[v];
  }
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn embedding_place(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = threadIndex(wid, nwg, lid);
  if (i >= params.n) { return; }
  let tok = tokens[i];
  if (tok < 0 || u32(tok) >= params.vocab) { return; }
  var rank = 0u;
  for (var j = 0u; j < i; j++) {
    if (tokens[j] == tok) { rank++; }
  }
  sorted[offsetsRead[u32(tok)] + rank] = i;
}

@compute @workgroup_size(WORKGROUP_SIZE)
fn embedding_backward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let e = threadIndex(wid, nwg, lid);
  if (e >= params.total) { return; }
  let v = e / params.c;
  let col = e % params.c;
  let count = countsRead[v];
  if (count == 0u) { return; }
  let start = offsetsRead[v];
  var acc = dtable[e];
  for (var k = 0u; k < count; k++) {
    acc += dout[sortedRead[start + k] * params.c + col];
  }
  dtable[e] = acc;
}
