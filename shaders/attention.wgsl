// Causal grouped-query attention, flash-style: the forward never forms the
// [t, t] probabilities; it keeps a running max and sum per query row (online
// softmax) and saves only lse = log Σ_j exp(s_ij) per row (state: [b, heads, t]).
// The backward recomputes p_ij = exp(s_ij − lse_i) tile by tile:
//   attention_row_dot:  D_i = Σ_d dout_i·out_i                   (one thread per row)
//   attention_backward_dq:   dq_i += scale·Σ_j p_ij (dout_i·v_j − D_i) k_j   (thread per query row)
//   attention_backward_dkdv: dv_j += Σ_i p_ij dout_i,
//                            dk_j += scale·Σ_i p_ij (dout_i·v_j − D_i) q_i    (thread per key row,
//                            summing over the query heads of its GQA group: no atomics)
// Layouts: q, out, dq [b, t, heads, hd]; k, v, dk, dv [b, t, kvHeads, hd];
// query head h reads kv head h / (heads / kvHeads) (HF repeat_kv).
// Each thread keeps its row in registers (MAX_HEAD_DIM floats); key/value (or
// query/dout) tiles of TILE_ROWS rows are shared through workgroup memory.

const BLOCK_ROWS = 64u;   // query rows (forward, dq) or key rows (dkdv) per workgroup
const TILE_ROWS = 16u;    // rows of the other side staged per iteration (forward, dq)
const DKDV_TILE_ROWS = 8u; // dkdv stages two tiles (q and dout) plus lse and D
const MAX_HEAD_DIM = 128u;

struct Params {
  b: u32,
  t: u32,
  heads: u32,
  kvHeads: u32,
  headDim: u32,
  scale: f32, // 1 / sqrt(headDim)
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
// forward
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
// backward
@group(0) @binding(6) var<storage, read> dout: array<f32>;
@group(0) @binding(7) var<storage, read> outRead: array<f32>;
@group(0) @binding(8) var<storage, read_write> rowDot: array<f32>;
@group(0) @binding(9) var<storage, read> lseRead: array<f32>;
@group(0) @binding(10) var<storage, read> rowDotRead: array<f32>;
@group(0) @binding(11) var<storage, read_write> dq: array<f32>;
@group(0) @binding(12) var<storage, read_write> dk: array<f32>;
@group(0) @binding(13) var<storage, read_write> dv: array<f32>;

var<workgroup> tileK: array<f32, TILE_ROWS * MAX_HEAD_DIM>;
var<workgroup> tileV: array<f32, TILE_ROWS * MAX_HEAD_DIM>;
var<workgroup> tileQ: array<f32, DKDV_TILE_ROWS * MAX_HEAD_DIM>;
var<workgroup> tileDout: array<f32, DKDV_TILE_ROWS * MAX_HEAD_DIM>;
var<workgroup> tileLse: array<f32, DKDV_TILE_ROWS>;
var<workgroup> tileRowDot: array<f32, DKDV_TILE_ROWS>;

fn queryOffset(bi: u32, i: u32, h: u32) -> u32 { return ((bi * params.t + i) * params.heads + h) * params.headDim; }
fn kvOffset(bi: u32, j: u32, g: u32) -> u32 { return ((bi * params.t + j) * params.kvHeads + g) * params.headDim; }
fn rowIndex(bi: u32, h: u32, i: u32) -> u32 { return (bi * params.heads + h) * params.t + i; }

// Stages key/value rows [j0, j0 + TILE_ROWS) of kv head g into workgroup memory.
fn stageKeyValues(lid: u32, bi: u32, g: u32, j0: u32) {
  let hd = params.headDim;
  for (var e = lid; e < TILE_ROWS * hd; e += BLOCK_ROWS) {
    let jj = e / hd;
    let d = e % hd;
    let j = j0 + jj;
    if (j < params.t) {
      let o = kvOffset(bi, j, g) + d;
      tileK[jj * MAX_HEAD_DIM + d] = k[o];
      tileV[jj * MAX_HEAD_DIM + d] = v[o];
    }
  }
}

// grid: (ceil(t / BLOCK_ROWS), b·heads)
@compute @workgroup_size(BLOCK_ROWS)
fn attention_forward(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let bi = wid.y / params.heads;
  let h = wid.y % params.heads;
  let g = h / (params.heads / params.kvHeads);
  let hd = params.headDim;
  let i = wid.x * BLOCK_ROWS + lid;
  let inRange = i < params.t;
  var qRow: array<f32, MAX_HEAD_DIM>;
  var acc: array<f32, MAX_HEAD_DIM>;
  if (inRange) {
    let o = queryOffset(bi, i, h);
    for (var d = 0u; d < hd; d++) { qRow[d] = q[o + d]; }
  }
  var rowMax = -3.0e38;
  var rowSum = 0.0;
  // causal: no key after the block's last query row
  let keyEnd = min(params.t, (wid.x + 1u) * BLOCK_ROWS);
  for (var j0 = 0u; j0 < keyEnd; j0 += TILE_ROWS) {
    stageKeyValues(lid, bi, g, j0);
    workgroupBarrier();
    if (inRange && j0 <= i) {
      var scores: array<f32, TILE_ROWS>;
      var tileMax = -3.0e38;
      for (var jj = 0u; jj < TILE_ROWS; jj++) {
        let j = j0 + jj;
        if (j <= i) {
          var sc = 0.0;
          for (var d = 0u; d < hd; d++) { sc += qRow[d] * tileK[jj * MAX_HEAD_DIM + d]; }
          sc = sc * params.scale;
          scores[jj] = sc;
          tileMax = max(tileMax, sc);
        }
      }
      let newMax = max(rowMax, tileMax);
      let correction = exp(rowMax - newMax);
      rowSum = rowSum * correction;
      for (var d = 0u; d < hd; d++) { acc[d] = acc[d] * correction; }
      for (var jj = 0u; jj < TILE_ROWS; jj++) {
        if (j0 + jj <= i) {
          let p = exp(scores[jj] - newMax);
          rowSum += p;
          for (var d = 0u; d < hd; d++) { acc[d] += p * tileV[jj * MAX_HEAD_DIM + d]; }
        }
      }
      rowMax = newMax;
    }
    workgroupBarrier();
  }
  if (inRange) {
    let o = queryOffset(bi, i, h);
    for (var d = 0u; d < hd; d++) { out[o + d] = acc[d] / rowSum; }
    lse[rowIndex(bi, h, i)] = rowMax + log(rowSum);
  }
}

// grid: ceil(b·t·heads / BLOCK_ROWS) workgroups (2-D); one thread per query row
@compute @workgroup_size(BLOCK_ROWS)
fn attention_row_dot(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let r = (wid.x + wid.y * nwg.x) * BLOCK_ROWS + lid; // (bi·t + i)·heads + h
  if (r >= params.b * params.t * params.heads) { return; }
  let h = r % params.heads;
  let i = (r / params.heads) % params.t;
  let bi = r / (params.heads * params.t);
  let o = r * params.headDim;
  var acc = 0.0;
  for (var d = 0u; d < params.headDim; d++) { acc += dout[o + d] * outRead[o + d]; }
  rowDot[rowIndex(bi, h, i)] = acc;
}

// grid: (ceil(t / BLOCK_ROWS), b·heads)
@compute @workgroup_size(BLOCK_ROWS)
fn attention_backward_dq(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let bi = wid.y / params.heads;
  let h = wid.y % params.heads;
  let g = h / (params.heads / params.kvHeads);
  let hd = params.headDim;
  let i = wid.x * BLOCK_ROWS + lid;
  let inRange = i < params.t;
  var qRow: array<f32, MAX_HEAD_DIM>;
  var doutRow: array<f32, MAX_HEAD_DIM>;
  var acc: array<f32, MAX_HEAD_DIM>;
  var rowLse = 0.0;
  var rowD = 0.0;
  if (inRange) {
    let o = queryOffset(bi, i, h);
    for (var d = 0u; d < hd; d++) { qRow[d] = q[o + d]; doutRow[d] = dout[o + d]; }
    rowLse = lseRead[rowIndex(bi, h, i)];
    rowD = rowDotRead[rowIndex(bi, h, i)];
  }
  let keyEnd = min(params.t, (wid.x + 1u) * BLOCK_ROWS);
  for (var j0 = 0u; j0 < keyEnd; j0 += TILE_ROWS) {
    stageKeyValues(lid, bi, g, j0);
    workgroupBarrier();
    if (inRange) {
      for (var jj = 0u; jj < TILE_ROWS; jj++) {
        if (j0 + jj <= i) {
          var sc = 0.0;
          var dp = 0.0;
          for (var d = 0u; d < hd; d++) {
            sc += qRow[d] * tileK[jj * MAX_HEAD_DIM + d];
            dp += doutRow[d] * tileV[jj * MAX_HEAD_DIM + d];
          }
          let p = exp(sc * params.scale - rowLse);
          let ds = p * (dp - rowD);
          for (var d = 0u; d < hd; d++) { acc[d] += ds * tileK[jj * MAX_HEAD_DIM + d]; }
        }
      }
    }
    workgroupBarrier();
  }
  if (inRange) {
    let o = queryOffset(bi, i, h);
    for (var d = 0u; d < hd; d++) { dq[o + d] = dq[o + d] + acc[d] * params.scale; }
  }
}

// grid: (ceil(t / BLOCK_ROWS), b·kvHeads)
@compute @workgroup_size(BLOCK_ROWS)
fn attention_backward_dkdv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let bi = wid.y / params.kvHeads;
  let g = wid.y % params.kvHeads;
  let group = params.heads / params.kvHeads;
  let hd = params.headDim;
  let j = wid.x * BLOCK_ROWS + lid;
  let inRange = j < params.t;
  var kRow: array<f32, MAX_HEAD_DIM>;
  var vRow: array<f32, MAX_HEAD_DIM>;
  var dkAcc: array<f32, MAX_HEAD_DIM>;
  var dvAcc: array<f32, MAX_HEAD_DIM>;
  if (inRange) {
    let o = kvOffset(bi, j, g);
    for (var d = 0u; d < hd; d++) { kRow[d] = k[o + d]; vRow[d] = v[o + d]; }
  }
  // causal: only queries at or after the block's first key row
  let queryStart = wid.x * BLOCK_ROWS;
  for (var hh = 0u; hh < group; hh++) {
    let h = g * group + hh;
    for (var i0 = queryStart; i0 < params.t; i0 += DKDV_TILE_ROWS) {
      for (var e = lid; e < DKDV_TILE_ROWS * hd; e += BLOCK_ROWS) {
        let ii = e / hd;
        let d = e % hd;
        let i = i0 + ii;
        if (i < params.t) {
          let o = queryOffset(bi, i, h) + d;
          tileQ[ii * MAX_HEAD_DIM + d] = q[o];
          tileDout[ii * MAX_HEAD_DIM + d] = dout[o];
        }
      }
      if (lid < DKDV_TILE_ROWS && i0 + lid < params.t) {
        tileLse[lid] = lseRead[rowIndex(bi, h, i0 + lid)];
        tileRowDot[lid] = rowDotRead[rowIndex(bi, h, i0 + lid)];
      }
      workgroupBarrier();
      if (inRange) {
        for (var ii = 0u; ii < DKDV_TILE_ROWS; ii++) {
          let i = i0 + ii;
          if (i >= j && i < params.t) {
            var sc = 0.0;
            var dp = 0.0;
            for (var d = 0u; d < hd; d++) {
              sc += tileQ[ii * MAX_HEAD_DIM + d] * kRow[d];
              dp += tileDout[ii * MAX_HEAD_DIM + d] * vRow[d];
            }
            let p = exp(sc * params.scale - tileLse[ii]);
            let ds = p * (dp - tileRowDot[ii]);
            for (var d = 0u; d < hd; d++) {
              dvAcc[d] += p * tileDout[ii * MAX_HEAD_DIM + d];
              dkAcc[d] += ds * tileQ[ii * MAX_HEAD_DIM + d];
            }
          }
        }
      }
      workgroupBarrier();
    }
  }
  if (inRange) {
    let o = kvOffset(bi, j, g);
    for (var d = 0u; d < hd; d++) {
      dk[o + d] = dk[o + d] + dkAcc[d] * params.scale;
      dv[o + d] = dv[o + d] + dvAcc[d];
    }
  }
}
