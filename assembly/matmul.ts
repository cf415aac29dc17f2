// Matrix multiplication in the three layouts that a linear layer's forward and
// backward passes need (W in Hugging Face [out, in] layout):
//   NT  C[i,j] (+)= Σ_p A[i,p]·B[j,p]   forward   y  = x · Wᵀ
//   NN  C[i,j] (+)= Σ_p A[i,p]·B[p,j]   backward  dx = dy · W
//   TN  C[i,j] (+)= Σ_p A[p,i]·B[p,j]   backward  dW += dyᵀ · x
// All arrays are f32 row-major; pointers are byte offsets, leading dimensions
// (lda, ldb, ldc) are in elements.
//
// Structure (GotoBLAS-style): B is first packed into panels of NR = 16 columns,
// stored depth-major ([panel][p][16], zero-padded past n), so the micro-kernel
// reads it with four aligned, contiguous v128 loads per depth step whatever B's
// layout or leading dimension was. The micro-kernel keeps a 2×16 tile of C in
// eight v128 accumulators (plus four B vectors and two A splats: 14 of the 16
// xmm registers V8 can use) and does 8 mul + 8 add per depth step. Depth is
// blocked by KC so a panel slice (KC×16 floats = 16 KiB) stays in L1 while it is
// reused by every row pair of an MC-row block of A (which stays in L2).
//
// Determinism: every output element is one f32 sum over p in increasing order,
// restarted per KC block and added to C block by block, computed in its own
// SIMD lane. No kernel variant (2-row, 1-row, partial columns) and no row range
// changes that order, so any split of the rows across threads gives identical
// bits. No FMA: results match across Node, Deno and browsers.
//
// Packing is separate from computing so threads can share one packed B: the
// host packs panels (possibly in parallel), then splits the rows of C. The
// one-call kernels matmulNT/NN/TN pack and compute on the calling thread.

/** Columns of C per packed B panel (four f32x4 vectors). */
const NR: i32 = 16;
/** Depth block: one KC×NR panel slice (16 KiB) stays in L1. */
const KC: i32 = 256;
/** Row block: MC rows × KC of A (128 KiB) stay in L2 while every panel passes. */
const MC: i32 = 128;

/** Bytes needed for B (n columns, depth k) packed into NR-column panels. */
export function matmulPackedBytes(n: i32, k: i32): usize {
  return (<usize>((n + NR - 1) / NR)) * (<usize>k) * (<usize>NR) * 4;
}

/** Number of packed panels for n columns (the range of the pack kernels' panel indices). */
export function matmulPanelCount(n: i32): i32 {
  return (n + NR - 1) / NR;
}

/**
 * Packs B given as [n, k] rows (NT: B[j,p] = b[j*ldb + p]) into panels
 * [panelStart, panelEnd) of `packed`.
 */
export function matmulPackNT(packed: usize, b: usize, n: i32, k: i32, ldb: i32, panelStart: i32, panelEnd: i32): void {
  const rowBytes = (<usize>ldb) << 2;
  for (let jb = panelStart; jb < panelEnd; jb++) {
    const j0 = jb * NR;
    const cols = min(NR, n - j0);
    const out = packed + (<usize>jb) * (<usize>k) * (<usize>NR) * 4;
    if (cols == NR) {
      // Transpose 4 rows × 4 depths at a time with shuffles.
      let p = 0;
      for (; p + 4 <= k; p += 4) {
        for (let q = 0; q < NR; q += 4) {
          const src = b + (<usize>(j0 + q)) * rowBytes + ((<usize>p) << 2);
          const r0 = v128.load(src);
          const r1 = v128.load(src + rowBytes);
          const r2 = v128.load(src + 2 * rowBytes);
          const r3 = v128.load(src + 3 * rowBytes);
          const t0 = i32x4.shuffle(r0, r1, 0, 4, 1, 5);
          const t1 = i32x4.shuffle(r2, r3, 0, 4, 1, 5);
          const t2 = i32x4.shuffle(r0, r1, 2, 6, 3, 7);
          const t3 = i32x4.shuffle(r2, r3, 2, 6, 3, 7);
          const dst = out + ((<usize>(p * NR + q)) << 2);
          v128.store(dst, i64x2.shuffle(t0, t1, 0, 2));
          v128.store(dst, i64x2.shuffle(t0, t1, 1, 3), NR * 4);
          v128.store(dst, i64x2.shuffle(t2, t3, 0, 2), 2 * NR * 4);
          v128.store(dst, i64x2.shuffle(t2, t3, 1, 3), 3 * NR * 4);
        }
      }
      for (; p < k; p++) {
        for (let q = 0; q < NR; q++) {
          store<f32>(out + ((<usize>(p * NR + q)) << 2), load<f32>(b + (<usize>(j0 + q)) * rowBytes + ((<usize>p) << 2)));
        }
      }
    } else {
      for (let p = 0; p < k; p++) {
        for (let q = 0; q < NR; q++) {
          const v: f32 = q < cols ? load<f32>(b + (<usize>(j0 + q)) * rowBytes + ((<usize>p) << 2)) : 0;
          store<f32>(out + ((<usize>(p * NR + q)) << 2), v);
        }
      }
    }
  }
}

/**
 * Packs B given as [k, n] rows (NN and TN: B[p,j] = b[p*ldb + j]) into panels
 * [panelStart, panelEnd) of `packed`.
 */
export function matmulPackNN(packed: usize, b: usize, n: i32, k: i32, ldb: i32, panelStart: i32, panelEnd: i32): void {
  const rowBytes = (<usize>ldb) << 2;
  for (let jb = panelStart; jb < panelEnd; jb++) {
    const j0 = jb * NR;
    const cols = min(NR, n - j0);
    const out = packed + (<usize>jb) * (<usize>k) * (<usize>NR) * 4;
    let src = b + ((<usize>j0) << 2);
    if (cols == NR) {
      for (let p = 0; p < k; p++) {
        const dst = out + ((<usize>(p * NR)) << 2);
        v128.store(dst, v128.load(src));
        v128.store(dst, v128.load(src, 16), 16);
        v128.store(dst, v128.load(src, 32), 32);
        v128.store(dst, v128.load(src, 48), 48);
        src += rowBytes;
      }
    } else {
      for (let p = 0; p < k; p++) {
        const dst = out + ((<usize>(p * NR)) << 2);
        for (let q = 0; q < NR; q++) {
          store<f32>(dst + ((<usize>q) << 2), q < cols ? load<f32>(src + ((<usize>q) << 2)) : <f32>0);
        }
        src += rowBytes;
      }
    }
  }
}

/** Writes (or adds, when `add`) a 16-wide row of results, only the first `cols` columns. */
@inline function storeRow(c: usize, cols: i32, add: bool, v0: v128, v1: v128, v2: v128, v3: v128): void {
  if (cols == NR) {
    if (add) {
      v0 = f32x4.add(v128.load(c), v0);
      v1 = f32x4.add(v128.load(c, 16), v1);
      v2 = f32x4.add(v128.load(c, 32), v2);
      v3 = f32x4.add(v128.load(c, 48), v3);
    }
    v128.store(c, v0);
    v128.store(c, v1, 16);
    v128.store(c, v2, 32);
    v128.store(c, v3, 48);
  } else {
    storePartial(c, cols, add, v0, v1, v2, v3);
  }
}

function storePartial(c: usize, cols: i32, add: bool, v0: v128, v1: v128, v2: v128, v3: v128): void {
  for (let q = 0; q < cols; q++) {
    const v = q < 4 ? v0 : q < 8 ? v1 : q < 12 ? v2 : v3;
    let x: f32;
    switch (q & 3) {
      case 0: x = f32x4.extract_lane(v, 0); break;
      case 1: x = f32x4.extract_lane(v, 1); break;
      case 2: x = f32x4.extract_lane(v, 2); break;
      default: x = f32x4.extract_lane(v, 3);
    }
    const dst = c + ((<usize>q) << 2);
    if (add) x = load<f32>(dst) + x;
    store<f32>(dst, x);
  }
}

// The micro-kernels below are deliberately plain loops of one depth step each:
// V8 unrolls them itself and keeps the 8 accumulators, 4 B vectors and 2 A
// splats in registers. Manually unrolled bodies were slower: TurboFan hoisted all
// their loads to the top of the body and spilled accumulators to the stack.

/**
 * 2×16 micro-kernel for row-major A (NT, NN: A(i,p) at a + i*aRow + 4p): rows
 * (i, i+1) of C against one KC slice of a packed panel.
 */
function micro2Rows(c: usize, ldcBytes: usize, a: usize, aRow: usize, bp: usize, kc: i32, cols: i32, add: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0), c03 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0), c12 = f32x4.splat(0), c13 = f32x4.splat(0);
  let a0p = a;
  let a1p = a + aRow;
  const end = bp + ((<usize>kc) << 6);
  while (bp < end) {
    const b0 = v128.load(bp), b1 = v128.load(bp, 16), b2 = v128.load(bp, 32), b3 = v128.load(bp, 48);
    const a0 = v128.load32_splat(a0p), a1 = v128.load32_splat(a1p);
    c00 = f32x4.add(c00, f32x4.mul(a0, b0)); c01 = f32x4.add(c01, f32x4.mul(a0, b1));
    c02 = f32x4.add(c02, f32x4.mul(a0, b2)); c03 = f32x4.add(c03, f32x4.mul(a0, b3));
    c10 = f32x4.add(c10, f32x4.mul(a1, b0)); c11 = f32x4.add(c11, f32x4.mul(a1, b1));
    c12 = f32x4.add(c12, f32x4.mul(a1, b2)); c13 = f32x4.add(c13, f32x4.mul(a1, b3));
    a0p += 4;
    a1p += 4;
    bp += 64;
  }
  storeRow(c, cols, add, c00, c01, c02, c03);
  storeRow(c + ldcBytes, cols, add, c10, c11, c12, c13);
}

/**
 * 2×16 micro-kernel for A packed in row pairs (TN, see packPairsT): the two A
 * values of a depth step are adjacent, one pointer update per step.
 */
function micro2Pairs(c: usize, ldcBytes: usize, ap: usize, bp: usize, kc: i32, cols: i32, add: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0), c03 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0), c12 = f32x4.splat(0), c13 = f32x4.splat(0);
  const end = bp + ((<usize>kc) << 6);
  while (bp < end) {
    const b0 = v128.load(bp), b1 = v128.load(bp, 16), b2 = v128.load(bp, 32), b3 = v128.load(bp, 48);
    const a0 = v128.load32_splat(ap), a1 = v128.load32_splat(ap, 4);
    c00 = f32x4.add(c00, f32x4.mul(a0, b0)); c01 = f32x4.add(c01, f32x4.mul(a0, b1));
    c02 = f32x4.add(c02, f32x4.mul(a0, b2)); c03 = f32x4.add(c03, f32x4.mul(a0, b3));
    c10 = f32x4.add(c10, f32x4.mul(a1, b0)); c11 = f32x4.add(c11, f32x4.mul(a1, b1));
    c12 = f32x4.add(c12, f32x4.mul(a1, b2)); c13 = f32x4.add(c13, f32x4.mul(a1, b3));
    ap += 8;
    bp += 64;
  }
  storeRow(c, cols, add, c00, c01, c02, c03);
  storeRow(c + ldcBytes, cols, add, c10, c11, c12, c13);
}

/** 1×16 micro-kernel for a lone last row; same per-element order as the 2-row kernels. */
function micro1(c: usize, a: usize, aCol: usize, bp: usize, kc: i32, cols: i32, add: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0), c03 = f32x4.splat(0);
  let a0p = a;
  const end = bp + ((<usize>kc) << 6);
  while (bp < end) {
    const a0 = v128.load32_splat(a0p);
    c00 = f32x4.add(c00, f32x4.mul(a0, v128.load(bp)));
    c01 = f32x4.add(c01, f32x4.mul(a0, v128.load(bp, 16)));
    c02 = f32x4.add(c02, f32x4.mul(a0, v128.load(bp, 32)));
    c03 = f32x4.add(c03, f32x4.mul(a0, v128.load(bp, 48)));
    a0p += aCol;
    bp += 64;
  }
  storeRow(c, cols, add, c00, c01, c02, c03);
}

/**
 * Packs rows [i0, i1) × depths [p0, p0+kc) of Aᵀ (TN: A(i,p) at a + 4i + p*ldaBytes)
 * into row pairs, pair q at dst + q*kc*8 holding (A(i0+2q, p), A(i0+2q+1, p)) per
 * depth step. Strided A rows (often a power-of-two apart) would otherwise map to a
 * handful of L1 sets; packed, a micro-kernel reads one contiguous stream.
 */
function packPairsT(dst: usize, a: usize, ldaBytes: usize, i0: i32, i1: i32, p0: i32, kc: i32): void {
  const pairs = (i1 - i0) >> 1;
  const pairBytes = (<usize>kc) << 3;
  let src = a + (<usize>p0) * ldaBytes + ((<usize>i0) << 2);
  for (let p = 0; p < kc; p++) {
    let out = dst + ((<usize>p) << 3);
    for (let q = 0; q < pairs; q++) {
      store<u64>(out, load<u64>(src + ((<usize>q) << 3)));
      out += pairBytes;
    }
    if ((i1 - i0) & 1) store<f32>(out, load<f32>(src + ((<usize>(i1 - i0 - 1)) << 2)));
    src += ldaBytes;
  }
}

/**
 * Rows [rowStart, rowEnd) of C (+)= A·B̂ with B̂ packed. Row-major A (aScratch = 0)
 * is read in place; for Aᵀ (TN) each MC×KC block is first packed into row pairs
 * at aScratch (matmulScratchBytes per concurrent caller).
 */
function computeRows(
  c: usize, a: usize, lda: i32, transposedA: bool, aScratch: usize, packed: usize, n: i32, k: i32, ldc: i32,
  accumulate: i32, rowStart: i32, rowEnd: i32,
): void {
  const ldcBytes = (<usize>ldc) << 2;
  const ldaBytes = (<usize>lda) << 2;
  if (k <= 0) {
    if (accumulate == 0) {
      for (let i = rowStart; i < rowEnd; i++) memory.fill(c + (<usize>i) * ldcBytes, 0, (<usize>n) << 2);
    }
    return;
  }
  const panels = (n + NR - 1) / NR;
  const panelBytes = (<usize>k) * (<usize>NR) * 4;
  for (let i0 = rowStart; i0 < rowEnd; i0 += MC) {
    const i1 = min(i0 + MC, rowEnd);
    for (let p0 = 0; p0 < k; p0 += KC) {
      const kc = min(KC, k - p0);
      const add = accumulate != 0 || p0 > 0;
      const bBlock = packed + ((<usize>p0) << 6);
      if (transposedA) packPairsT(aScratch, a, ldaBytes, i0, i1, p0, kc);
      const pairBytes = (<usize>kc) << 3;
      for (let jb = 0; jb < panels; jb++) {
        const j0 = jb * NR;
        const cols = min(NR, n - j0);
        const bp = bBlock + (<usize>jb) * panelBytes;
        const cCol = c + ((<usize>j0) << 2);
        let i = i0;
        if (transposedA) {
          let ap = aScratch;
          for (; i + 2 <= i1; i += 2) {
            micro2Pairs(cCol + (<usize>i) * ldcBytes, ldcBytes, ap, bp, kc, cols, add);
            ap += pairBytes;
          }
          if (i < i1) micro1(cCol + (<usize>i) * ldcBytes, ap, 8, bp, kc, cols, add);
        } else {
          const aBlock = a + ((<usize>p0) << 2);
          for (; i + 2 <= i1; i += 2) micro2Rows(cCol + (<usize>i) * ldcBytes, ldcBytes, aBlock + (<usize>i) * ldaBytes, ldaBytes, bp, kc, cols, add);
          if (i < i1) micro1(cCol + (<usize>i) * ldcBytes, aBlock + (<usize>i) * ldaBytes, 4, bp, kc, cols, add);
        }
      }
    }
  }
}

/** Bytes of A-packing scratch that each concurrent TN range needs. */
export function matmulScratchBytes(): usize {
  return (<usize>MC) * (<usize>KC) * 4;
}

/** Rows [rowStart, rowEnd) of C (+)= A·B̂ for A [m,k] (NT and NN), B̂ packed by matmulPackNT/NN. */
export function matmulPackedA(
  c: usize, a: usize, packed: usize, m: i32, n: i32, k: i32, lda: i32, ldc: i32,
  accumulate: i32, rowStart: i32, rowEnd: i32,
): void {
  computeRows(c, a, lda, false, 0, packed, n, k, ldc, accumulate, max(rowStart, 0), min(rowEnd, m));
}

/**
 * Rows [rowStart, rowEnd) of C (+)= Aᵀ·B̂ for A [k,m] (TN), B̂ packed by
 * matmulPackNN; `scratch` holds matmulScratchBytes() and is this range's own.
 */
export function matmulPackedAT(
  c: usize, a: usize, packed: usize, m: i32, n: i32, k: i32, lda: i32, ldc: i32,
  accumulate: i32, scratch: usize, rowStart: i32, rowEnd: i32,
): void {
  computeRows(c, a, lda, true, scratch, packed, n, k, ldc, accumulate, max(rowStart, 0), min(rowEnd, m));
}

/**
 * matmulPackedAT split into tasks of `rowsPerTask` rows, task t using the scratch
 * at scratch + t*matmulScratchBytes(): run tasks [taskStart, taskEnd) so that a
 * pool can hand each thread its own scratch.
 */
export function matmulPackedATTasks(
  c: usize, a: usize, packed: usize, m: i32, n: i32, k: i32, lda: i32, ldc: i32,
  accumulate: i32, scratch: usize, rowsPerTask: i32, taskStart: i32, taskEnd: i32,
): void {
  for (let t = taskStart; t < taskEnd; t++) {
    const from = t * rowsPerTask;
    matmulPackedAT(c, a, packed, m, n, k, lda, ldc, accumulate, scratch + (<usize>t) * matmulScratchBytes(), from, min(m, from + rowsPerTask));
  }
}

/**
 * One call: C[i,j] (+)= Σ_p A[i,p]·B[j,p] for rows [rowStart,rowEnd) on the calling
 * thread; `scratch` holds matmulPackedBytes(n,k) + matmulScratchBytes().
 */
export function matmulNT(
  c: usize, a: usize, b: usize, m: i32, n: i32, k: i32, lda: i32, ldb: i32, ldc: i32,
  accumulate: i32, scratch: usize, rowStart: i32, rowEnd: i32,
): void {
  matmulPackNT(scratch, b, n, k, ldb, 0, matmulPanelCount(n));
  matmulPackedA(c, a, scratch, m, n, k, lda, ldc, accumulate, rowStart, rowEnd);
}

/** One call: C[i,j] (+)= Σ_p A[i,p]·B[p,j]; arguments as matmulNT. */
export function matmulNN(
  c: usize, a: usize, b: usize, m: i32, n: i32, k: i32, lda: i32, ldb: i32, ldc: i32,
  accumulate: i32, scratch: usize, rowStart: i32, rowEnd: i32,
): void {
  matmulPackNN(scratch, b, n, k, ldb, 0, matmulPanelCount(n));
  matmulPackedA(c, a, scratch, m, n, k, lda, ldc, accumulate, rowStart, rowEnd);
}

/** One call: C[i,j] (+)= Σ_p A[p,i]·B[p,j]; arguments as matmulNT. */
export function matmulTN(
  c: usize, a: usize, b: usize, m: i32, n: i32, k: i32, lda: i32, ldb: i32, ldc: i32,
  accumulate: i32, scratch: usize, rowStart: i32, rowEnd: i32,
): void {
  matmulPackNN(scratch, b, n, k, ldb, 0, matmulPanelCount(n));
  matmulPackedAT(c, a, scratch, m, n, k, lda, ldc, accumulate, scratch + matmulPackedBytes(n, k), rowStart, rowEnd);
}
