// Deterministic reductions over f32 arrays: loss sums, gradient norms, finiteness
// checks, and the per-token statistics of the jump profile (quantiles, histograms).
//
// Summation order is fixed by the code alone (never by threads): sums run over
// two f64x2 accumulators (lanes 0,1 and lanes 2,3 of each group of four floats),
// combined as (acc0 + acc1) lane-wise then low + high, then the scalar tail in
// index order. Accumulating in f64 keeps sums of millions of f32 values exact
// enough that the metric does not depend on the array's length or order.

/** Σ x[i]² accumulated in f64. */
export function sumSquares(x: usize, n: i32): f64 {
  let acc0 = f64x2.splat(0);
  let acc1 = f64x2.splat(0);
  const n4 = n & ~3;
  for (let i = 0; i < n4; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    const lo = f64x2.promote_low_f32x4(v);
    const hi = f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1));
    acc0 = f64x2.add(acc0, f64x2.mul(lo, lo));
    acc1 = f64x2.add(acc1, f64x2.mul(hi, hi));
  }
  const acc = f64x2.add(acc0, acc1);
  let s = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  for (let i = n4; i < n; i++) {
    const v = <f64>load<f32>(x + (<usize>i << 2));
    s += v * v;
  }
  return s;
}

/** Σ x[i] accumulated in f64. */
export function sum(x: usize, n: i32): f64 {
  let acc0 = f64x2.splat(0);
  let acc1 = f64x2.splat(0);
  const n4 = n & ~3;
  for (let i = 0; i < n4; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    acc0 = f64x2.add(acc0, f64x2.promote_low_f32x4(v));
    acc1 = f64x2.add(acc1, f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)));
  }
  const acc = f64x2.add(acc0, acc1);
  let s = f64x2.extract_lane(acc, 0) + f64x2.extract_lane(acc, 1);
  for (let i = n4; i < n; i++) s += <f64>load<f32>(x + (<usize>i << 2));
  return s;
}

/** Mean in f64; NaN for an empty array (as numpy). */
export function mean(x: usize, n: i32): f64 {
  if (n <= 0) return NaN;
  return sum(x, n) / <f64>n;
}

/** 1 when every value is finite (no NaN, no ±Inf), else 0. */
export function allFinite(x: usize, n: i32): i32 {
  // x - x is 0 for finite x and NaN for NaN/Inf; NaN != NaN flags it.
  let bad = i32x4.splat(0);
  const n4 = n & ~3;
  for (let i = 0; i < n4; i += 4) {
    const v = v128.load(x + (<usize>i << 2));
    const d = f32x4.sub(v, v);
    bad = v128.or(bad, f32x4.ne(d, d));
  }
  if (v128.any_true(bad)) return 0;
  for (let i = n4; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    const d = v - v;
    if (d != d) return 0;
  }
  return 1;
}

/** max |x[i]|; NaN if any value is NaN; 0 for an empty array. */
export function maxAbs(x: usize, n: i32): f32 {
  let m = f32x4.splat(0);
  const n4 = n & ~3;
  // wasm's f32x4.max propagates NaN, so a NaN anywhere reaches the result.
  for (let i = 0; i < n4; i += 4) m = f32x4.max(m, f32x4.abs(v128.load(x + (<usize>i << 2))));
  let r = Mathf.max(Mathf.max(f32x4.extract_lane(m, 0), f32x4.extract_lane(m, 1)), Mathf.max(f32x4.extract_lane(m, 2), f32x4.extract_lane(m, 3)));
  for (let i = n4; i < n; i++) r = Mathf.max(r, Mathf.abs(load<f32>(x + (<usize>i << 2))));
  return r;
}

// Total order for sorting: NaN sorts after every number (as numpy).
// @ts-ignore: decorator
@inline
function lessThan(a: f32, b: f32): bool {
  return a < b || (b != b && a == a);
}

// @ts-ignore: decorator
@inline
function siftDown(base: usize, start: i32, end: i32): void {
  let root = start;
  while (true) {
    let child = 2 * root + 1;
    if (child >= end) break;
    let cv = load<f32>(base + (<usize>child << 2));
    if (child + 1 < end) {
      const rv = load<f32>(base + (<usize>(child + 1) << 2));
      if (lessThan(cv, rv)) {
        child++;
        cv = rv;
      }
    }
    const rootv = load<f32>(base + (<usize>root << 2));
    if (!lessThan(rootv, cv)) break;
    store<f32>(base + (<usize>root << 2), cv);
    store<f32>(base + (<usize>child << 2), rootv);
    root = child;
  }
}

/** Ascending in-place heapsort (no recursion, no allocation); NaN last. */
function heapSort(base: usize, n: i32): void {
  for (let start = (n >> 1) - 1; start >= 0; start--) siftDown(base, start, n);
  for (let end = n - 1; end > 0; end--) {
    const top = load<f32>(base);
    store<f32>(base, load<f32>(base + (<usize>end << 2)));
    store<f32>(base + (<usize>end << 2), top);
    siftDown(base, 0, end);
  }
}

/**
 * Quantiles with numpy's default ("linear") interpolation: for q in [0, 1] the
 * virtual index is h = q·(n−1), and the result interpolates x[⌊h⌋] and x[⌊h⌋+1]
 * with numpy's two-sided lerp. x is copied into sortedScratch (n floats) and
 * sorted there; out[j] is written for each qs[j]. NaN in x sorts last, so
 * quantiles that touch it are NaN (as numpy). q outside [0, 1] or n = 0 gives NaN.
 */
export function quantiles(out: usize, sortedScratch: usize, x: usize, n: i32, qs: usize, nq: i32): void {
  memory.copy(sortedScratch, x, <usize>n << 2);
  heapSort(sortedScratch, n);
  for (let j = 0; j < nq; j++) {
    const q = <f64>load<f32>(qs + (<usize>j << 2));
    let r: f64 = NaN;
    if (n > 0 && q >= 0 && q <= 1) {
      const h = q * <f64>(n - 1);
      const lo = <i32>Math.floor(h);
      const hi = lo + 1 < n ? lo + 1 : n - 1;
      const t = h - <f64>lo;
      const a = <f64>load<f32>(sortedScratch + (<usize>lo << 2));
      const b = <f64>load<f32>(sortedScratch + (<usize>hi << 2));
      const d = b - a;
      // numpy's _lerp: a + d·t, or b − d·(1−t) for t ≥ 0.5 (exact at both ends).
      r = t >= 0.5 ? b - d * (1 - t) : a + d * t;
    }
    store<f32>(out + (<usize>j << 2), <f32>r);
  }
}

/**
 * Overwrites counts (i32[bins]) with a histogram of x over [lo, hi) in equal
 * bins. Values below lo count in bin 0, values at or above hi in the last bin;
 * NaN is skipped. The bin is ⌊(x − lo) / (hi − lo) · bins⌋ evaluated in f64.
 */
export function histogram(counts: usize, x: usize, n: i32, lo: f32, hi: f32, bins: i32): void {
  if (bins <= 0) abort("histogram: bins must be positive");
  if (!(hi > lo)) abort("histogram: hi must be greater than lo");
  memory.fill(counts, 0, <usize>bins << 2);
  const lo64 = <f64>lo;
  const width = <f64>hi - lo64;
  const last = bins - 1;
  for (let i = 0; i < n; i++) {
    const v = load<f32>(x + (<usize>i << 2));
    if (v != v) continue;
    let b: i32;
    if (v < lo) b = 0;
    else if (v >= hi) b = last;
    else {
      b = <i32>Math.floor(((<f64>v - lo64) / width) * <f64>bins);
      if (b > last) b = last;
    }
    const p = counts + (<usize>b << 2);
    store<i32>(p, load<i32>(p) + 1);
  }
}
