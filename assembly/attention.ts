// Causal self-attention with grouped-query heads (HF `repeat_kv`: query head h
// reads kv head h / (heads / kvHeads)), scale 1/√hd, forward and backward, in the
// flash-attention style: the forward saves only the log-sum-exp of each query
// row, and the backward recomputes the probabilities from q, k and that lse.
//
// Layouts (row-major f32, pointers are byte offsets):
//   q, out, dq, dout  [b, t, heads, hd]
//   k, v, dk, dv      [b, t, kvHeads, hd]
//   lse               [b, heads, t]   lse_i = log Σ_{j≤i} exp(q_i·k_j/√hd)
// dq, dk and dv are accumulated (+=), so the caller zeroes them or sums into them.
//
// Units. Work is split in units u = bi·kvHeads + g: one batch row and one kv head
// with its group of G = heads/kvHeads query heads. A unit writes only its own
// rows of out, lse and dq, and only its own kv head's rows of dk and dv, so a
// thread pool may run disjoint [unitStart, unitEnd) ranges in parallel. Every
// sum a unit computes has an order fixed by (t, hd, G) alone, so the results are
// bit-identical however the units are split.
//
// Scratch. Only the backward needs scratch: `scratch` holds
// attentionScratchBytes(t, hd, G) bytes for ONE unit, and a call processes its
// units one after another reusing it, so each parallel task needs its own scratch
// region. Its contents on entry do not matter. It is linear in t (about
// 3·t·hd + 2·CHUNK_ROWS·t floats), never t². The forward uses no memory besides
// its outputs (everything else lives in registers).
//
// Forward: flash-style online softmax. Query rows are taken as (position, group
// head) pairs in position-major order, two at a time, so the two rows share every
// k and v load (for G ≥ 2 they are two heads of one position). Keys go in blocks
// of 4: the scores of the block (4-lane dot products over hd), the running max m
// and sum l (as f32x4), and out ← out·exp(m_old − m_new) + Σ p_j·v_j directly in
// the out row (the rescale is skipped when m did not move: it would multiply by
// exactly 1). At the end out is divided by l and lse = m + log l. The block
// structure depends only on the row's own length, so a row's bits never depend
// on its pair. This is slower per flop than the packed micro-kernel of the
// backward, but the forward has no scratch to pack k into.
//
// Backward: a unit packs its k and v once into 16-wide panels; its query rows (in
// the same position-major order, so the G heads of a position share every k/v
// load) go in chunks of CHUNK_ROWS. A chunk recomputes its scores into row
// buffers, p = exp(s/√hd − lse), dS = P∘(dP − D) with D_i = dout_i·out_i, and
// every product of the backward (q·kᵀ, dout·vᵀ, dS·k, dSᵀ·q, Pᵀ·dout) runs through
// one 2×16 register-blocked micro-kernel (8 f32x4 accumulators) over the panels.
// dk and dv get one += per key and chunk, with depth CHUNK_ROWS.
//
// Exactness. The forward output of row i sums p_ij·v_j over j ≤ i only: keys past
// the diagonal never enter it, so later positions cannot change out[i] in any
// bit. The backward zeroes P and dS past the diagonal and lets them through the
// chunk products as exact zeros. No FMA and no relaxed SIMD in the default
// build: Node, Deno and browsers give the same bits (the opt-in relaxed build
// fuses micro2x16's multiply-adds, see mul-add.ts).
import { exp4, exp1 } from "./simd-exp";
import { storeRow } from "./store-row";
import { mulAdd } from "./mul-add";

/** Columns per packed panel: four f32x4 vectors, the micro-kernel's width. */
const PANEL: i32 = 16;
/** Query rows per chunk (even). It is the depth of the dk/dv products. */
const CHUNK_ROWS: i32 = 32;

// @ts-ignore: decorator
@inline
function roundUp16(x: i32): i32 {
  return (x + 15) & ~15;
}

/**
 * Floats between score rows in the chunk buffers: t rounded up to a panel, plus
 * one panel so rows are not 2^k bytes apart (at t = 256 the 32 rows of a
 * column read by the dk/dv products would otherwise share a few L1 sets).
 */
// @ts-ignore: decorator
@inline
function scoreRowFloats(t: i32): i32 {
  return roundUp16(t) + PANEL;
}

/**
 * Scratch bytes one unit needs (see the header). groupSize is accepted so that
 * callers size scratch from the unit's full shape; the size does not depend on it.
 */
export function attentionScratchBytes(t: i32, hd: i32, groupSize: i32): usize {
  const tP = <usize>roundUp16(t);
  const hP = <usize>roundUp16(hd);
  const R = <usize>CHUNK_ROWS;
  // kT and vT key panels, k or v row panels, two score row buffers, two packed chunks, a sink.
  return ((2 * tP * <usize>hd) + hP * tP + 2 * R * <usize>scoreRowFloats(t) + 2 * hP * R + <usize>PANEL) << 2;
}

/** Byte offset of query row r of a unit (r = position·G + head in group) in a [b, t, heads, hd] tensor. */
// @ts-ignore: decorator
@inline
function rowOffset(r: i32, bi: i32, g: i32, G: i32, t: i32, heads: i32, hd: i32): usize {
  const pos = r / G;
  return ((<usize>(bi * t + pos) * <usize>heads) + <usize>(g * G + r % G)) * (<usize>hd << 2);
}

/** Byte offset of query row r's entry in lse [b, heads, t]. */
// @ts-ignore: decorator
@inline
function lseOffset(r: i32, bi: i32, g: i32, G: i32, t: i32, heads: i32): usize {
  return ((<usize>(bi * heads + g * G + r % G)) * <usize>t + <usize>(r / G)) << 2;
}

// ---------------------------------------------------------------- forward

// Lane m of the result is (a_m[0] + a_m[1]) + (a_m[2] + a_m[3]): four horizontal sums at once.
// @ts-ignore: decorator
@inline
function sumLanes4(a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const t0 = v128.shuffle<f32>(a0, a1, 0, 4, 1, 5);
  const t1 = v128.shuffle<f32>(a0, a1, 2, 6, 3, 7);
  const t2 = v128.shuffle<f32>(a2, a3, 0, 4, 1, 5);
  const t3 = v128.shuffle<f32>(a2, a3, 2, 6, 3, 7);
  const u0 = v128.shuffle<f32>(t0, t2, 0, 1, 4, 5);
  const u1 = v128.shuffle<f32>(t0, t2, 2, 3, 6, 7);
  const u2 = v128.shuffle<f32>(t1, t3, 0, 1, 4, 5);
  const u3 = v128.shuffle<f32>(t1, t3, 2, 3, 6, 7);
  return f32x4.add(f32x4.add(u0, u1), f32x4.add(u2, u3));
}

// s_m += x[c]·row_m[c] for the hd % 4 tail columns c, in index order.
// @ts-ignore: decorator
@inline
function addTail4(s: v128, x: usize, r0: usize, stride: usize, hd: i32): v128 {
  for (let c = hd & ~3; c < hd; c++) {
    const off = (<usize>c) << 2;
    let col = f32x4.splat(load<f32>(r0 + off));
    col = f32x4.replace_lane(col, 1, load<f32>(r0 + stride + off));
    col = f32x4.replace_lane(col, 2, load<f32>(r0 + 2 * stride + off));
    col = f32x4.replace_lane(col, 3, load<f32>(r0 + 3 * stride + off));
    s = f32x4.add(s, f32x4.mul(f32x4.splat(load<f32>(x + off)), col));
  }
  return s;
}

/** Four dot products ⟨x, row_m⟩ (m = 0..3, rows `stride` bytes apart), in the order of one row of the pair kernel. */
// @ts-ignore: decorator
@inline
function dots4(x: usize, r0: usize, stride: usize, hd: i32): v128 {
  const r1 = r0 + stride;
  const r2 = r1 + stride;
  const r3 = r2 + stride;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const hd4 = hd & ~3;
  for (let c = 0; c < hd4; c += 4) {
    const off = (<usize>c) << 2;
    const vx = v128.load(x + off);
    a0 = f32x4.add(a0, f32x4.mul(vx, v128.load(r0 + off)));
    a1 = f32x4.add(a1, f32x4.mul(vx, v128.load(r1 + off)));
    a2 = f32x4.add(a2, f32x4.mul(vx, v128.load(r2 + off)));
    a3 = f32x4.add(a3, f32x4.mul(vx, v128.load(r3 + off)));
  }
  return addTail4(sumLanes4(a0, a1, a2, a3), x, r0, stride, hd);
}

/** One dot product, in exactly the order of one lane of dots4. */
// @ts-ignore: decorator
@inline
function dot1(x: usize, r: usize, hd: i32): f32 {
  let a = f32x4.splat(0);
  const hd4 = hd & ~3;
  for (let c = 0; c < hd4; c += 4) {
    const off = (<usize>c) << 2;
    a = f32x4.add(a, f32x4.mul(v128.load(x + off), v128.load(r + off)));
  }
  let s = (f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1)) + (f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3));
  for (let c = hd4; c < hd; c++) {
    const off = (<usize>c) << 2;
    s += load<f32>(x + off) * load<f32>(r + off);
  }
  return s;
}

// The max of v's lanes in every lane. f32x4.pmax is one maxps; a scalar Mathf.max
// compiles to compare-and-branch code that mispredicts on random scores.
// @ts-ignore: decorator
@inline
function maxAllLanes(v: v128): v128 {
  v = f32x4.pmax(v, v128.shuffle<f32>(v, v, 2, 3, 0, 1));
  return f32x4.pmax(v, v128.shuffle<f32>(v, v, 1, 0, 3, 2));
}

// @ts-ignore: decorator
@inline
function sumLanes(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** o ← o·alpha + p_0·v_0 + p_1·v_1 + p_2·v_2 + p_3·v_3 (in that order; alpha splat), rows v_m `stride` bytes apart. */
function accumulate4(o: usize, alpha: v128, p: v128, v0: usize, stride: usize, hd: i32): void {
  const p0 = v128.shuffle<f32>(p, p, 0, 0, 0, 0);
  const p1 = v128.shuffle<f32>(p, p, 1, 1, 1, 1);
  const p2 = v128.shuffle<f32>(p, p, 2, 2, 2, 2);
  const p3 = v128.shuffle<f32>(p, p, 3, 3, 3, 3);
  const v1 = v0 + stride, v2 = v1 + stride, v3 = v2 + stride;
  const hd4 = hd & ~3;
  for (let c = 0; c < hd4; c += 4) {
    const off = (<usize>c) << 2;
    let a = f32x4.mul(v128.load(o + off), alpha);
    a = f32x4.add(a, f32x4.mul(p0, v128.load(v0 + off)));
    a = f32x4.add(a, f32x4.mul(p1, v128.load(v1 + off)));
    a = f32x4.add(a, f32x4.mul(p2, v128.load(v2 + off)));
    a = f32x4.add(a, f32x4.mul(p3, v128.load(v3 + off)));
    v128.store(o + off, a);
  }
  if (hd4 < hd) {
    const al = f32x4.extract_lane(alpha, 0);
    const s0 = f32x4.extract_lane(p, 0), s1 = f32x4.extract_lane(p, 1), s2 = f32x4.extract_lane(p, 2), s3 = f32x4.extract_lane(p, 3);
    for (let c = hd4; c < hd; c++) {
      const off = (<usize>c) << 2;
      let a = load<f32>(o + off) * al;
      a += s0 * load<f32>(v0 + off);
      a += s1 * load<f32>(v1 + off);
      a += s2 * load<f32>(v2 + off);
      a += s3 * load<f32>(v3 + off);
      store<f32>(o + off, a);
    }
  }
}

/** accumulate4 for two output rows from the same four v rows (each v load serves both); same bits per row. */
/** o ← o·alpha over hd floats (alpha splat): the rescale of a running output row. */
function scaleRow(o: usize, alpha: v128, hd: i32): void {
  const hd4 = hd & ~3;
  for (let c = 0; c < hd4; c += 4) {
    const off = (<usize>c) << 2;
    v128.store(o + off, f32x4.mul(v128.load(o + off), alpha));
  }
  const al = f32x4.extract_lane(alpha, 0);
  for (let c = hd4; c < hd; c++) {
    const off = (<usize>c) << 2;
    store<f32>(o + off, load<f32>(o + off) * al);
  }
}

/**
 * oa ← oa + Σ_m pa_m·v_m and ob ← ob + Σ_m pb_m·v_m (m = 0..3, in that order), each v
 * load serving both rows. With a preceding scaleRow this is accumulate4's
 * arithmetic exactly. Keeping the rescale out of this loop leaves the eight
 * broadcast p values in registers (with it, V8 spilled some).
 */
function accumulatePair4(oa: usize, ob: usize, pa: v128, pb: v128, v0: usize, stride: usize, hd: i32): void {
  const a0 = v128.shuffle<f32>(pa, pa, 0, 0, 0, 0);
  const a1 = v128.shuffle<f32>(pa, pa, 1, 1, 1, 1);
  const a2 = v128.shuffle<f32>(pa, pa, 2, 2, 2, 2);
  const a3 = v128.shuffle<f32>(pa, pa, 3, 3, 3, 3);
  const b0 = v128.shuffle<f32>(pb, pb, 0, 0, 0, 0);
  const b1 = v128.shuffle<f32>(pb, pb, 1, 1, 1, 1);
  const b2 = v128.shuffle<f32>(pb, pb, 2, 2, 2, 2);
  const b3 = v128.shuffle<f32>(pb, pb, 3, 3, 3, 3);
  const v1 = v0 + stride, v2 = v1 + stride, v3 = v2 + stride;
  const hd4 = hd & ~3;
  for (let c = 0; c < hd4; c += 4) {
    const off = (<usize>c) << 2;
    let x = v128.load(oa + off);
    let y = v128.load(ob + off);
    let w = v128.load(v0 + off);
    x = f32x4.add(x, f32x4.mul(a0, w));
    y = f32x4.add(y, f32x4.mul(b0, w));
    w = v128.load(v1 + off);
    x = f32x4.add(x, f32x4.mul(a1, w));
    y = f32x4.add(y, f32x4.mul(b1, w));
    w = v128.load(v2 + off);
    x = f32x4.add(x, f32x4.mul(a2, w));
    y = f32x4.add(y, f32x4.mul(b2, w));
    w = v128.load(v3 + off);
    x = f32x4.add(x, f32x4.mul(a3, w));
    y = f32x4.add(y, f32x4.mul(b3, w));
    v128.store(oa + off, x);
    v128.store(ob + off, y);
  }
  if (hd4 < hd) {
    // the single-row scalar tail (alpha 1: already applied), same arithmetic per element
    const off = (<usize>hd4) << 2;
    const one = f32x4.splat(1);
    accumulate4(oa + off, one, pa, v0 + off, stride, hd - hd4);
    accumulate4(ob + off, one, pb, v0 + off, stride, hd - hd4);
  }
}

// Lane 0 only: adds a single key's p to lane 0 of the running sums.
const LANE0 = memory.data<f32>([1, 0, 0, 0], 16);

/**
 * Continues one query row's online softmax from key j0 to its last key n − 1 and
 * returns the row's lse, normalising the out row o. State: mv, the running max in
 * every lane; lv, the running sum (scaled to mv) split over four lanes; o, Σ p·v
 * so far in the same scale. Blocks of 4 keys, then single keys.
 */
function finishRow(q: usize, o: usize, kBase: usize, vBase: usize, stride: usize, j0: i32, n: i32, hd: i32, scale: f32, mv: v128, lv: v128): f32 {
  const vs = f32x4.splat(scale);
  const n4 = n & ~3;
  let j = j0;
  for (; j < n4; j += 4) {
    const off = (<usize>j) * stride;
    const s = f32x4.mul(dots4(q, kBase + off, stride, hd), vs);
    const mNew = f32x4.pmax(mv, maxAllLanes(s));
    const alpha = exp4(f32x4.sub(mv, mNew));
    const p = exp4(f32x4.sub(s, mNew));
    lv = f32x4.add(f32x4.mul(lv, alpha), p);
    accumulate4(o, alpha, p, vBase + off, stride, hd);
    mv = mNew;
  }
  const hd4 = hd & ~3;
  const lane0 = v128.load(LANE0);
  for (; j < n; j++) {
    const off = (<usize>j) * stride;
    const s = f32x4.splat(dot1(q, kBase + off, hd) * scale);
    const mNew = f32x4.pmax(mv, s);
    const alpha = exp4(f32x4.sub(mv, mNew));
    const p = exp4(f32x4.sub(s, mNew));
    lv = f32x4.add(f32x4.mul(lv, alpha), f32x4.mul(p, lane0));
    const v = vBase + off;
    for (let c = 0; c < hd4; c += 4) {
      const co = (<usize>c) << 2;
      v128.store(o + co, f32x4.add(f32x4.mul(v128.load(o + co), alpha), f32x4.mul(p, v128.load(v + co))));
    }
    const al = f32x4.extract_lane(alpha, 0), pl = f32x4.extract_lane(p, 0);
    for (let c = hd4; c < hd; c++) {
      const co = (<usize>c) << 2;
      store<f32>(o + co, load<f32>(o + co) * al + pl * load<f32>(v + co));
    }
    mv = mNew;
  }
  const l = sumLanes(lv);
  const inv: f32 = <f32>1.0 / l;
  const vinv = f32x4.splat(inv);
  for (let c = 0; c < hd4; c += 4) {
    const co = (<usize>c) << 2;
    v128.store(o + co, f32x4.mul(v128.load(o + co), vinv));
  }
  for (let c = hd4; c < hd; c++) {
    const co = (<usize>c) << 2;
    store<f32>(o + co, load<f32>(o + co) * inv);
  }
  return f32x4.extract_lane(mv, 0) + Mathf.log(l);
}

/**
 * Two query rows a, b (na ≤ nb keys) through the key blocks they share, each k
 * and v row loaded once for both; then each row finishes on its own. Each row's
 * arithmetic is exactly that of finishRow from j0 = 0.
 */
function forwardPair(qa: usize, qb: usize, oa: usize, ob: usize, kBase: usize, vBase: usize, stride: usize, na: i32, nb: i32, hd: i32, scale: f32, lseA: usize, lseB: usize): void {
  memory.fill(oa, 0, (<usize>hd) << 2);
  memory.fill(ob, 0, (<usize>hd) << 2);
  const vs = f32x4.splat(scale);
  const hd4 = hd & ~3;
  const shared = na & ~3;
  let ma = f32x4.splat(-Infinity), mb = f32x4.splat(-Infinity), la = f32x4.splat(0), lb = f32x4.splat(0);
  for (let j = 0; j < shared; j += 4) {
    const r0 = kBase + (<usize>j) * stride;
    const r1 = r0 + stride;
    const r2 = r1 + stride;
    const r3 = r2 + stride;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
    // A plain 4-column loop: unrolled by hand (immediate offsets) TurboFan hoisted
    // the loads and spilled accumulators, which was slower.
    for (let c = 0; c < hd4; c += 4) {
      const off = (<usize>c) << 2;
      const x0 = v128.load(qa + off);
      const x1 = v128.load(qb + off);
      let kr = v128.load(r0 + off);
      a0 = f32x4.add(a0, f32x4.mul(x0, kr));
      b0 = f32x4.add(b0, f32x4.mul(x1, kr));
      kr = v128.load(r1 + off);
      a1 = f32x4.add(a1, f32x4.mul(x0, kr));
      b1 = f32x4.add(b1, f32x4.mul(x1, kr));
      kr = v128.load(r2 + off);
      a2 = f32x4.add(a2, f32x4.mul(x0, kr));
      b2 = f32x4.add(b2, f32x4.mul(x1, kr));
      kr = v128.load(r3 + off);
      a3 = f32x4.add(a3, f32x4.mul(x0, kr));
      b3 = f32x4.add(b3, f32x4.mul(x1, kr));
    }
    const sa = f32x4.mul(addTail4(sumLanes4(a0, a1, a2, a3), qa, r0, stride, hd), vs);
    const sb = f32x4.mul(addTail4(sumLanes4(b0, b1, b2, b3), qb, r0, stride, hd), vs);
    const mA = f32x4.pmax(ma, maxAllLanes(sa));
    const mB = f32x4.pmax(mb, maxAllLanes(sb));
    const pa = exp4(f32x4.sub(sa, mA));
    const pb = exp4(f32x4.sub(sb, mB));
    // When neither max moved both alphas are exp(0) = 1 exactly, and skipping the
    // rescale gives the same bits; after the first blocks that is the usual case.
    const moved = v128.any_true(v128.or(f32x4.ne(mA, ma), f32x4.ne(mB, mb)));
    if (moved) {
      // both rescale factors from one exp4 (lanes are independent: bits as finishRow's)
      const alphas = exp4(v128.shuffle<f32>(f32x4.sub(ma, mA), f32x4.sub(mb, mB), 0, 1, 4, 5));
      const alphaA = v128.shuffle<f32>(alphas, alphas, 0, 0, 0, 0);
      const alphaB = v128.shuffle<f32>(alphas, alphas, 2, 2, 2, 2);
      la = f32x4.mul(la, alphaA);
      lb = f32x4.mul(lb, alphaB);
      scaleRow(oa, alphaA, hd);
      scaleRow(ob, alphaB, hd);
    }
    la = f32x4.add(la, pa);
    lb = f32x4.add(lb, pb);
    accumulatePair4(oa, ob, pa, pb, vBase + (<usize>j) * stride, stride, hd);
    ma = mA;
    mb = mB;
  }
  store<f32>(lseA, finishRow(qa, oa, kBase, vBase, stride, shared, na, hd, scale, ma, la));
  store<f32>(lseB, finishRow(qb, ob, kBase, vBase, stride, shared, nb, hd, scale, mb, lb));
}

/**
 * out = softmax(q·kᵀ/√hd + causal mask)·v and lse, the log-sum-exp of each
 * query row's scaled scores, for units [unitStart, unitEnd). Needs no scratch.
 */
export function attentionForward(out: usize, lse: usize, q: usize, k: usize, v: usize, b: i32, t: i32, heads: i32, kvHeads: i32, hd: i32, unitStart: i32, unitEnd: i32): void {
  if (kvHeads <= 0 || heads % kvHeads != 0) abort("attentionForward: heads must be a positive multiple of kvHeads");
  const G = heads / kvHeads;
  const scale = <f32>(1.0 / Math.sqrt(<f64>hd));
  const kStride = (<usize>kvHeads * <usize>hd) << 2;
  const rows = t * G;
  for (let u = unitStart; u < unitEnd; u++) {
    const bi = u / kvHeads;
    const g = u % kvHeads;
    const kvOff = (<usize>bi) * (<usize>t) * kStride + ((<usize>g * <usize>hd) << 2);
    const kBase = k + kvOff;
    const vBase = v + kvOff;
    let r = 0;
    for (; r + 1 < rows; r += 2) {
      const offA = rowOffset(r, bi, g, G, t, heads, hd);
      const offB = rowOffset(r + 1, bi, g, G, t, heads, hd);
      forwardPair(q + offA, q + offB, out + offA, out + offB, kBase, vBase, kStride, r / G + 1, (r + 1) / G + 1, hd, scale,
        lse + lseOffset(r, bi, g, G, t, heads), lse + lseOffset(r + 1, bi, g, G, t, heads));
    }
    if (r < rows) {
      const off = rowOffset(r, bi, g, G, t, heads, hd);
      memory.fill(out + off, 0, (<usize>hd) << 2);
      store<f32>(lse + lseOffset(r, bi, g, G, t, heads), finishRow(q + off, out + off, kBase, vBase, kStride, 0, r / G + 1, hd, scale, f32x4.splat(-Infinity), f32x4.splat(0)));
    }
  }
}

// ---------------------------------------------------------------- backward

/**
 * The one micro-kernel: for rows m = 0, 1 and columns c < 16,
 *   d_m[c] (+)= Σ_{p < depth} A_m[p] · B[p][c]     (one f32 sum, p increasing)
 * where A_m[p] is the f32 at a_m + p·aStep and B[p] is the 16-float row at
 * bp + 64·p (a packed panel). Only the first `cols` columns are stored.
 * A lone row passes a1 = a0 and a sink for d1; the order per element is the same.
 */
function micro2x16(d0: usize, d1: usize, cols: i32, add: bool, a0: usize, a1: usize, aStep: usize, bp: usize, depth: i32): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c02 = f32x4.splat(0), c03 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0), c12 = f32x4.splat(0), c13 = f32x4.splat(0);
  const end = bp + ((<usize>depth) << 6);
  while (bp < end) {
    const b0 = v128.load(bp), b1 = v128.load(bp, 16), b2 = v128.load(bp, 32), b3 = v128.load(bp, 48);
    const x0 = v128.load32_splat(a0), x1 = v128.load32_splat(a1);
    c00 = mulAdd(c00, x0, b0); c01 = mulAdd(c01, x0, b1); c02 = mulAdd(c02, x0, b2); c03 = mulAdd(c03, x0, b3);
    c10 = mulAdd(c10, x1, b0); c11 = mulAdd(c11, x1, b1); c12 = mulAdd(c12, x1, b2); c13 = mulAdd(c13, x1, b3);
    a0 += aStep;
    a1 += aStep;
    bp += 64;
  }
  storeRow(d0, cols, add, c00, c01, c02, c03);
  storeRow(d1, cols, add, c10, c11, c12, c13);
}

/**
 * Packs t rows of hd floats (row j at src + j·stride) transposed into key panels:
 * panel p at dst + p·hd·64 holds [c][16] = row (16p + jj), column c; rows past t are 0.
 */
function packKeyPanels(dst: usize, src: usize, stride: usize, t: i32, hd: i32): void {
  const tP = roundUp16(t);
  const panelBytes = (<usize>hd) << 6;
  for (let j = 0; j < tP; j++) {
    const col = dst + (<usize>(j >> 4)) * panelBytes + ((<usize>(j & 15)) << 2);
    if (j < t) {
      const row = src + (<usize>j) * stride;
      for (let c = 0; c < hd; c++) store<f32>(col + ((<usize>c) << 6), load<f32>(row + ((<usize>c) << 2)));
    } else {
      for (let c = 0; c < hd; c++) store<f32>(col + ((<usize>c) << 6), 0);
    }
  }
}

/**
 * Packs `rows` rows of hd floats (row j at src + j·stride) into column panels:
 * panel cp at dst + cp·rowsCap·64 holds [j][16] = columns 16cp.., zero past hd.
 */
function packRowPanels(dst: usize, src: usize, stride: usize, rows: i32, rowsCap: i32, hd: i32): void {
  const panels = roundUp16(hd) >> 4;
  for (let cp = 0; cp < panels; cp++) {
    const c0 = cp << 4;
    const cols = min(PANEL, hd - c0);
    let out = dst + (<usize>cp) * (<usize>rowsCap << 6);
    for (let j = 0; j < rows; j++) {
      const row = src + (<usize>j) * stride + ((<usize>c0) << 2);
      if (cols == PANEL) {
        v128.store(out, v128.load(row));
        v128.store(out, v128.load(row, 16), 16);
        v128.store(out, v128.load(row, 32), 32);
        v128.store(out, v128.load(row, 48), 48);
      } else {
        for (let c = 0; c < PANEL; c++) store<f32>(out + ((<usize>c) << 2), c < cols ? load<f32>(row + ((<usize>c) << 2)) : 0);
      }
      out += 64;
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

/**
 * Backward row step: from raw scores s and dp_j = dout·v_j (in place in p and ds),
 * p_j = exp(scale·s_j − lse) and ds_j = scale·p_j·(dp_j − D) for j < n, and both
 * are 0 for j in [n, nEnd) so the chunk products see exact zeros past the diagonal.
 */
function gradRow(p: usize, ds: usize, n: i32, nEnd: i32, scale: f32, lse: f32, D: f32): void {
  const n4 = n & ~3;
  const vs = f32x4.splat(scale);
  const vl = f32x4.splat(lse);
  const vd = f32x4.splat(D);
  for (let j = 0; j < n4; j += 4) {
    const off = (<usize>j) << 2;
    const e = exp4(f32x4.sub(f32x4.mul(v128.load(p + off), vs), vl));
    v128.store(p + off, e);
    v128.store(ds + off, f32x4.mul(f32x4.mul(e, f32x4.sub(v128.load(ds + off), vd)), vs));
  }
  for (let j = n4; j < n; j++) {
    const off = (<usize>j) << 2;
    const e = exp1(load<f32>(p + off) * scale - lse);
    store<f32>(p + off, e);
    store<f32>(ds + off, (e * (load<f32>(ds + off) - D)) * scale);
  }
  if (nEnd > n) {
    memory.fill(p + ((<usize>n) << 2), 0, (<usize>(nEnd - n)) << 2);
    memory.fill(ds + ((<usize>n) << 2), 0, (<usize>(nEnd - n)) << 2);
  }
}

/**
 * Raw scores (q_r·k_j, unscaled) of chunk rows [r0, r0 + R) against keys
 * [0, 16·panels) into rows of `sBuf` (rowBytes apart). `x` is q (or dout, with
 * vT panels, for dp). Panels outer so one panel stays in L1 across the chunk.
 */
function chunkScores(sBuf: usize, rowBytes: usize, x: usize, kT: usize, panels: i32, r0: i32, R: i32, bi: i32, g: i32, G: i32, t: i32, heads: i32, hd: i32, sink: usize): void {
  const panelBytes = (<usize>hd) << 6;
  for (let p = 0; p < panels; p++) {
    const bp = kT + (<usize>p) * panelBytes;
    const col = (<usize>p) << 6;
    for (let rr = 0; rr < R; rr += 2) {
      const lone = rr + 1 == R;
      const a0 = x + rowOffset(r0 + rr, bi, g, G, t, heads, hd);
      const a1 = lone ? a0 : x + rowOffset(r0 + rr + 1, bi, g, G, t, heads, hd);
      const d0 = sBuf + (<usize>rr) * rowBytes + col;
      micro2x16(d0, lone ? sink : d0 + rowBytes, PANEL, false, a0, a1, 4, bp, hd);
    }
  }
}

/** Packs chunk rows [r0, r0 + R) of a [b, t, heads, hd] tensor into column panels [cp][rr][16] (CHUNK_ROWS rows per panel), zero past hd. */
function packChunk(dst: usize, x: usize, r0: i32, R: i32, bi: i32, g: i32, G: i32, t: i32, heads: i32, hd: i32): void {
  const panels = roundUp16(hd) >> 4;
  for (let rr = 0; rr < R; rr++) {
    const row = x + rowOffset(r0 + rr, bi, g, G, t, heads, hd);
    for (let cp = 0; cp < panels; cp++) {
      const c0 = cp << 4;
      const cols = min(PANEL, hd - c0);
      const d = dst + (<usize>cp) * ((<usize>CHUNK_ROWS) << 6) + ((<usize>rr) << 6);
      const s = row + ((<usize>c0) << 2);
      if (cols == PANEL) {
        v128.store(d, v128.load(s));
        v128.store(d, v128.load(s, 16), 16);
        v128.store(d, v128.load(s, 32), 32);
        v128.store(d, v128.load(s, 48), 48);
      } else {
        for (let c = 0; c < PANEL; c++) store<f32>(d + ((<usize>c) << 2), c < cols ? load<f32>(s + ((<usize>c) << 2)) : 0);
      }
    }
  }
}

/**
 * Accumulates dq, dk, dv for units [unitStart, unitEnd), given dout and the
 * forward's out and lse. `scratch` holds attentionScratchBytes(t, hd, G) bytes,
 * reused by the units of this call one after another (see the header).
 */
export function attentionBackward(dq: usize, dk: usize, dv: usize, scratch: usize, dout: usize, out: usize, lse: usize, q: usize, k: usize, v: usize, b: i32, t: i32, heads: i32, kvHeads: i32, hd: i32, unitStart: i32, unitEnd: i32): void {
  if (kvHeads <= 0 || heads % kvHeads != 0) abort("attentionBackward: heads must be a positive multiple of kvHeads");
  const G = heads / kvHeads;
  const scale = <f32>(1.0 / Math.sqrt(<f64>hd));
  const kStride = (<usize>kvHeads * <usize>hd) << 2;
  const tP = roundUp16(t);
  const hP = roundUp16(hd);
  const colPanels = hP >> 4;
  const rowBytes = (<usize>scoreRowFloats(t)) << 2;
  const R = CHUNK_ROWS;
  // scratch layout, in the order of attentionScratchBytes
  const kT = scratch;
  const vT = kT + (<usize>tP) * (<usize>hd << 2);
  const kR = vT + (<usize>tP) * (<usize>hd << 2);
  const sBuf = kR + (<usize>hP) * ((<usize>tP) << 2);
  const dsBuf = sBuf + (<usize>R) * rowBytes;
  const qC = dsBuf + (<usize>R) * rowBytes;
  const doC = qC + ((<usize>hP * <usize>R) << 2);
  const sink = doC + ((<usize>hP * <usize>R) << 2);
  const chunkPanelBytes = (<usize>R) << 6;
  const rowPanelBytes = (<usize>tP) << 6;
  const rows = t * G;
  for (let u = unitStart; u < unitEnd; u++) {
    const bi = u / kvHeads;
    const g = u % kvHeads;
    const kvOff = (<usize>bi) * (<usize>t) * kStride + ((<usize>g * <usize>hd) << 2);
    packKeyPanels(kT, k + kvOff, kStride, t, hd);
    packKeyPanels(vT, v + kvOff, kStride, t, hd);
    packRowPanels(kR, k + kvOff, kStride, t, tP, hd);
    for (let r0 = 0; r0 < rows; r0 += R) {
      const n = min(R, rows - r0);
      const nMax = (r0 + n - 1) / G + 1; // keys seen by the chunk's last row
      const panels = (nMax + 15) >> 4;
      // raw scores s = q·kᵀ into sBuf, dp = dout·vᵀ into dsBuf
      chunkScores(sBuf, rowBytes, q, kT, panels, r0, n, bi, g, G, t, heads, hd, sink);
      chunkScores(dsBuf, rowBytes, dout, vT, panels, r0, n, bi, g, G, t, heads, hd, sink);
      // p and dS = scale·P∘(dP − D), zero past each row's diagonal
      for (let rr = 0; rr < n; rr++) {
        const r = r0 + rr;
        const off = rowOffset(r, bi, g, G, t, heads, hd);
        const D = dot(dout + off, out + off, hd);
        const l = load<f32>(lse + lseOffset(r, bi, g, G, t, heads));
        gradRow(sBuf + (<usize>rr) * rowBytes, dsBuf + (<usize>rr) * rowBytes, r / G + 1, nMax, scale, l, D);
      }
      // dq_r += Σ_j dS_rj·k_j
      for (let rr = 0; rr < n; rr += 2) {
        const lone = rr + 1 == n;
        const ra = r0 + rr;
        const rb = lone ? ra : ra + 1;
        const da = dq + rowOffset(ra, bi, g, G, t, heads, hd);
        const db = dq + rowOffset(rb, bi, g, G, t, heads, hd);
        const a0 = dsBuf + (<usize>rr) * rowBytes;
        const a1 = lone ? a0 : a0 + rowBytes;
        const depth = rb / G + 1;
        for (let cp = 0; cp < colPanels; cp++) {
          const co = (<usize>cp) << 6;
          micro2x16(da + co, lone ? sink : db + co, min(PANEL, hd - (cp << 4)), true, a0, a1, 4, kR + (<usize>cp) * rowPanelBytes, depth);
        }
      }
      // dk_j += Σ_r dS_rj·q_r and dv_j += Σ_r P_rj·dout_r over the chunk's rows
      packChunk(qC, q, r0, n, bi, g, G, t, heads, hd);
      packChunk(doC, dout, r0, n, bi, g, G, t, heads, hd);
      for (let j = 0; j < nMax; j += 2) {
        const lone = j + 1 == nMax;
        const kOff = kvOff + (<usize>j) * kStride;
        const sa = sBuf + ((<usize>j) << 2);
        const ds = dsBuf + ((<usize>j) << 2);
        for (let cp = 0; cp < colPanels; cp++) {
          const co = (<usize>cp) << 6;
          const cols = min(PANEL, hd - (cp << 4));
          const dkj = dk + kOff + co;
          const dvj = dv + kOff + co;
          micro2x16(dkj, lone ? sink : dkj + kStride, cols, true, ds, lone ? ds : ds + 4, rowBytes, qC + (<usize>cp) * chunkPanelBytes, n);
          micro2x16(dvj, lone ? sink : dvj + kStride, cols, true, sa, lone ? sa : sa + 4, rowBytes, doC + (<usize>cp) * chunkPanelBytes, n);
        }
      }
    }
  }
}
