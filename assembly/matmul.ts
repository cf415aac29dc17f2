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
// layout or leading dimension was. Each thread then packs MC×KC blocks of A into
// row pairs, the pair's two values side by side per depth ([pair][p][2]).
// The 2×16 micro-kernel keeps a tile of C in eight v128 accumulators (plus four B
// vectors and two A vectors: 15 of the 16 xmm registers, xmm15 is V8's scratch)
// and does 2 broadcast loads + 4 plain loads + 8 mul + 8 add per depth step.
// A broadcast load (v128.load32_splat, one vbroadcastss with AVX) costs the same
// as a plain load here (Zen 2: the same micro-kernel with pre-splatted A ran at
// the same rate on L1-resident data), and unsplatted A is 4× smaller: a 64×256
// block is 64 KiB instead of 256, so it and the B panels of a depth block (256
// KiB at n = 256) share L2 instead of evicting each other — that is what made the
// k = 2048 weight-gradient shapes ~10 % slower than their k = 256 twins.
// Depth is blocked by KC so a panel slice (KC×16 floats = 16 KiB) stays in L1
// while every row pair of the A block (in L2) passes over it.
//
// Determinism: every output element is one f32 sum over p in increasing order,
// restarted per KC block and added to C block by block, computed in its own
// SIMD lane. No kernel variant (2-row, 1-row, partial columns) and no row range
// changes that order, so any split of the rows across threads gives identical
// bits. No FMA in the default build: results match across Node, Deno and
// browsers. The opt-in relaxed build (mul-add.ts) fuses the micro-kernels'
// multiply-adds instead; its bits are those of one machine and runtime.
//
// Packing B is separate from computing so threads can share one packed B: the
// host packs panels (possibly in parallel), then splits the rows of C; each
// concurrent row range needs its own A scratch (matmulScratchBytes). The one-call
// kernels matmulNT/NN/TN pack and compute on the calling thread.
import { storeRow } from "./store-row";
import { mulAdd } from "./mul-add";

/** Columns of C per packed B panel (four f32x4 vectors; store-row.ts writes rows of this width). */
const NR: i32 = 16;
/** Depth block: one KC×NR panel slice (16 KiB) stays in L1. */
const KC: i32 = 256;
/** Row block: the packed MC×KC block of A (64 KiB) stays in L2 beside a depth block of B. */
const MC: i32 = 64;
/**
 * Row block when a depth block of B (KC×n floats) is larger than WIDE_B_BYTES and
 * streams from L3 once per row block anyway: 4× fewer passes over it.
 */
const MC_WIDE: i32 = 256;
const WIDE_B_BYTES: usize = 1 << 20;

/** The packed block of A, at most MC_WIDE×KC. */
const A_BLOCK_BYTES: usize = (<usize>MC_WIDE) * (<usize>KC) * 4;
/** micro2's 2×16 result tile (f32). */
const TILE_BYTES: usize = 2 * 16 * 4;

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

// Why micro2 is unrolled by hand, with an exit test after every depth step
// (measured on Zen 2 with Node 20, --print-wasm-code and timing; no hardware
// counters in this VM): the loop runs at about 4.65 x86 instructions per cycle,
// and an extra instruction costs the same whether it is a vector load, a scalar
// load or an integer add (the SIMD ceiling loop plus 2 to 8 extra instructions of
// each kind: 1/4.65 cycle each) — so loads do not compete with the FP ops as
// such; every non-FP instruction in the loop does. V8's own 4× unrolling of a
// one-step loop kept both pointer increments in every step (26.75 instructions
// per step: 16 FP, 6 loads, ~4.75 loop control); here B is addressed by constant
// offsets and bumped once per 4 steps, leaving 16 FP + 6 loads + one A increment
// and one compare-and-branch (25.25), 1.035-1.05× on the bench shapes. The exit
// test after each step matters: it ends a basic block in which the step's
// accumulators are live on the exit path, so TurboFan cannot pull the next step's
// loads up and mix steps — without it (two steps per trip, no test between) it
// grouped both steps' work by accumulator, needed more than the 15 xmm registers
// it allocates and spilled (0.75× on L1-resident operands). A's broadcast loads
// advance the pointer instead of using offsets: V8 folds an offset into a plain
// v128.load's address but materializes base + offset with an extra lea for
// load32_splat. micro2 leaves its tile in scratch memory (storeTile2 then writes
// C): with storeRow's branches and storePartial's call in the same function V8
// compiled the loop worse (measured when it was a plain loop).
//
// Deno (no wasm trap handler) checks every load's bounds in software: V8
// compares the index with a limit, memory size − (offset + access size − 1), and
// traps. The limit depends on the offset alone, but V8 (15, Turboshaft) has no
// loop-invariant code motion: a limit first computed inside the loop is computed
// again (one lea) in every trip, and the hand-unrolled body has 18 distinct
// offsets (16 of B, 2 of A), so Deno ran 6 compares and ~4.5 leas per depth step
// on top of Node's loop. primeBoundsChecks computes all 18 limits before the loop
// (dropped loads: Binaryen keeps them, since a load may trap; V8 keeps only the
// checks), and V8's value numbering reuses them in the loop, held in registers or
// compared straight from the stack: matmuls 1.09-1.14x in Deno, Node unchanged.
// The loop is tested at its top (kc >= 1 still runs the first step): in Deno
// ~3 % faster than the bottom-tested form (against a common reference build),
// in Node the same. V8 also unrolls a
// loop only while its graph is under 80, which the hand-unrolled body does not
// need. On a growable shared memory V8 also
// reloads the memory size at every access, hence the fixed-size memory of the
// threaded engine in Deno (host/backend/wasm/fixed-memory.ts).

/**
 * The loads of micro2's loop, with its offsets, at `safe` (any address with 256
 * readable bytes), values unused: for Deno's bounds checks (above). A software
 * check compares the index with memory size − (offset + access size − 1), a value
 * that depends on the offset alone; computed here, before the loop, V8 reuses it
 * in every trip instead of recomputing it per load.
 */
// @ts-ignore: decorator
@inline
function primeBoundsChecks(safe: usize): void {
  v128.load32_splat(safe); v128.load32_splat(safe, 4);
  v128.load(safe); v128.load(safe, 16); v128.load(safe, 32); v128.load(safe, 48);
  v128.load(safe, 64); v128.load(safe, 80); v128.load(safe, 96); v128.load(safe, 112);
  v128.load(safe, 128); v128.load(safe, 144); v128.load(safe, 160); v128.load(safe, 176);
  v128.load(safe, 192); v128.load(safe, 208); v128.load(safe, 224); v128.load(safe, 240);
}

/**
 * 2×16 micro-kernel: rows (i, i+1) of C from a packed A pair and one KC slice of a
 * B panel; `safe` has 256 readable bytes (primeBoundsChecks), the A block here.
 */
// @ts-ignore: decorator
@inline
function micro2(tile: usize, ap: usize, bp: usize, kc: i32, safe: usize): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0), c03 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0), c12 = f32x4.splat(0), c13 = f32x4.splat(0);
  const aEnd = ap + ((<usize>kc) << 3);
  let a0: v128, a1: v128, b: v128;
  primeBoundsChecks(safe);
  while (ap < aEnd) {
    a0 = v128.load32_splat(ap); a1 = v128.load32_splat(ap, 4);
    b = v128.load(bp, 0);
    c00 = mulAdd(c00, a0, b); c10 = mulAdd(c10, a1, b);
    b = v128.load(bp, 16);
    c01 = mulAdd(c01, a0, b); c11 = mulAdd(c11, a1, b);
    b = v128.load(bp, 32);
    c02 = mulAdd(c02, a0, b); c12 = mulAdd(c12, a1, b);
    b = v128.load(bp, 48);
    c03 = mulAdd(c03, a0, b); c13 = mulAdd(c13, a1, b);
    ap += 8;
    if (ap >= aEnd) break;
    a0 = v128.load32_splat(ap); a1 = v128.load32_splat(ap, 4);
    b = v128.load(bp, 64);
    c00 = mulAdd(c00, a0, b); c10 = mulAdd(c10, a1, b);
    b = v128.load(bp, 80);
    c01 = mulAdd(c01, a0, b); c11 = mulAdd(c11, a1, b);
    b = v128.load(bp, 96);
    c02 = mulAdd(c02, a0, b); c12 = mulAdd(c12, a1, b);
    b = v128.load(bp, 112);
    c03 = mulAdd(c03, a0, b); c13 = mulAdd(c13, a1, b);
    ap += 8;
    if (ap >= aEnd) break;
    a0 = v128.load32_splat(ap); a1 = v128.load32_splat(ap, 4);
    b = v128.load(bp, 128);
    c00 = mulAdd(c00, a0, b); c10 = mulAdd(c10, a1, b);
    b = v128.load(bp, 144);
    c01 = mulAdd(c01, a0, b); c11 = mulAdd(c11, a1, b);
    b = v128.load(bp, 160);
    c02 = mulAdd(c02, a0, b); c12 = mulAdd(c12, a1, b);
    b = v128.load(bp, 176);
    c03 = mulAdd(c03, a0, b); c13 = mulAdd(c13, a1, b);
    ap += 8;
    if (ap >= aEnd) break;
    a0 = v128.load32_splat(ap); a1 = v128.load32_splat(ap, 4);
    b = v128.load(bp, 192);
    c00 = mulAdd(c00, a0, b); c10 = mulAdd(c10, a1, b);
    b = v128.load(bp, 208);
    c01 = mulAdd(c01, a0, b); c11 = mulAdd(c11, a1, b);
    b = v128.load(bp, 224);
    c02 = mulAdd(c02, a0, b); c12 = mulAdd(c12, a1, b);
    b = v128.load(bp, 240);
    c03 = mulAdd(c03, a0, b); c13 = mulAdd(c13, a1, b);
    ap += 8;
    bp += 256;
  }
  v128.store(tile, c00); v128.store(tile, c01, 16); v128.store(tile, c02, 32); v128.store(tile, c03, 48);
  v128.store(tile, c10, 64); v128.store(tile, c11, 80); v128.store(tile, c12, 96); v128.store(tile, c13, 112);
}

/** Writes (or adds) the two rows of a micro2 tile to C. */
// @ts-ignore: decorator
@inline
function storeTile2(c: usize, ldcBytes: usize, tile: usize, cols: i32, add: bool): void {
  storeRow(c, cols, add, v128.load(tile), v128.load(tile, 16), v128.load(tile, 32), v128.load(tile, 48));
  storeRow(c + ldcBytes, cols, add, v128.load(tile, 64), v128.load(tile, 80), v128.load(tile, 96), v128.load(tile, 112));
}

/** 1×16 micro-kernel for a lone last row (first half of its pair); same per-element order. */
function micro1(c: usize, ap: usize, bp: usize, kc: i32, cols: i32, add: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0), c03 = f32x4.splat(0);
  const end = bp + ((<usize>kc) << 6);
  while (bp < end) {
    const a0 = v128.load32_splat(ap);
    c00 = mulAdd(c00, a0, v128.load(bp));
    c01 = mulAdd(c01, a0, v128.load(bp, 16));
    c02 = mulAdd(c02, a0, v128.load(bp, 32));
    c03 = mulAdd(c03, a0, v128.load(bp, 48));
    ap += 8;
    bp += 64;
  }
  storeRow(c, cols, add, c00, c01, c02, c03);
}

/**
 * Packs rows [i0, i1) × depths [p0, p0+kc) of A into row pairs: pair q at
 * dst + q*kc*8 holds, per depth step, A(i0+2q, p) then A(i0+2q+1, p). A lone
 * last row fills only the first float of each step.
 * A(i,p) is at a + i*aRow + p*aCol bytes, which covers A (NT, NN) and Aᵀ (TN).
 */
function packA(dst: usize, a: usize, aRow: usize, aCol: usize, i0: i32, i1: i32, p0: i32, kc: i32): void {
  const pairBytes = (<usize>kc) << 3;
  const base = a + (<usize>p0) * aCol;
  const pairs = (i1 - i0) >> 1;
  if (aCol == 4) {
    // Row-major A: both rows are contiguous in p; interleave four depths at a time.
    let out = dst;
    for (let q = 0; q < pairs; q++) {
      const r0 = base + (<usize>(i0 + 2 * q)) * aRow;
      const r1 = r0 + aRow;
      let p = 0;
      for (; p + 4 <= kc; p += 4) {
        const v0 = v128.load(r0 + ((<usize>p) << 2));
        const v1 = v128.load(r1 + ((<usize>p) << 2));
        const o = out + ((<usize>p) << 3);
        v128.store(o, i32x4.shuffle(v0, v1, 0, 4, 1, 5));
        v128.store(o, i32x4.shuffle(v0, v1, 2, 6, 3, 7), 16);
      }
      for (; p < kc; p++) {
        const o = out + ((<usize>p) << 3);
        store<f32>(o, load<f32>(r0 + ((<usize>p) << 2)));
        store<f32>(o, load<f32>(r1 + ((<usize>p) << 2)), 4);
      }
      out += pairBytes;
    }
  } else {
    // Aᵀ: row p of A holds the pairs' values side by side (one f64-sized pair each),
    // so packing is a transposition of 8-byte elements: two depths × two pairs at a time.
    let src = base + (<usize>i0) * aRow;
    let p = 0;
    for (; p + 2 <= kc; p += 2) {
      let o = dst + ((<usize>p) << 3);
      let q = 0;
      for (; q + 2 <= pairs; q += 2) {
        const r0 = v128.load(src + ((<usize>q) << 3));
        const r1 = v128.load(src + aCol + ((<usize>q) << 3));
        v128.store(o, i64x2.shuffle(r0, r1, 0, 2));
        v128.store(o + pairBytes, i64x2.shuffle(r0, r1, 1, 3));
        o += pairBytes << 1;
      }
      if (q < pairs) {
        store<u64>(o, load<u64>(src + ((<usize>q) << 3)));
        store<u64>(o, load<u64>(src + aCol + ((<usize>q) << 3)), 8);
      }
      src += aCol << 1;
    }
    if (p < kc) {
      const o = dst + ((<usize>p) << 3);
      for (let q = 0; q < pairs; q++) store<u64>(o + (<usize>q) * pairBytes, load<u64>(src + ((<usize>q) << 3)));
    }
  }
  const i = i0 + (pairs << 1);
  if (i < i1) {
    let src = base + (<usize>i) * aRow;
    const out = dst + (<usize>pairs) * pairBytes;
    const end = out + pairBytes;
    for (let o = out; o < end; o += 8) {
      store<f32>(o, load<f32>(src));
      src += aCol;
    }
  }
}

/**
 * Rows [rowStart, rowEnd) of C (+)= A·B̂ with B̂ packed; A(i,p) at a + i*aRow +
 * p*aCol bytes; `scratch` (matmulScratchBytes) is this range's own.
 */
function computeRows(
  c: usize, a: usize, aRow: usize, aCol: usize, packed: usize, n: i32, k: i32, ldc: i32,
  accumulate: i32, scratch: usize, rowStart: i32, rowEnd: i32,
): void {
  const ldcBytes = (<usize>ldc) << 2;
  if (k <= 0) {
    if (accumulate == 0) {
      for (let i = rowStart; i < rowEnd; i++) memory.fill(c + (<usize>i) * ldcBytes, 0, (<usize>n) << 2);
    }
    return;
  }
  const panels = (n + NR - 1) / NR;
  const panelBytes = (<usize>k) * (<usize>NR) * 4;
  // micro2's result tile, after the packed A block in this range's own scratch
  const tile = scratch + A_BLOCK_BYTES;
  const mc = (<usize>n) * (<usize>KC) * 4 > WIDE_B_BYTES ? MC_WIDE : MC;
  // Depth blocks outside row blocks: the B panels' slices for one depth block
  // (KC×n floats, 256 KiB at n = 256) stay in L2 while every row block of this
  // range passes over them, next to the 64 KiB A block. With rows outside, a
  // long depth (k = 2048, the weight gradients) streamed all of packed B from L3
  // once per row block: 1.04-1.12× on those shapes; the same bits, since C still
  // receives each element's depth blocks in increasing order.
  for (let p0 = 0; p0 < k; p0 += KC) {
    const kc = min(KC, k - p0);
    const add = accumulate != 0 || p0 > 0;
    const bBlock = packed + ((<usize>p0) << 6);
    const pairBytes = (<usize>kc) << 3;
    for (let i0 = rowStart; i0 < rowEnd; i0 += mc) {
      const i1 = min(i0 + mc, rowEnd);
      packA(scratch, a, aRow, aCol, i0, i1, p0, kc);
      for (let jb = 0; jb < panels; jb++) {
        const j0 = jb * NR;
        const cols = min(NR, n - j0);
        const bp = bBlock + (<usize>jb) * panelBytes;
        let cp = c + ((<usize>j0) << 2) + (<usize>i0) * ldcBytes;
        let ap = scratch;
        let i = i0;
        for (; i + 2 <= i1; i += 2) {
          micro2(tile, ap, bp, kc, scratch);
          storeTile2(cp, ldcBytes, tile, cols, add);
          ap += pairBytes;
          cp += ldcBytes << 1;
        }
        if (i < i1) micro1(cp, ap, bp, kc, cols, add);
      }
    }
  }
}

/** Bytes of A-packing scratch that each concurrent row range needs. */
export function matmulScratchBytes(): usize {
  return A_BLOCK_BYTES + TILE_BYTES;
}

/**
 * Rows [rowStart, rowEnd) of C (+)= op(A)·B̂ with B̂ packed by matmulPackNT/NN.
 * op(A) is A [m,k] (NT, NN), or Aᵀ with A [k,m] when transposedA (TN).
 * `scratch` holds matmulScratchBytes() and must not be shared with a concurrent call.
 */
export function matmulPackedRows(
  c: usize, a: usize, packed: usize, m: i32, n: i32, k: i32, lda: i32, ldc: i32,
  accumulate: i32, transposedA: i32, scratch: usize, rowStart: i32, rowEnd: i32,
): void {
  const ldaBytes = (<usize>lda) << 2;
  const aRow = transposedA ? 4 : ldaBytes;
  const aCol = transposedA ? ldaBytes : 4;
  computeRows(c, a, aRow, aCol, packed, n, k, ldc, accumulate, scratch, max(rowStart, 0), min(rowEnd, m));
}

/**
 * matmulPackedRows split into tasks of `rowsPerTask` rows: a pool runs tasks
 * [taskStart, taskEnd) on thread `thread`, which uses the A scratch at
 * scratch + thread*matmulScratchBytes(). Any thread may claim any task: a row's
 * result does not depend on which task or thread computed it.
 */
export function matmulPackedTasks(
  c: usize, a: usize, packed: usize, m: i32, n: i32, k: i32, lda: i32, ldc: i32,
  accumulate: i32, transposedA: i32, scratch: usize, rowsPerTask: i32, taskStart: i32, taskEnd: i32, thread: i32,
): void {
  const slot = scratch + (<usize>thread) * matmulScratchBytes();
  for (let t = taskStart; t < taskEnd; t++) {
    const from = t * rowsPerTask;
    matmulPackedRows(c, a, packed, m, n, k, lda, ldc, accumulate, transposedA, slot, from, min(m, from + rowsPerTask));
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
  matmulPackedRows(c, a, scratch, m, n, k, lda, ldc, accumulate, 0, scratch + matmulPackedBytes(n, k), rowStart, rowEnd);
}

/** One call: C[i,j] (+)= Σ_p A[i,p]·B[p,j]; arguments as matmulNT. */
export function matmulNN(
  c: usize, a: usize, b: usize, m: i32, n: i32, k: i32, lda: i32, ldb: i32, ldc: i32,
  accumulate: i32, scratch: usize, rowStart: i32, rowEnd: i32,
): void {
  matmulPackNN(scratch, b, n, k, ldb, 0, matmulPanelCount(n));
  matmulPackedRows(c, a, scratch, m, n, k, lda, ldc, accumulate, 0, scratch + matmulPackedBytes(n, k), rowStart, rowEnd);
}

/** One call: C[i,j] (+)= Σ_p A[p,i]·B[p,j]; arguments as matmulNT. */
export function matmulTN(
  c: usize, a: usize, b: usize, m: i32, n: i32, k: i32, lda: i32, ldb: i32, ldc: i32,
  accumulate: i32, scratch: usize, rowStart: i32, rowEnd: i32,
): void {
  matmulPackNN(scratch, b, n, k, ldb, 0, matmulPanelCount(n));
  matmulPackedRows(c, a, scratch, m, n, k, lda, ldc, accumulate, 1, scratch + matmulPackedBytes(n, k), rowStart, rowEnd);
}
