// Causal self-attention with grouped-query heads (HF `repeat_kv`: query head h
// reads kv head h / (heads / kvHeads)), scale 1/√hd, forward and backward, as
// blocked products on query × key tiles (flash-attention 2 style): the forward
// saves only the log-sum-exp of each query row, the backward recomputes the
// probabilities from q, k and that lse.
//
// Layouts (row-major f32, pointers are byte offsets):
//   q, out, dq, dout  [b, t, heads, hd]
//   k, v, dk, dv      [b, t, kvHeads, hd]
//   lse               [b, heads, t]   lse_i = log Σ_{j≤i} exp(q_i·k_j/√hd)
// dq, dk and dv are accumulated (+=), so the caller zeroes them or sums into them.
//
// Tiles. Keys go in tiles of KEY_TILE, queries (one head's consecutive positions)
// in tiles of QUERY_TILE, which divides KEY_TILE, so a query tile never starts
// inside a key tile. A query tile × key tile block is computed only up to the
// diagonal: key tiles past the query tile's last position are skipped, and on the
// diagonal tile each pair of key rows starts at the 16-query panel that holds its
// first visible query (and each pair of query rows stops at its last visible key).
// Scores are kept transposed, sᵀ[key][query]: the query index runs along the SIMD
// lanes, so the softmax of four queries is four independent lane-wise reductions
// (no horizontal sums), and every product is a broadcast × row product of one
// register-blocked 2×16 micro-kernel (tile2x16): q is packed transposed once per
// query tile (forward) or head (backward), k, v, dout and q rows are read in place.
//
// Forward (units u over (batch, query head, query tile), heaviest tiles first so
// that claimed chunks finish together): for each key tile sᵀ = k·qᵀ, a two-pass
// softmax per query lane (tile max, m_new = max(m, tile max), p = exp(s − m_new),
// l ← l·α + Σp with α = exp(m − m_new)), then out ← out·α + p·v. At the end
// out /= l and lse = m + log l. A unit writes only its query rows of out and lse.
//
// Backward (units u over (batch, kv head), since a unit owns its kv head's dk and
// dv rows): for each query head of the group and query tile (its q and dout packed
// once), and each key tile up to the diagonal: sᵀ = k·qᵀ, dpᵀ = v·doutᵀ, p = exp(s/√hd − lse), dsᵀ = p∘(dp − D)/√hd
// with D_i = dout_i·out_i, then dv += pᵀ·dout and dk += dsᵀ·q (key rows) and
// dq += ds·k (query rows).
//
// Exactness. Every element is one f32 sum with an order fixed by (t, hd, heads,
// kvHeads) and the two tile sizes, never by the unit split or the thread that runs
// a unit: bit-identical however units are claimed. A key past a query's diagonal
// gets score −∞ and probability (and ds) exactly 0, so keys after position i never
// change out[i] in any bit (for finite inputs: 0·x adds ±0 to a sum that started
// at +0, which leaves it unchanged). No FMA and no relaxed SIMD in the default
// build (the opt-in relaxed build fuses tile2x16's multiply-adds, see mul-add.ts).
//
// Scratch. Each call gets a scratch block and the index of the thread running it;
// the thread uses attention{Forward,Backward}ScratchBytes bytes at
// scratch + thread·that, so a pool passes one region per thread. Its contents on
// entry do not matter. Both sizes depend on hd alone (tiles, never rows of t).
import { exp4 } from "./simd-exp";
import { rowLane, storeRow } from "./store-row";
import { mulAdd } from "./mul-add";

/** Columns per micro-kernel row: four f32x4 vectors. */
const PANEL: i32 = 16;
/** Keys per key tile. The forward's softmax and the backward's dq sums are blocked by it: it fixes bits. */
const KEY_TILE: i32 = 64;
/** Queries per query tile (a multiple of PANEL dividing KEY_TILE). The backward's dk/dv sums are blocked by it: it fixes bits. */
const QUERY_TILE: i32 = 64;
/** sᵀ rows are QUERY_TILE floats apart. */
const S_ROW_BYTES: usize = <usize>QUERY_TILE << 2;

// micro-kernel output modes
const STORE: i32 = 0;
const ADD: i32 = 1;
/** d ← d·α_row + acc (the forward's rescaled output) */
const SCALE_ADD: i32 = 2;

// @ts-ignore: decorator
@inline
function roundUp16(x: i32): i32 {
  return (x + 15) & ~15;
}

/** Bytes rounded up to a multiple of 256, so per-thread regions stay aligned. */
// @ts-ignore: decorator
@inline
function align256(x: usize): usize {
  return (x + 255) & ~(<usize>255);
}

// ---------------------------------------------------------------- shared pieces

/**
 * The micro-kernel: for m = 0, 1 and c < 16,
 *   acc_m[c] = Σ_{p < depth} A_m[p] · B_p[c]     (one f32 sum, p increasing)
 * where A_m[p] is the f32 at a_m + p·aStep and B_p the 16 floats at b + p·bStep;
 * then all 16 columns of row m are written: d_m = acc_m (STORE), d_m + acc_m (ADD)
 * or d_m·α_m + acc_m (SCALE_ADD). A lone row passes a1 = a0 and a sink for d1.
 * Only plain loads and stores after the loop: V8 still unrolls it and keeps the
 * eight accumulators in registers (see matmul.ts on micro2).
 */
function tile2x16(d0: usize, d1: usize, a0: usize, a1: usize, aStep: usize, b: usize, bStep: usize, depth: i32, mode: i32, alpha0: f32, alpha1: f32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0), c03 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0), c12 = f32x4.splat(0), c13 = f32x4.splat(0);
  const end = a0 + (<usize>depth) * aStep;
  if (a0 < end) {
    // The bounds-check limits of the loop's loads computed once, before it, for
    // Deno (see primeBoundsChecks in matmul.ts); depth >= 1 here, so b has 64 bytes.
    v128.load32_splat(b); v128.load(b); v128.load(b, 16); v128.load(b, 32); v128.load(b, 48);
    do {
      const x0 = v128.load32_splat(a0), x1 = v128.load32_splat(a1);
      let w = v128.load(b);
      c00 = mulAdd(c00, x0, w); c10 = mulAdd(c10, x1, w);
      w = v128.load(b, 16);
      c01 = mulAdd(c01, x0, w); c11 = mulAdd(c11, x1, w);
      w = v128.load(b, 32);
      c02 = mulAdd(c02, x0, w); c12 = mulAdd(c12, x1, w);
      w = v128.load(b, 48);
      c03 = mulAdd(c03, x0, w); c13 = mulAdd(c13, x1, w);
      a0 += aStep;
      a1 += aStep;
      b += bStep;
    } while (a0 < end);
  }
  if (mode != STORE) {
    let s0 = v128.load(d0), s1 = v128.load(d0, 16), s2 = v128.load(d0, 32), s3 = v128.load(d0, 48);
    let t0 = v128.load(d1), t1 = v128.load(d1, 16), t2 = v128.load(d1, 32), t3 = v128.load(d1, 48);
    if (mode == SCALE_ADD) {
      const x = f32x4.splat(alpha0), y = f32x4.splat(alpha1);
      s0 = f32x4.mul(s0, x); s1 = f32x4.mul(s1, x); s2 = f32x4.mul(s2, x); s3 = f32x4.mul(s3, x);
      t0 = f32x4.mul(t0, y); t1 = f32x4.mul(t1, y); t2 = f32x4.mul(t2, y); t3 = f32x4.mul(t3, y);
    }
    c00 = f32x4.add(s0, c00); c01 = f32x4.add(s1, c01); c02 = f32x4.add(s2, c02); c03 = f32x4.add(s3, c03);
    c10 = f32x4.add(t0, c10); c11 = f32x4.add(t1, c11); c12 = f32x4.add(t2, c12); c13 = f32x4.add(t3, c13);
  }
  v128.store(d0, c00); v128.store(d0, c01, 16); v128.store(d0, c02, 32); v128.store(d0, c03, 48);
  v128.store(d1, c10); v128.store(d1, c11, 16); v128.store(d1, c12, 32); v128.store(d1, c13, 48);
}

/**
 * Rows d0, d1 (d1 unused when lone) of an output with hd columns, panel of `cols`
 * (≤ 16) columns, from a product with a packed B (rows 64 bytes apart): full
 * panels go straight to the output; a narrower last panel goes through `tile`
 * (32 floats) so that nothing past column hd is written. Same arithmetic both ways.
 */
function rowProduct(d0: usize, d1: usize, lone: bool, cols: i32, mode: i32, alpha0: f32, alpha1: f32, a0: usize, a1: usize, aStep: usize, b: usize, depth: i32, tile: usize): void {
  if (cols == PANEL) {
    tile2x16(d0, lone ? tile : d1, a0, a1, aStep, b, 64, depth, mode, alpha0, alpha1);
  } else {
    tile2x16(tile, tile + 64, a0, a1, aStep, b, 64, depth, STORE, 0, 0);
    storeTile(d0, d1, lone, cols, mode, alpha0, alpha1, tile);
  }
}

/** d ← d·alpha + v over the first `cols` floats of a 16-wide row (v in four registers). */
function storeRowScaled(d: usize, cols: i32, alpha: f32, v0: v128, v1: v128, v2: v128, v3: v128): void {
  const a = f32x4.splat(alpha);
  if (cols == PANEL) {
    v128.store(d, f32x4.add(f32x4.mul(v128.load(d), a), v0));
    v128.store(d, f32x4.add(f32x4.mul(v128.load(d, 16), a), v1), 16);
    v128.store(d, f32x4.add(f32x4.mul(v128.load(d, 32), a), v2), 32);
    v128.store(d, f32x4.add(f32x4.mul(v128.load(d, 48), a), v3), 48);
    return;
  }
  for (let q = 0; q < cols; q++) {
    const dst = d + ((<usize>q) << 2);
    store<f32>(dst, load<f32>(dst) * alpha + rowLane(q, v0, v1, v2, v3));
  }
}

/** Writes the two rows of a tile2x16 result at `tile` to d0 (and d1 unless lone), first `cols` columns, by mode. */
function storeTile(d0: usize, d1: usize, lone: bool, cols: i32, mode: i32, alpha0: f32, alpha1: f32, tile: usize): void {
  if (mode == SCALE_ADD) {
    storeRowScaled(d0, cols, alpha0, v128.load(tile), v128.load(tile, 16), v128.load(tile, 32), v128.load(tile, 48));
    if (!lone) storeRowScaled(d1, cols, alpha1, v128.load(tile, 64), v128.load(tile, 80), v128.load(tile, 96), v128.load(tile, 112));
  } else {
    const add = mode == ADD;
    storeRow(d0, cols, add, v128.load(tile), v128.load(tile, 16), v128.load(tile, 32), v128.load(tile, 48));
    if (!lone) storeRow(d1, cols, add, v128.load(tile, 64), v128.load(tile, 80), v128.load(tile, 96), v128.load(tile, 112));
  }
}

/**
 * Packs `rows` rows of hd floats (row i at src + i·srcStride) transposed:
 * dst[c][i] at dst + c·dstStride + 4i, for i < rowsPad (rows past `rows` are 0).
 * 4×4 blocks go through registers; the ragged edges one float at a time.
 */
function packTransposed(dst: usize, dstStride: usize, src: usize, srcStride: usize, rows: i32, rowsPad: i32, hd: i32): void {
  const hd4 = hd & ~3;
  let i = 0;
  for (; i + 4 <= rows; i += 4) {
    const r0 = src + (<usize>i) * srcStride;
    const r1 = r0 + srcStride, r2 = r1 + srcStride, r3 = r2 + srcStride;
    const o = dst + ((<usize>i) << 2);
    for (let c = 0; c < hd4; c += 4) {
      const off = (<usize>c) << 2;
      const x0 = v128.load(r0 + off), x1 = v128.load(r1 + off), x2 = v128.load(r2 + off), x3 = v128.load(r3 + off);
      const t0 = v128.shuffle<f32>(x0, x1, 0, 4, 1, 5);
      const t1 = v128.shuffle<f32>(x0, x1, 2, 6, 3, 7);
      const t2 = v128.shuffle<f32>(x2, x3, 0, 4, 1, 5);
      const t3 = v128.shuffle<f32>(x2, x3, 2, 6, 3, 7);
      const col = o + (<usize>c) * dstStride;
      v128.store(col, v128.shuffle<f32>(t0, t2, 0, 1, 4, 5));
      v128.store(col + dstStride, v128.shuffle<f32>(t0, t2, 2, 3, 6, 7));
      v128.store(col + 2 * dstStride, v128.shuffle<f32>(t1, t3, 0, 1, 4, 5));
      v128.store(col + 3 * dstStride, v128.shuffle<f32>(t1, t3, 2, 3, 6, 7));
    }
    for (let c = hd4; c < hd; c++) {
      const off = (<usize>c) << 2;
      const col = o + (<usize>c) * dstStride;
      store<f32>(col, load<f32>(r0 + off));
      store<f32>(col, load<f32>(r1 + off), 4);
      store<f32>(col, load<f32>(r2 + off), 8);
      store<f32>(col, load<f32>(r3 + off), 12);
    }
  }
  for (; i < rowsPad; i++) {
    const r = src + (<usize>i) * srcStride;
    const o = dst + ((<usize>i) << 2);
    for (let c = 0; c < hd; c++) store<f32>(o + (<usize>c) * dstStride, i < rows ? load<f32>(r + ((<usize>c) << 2)) : 0);
  }
}

/**
 * Packs `rows` rows of hd floats (row i at src + i·srcStride) into 16-column
 * panels: panel cp at dst + cp·rowsCap·64 holds [i][16] = columns 16cp.., zero past
 * hd. Every B operand of a row product goes through this: rows of q, k, v, dout
 * lie heads·hd or kvHeads·hd floats apart (1 KiB at bench-tiny), so a tile's rows
 * read in place would share a few L1 sets and evict each other; packed they are
 * contiguous, and a 16-wide read never runs past a tensor's end when hd % 16 != 0.
 */
function packRowPanels(dst: usize, src: usize, srcStride: usize, rows: i32, rowsCap: i32, hd: i32): void {
  const panels = roundUp16(hd) >> 4;
  const panelBytes = (<usize>rowsCap) << 6;
  for (let cp = 0; cp < panels; cp++) {
    const c0 = cp << 4;
    const cols = min(PANEL, hd - c0);
    let out = dst + (<usize>cp) * panelBytes;
    let row = src + ((<usize>c0) << 2);
    if (cols == PANEL) {
      for (let i = 0; i < rows; i++) {
        v128.store(out, v128.load(row));
        v128.store(out, v128.load(row, 16), 16);
        v128.store(out, v128.load(row, 32), 32);
        v128.store(out, v128.load(row, 48), 48);
        out += 64;
        row += srcStride;
      }
    } else {
      for (let i = 0; i < rows; i++) {
        for (let c = 0; c < PANEL; c++) store<f32>(out + ((<usize>c) << 2), c < cols ? load<f32>(row + ((<usize>c) << 2)) : 0);
        out += 64;
        row += srcStride;
      }
    }
  }
}

/** ⟨x, y⟩ over hd floats: four lanes over the first hd & ~3, combined (l0+l1)+(l2+l3), then the tail in order. */
function dot(x: usize, y: usize, hd: i32): f32 {
  let a = f32x4.splat(0);
  const hd4 = hd & ~3;
  for (let c = 0; c < hd4; c += 4) {
    const off = (<usize>c) << 2;
    a = f32x4.add(a, f32x4.mul(v128.load(x + off), v128.load(y + off)));
  }
  let s = (f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1)) + (f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3));
  for (let c = hd4; c < hd; c++) s += load<f32>(x + ((<usize>c) << 2)) * load<f32>(y + ((<usize>c) << 2));
  return s;
}

/** Lane m holds first + m: the positions of four consecutive queries. */
// @ts-ignore: decorator
@inline
function positions4(first: i32): v128 {
  return i32x4.add(i32x4.splat(first), v128.load(LANE_INDEX));
}
const LANE_INDEX = memory.data<i32>([0, 1, 2, 3], 16);

/** The first 16-query panel of a query tile starting at p0 that holds a position ≥ j (0 when j ≤ p0). */
// @ts-ignore: decorator
@inline
function firstPanel(j: i32, p0: i32): i32 {
  return j > p0 ? (j - p0) >> 4 : 0;
}

// ---------------------------------------------------------------- forward

/** Query tiles per head and batch row. */
// @ts-ignore: decorator
@inline
function queryTiles(t: i32): i32 {
  return (t + QUERY_TILE - 1) / QUERY_TILE;
}

/** Units of attentionForward: (batch row, query head, query tile). */
export function attentionForwardUnits(b: i32, t: i32, heads: i32): i32 {
  return b * heads * queryTiles(t);
}

/** Forward scratch bytes per thread (independent of t): qᵀ, sᵀ, m, l, α, a result tile, a v panel pack. */
export function attentionForwardScratchBytes(hd: i32): usize {
  const hP = <usize>roundUp16(hd);
  const Q = <usize>QUERY_TILE, K = <usize>KEY_TILE;
  return align256((<usize>hd * Q + K * Q + 3 * Q + 2 * <usize>PANEL + hP * K) << 2);
}

/**
 * out = softmax(q·kᵀ/√hd + causal mask)·v and lse, the log-sum-exp of each
 * query row's scaled scores, for forward units [unitStart, unitEnd) (see
 * attentionForwardUnits), using the scratch region of `thread`.
 */
export function attentionForward(out: usize, lse: usize, scratch: usize, q: usize, k: usize, v: usize, b: i32, t: i32, heads: i32, kvHeads: i32, hd: i32, unitStart: i32, unitEnd: i32, thread: i32): void {
  if (kvHeads <= 0 || heads % kvHeads != 0) abort("attentionForward: heads must be a positive multiple of kvHeads");
  const G = heads / kvHeads;
  const scale = <f32>(1.0 / Math.sqrt(<f64>hd));
  const vs = f32x4.splat(scale);
  const negInf = f32x4.splat(-Infinity);
  const qStride = (<usize>heads * <usize>hd) << 2;
  const kStride = (<usize>kvHeads * <usize>hd) << 2;
  const colPanels = roundUp16(hd) >> 4;
  const tiles = queryTiles(t);
  const bh = b * heads;
  // scratch layout, in the order of attentionForwardScratchBytes
  const qT = scratch + (<usize>thread) * attentionForwardScratchBytes(hd);
  const sT = qT + (((<usize>hd) * <usize>QUERY_TILE) << 2);
  const mBuf = sT + (((<usize>KEY_TILE) * <usize>QUERY_TILE) << 2);
  const lBuf = mBuf + S_ROW_BYTES;
  const aBuf = lBuf + S_ROW_BYTES;
  const tile = aBuf + S_ROW_BYTES;
  const vPack = tile + ((<usize>(2 * PANEL)) << 2);
  for (let u = unitStart; u < unitEnd; u++) {
    const qt = tiles - 1 - u / bh; // heaviest (last) query tiles first
    const r = u % bh;
    const bi = r / heads;
    const h = r % heads;
    const g = h / G;
    const p0 = qt * QUERY_TILE;
    const nq = min(QUERY_TILE, t - p0);
    const last = p0 + nq - 1;
    const qPanels = (nq + 15) >> 4;
    const rowOff = ((<usize>(bi * t + p0) * <usize>heads) + <usize>h) * (<usize>hd << 2);
    const qBase = q + rowOff;
    const oBase = out + rowOff;
    const kvOff = ((<usize>(bi * t) * <usize>kvHeads) + <usize>g) * (<usize>hd << 2);
    const kBase = k + kvOff;
    const vBase = v + kvOff;
    packTransposed(qT, S_ROW_BYTES, qBase, qStride, nq, qPanels << 4, hd);
    for (let j0 = 0; j0 <= last; j0 += KEY_TILE) {
      const nk = min(KEY_TILE, last - j0 + 1);
      const first = j0 == 0;
      // sᵀ[jj][i] = k_{j0+jj} · q_i (raw), for the query panels each key pair can see
      for (let jj = 0; jj < nk; jj += 2) {
        const lone = jj + 1 == nk;
        const a0 = kBase + (<usize>(j0 + jj)) * kStride;
        const d0 = sT + (<usize>jj) * S_ROW_BYTES;
        for (let qp = firstPanel(j0 + jj, p0); qp < qPanels; qp++) {
          const col = (<usize>qp) << 6;
          tile2x16(d0 + col, lone ? tile : d0 + S_ROW_BYTES + col, a0, lone ? a0 : a0 + kStride, 4, qT + col, S_ROW_BYTES, hd, STORE, 0, 0);
        }
      }
      // softmax of the tile, four query lanes at a time; pᵀ replaces sᵀ
      for (let i4 = 0; i4 < nq; i4 += 4) {
        const pos0 = p0 + i4;
        const jEnd = min(nk, pos0 + 4 - j0); // keys ≤ pos0 + 3: the only ones a lane can see
        const posv = positions4(pos0);
        const qOff = (<usize>i4) << 2;
        const mOld = first ? negInf : v128.load(mBuf + qOff);
        // keys jj < jAll are visible to all four lanes; the (at most 3) keys after them to some
        const jAll = min(jEnd, pos0 - j0 + 1);
        let mt = negInf;
        for (let jj = 0; jj < jAll; jj++) mt = f32x4.pmax(mt, v128.load(sT + (<usize>jj) * S_ROW_BYTES + qOff));
        // max(s)·scale = max(s·scale) bit for bit: rounding is monotonic and scale > 0
        mt = f32x4.mul(mt, vs);
        for (let jj = jAll; jj < jEnd; jj++) {
          const visible = i32x4.ge_s(posv, i32x4.splat(j0 + jj));
          mt = f32x4.pmax(mt, v128.bitselect(f32x4.mul(v128.load(sT + (<usize>jj) * S_ROW_BYTES + qOff), vs), negInf, visible));
        }
        const mNew = f32x4.pmax(mOld, mt);
        let sum = f32x4.splat(0);
        for (let jj = 0; jj < jAll; jj++) {
          const at = sT + (<usize>jj) * S_ROW_BYTES + qOff;
          const p = exp4(f32x4.sub(f32x4.mul(v128.load(at), vs), mNew));
          v128.store(at, p);
          sum = f32x4.add(sum, p);
        }
        for (let jj = jAll; jj < jEnd; jj++) {
          const at = sT + (<usize>jj) * S_ROW_BYTES + qOff;
          const visible = i32x4.ge_s(posv, i32x4.splat(j0 + jj));
          const p = v128.and(exp4(f32x4.sub(f32x4.mul(v128.load(at), vs), mNew)), visible);
          v128.store(at, p);
          sum = f32x4.add(sum, p);
        }
        if (first) {
          v128.store(lBuf + qOff, sum);
        } else {
          const alpha = exp4(f32x4.sub(mOld, mNew));
          v128.store(aBuf + qOff, alpha);
          v128.store(lBuf + qOff, f32x4.add(f32x4.mul(v128.load(lBuf + qOff), alpha), sum));
        }
        v128.store(mBuf + qOff, mNew);
      }
      // out ← out·α + pᵀᵀ·v over the keys each query pair can see
      packRowPanels(vPack, vBase + (<usize>j0) * kStride, kStride, nk, KEY_TILE, hd);
      for (let i = 0; i < nq; i += 2) {
        const lone = i + 1 == nq;
        const depth = min(nk, p0 + (lone ? i : i + 1) - j0 + 1);
        const a0 = sT + ((<usize>i) << 2);
        const d0 = oBase + (<usize>i) * qStride;
        const al0 = first ? <f32>0 : load<f32>(aBuf + ((<usize>i) << 2));
        const al1 = first || lone ? <f32>0 : load<f32>(aBuf + ((<usize>i) << 2), 4);
        for (let cp = 0; cp < colPanels; cp++) {
          const co = (<usize>cp) << 6;
          rowProduct(d0 + co, d0 + qStride + co, lone, min(PANEL, hd - (cp << 4)), first ? STORE : SCALE_ADD, al0, al1,
            a0, lone ? a0 : a0 + 4, S_ROW_BYTES, vPack + (<usize>cp) * (<usize>KEY_TILE << 6), depth, tile);
        }
      }
    }
    // out /= l, lse = m + log l
    const hd4 = hd & ~3;
    const lseRow = lse + (((<usize>(bi * heads + h)) * <usize>t + <usize>p0) << 2);
    for (let i = 0; i < nq; i++) {
      const l = load<f32>(lBuf + ((<usize>i) << 2));
      const inv: f32 = <f32>1.0 / l;
      const vinv = f32x4.splat(inv);
      const o = oBase + (<usize>i) * qStride;
      for (let c = 0; c < hd4; c += 4) {
        const co = (<usize>c) << 2;
        v128.store(o + co, f32x4.mul(v128.load(o + co), vinv));
      }
      for (let c = hd4; c < hd; c++) {
        const co = (<usize>c) << 2;
        store<f32>(o + co, load<f32>(o + co) * inv);
      }
      store<f32>(lseRow + ((<usize>i) << 2), load<f32>(mBuf + ((<usize>i) << 2)) + Mathf.log(l));
    }
  }
}

// ---------------------------------------------------------------- backward

/**
 * Backward scratch bytes per thread: one query tile's qᵀ and doutᵀ, its lse and D,
 * the sᵀ and dsᵀ tiles, a result tile, and the row panels of the query tile's q
 * and dout and of one key tile's k. t and groupSize are accepted so that callers
 * size scratch from the call's full shape; the size depends on hd alone.
 */
export function attentionBackwardScratchBytes(t: i32, hd: i32, groupSize: i32): usize {
  const hP = <usize>roundUp16(hd);
  const Q = <usize>QUERY_TILE, K = <usize>KEY_TILE;
  return align256((2 * <usize>hd * Q + 2 * Q + 2 * K * Q + 2 * <usize>PANEL + hP * (K + 2 * Q)) << 2);
}

/**
 * Accumulates dq, dk, dv for backward units [unitStart, unitEnd) (u = batch row ·
 * kvHeads + kv head), given dout and the forward's out and lse, using the scratch
 * region of `thread` (see the header).
 */
export function attentionBackward(dq: usize, dk: usize, dv: usize, scratch: usize, dout: usize, out: usize, lse: usize, q: usize, k: usize, v: usize, b: i32, t: i32, heads: i32, kvHeads: i32, hd: i32, unitStart: i32, unitEnd: i32, thread: i32): void {
  if (kvHeads <= 0 || heads % kvHeads != 0) abort("attentionBackward: heads must be a positive multiple of kvHeads");
  const G = heads / kvHeads;
  const scale = <f32>(1.0 / Math.sqrt(<f64>hd));
  const vs = f32x4.splat(scale);
  const qStride = (<usize>heads * <usize>hd) << 2;
  const kStride = (<usize>kvHeads * <usize>hd) << 2;
  const colPanels = roundUp16(hd) >> 4;
  // scratch layout, in the order of attentionBackwardScratchBytes
  const qT = scratch + (<usize>thread) * attentionBackwardScratchBytes(t, hd, G);
  const doT = qT + (<usize>hd) * S_ROW_BYTES;
  const lseB = doT + (<usize>hd) * S_ROW_BYTES;
  const dB = lseB + S_ROW_BYTES;
  const sT = dB + S_ROW_BYTES;
  const dsT = sT + (<usize>KEY_TILE) * S_ROW_BYTES;
  const tile = dsT + (<usize>KEY_TILE) * S_ROW_BYTES;
  const kPack = tile + ((<usize>(2 * PANEL)) << 2);
  const qPack = kPack + ((<usize>colPanels * <usize>KEY_TILE) << 6);
  const doPack = qPack + ((<usize>colPanels * <usize>QUERY_TILE) << 6);
  for (let u = unitStart; u < unitEnd; u++) {
    const bi = u / kvHeads;
    const g = u % kvHeads;
    const kvOff = ((<usize>(bi * t) * <usize>kvHeads) + <usize>g) * (<usize>hd << 2);
    const kBase = k + kvOff, vBase = v + kvOff, dkBase = dk + kvOff, dvBase = dv + kvOff;
    for (let hh = 0; hh < G; hh++) {
      const h = g * G + hh;
      const rowOff = ((<usize>(bi * t) * <usize>heads) + <usize>h) * (<usize>hd << 2);
      const qBase = q + rowOff, doBase = dout + rowOff, oBase = out + rowOff, dqBase = dq + rowOff;
      const lseRow = lse + (((<usize>(bi * heads + h)) * <usize>t) << 2);
      // Query tiles outer: their q and dout (transposed and in row panels), lse and D
      // are packed once and stay in cache while the key tiles up to the diagonal go by.
      // Per element the sums run in the same order as key tiles outer would give.
      for (let p0 = 0; p0 < t; p0 += QUERY_TILE) {
        const nq = min(QUERY_TILE, t - p0);
        const qPanels = (nq + 15) >> 4;
        const last = p0 + nq - 1;
        const qRows = qBase + (<usize>p0) * qStride, doRows = doBase + (<usize>p0) * qStride;
        packTransposed(qT, S_ROW_BYTES, qRows, qStride, nq, qPanels << 4, hd);
        packTransposed(doT, S_ROW_BYTES, doRows, qStride, nq, qPanels << 4, hd);
        packRowPanels(qPack, qRows, qStride, nq, QUERY_TILE, hd);
        packRowPanels(doPack, doRows, qStride, nq, QUERY_TILE, hd);
        for (let i = 0; i < QUERY_TILE; i++) {
          const io = (<usize>i) << 2;
          const inside = i < nq;
          store<f32>(lseB + io, inside ? load<f32>(lseRow + ((<usize>(p0 + i)) << 2)) : 0);
          store<f32>(dB + io, inside ? dot(doRows + (<usize>i) * qStride, oBase + (<usize>(p0 + i)) * qStride, hd) : 0);
        }
        // key tiles on or below the diagonal (QUERY_TILE divides KEY_TILE, so j0 ≤ p0)
        for (let j0 = 0; j0 <= last; j0 += KEY_TILE) {
          const nk = min(KEY_TILE, last - j0 + 1); // keys up to the tile's last query
          packRowPanels(kPack, kBase + (<usize>j0) * kStride, kStride, nk, KEY_TILE, hd);
          // sᵀ = k·qᵀ and dpᵀ = v·doutᵀ (raw), for the query panels each key pair can see
          for (let jj = 0; jj < nk; jj += 2) {
            const lone = jj + 1 == nk;
            const kr = kBase + (<usize>(j0 + jj)) * kStride;
            const vr = vBase + (<usize>(j0 + jj)) * kStride;
            const ds0 = sT + (<usize>jj) * S_ROW_BYTES;
            const dd0 = dsT + (<usize>jj) * S_ROW_BYTES;
            for (let qp = firstPanel(j0 + jj, p0); qp < qPanels; qp++) {
              const col = (<usize>qp) << 6;
              tile2x16(ds0 + col, lone ? tile : ds0 + S_ROW_BYTES + col, kr, lone ? kr : kr + kStride, 4, qT + col, S_ROW_BYTES, hd, STORE, 0, 0);
              tile2x16(dd0 + col, lone ? tile : dd0 + S_ROW_BYTES + col, vr, lone ? vr : vr + kStride, 4, doT + col, S_ROW_BYTES, hd, STORE, 0, 0);
            }
          }
          // p = exp(s/√hd − lse) and ds = p∘(dp − D)/√hd in place, 0 where a query cannot see the key.
          // Lanes past t hold finite values (q and dout padded with 0) that no product reads.
          for (let jj = 0; jj < nk; jj++) {
            const j = j0 + jj;
            const jv = i32x4.splat(j);
            const rowS = sT + (<usize>jj) * S_ROW_BYTES;
            const rowD = dsT + (<usize>jj) * S_ROW_BYTES;
            const start = firstPanel(j0 + (jj & ~1), p0) << 4;
            const end = qPanels << 4;
            const masked = min(end, max(start, (j - p0 + 3) & ~3)); // groups [start, masked) hold a query before j
            for (let i4 = start; i4 < end; i4 += 4) {
              const io = (<usize>i4) << 2;
              let p = exp4(f32x4.sub(f32x4.mul(v128.load(rowS + io), vs), v128.load(lseB + io)));
              if (i4 < masked) p = v128.and(p, i32x4.ge_s(positions4(p0 + i4), jv));
              v128.store(rowS + io, p);
              v128.store(rowD + io, f32x4.mul(f32x4.mul(p, f32x4.sub(v128.load(rowD + io), v128.load(dB + io))), vs));
            }
          }
          // dv_j += Σ_i p_ij dout_i and dk_j += Σ_i ds_ij q_i, over the queries that see key j
          for (let jj = 0; jj < nk; jj += 2) {
            const lone = jj + 1 == nk;
            const j = j0 + jj;
            const i0 = j > p0 ? j - p0 : 0;
            const depth = nq - i0;
            const aS = sT + (<usize>jj) * S_ROW_BYTES + ((<usize>i0) << 2);
            const aD = dsT + (<usize>jj) * S_ROW_BYTES + ((<usize>i0) << 2);
            const dvj = dvBase + (<usize>j) * kStride;
            const dkj = dkBase + (<usize>j) * kStride;
            for (let cp = 0; cp < colPanels; cp++) {
              const co = (<usize>cp) << 6;
              const cols = min(PANEL, hd - (cp << 4));
              const bOff = ((<usize>i0) << 6) + (<usize>cp) * (<usize>QUERY_TILE << 6);
              rowProduct(dvj + co, dvj + kStride + co, lone, cols, ADD, 0, 0, aS, lone ? aS : aS + S_ROW_BYTES, 4, doPack + bOff, depth, tile);
              rowProduct(dkj + co, dkj + kStride + co, lone, cols, ADD, 0, 0, aD, lone ? aD : aD + S_ROW_BYTES, 4, qPack + bOff, depth, tile);
            }
          }
          // dq_i += Σ_j ds_ij k_j, over the keys each query pair can see
          for (let i = 0; i < nq; i += 2) {
            const lone = i + 1 == nq;
            const depth = min(nk, p0 + (lone ? i : i + 1) - j0 + 1);
            const a0 = dsT + ((<usize>i) << 2);
            const dqi = dqBase + (<usize>(p0 + i)) * qStride;
            for (let cp = 0; cp < colPanels; cp++) {
              const co = (<usize>cp) << 6;
              rowProduct(dqi + co, dqi + qStride + co, lone, min(PANEL, hd - (cp << 4)), ADD, 0, 0, a0, lone ? a0 : a0 + 4, S_ROW_BYTES, kPack + (<usize>cp) * (<usize>KEY_TILE << 6), depth, tile);
            }
          }
        }
      }
    }
  }
}
