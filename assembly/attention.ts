// Causal self-attention with grouped-query heads (HF `repeat_kv`: query head h
// reads kv head h / (heads / kvHeads)), scale 1/sqrt(hd), forward and backward.
//
// Layouts: q, out, dq, dout are [b, t, heads, hd]; k, v, dk, dv are
// [b, t, kvHeads, hd]; probs is [b, heads, t, t] (softmax rows, masked entries 0).
// Work is split in units u = bi·kvHeads + g (one batch element, one kv head, all
// its query heads), so two units never write the same rows of dk/dv and each
// unit's arithmetic is the same whatever range of units a thread is given.
//
// Dot products over hd are computed four keys at a time with one f32x4
// accumulator per key (lanes then combined as (l0+l1)+(l2+l3), then the hd % 4
// tail in index order); a single key uses the same order, so a score's bits do
// not depend on how keys were grouped.
//
// Each query row sweeps all its keys. Tiling over 16- or 32-key blocks (so k/v
// rows stay in L1 across queries, with D_i = Σ_j p_ij·dp_ij kept in scratch) was
// measured on the bench-tiny shape and gained nothing, so the simpler form stays.
import { exp4, exp1 } from "./simd-exp";

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
    const off = <usize>c << 2;
    let col = f32x4.splat(load<f32>(r0 + off));
    col = f32x4.replace_lane(col, 1, load<f32>(r0 + stride + off));
    col = f32x4.replace_lane(col, 2, load<f32>(r0 + 2 * stride + off));
    col = f32x4.replace_lane(col, 3, load<f32>(r0 + 3 * stride + off));
    s = f32x4.add(s, f32x4.mul(f32x4.splat(load<f32>(x + off)), col));
  }
  return s;
}

// Four dot products ⟨x, row_m⟩ (m = 0..3, rows `stride` bytes apart), hd floats each.
// @ts-ignore: decorator
@inline
function dots4(x: usize, r0: usize, stride: usize, hd: i32): v128 {
  const r1 = r0 + stride;
  const r2 = r1 + stride;
  const r3 = r2 + stride;
  let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
  const hd4 = hd & ~3;
  for (let k = 0; k < hd4; k += 4) {
    const off = <usize>k << 2;
    const vx = v128.load(x + off);
    a0 = f32x4.add(a0, f32x4.mul(vx, v128.load(r0 + off)));
    a1 = f32x4.add(a1, f32x4.mul(vx, v128.load(r1 + off)));
    a2 = f32x4.add(a2, f32x4.mul(vx, v128.load(r2 + off)));
    a3 = f32x4.add(a3, f32x4.mul(vx, v128.load(r3 + off)));
  }
  return addTail4(sumLanes4(a0, a1, a2, a3), x, r0, stride, hd);
}

// One dot product, in exactly the order of one lane of dots4.
// @ts-ignore: decorator
@inline
function dot1(x: usize, r: usize, hd: i32): f32 {
  let a = f32x4.splat(0);
  const hd4 = hd & ~3;
  for (let k = 0; k < hd4; k += 4) {
    const off = <usize>k << 2;
    a = f32x4.add(a, f32x4.mul(v128.load(x + off), v128.load(r + off)));
  }
  let s = (f32x4.extract_lane(a, 0) + f32x4.extract_lane(a, 1)) + (f32x4.extract_lane(a, 2) + f32x4.extract_lane(a, 3));
  for (let k = hd4; k < hd; k++) {
    const off = <usize>k << 2;
    s += load<f32>(x + off) * load<f32>(r + off);
  }
  return s;
}

// dst[j] = scale·⟨x, row_j⟩ for j in [0, n).
// @ts-ignore: decorator
@inline
function scaledDots(dst: usize, x: usize, rows: usize, stride: usize, n: i32, hd: i32, scale: f32): void {
  const n4 = n & ~3;
  const vs = f32x4.splat(scale);
  for (let j = 0; j < n4; j += 4) {
    v128.store(dst + (<usize>j << 2), f32x4.mul(dots4(x, rows + <usize>j * stride, stride, hd), vs));
  }
  for (let j = n4; j < n; j++) store<f32>(dst + (<usize>j << 2), dot1(x, rows + <usize>j * stride, hd) * scale);
}

// y = scale·Σ_j w[j]·row_j (j in [0, n), in index order); y is written, or added
// to dst when `accumulate`.
function weightedRowSum(dst: usize, w: usize, rows: usize, stride: usize, n: i32, hd: i32, scale: f32, accumulate: bool): void {
  const vs = f32x4.splat(scale);
  const hd16 = hd & ~15;
  const hd4 = hd & ~3;
  for (let c = 0; c < hd16; c += 16) {
    const co = <usize>c << 2;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let r = rows + co;
    for (let j = 0; j < n; j++) {
      const wj = f32x4.splat(load<f32>(w + (<usize>j << 2)));
      a0 = f32x4.add(a0, f32x4.mul(wj, v128.load(r)));
      a1 = f32x4.add(a1, f32x4.mul(wj, v128.load(r, 16)));
      a2 = f32x4.add(a2, f32x4.mul(wj, v128.load(r, 32)));
      a3 = f32x4.add(a3, f32x4.mul(wj, v128.load(r, 48)));
      r += stride;
    }
    a0 = f32x4.mul(a0, vs);
    a1 = f32x4.mul(a1, vs);
    a2 = f32x4.mul(a2, vs);
    a3 = f32x4.mul(a3, vs);
    const d = dst + co;
    if (accumulate) {
      a0 = f32x4.add(v128.load(d), a0);
      a1 = f32x4.add(v128.load(d, 16), a1);
      a2 = f32x4.add(v128.load(d, 32), a2);
      a3 = f32x4.add(v128.load(d, 48), a3);
    }
    v128.store(d, a0);
    v128.store(d, a1, 16);
    v128.store(d, a2, 32);
    v128.store(d, a3, 48);
  }
  for (let c = hd16; c < hd4; c += 4) {
    const co = <usize>c << 2;
    let a = f32x4.splat(0);
    let r = rows + co;
    for (let j = 0; j < n; j++) {
      a = f32x4.add(a, f32x4.mul(f32x4.splat(load<f32>(w + (<usize>j << 2))), v128.load(r)));
      r += stride;
    }
    a = f32x4.mul(a, vs);
    if (accumulate) a = f32x4.add(v128.load(dst + co), a);
    v128.store(dst + co, a);
  }
  for (let c = hd4; c < hd; c++) {
    const co = <usize>c << 2;
    let a: f32 = 0;
    let r = rows + co;
    for (let j = 0; j < n; j++) {
      a += load<f32>(w + (<usize>j << 2)) * load<f32>(r);
      r += stride;
    }
    a *= scale;
    if (accumulate) a = load<f32>(dst + co) + a;
    store<f32>(dst + co, a);
  }
}

// row_j += (scale·w[j])·x for j in [0, n).
function scatterRows(rows: usize, stride: usize, w: usize, scale: f32, x: usize, n: i32, hd: i32): void {
  const hd16 = hd & ~15;
  const hd4 = hd & ~3;
  for (let c = 0; c < hd16; c += 16) {
    const co = <usize>c << 2;
    const x0 = v128.load(x + co);
    const x1 = v128.load(x + co, 16);
    const x2 = v128.load(x + co, 32);
    const x3 = v128.load(x + co, 48);
    let r = rows + co;
    for (let j = 0; j < n; j++) {
      const wj = f32x4.splat(load<f32>(w + (<usize>j << 2)) * scale);
      v128.store(r, f32x4.add(v128.load(r), f32x4.mul(wj, x0)));
      v128.store(r, f32x4.add(v128.load(r, 16), f32x4.mul(wj, x1)), 16);
      v128.store(r, f32x4.add(v128.load(r, 32), f32x4.mul(wj, x2)), 32);
      v128.store(r, f32x4.add(v128.load(r, 48), f32x4.mul(wj, x3)), 48);
      r += stride;
    }
  }
  for (let c = hd16; c < hd4; c += 4) {
    const co = <usize>c << 2;
    const x0 = v128.load(x + co);
    let r = rows + co;
    for (let j = 0; j < n; j++) {
      const wj = f32x4.splat(load<f32>(w + (<usize>j << 2)) * scale);
      v128.store(r, f32x4.add(v128.load(r), f32x4.mul(wj, x0)));
      r += stride;
    }
  }
  for (let c = hd4; c < hd; c++) {
    const co = <usize>c << 2;
    const xc = load<f32>(x + co);
    let r = rows + co;
    for (let j = 0; j < n; j++) {
      store<f32>(r, load<f32>(r) + (load<f32>(w + (<usize>j << 2)) * scale) * xc);
      r += stride;
    }
  }
}

// dk_j += (sa·wa[j])·xa and dv_j += wb[j]·xb for j in [0, n): the two scatters of
// the backward in one sweep over j (~6 % faster than two sweeps; same bits).
function scatterRowsPair(ra: usize, wa: usize, sa: f32, xa: usize, rb: usize, wb: usize, xb: usize, stride: usize, n: i32, hd: i32): void {
  const hd16 = hd & ~15;
  for (let c = 0; c < hd16; c += 16) {
    const co = <usize>c << 2;
    const a0 = v128.load(xa + co), a1 = v128.load(xa + co, 16), a2 = v128.load(xa + co, 32), a3 = v128.load(xa + co, 48);
    const b0 = v128.load(xb + co), b1 = v128.load(xb + co, 16), b2 = v128.load(xb + co, 32), b3 = v128.load(xb + co, 48);
    let pa = ra + co, pb = rb + co;
    for (let j = 0; j < n; j++) {
      const wj = f32x4.splat(load<f32>(wa + (<usize>j << 2)) * sa);
      v128.store(pa, f32x4.add(v128.load(pa), f32x4.mul(wj, a0)));
      v128.store(pa, f32x4.add(v128.load(pa, 16), f32x4.mul(wj, a1)), 16);
      v128.store(pa, f32x4.add(v128.load(pa, 32), f32x4.mul(wj, a2)), 32);
      v128.store(pa, f32x4.add(v128.load(pa, 48), f32x4.mul(wj, a3)), 48);
      const vj = f32x4.splat(load<f32>(wb + (<usize>j << 2)));
      v128.store(pb, f32x4.add(v128.load(pb), f32x4.mul(vj, b0)));
      v128.store(pb, f32x4.add(v128.load(pb, 16), f32x4.mul(vj, b1)), 16);
      v128.store(pb, f32x4.add(v128.load(pb, 32), f32x4.mul(vj, b2)), 32);
      v128.store(pb, f32x4.add(v128.load(pb, 48), f32x4.mul(vj, b3)), 48);
      pa += stride;
      pb += stride;
    }
  }
  if (hd16 < hd) {
    scatterRows(ra + (<usize>hd16 << 2), stride, wa, sa, xa + (<usize>hd16 << 2), n, hd - hd16);
    scatterRows(rb + (<usize>hd16 << 2), stride, wb, 1.0, xb + (<usize>hd16 << 2), n, hd - hd16);
  }
}

// Scores of two queries against the same n keys (each k row loaded once for both):
// dst0[j] = scale·⟨x0, row_j⟩ and dst1[j] = scale·⟨x1, row_j⟩, with the bits of scaledDots.
function scaledDotsPair(dst0: usize, dst1: usize, x0: usize, x1: usize, rows: usize, stride: usize, n: i32, hd: i32, scale: f32): void {
  const n4 = n & ~3;
  const hd4 = hd & ~3;
  const vs = f32x4.splat(scale);
  for (let j = 0; j < n4; j += 4) {
    const r0 = rows + <usize>j * stride;
    const r1 = r0 + stride;
    const r2 = r1 + stride;
    const r3 = r2 + stride;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
    for (let k = 0; k < hd4; k += 4) {
      const off = <usize>k << 2;
      const q0 = v128.load(x0 + off);
      const q1 = v128.load(x1 + off);
      let kr = v128.load(r0 + off);
      a0 = f32x4.add(a0, f32x4.mul(q0, kr));
      b0 = f32x4.add(b0, f32x4.mul(q1, kr));
      kr = v128.load(r1 + off);
      a1 = f32x4.add(a1, f32x4.mul(q0, kr));
      b1 = f32x4.add(b1, f32x4.mul(q1, kr));
      kr = v128.load(r2 + off);
      a2 = f32x4.add(a2, f32x4.mul(q0, kr));
      b2 = f32x4.add(b2, f32x4.mul(q1, kr));
      kr = v128.load(r3 + off);
      a3 = f32x4.add(a3, f32x4.mul(q0, kr));
      b3 = f32x4.add(b3, f32x4.mul(q1, kr));
    }
    v128.store(dst0 + (<usize>j << 2), f32x4.mul(addTail4(sumLanes4(a0, a1, a2, a3), x0, r0, stride, hd), vs));
    v128.store(dst1 + (<usize>j << 2), f32x4.mul(addTail4(sumLanes4(b0, b1, b2, b3), x1, r0, stride, hd), vs));
  }
  for (let j = n4; j < n; j++) {
    const r = rows + <usize>j * stride;
    store<f32>(dst0 + (<usize>j << 2), dot1(x0, r, hd) * scale);
    store<f32>(dst1 + (<usize>j << 2), dot1(x1, r, hd) * scale);
  }
}

// out0 = Σ_{j<n} w0[j]·row_j and out1 = Σ_{j≤n} w1[j]·row_j (one more row: the next
// query's diagonal), each v row loaded once for both; bits as weightedRowSum's.
function weightedRowSumPair(out0: usize, out1: usize, w0: usize, w1: usize, rows: usize, stride: usize, n: i32, hd: i32): void {
  const hd16 = hd & ~15;
  const hd4 = hd & ~3;
  const last = rows + <usize>n * stride;
  const wLast = f32x4.splat(load<f32>(w1 + (<usize>n << 2)));
  for (let c = 0; c < hd16; c += 16) {
    const co = <usize>c << 2;
    let a0 = f32x4.splat(0), a1 = f32x4.splat(0), a2 = f32x4.splat(0), a3 = f32x4.splat(0);
    let b0 = f32x4.splat(0), b1 = f32x4.splat(0), b2 = f32x4.splat(0), b3 = f32x4.splat(0);
    let r = rows + co;
    for (let j = 0; j < n; j++) {
      const u = f32x4.splat(load<f32>(w0 + (<usize>j << 2)));
      const w = f32x4.splat(load<f32>(w1 + (<usize>j << 2)));
      let x = v128.load(r);
      a0 = f32x4.add(a0, f32x4.mul(u, x));
      b0 = f32x4.add(b0, f32x4.mul(w, x));
      x = v128.load(r, 16);
      a1 = f32x4.add(a1, f32x4.mul(u, x));
      b1 = f32x4.add(b1, f32x4.mul(w, x));
      x = v128.load(r, 32);
      a2 = f32x4.add(a2, f32x4.mul(u, x));
      b2 = f32x4.add(b2, f32x4.mul(w, x));
      x = v128.load(r, 48);
      a3 = f32x4.add(a3, f32x4.mul(u, x));
      b3 = f32x4.add(b3, f32x4.mul(w, x));
      r += stride;
    }
    const l = last + co;
    v128.store(out0 + co, a0);
    v128.store(out0 + co, a1, 16);
    v128.store(out0 + co, a2, 32);
    v128.store(out0 + co, a3, 48);
    v128.store(out1 + co, f32x4.add(b0, f32x4.mul(wLast, v128.load(l))));
    v128.store(out1 + co, f32x4.add(b1, f32x4.mul(wLast, v128.load(l, 16))), 16);
    v128.store(out1 + co, f32x4.add(b2, f32x4.mul(wLast, v128.load(l, 32))), 32);
    v128.store(out1 + co, f32x4.add(b3, f32x4.mul(wLast, v128.load(l, 48))), 48);
  }
  if (hd16 < hd) {
    // narrow tails: the single-row routine, same arithmetic per element
    const off = <usize>hd16 << 2;
    weightedRowSum(out0 + off, w0, rows + off, stride, n, hd - hd16, 1.0, false);
    weightedRowSum(out1 + off, w1, rows + off, stride, n + 1, hd - hd16, 1.0, false);
  }
}

// In-place softmax of p[0, n) (max-subtracted); p[n, t) are set to 0 (the mask).
// @ts-ignore: decorator
@inline
function softmaxCausalRow(p: usize, n: i32, t: i32): void {
  const n4 = n & ~3;
  let vm = f32x4.splat(-Infinity);
  for (let j = 0; j < n4; j += 4) vm = f32x4.max(vm, v128.load(p + (<usize>j << 2)));
  let m = Mathf.max(Mathf.max(f32x4.extract_lane(vm, 0), f32x4.extract_lane(vm, 1)), Mathf.max(f32x4.extract_lane(vm, 2), f32x4.extract_lane(vm, 3)));
  for (let j = n4; j < n; j++) m = Mathf.max(m, load<f32>(p + (<usize>j << 2)));
  vm = f32x4.splat(m);
  let vsum = f32x4.splat(0);
  for (let j = 0; j < n4; j += 4) {
    const e = exp4(f32x4.sub(v128.load(p + (<usize>j << 2)), vm));
    v128.store(p + (<usize>j << 2), e);
    vsum = f32x4.add(vsum, e);
  }
  let s = (f32x4.extract_lane(vsum, 0) + f32x4.extract_lane(vsum, 1)) + (f32x4.extract_lane(vsum, 2) + f32x4.extract_lane(vsum, 3));
  for (let j = n4; j < n; j++) {
    const e = exp1(load<f32>(p + (<usize>j << 2)) - m);
    store<f32>(p + (<usize>j << 2), e);
    s += e;
  }
  const inv = f32x4.splat(<f32>1.0 / s);
  for (let j = 0; j < n4; j += 4) v128.store(p + (<usize>j << 2), f32x4.mul(v128.load(p + (<usize>j << 2)), inv));
  for (let j = n4; j < n; j++) store<f32>(p + (<usize>j << 2), load<f32>(p + (<usize>j << 2)) * f32x4.extract_lane(inv, 0));
  if (t > n) memory.fill(p + (<usize>n << 2), 0, <usize>(t - n) << 2);
}

/**
 * out = softmax(q·kᵀ/√hd + causal mask)·v for units [unitStart, unitEnd), writing
 * the probabilities to `probs` for the backward pass.
 */
export function attentionForward(out: usize, probs: usize, q: usize, k: usize, v: usize, b: i32, t: i32, heads: i32, kvHeads: i32, hd: i32, unitStart: i32, unitEnd: i32): void {
  if (kvHeads <= 0 || heads % kvHeads != 0) abort("attentionForward: heads must be a positive multiple of kvHeads");
  const rep = heads / kvHeads;
  const scale = <f32>(1.0 / Math.sqrt(<f64>hd));
  const qStride = <usize>heads * <usize>hd << 2;
  const kStride = <usize>kvHeads * <usize>hd << 2;
  const rowBytes = <usize>t << 2;
  for (let u = unitStart; u < unitEnd; u++) {
    const bi = u / kvHeads;
    const g = u % kvHeads;
    const kBase = k + (<usize>bi * <usize>t * kStride) + (<usize>g * <usize>hd << 2);
    const vBase = v + (<usize>bi * <usize>t * kStride) + (<usize>g * <usize>hd << 2);
    for (let hq = 0; hq < rep; hq++) {
      const h = g * rep + hq;
      const headOff = (<usize>bi * <usize>t * qStride) + (<usize>h * <usize>hd << 2);
      const pHead = probs + (<usize>(bi * heads + h) * <usize>t * rowBytes);
      // Queries in pairs share every k and v row load (~8 % faster); a pair computes
      // row i's score for key i + 1 too, which the mask then zeroes.
      let i = 0;
      for (; i + 1 < t; i += 2) {
        const qi = q + headOff + <usize>i * qStride;
        const oi = out + headOff + <usize>i * qStride;
        const p = pHead + <usize>i * rowBytes;
        scaledDotsPair(p, p + rowBytes, qi, qi + qStride, kBase, kStride, i + 2, hd, scale);
        softmaxCausalRow(p, i + 1, t);
        softmaxCausalRow(p + rowBytes, i + 2, t);
        weightedRowSumPair(oi, oi + qStride, p, p + rowBytes, vBase, kStride, i + 1, hd);
      }
      if (i < t) {
        const p = pHead + <usize>i * rowBytes;
        scaledDots(p, q + headOff + <usize>i * qStride, kBase, kStride, i + 1, hd, scale);
        softmaxCausalRow(p, i + 1, t);
        weightedRowSum(out + headOff + <usize>i * qStride, p, vBase, kStride, i + 1, hd, 1.0, false);
      }
    }
  }
}

/**
 * Accumulates dq, dk, dv for units [unitStart, unitEnd), given dout and the
 * forward's probs. Unit u uses only scratch[u·t, (u+1)·t) (floats) for the row of
 * score gradients, so concurrent units never share scratch.
 */
export function attentionBackward(dq: usize, dk: usize, dv: usize, scratch: usize, dout: usize, probs: usize, q: usize, k: usize, v: usize, b: i32, t: i32, heads: i32, kvHeads: i32, hd: i32, unitStart: i32, unitEnd: i32): void {
  if (kvHeads <= 0 || heads % kvHeads != 0) abort("attentionBackward: heads must be a positive multiple of kvHeads");
  const rep = heads / kvHeads;
  const scale = <f32>(1.0 / Math.sqrt(<f64>hd));
  const qStride = <usize>heads * <usize>hd << 2;
  const kStride = <usize>kvHeads * <usize>hd << 2;
  const rowBytes = <usize>t << 2;
  for (let u = unitStart; u < unitEnd; u++) {
    const bi = u / kvHeads;
    const g = u % kvHeads;
    const kvOff = (<usize>bi * <usize>t * kStride) + (<usize>g * <usize>hd << 2);
    const ds = scratch + <usize>u * rowBytes;
    for (let hq = 0; hq < rep; hq++) {
      const h = g * rep + hq;
      const headOff = (<usize>bi * <usize>t * qStride) + (<usize>h * <usize>hd << 2);
      const pHead = probs + (<usize>(bi * heads + h) * <usize>t * rowBytes);
      for (let i = 0; i < t; i++) {
        const n = i + 1;
        const n4 = n & ~3;
        const rowOff = headOff + <usize>i * qStride;
        const p = pHead + <usize>i * rowBytes;
        // dp_j = ⟨dout_i, v_j⟩
        scaledDots(ds, dout + rowOff, v + kvOff, kStride, n, hd, 1.0);
        // ds_j = p_j·(dp_j − Σ_l p_l·dp_l)
        let vacc = f32x4.splat(0);
        for (let j = 0; j < n4; j += 4) vacc = f32x4.add(vacc, f32x4.mul(v128.load(p + (<usize>j << 2)), v128.load(ds + (<usize>j << 2))));
        let dot = (f32x4.extract_lane(vacc, 0) + f32x4.extract_lane(vacc, 1)) + (f32x4.extract_lane(vacc, 2) + f32x4.extract_lane(vacc, 3));
        for (let j = n4; j < n; j++) dot += load<f32>(p + (<usize>j << 2)) * load<f32>(ds + (<usize>j << 2));
        const vdot = f32x4.splat(dot);
        for (let j = 0; j < n4; j += 4) {
          const o = <usize>j << 2;
          v128.store(ds + o, f32x4.mul(v128.load(p + o), f32x4.sub(v128.load(ds + o), vdot)));
        }
        for (let j = n4; j < n; j++) {
          const o = <usize>j << 2;
          store<f32>(ds + o, load<f32>(p + o) * (load<f32>(ds + o) - dot));
        }
        // dq_i += scale·Σ_j ds_j·k_j;  dk_j += scale·ds_j·q_i;  dv_j += p_j·dout_i
        weightedRowSum(dq + rowOff, ds, k + kvOff, kStride, n, hd, scale, true);
        scatterRowsPair(dk + kvOff, ds, scale, q + rowOff, dv + kvOff, p, dout + rowOff, kStride, n, hd);
      }
    }
  }
}
