// Reductions (assembly/reduce.ts) against float64 JS references.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHarness, rng } from "./helpers/engine.mjs";

const h = await createHarness();
const { k } = h;
const SIZES = [0, 1, 3, 4, 7, 67, 1000];

test("sum, sumSquares and mean match float64 sums", () => {
  const r = rng(11);
  for (const n of SIZES) {
    const x = r.array(n, 3);
    const p = h.f32(x);
    let s = 0, s2 = 0;
    for (const v of x) {
      s += v;
      s2 += v * v;
    }
    assert.ok(Math.abs(k.sum(p, n) - s) <= 1e-12 * Math.max(1, s2), `sum n=${n}`);
    assert.ok(Math.abs(k.sumSquares(p, n) - s2) <= 1e-12 * Math.max(1, s2), `sumSquares n=${n}`);
    if (n === 0) assert.ok(Number.isNaN(k.mean(p, n)), "mean of nothing is NaN");
    else assert.ok(Math.abs(k.mean(p, n) - s / n) <= 1e-12 * Math.max(1, s2), `mean n=${n}`);
  }
});

test("sum of many values keeps float64 precision", () => {
  const n = 1 << 20;
  const x = new Float32Array(n).fill(0.1);
  const p = h.f32(x);
  const exact = n * Math.fround(0.1);
  assert.ok(Math.abs(k.sum(p, n) - exact) < 1e-6, `got ${k.sum(p, n)}, want ${exact}`);
});

test("allFinite finds NaN and ±Inf in the vector body and in the tail", () => {
  for (const n of [1, 4, 7, 64, 67]) {
    const x = rng(n).array(n);
    const p = h.f32(x);
    assert.is(k.allFinite(p, n), 1);
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (const at of [0, n - 1, n >> 1]) {
        const y = x.slice();
        y[at] = bad;
        h.write(p, y);
        assert.is(k.allFinite(p, n), 0, `n=${n} ${bad} at ${at}`);
      }
    }
  }
  assert.is(k.allFinite(h.zeros(1), 0), 1, "empty is finite");
  assert.is(k.allFinite(h.f32([3.4e38, -3.4e38, 1e-45, -0]), 4), 1, "extremes are finite");
});

test("maxAbs matches Math.max of |x| and propagates NaN", () => {
  for (const n of SIZES) {
    const x = rng(n + 5).array(n, 2);
    const p = h.f32(x);
    const want = n ? Math.max(...Array.from(x, Math.abs)) : 0;
    assert.is(k.maxAbs(p, n), want, `n=${n}`);
  }
  const y = rng(3).array(9);
  y[8] = NaN;
  assert.ok(Number.isNaN(k.maxAbs(h.f32(y), 9)));
  y[8] = -Infinity;
  assert.is(k.maxAbs(h.f32(y), 9), Infinity);
});

// numpy.quantile(x, q) with method="linear" (the default), including its lerp.
function numpyQuantile(sorted, q) {
  const n = sorted.length;
  const hIdx = q * (n - 1);
  const lo = Math.floor(hIdx);
  const hi = Math.min(lo + 1, n - 1);
  const t = hIdx - lo;
  const a = sorted[lo], b = sorted[hi];
  const d = b - a;
  return t >= 0.5 ? b - d * (1 - t) : a + d * t;
}

test("quantiles sort a copy and interpolate like numpy's linear method", () => {
  const qs = Float32Array.from([0, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 1]);
  const r = rng(21);
  for (const n of [1, 2, 3, 5, 8, 67, 1001, 4096]) {
    const x = r.array(n, 5);
    // repeated values exercise the heap's ties
    for (let i = 0; i < n; i += 7) x[i] = x[0];
    const px = h.f32(x);
    const scratch = h.zeros(n);
    const out = h.zeros(qs.length);
    k.quantiles(out, scratch, px, n, h.f32(qs), qs.length);
    const sorted = Float64Array.from(x).sort();
    assert.equal(Array.from(h.read(scratch, n)), Array.from(sorted, Math.fround), `sorted n=${n}`);
    assert.equal(Array.from(h.read(px, n)), Array.from(x), "input untouched");
    const got = h.read(out, qs.length);
    qs.forEach((q, j) => assert.is(got[j], Math.fround(numpyQuantile(sorted, q)), `n=${n} q=${q}`));
  }
});

test("quantiles: already sorted, reversed, NaN last, bad q and empty input", () => {
  const qs = h.f32([0, 0.5, 1, 1.5, -0.1]);
  const out = h.zeros(5);
  for (const x of [[1, 2, 3, 4, 5], [5, 4, 3, 2, 1]]) {
    k.quantiles(out, h.zeros(5), h.f32(x), 5, qs, 5);
    const got = h.read(out, 5);
    assert.equal(Array.from(got.slice(0, 3)), [1, 3, 5]);
    assert.ok(Number.isNaN(got[3]) && Number.isNaN(got[4]), "q outside [0, 1] gives NaN");
  }
  const scratch = h.zeros(5);
  k.quantiles(out, scratch, h.f32([2, NaN, 1, 3, 0]), 5, qs, 3);
  const sorted = h.read(scratch, 5);
  assert.equal(Array.from(sorted.slice(0, 4)), [0, 1, 2, 3]);
  assert.ok(Number.isNaN(sorted[4]), "NaN sorts last");
  const got = h.read(out, 3);
  assert.equal([got[0], got[1]], [0, 2]);
  assert.ok(Number.isNaN(got[2]), "max of data with NaN is NaN");
  k.quantiles(out, scratch, h.zeros(1), 0, qs, 1);
  assert.ok(Number.isNaN(h.read(out, 1)[0]), "empty input gives NaN");
});

function referenceHistogram(x, lo, hi, bins) {
  const counts = new Array(bins).fill(0);
  lo = Math.fround(lo);
  hi = Math.fround(hi);
  for (const v of x) {
    if (Number.isNaN(v)) continue;
    let b = v < lo ? 0 : v >= hi ? bins - 1 : Math.min(bins - 1, Math.floor(((v - lo) / (hi - lo)) * bins));
    counts[b]++;
  }
  return counts;
}

test("histogram over random data matches the reference", () => {
  const r = rng(5);
  for (const [n, lo, hi, bins] of [[1000, -1, 1, 10], [67, 0, 0.3, 7], [5, -2, 2, 1], [4096, 0, 1, 50]]) {
    const x = r.array(n);
    const counts = h.zeros(bins);
    k.histogram(counts, h.f32(x), n, lo, hi, bins);
    const got = Array.from(h.arena.i32(counts, bins));
    assert.equal(got, referenceHistogram(x, lo, hi, bins));
    assert.is(got.reduce((a, b) => a + b, 0), n);
  }
});

test("histogram edges: below lo, at hi, above hi, ±Inf, NaN, bin boundaries, overwrite", () => {
  const x = [-5, -Infinity, 0, 0.25, 0.5, 0.75, 0.9999999, 1, 7, Infinity, NaN, NaN];
  const counts = h.i32(new Int32Array(4).fill(99));
  k.histogram(counts, h.f32(x), x.length, 0, 1, 4);
  // bin 0: -5, -Inf, 0; bin 1: 0.25; bin 2: 0.5; bin 3: 0.75, 0.9999999, 1, 7, Inf; NaN skipped; old counts cleared
  assert.equal(Array.from(h.arena.i32(counts, 4)), [3, 1, 1, 5]);
  assert.equal(Array.from(h.arena.i32(counts, 4)), referenceHistogram(Float32Array.from(x), 0, 1, 4));
  assert.throws(() => k.histogram(counts, h.f32(x), 3, 1, 1, 4), /aborted/);
  assert.throws(() => k.histogram(counts, h.f32(x), 3, 0, 1, 0), /aborted/);
});

test.run();
