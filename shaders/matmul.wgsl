// Tiled matmul C[m,n] (+)= op(A)·op(B) for the three layouts the model needs,
// chosen by pipeline-overridable constants:
//   "nt": A[m,k]·B[n,k]ᵀ  (A_TRANSPOSED = false, B_TRANSPOSED = true)   forward
//   "nn": A[m,k]·B[k,n]   (false, false)                                input grads
//   "tn": A[k,m]ᵀ·B[k,n]  (true, false)                                 weight grads
// A workgroup of 16×16 threads computes a TILE_M×TILE_N block of C, each thread
// THREAD_M×THREAD_N outputs held in registers; TILE_K-deep slices of A and B are
// staged in workgroup memory (loads arranged so consecutive threads read
// consecutive addresses for every layout). Edges are bounds-checked (zero padding),
// so any m, n, k work. The k sum runs in ascending order, as in the CPU kernel.
// Each operand sits in its buffer at an element offset with a row stride (ld), so
// a product can read or write a column block of a wider matrix (fused gate|up).
// The entry point matmul_vec4 (chosen by the host when the contiguous dimension,
// the row stride and the offset of both A and B are multiples of 4) stages A and B
// with vec4<f32> loads.

override A_TRANSPOSED: bool = false;
override B_TRANSPOSED: bool = true;

const TILE_M = 64u;
const TILE_N = 64u;
const TILE_K = 16u;
const THREADS_X = 16u;
const THREADS_Y = 16u;
const THREAD_M = 4u; // TILE_M / THREADS_Y
const THREAD_N = 4u; // TILE_N / THREADS_X
const THREADS = 256u;

struct Params {
  m: u32,
  n: u32,
  k: u32,
  accumulate: u32,
  lda: u32,
  ldb: u32,
  ldc: u32,
  aOffset: u32,
  bOffset: u32,
  cOffset: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> c: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read> a4: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> b4: array<vec4<f32>>;

var<workgroup> tileA: array<array<f32, TILE_M>, TILE_K>; // tileA[kk][row]
var<workgroup> tileB: array<array<f32, TILE_N>, TILE_K>; // tileB[kk][col]

fn loadA(row: u32, kk: u32) -> f32 {
  if (row >= params.m || kk >= params.k) { return 0.0; }
  if (A_TRANSPOSED) { return a[params.aOffset + kk * params.lda + row]; }
  return a[params.aOffset + row * params.lda + kk];
}

fn loadB(col: u32, kk: u32) -> f32 {
  if (col >= params.n || kk >= params.k) { return 0.0; }
  if (B_TRANSPOSED) { return b[params.bOffset + col * params.ldb + kk]; }
  return b[params.bOffset + kk * params.ldb + col];
}

// Four consecutive elements along the contiguous dimension; partial vectors at
// the edges fall back to scalar loads.
fn loadA4(row: u32, kk: u32) -> vec4<f32> {
  if (A_TRANSPOSED) {
    if (kk < params.k && row + 3u < params.m) { return a4[(params.aOffset + kk * params.lda + row) / 4u]; }
    return vec4<f32>(loadA(row, kk), loadA(row + 1u, kk), loadA(row + 2u, kk), loadA(row + 3u, kk));
  }
  if (row < params.m && kk + 3u < params.k) { return a4[(params.aOffset + row * params.lda + kk) / 4u]; }
  return vec4<f32>(loadA(row, kk), loadA(row, kk + 1u), loadA(row, kk + 2u), loadA(row, kk + 3u));
}

fn loadB4(col: u32, kk: u32) -> vec4<f32> {
  if (B_TRANSPOSED) {
    if (col < params.n && kk + 3u < params.k) { return b4[(params.bOffset + col * params.ldb + kk) / 4u]; }
    return vec4<f32>(loadB(col, kk), loadB(col, kk + 1u), loadB(col, kk + 2u), loadB(col, kk + 3u));
  }
  if (kk < params.k && col + 3u < params.n) { return b4[(params.bOffset + kk * params.ldb + col) / 4u]; }
  return vec4<f32>(loadB(col, kk), loadB(col + 1u, kk), loadB(col + 2u, kk), loadB(col + 3u, kk));
}

fn stageTiles4(li: u32, row0: u32, col0: u32, k0: u32) {
  // 1024 values per tile = 256 threads × one vec4 each
  if (A_TRANSPOSED) {
    let kk = li / (TILE_M / 4u); let r = (li % (TILE_M / 4u)) * 4u;
    let v = loadA4(row0 + r, k0 + kk);
    tileA[kk][r] = v.x; tileA[kk][r + 1u] = v.y; tileA[kk][r + 2u] = v.z; tileA[kk][r + 3u] = v.w;
  } else {
    let r = li / (TILE_K / 4u); let kk = (li % (TILE_K / 4u)) * 4u;
    let v = loadA4(row0 + r, k0 + kk);
    tileA[kk][r] = v.x; tileA[kk + 1u][r] = v.y; tileA[kk + 2u][r] = v.z; tileA[kk + 3u][r] = v.w;
  }
  if (B_TRANSPOSED) {
    let col = li / (TILE_K / 4u); let kk = (li % (TILE_K / 4u)) * 4u;
    let v = loadB4(col0 + col, k0 + kk);
    tileB[kk][col] = v.x; tileB[kk + 1u][col] = v.y; tileB[kk + 2u][col] = v.z; tileB[kk + 3u][col] = v.w;
  } else {
    let kk = li / (TILE_N / 4u); let col = (li % (TILE_N / 4u)) * 4u;
    let v = loadB4(col0 + col, k0 + kk);
    tileB[kk][col] = v.x; tileB[kk][col + 1u] = v.y; tileB[kk][col + 2u] = v.z; tileB[kk][col + 3u] = v.w;
  }
}

fn stageTiles(li: u32, row0: u32, col0: u32, k0: u32) {
  for (var e = 0u; e < (TILE_M * TILE_K) / THREADS; e++) {
    let idx = li + e * THREADS;
    if (A_TRANSPOSED) { let kk = idx / TILE_M; let r = idx % TILE_M; tileA[kk][r] = loadA(row0 + r, k0 + kk); }
    else { let r = idx / TILE_K; let kk = idx % TILE_K; tileA[kk][r] = loadA(row0 + r, k0 + kk); }
    if (B_TRANSPOSED) { let col = idx / TILE_K; let kk = idx % TILE_K; tileB[kk][col] = loadB(col0 + col, k0 + kk); }
    else { let kk = idx / TILE_N; let col = idx % TILE_N; tileB[kk][col] = loadB(col0 + col, k0 + kk); }
  }
}

fn multiplyTiles(lid: vec3<u32>, acc: ptr<function, array<array<f32, THREAD_N>, THREAD_M>>) {
  for (var kk = 0u; kk < TILE_K; kk++) {
    var av: array<f32, THREAD_M>;
    var bv: array<f32, THREAD_N>;
    for (var i = 0u; i < THREAD_M; i++) { av[i] = tileA[kk][lid.y * THREAD_M + i]; }
    for (var j = 0u; j < THREAD_N; j++) { bv[j] = tileB[kk][lid.x * THREAD_N + j]; }
    for (var i = 0u; i < THREAD_M; i++) {
      for (var j = 0u; j < THREAD_N; j++) { (*acc)[i][j] = (*acc)[i][j] + av[i] * bv[j]; }
    }
  }
}

fn storeTile(lid: vec3<u32>, row0: u32, col0: u32, acc: ptr<function, array<array<f32, THREAD_N>, THREAD_M>>) {
  for (var i = 0u; i < THREAD_M; i++) {
    let row = row0 + lid.y * THREAD_M + i;
    if (row >= params.m) { continue; }
    for (var j = 0u; j < THREAD_N; j++) {
      let col = col0 + lid.x * THREAD_N + j;
      if (col >= params.n) { continue; }
      let e = params.cOffset + row * params.ldc + col;
      if (params.accumulate == 1u) { c[e] = c[e] + (*acc)[i][j]; } else { c[e] = (*acc)[i][j]; }
    }
  }
}

@compute @workgroup_size(THREADS_X, THREADS_Y)
fn matmul(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let row0 = wid.y * TILE_M;
  let col0 = wid.x * TILE_N;
  var acc: array<array<f32, THREAD_N>, THREAD_M>;
  for (var k0 = 0u; k0 < params.k; k0 += TILE_K) {
    stageTiles(li, row0, col0, k0);
    workgroupBarrier();
    multiplyTiles(lid, &acc);
    workgroupBarrier();
  }
  storeTile(lid, row0, col0, &acc);
}

@compute @workgroup_size(THREADS_X, THREADS_Y)
fn matmul_vec4(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let row0 = wid.y * TILE_M;
  let col0 = wid.x * TILE_N;
  var acc: array<array<f32, THREAD_N>, THREAD_M>;
  for (var k0 = 0u; k0 < params.k; k0 += TILE_K) {
    stageTiles4(li, row0, col0, k0);
    workgroupBarrier();
    multiplyTiles(lid, &acc);
    workgroupBarrier();
  }
  storeTile(lid, row0, col0, &acc);
}
