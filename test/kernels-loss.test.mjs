// Cross-entropy (assembly/cross-entropy.ts) and the JREG cosine and distances
// (assembly/jreg.ts): float64 JS references, finite differences of the wasm
// forward, row ranges, in-place backward, and the clamp edge cases.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHarness, rng, finiteDifferences, maxRelError } from "./helpers/engine.mjs";
import { crossEntropy as referenceCrossEntropy } from "./helpers/webgpu-reference.mjs";

const h = await createHarness();
const { k } = h;

// ---------- cross-entropy ----------

function setupCrossEntropy(rows, v, seed, spread = 3) {
  const r = rng(seed);
  const logits = r.array(rows * v, spread);
  const targets = r.ints(rows, v);
  return {
    logits,
    targets,
    pLogits: h.f32(logits),
    pTargets: h.i32(targets),
    pLosses: h.zeros(rows),
    pLse: h.zeros(rows),
  };
}

test("crossEntropyForward matches float64 logsumexp and loss", () => {
  for (const [rows, v] of [[1, 1], [3, 7], [5, 67], [4, 4096]]) {
    for (const spread of [0.1, 3, 30]) {
      const s = setupCrossEntropy(rows, v, rows * 31 + v, spread);
      k.crossEntropyForward(s.pLosses, s.pLse, s.pLogits, s.pTargets, v, 0, rows);
      const ref = referenceCrossEntropy(s.logits, s.targets, rows, v, 1);
      const lseErr = maxRelError(h.read(s.pLse, rows), ref.lse, 1);
      const lossErr = maxRelError(h.read(s.pLosses, rows), ref.losses, 1e-3);
      assert.ok(lseErr < 2e-6, `lse rows=${rows} v=${v} spread=${spread}: ${lseErr}`);
      assert.ok(lossErr < 2e-5, `loss rows=${rows} v=${v} spread=${spread}: ${lossErr}`);
    }
  }
});

test("crossEntropyForward: v = 1 gives zero loss; huge logits do not overflow; bad targets give NaN", () => {
  const s = setupCrossEntropy(3, 1, 2);
  k.crossEntropyForward(s.pLosses, s.pLse, s.pLogits, s.pTargets, 1, 0, 3);
  assert.equal(Array.from(h.read(s.pLosses, 3)), [0, 0, 0]);
  assert.equal(Array.from(h.read(s.pLse, 3)), Array.from(s.logits));
  const big = h.f32([1e30, -1e30, 3e38, 0, 0, 0]);
  k.crossEntropyForward(s.pLosses, s.pLse, big, h.i32([1, 0]), 3, 0, 2);
  assert.equal(Array.from(h.read(s.pLse, 2)), [3e38, 0].map(Math.fround).map((x, i) => (i ? Math.fround(Math.log(3)) : x)));
  assert.is(h.read(s.pLosses, 2)[0], Math.fround(Math.fround(3e38) + Math.fround(1e30)));
  assert.is(h.read(s.pLosses, 2)[1], Math.fround(Math.log(3)));
  k.crossEntropyForward(s.pLosses, s.pLse, h.f32([1, 2, 3, 4]), h.i32([2, -1]), 2, 0, 2);
  const losses = h.read(s.pLosses, 2);
  assert.ok(Number.isNaN(losses[0]) && Number.isNaN(losses[1]), "targets outside [0, v) give NaN");
});

test("crossEntropyBackward matches the float64 gradient and finite differences", () => {
  for (const [rows, v] of [[1, 1], [3, 7], [5, 67], [2, 1000]]) {
    const s = setupCrossEntropy(rows, v, rows + 7 * v);
    const scale = 1 / rows;
    k.crossEntropyForward(s.pLosses, s.pLse, s.pLogits, s.pTargets, v, 0, rows);
    const pD = h.zeros(rows * v);
    h.write(pD, new Float32Array(rows * v).fill(123)); // written, not accumulated
    k.crossEntropyBackward(pD, s.pLogits, s.pLse, s.pTargets, v, scale, 0, rows);
    const got = h.read(pD, rows * v);
    const want = referenceCrossEntropy(s.logits, s.targets, rows, v, scale).dlogits;
    // absolute error relative to the gradient's scale (entries near 0 lose relative accuracy)
    const err = Math.max(...got.map((g, i) => Math.abs(g - want[i]))) / scale;
    assert.ok(err < 1e-6, `rows=${rows} v=${v}: ${err}`);
    // finite differences of the mean loss computed by the wasm forward
    const loss = () => {
      k.crossEntropyForward(s.pLosses, s.pLse, s.pLogits, s.pTargets, v, 0, rows);
      let total = 0;
      for (const l of h.read(s.pLosses, rows)) total += l;
      return total * scale;
    };
    for (const { index, numeric } of finiteDifferences(h, s.pLogits, rows * v, loss, { eps: 1e-2, count: 24 })) {
      assert.ok(Math.abs(numeric - got[index]) < 2e-3 * Math.max(1, Math.abs(got[index])) + 5e-5, `fd rows=${rows} v=${v} [${index}]: ${numeric} vs ${got[index]}`);
    }
  }
});

test("crossEntropyBackward in place equals out of place, bit for bit", () => {
  const rows = 6, v = 67;
  const s = setupCrossEntropy(rows, v, 99);
  k.crossEntropyForward(s.pLosses, s.pLse, s.pLogits, s.pTargets, v, 0, rows);
  const pOut = h.zeros(rows * v);
  k.crossEntropyBackward(pOut, s.pLogits, s.pLse, s.pTargets, v, 0.25, 0, rows);
  k.crossEntropyBackward(s.pLogits, s.pLogits, s.pLse, s.pTargets, v, 0.25, 0, rows);
  assert.equal(h.read(s.pLogits, rows * v), h.read(pOut, rows * v));
});

test("cross-entropy row ranges are bit-identical to one full call", () => {
  const rows = 9, v = 67;
  const s = setupCrossEntropy(rows, v, 5);
  k.crossEntropyForward(s.pLosses, s.pLse, s.pLogits, s.pTargets, v, 0, rows);
  const pD = h.zeros(rows * v);
  k.crossEntropyBackward(pD, s.pLogits, s.pLse, s.pTargets, v, 0.5, 0, rows);
  const full = [h.read(s.pLosses, rows), h.read(s.pLse, rows), h.read(pD, rows * v)];
  const pL2 = h.zeros(rows), pS2 = h.zeros(rows), pD2 = h.zeros(rows * v);
  for (const [a, b] of [[0, 2], [2, 3], [3, 9]]) {
    k.crossEntropyForward(pL2, pS2, s.pLogits, s.pTargets, v, a, b);
    k.crossEntropyBackward(pD2, s.pLogits, pS2, s.pTargets, v, 0.5, a, b);
  }
  assert.equal([h.read(pL2, rows), h.read(pS2, rows), h.read(pD2, rows * v)], full);
});

test("the softmax exp (seen through crossEntropyBackward with lse = 0) is within 2 ulp of exp", () => {
  // With lse = 0, scale = 1 and no valid target, dlogits = exp(logits) exactly as the kernels use it.
  const n = 4099; // vector body and scalar tail
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) x[i] = -87 + (97 * i) / (n - 1); // [-87, 10]
  const out = h.zeros(n);
  k.crossEntropyBackward(out, h.f32(x), h.f32([0]), h.i32([-1]), n, 1, 0, 1);
  const got = h.read(out, n);
  let worst = 0;
  for (let i = 0; i < n; i++) {
    const want = Math.exp(x[i]);
    const ulp = Math.fround(want * (1 + 2 ** -23)) - Math.fround(want);
    worst = Math.max(worst, Math.abs(got[i] - want) / Math.max(ulp, 2 ** -149));
  }
  assert.ok(worst <= 2, `worst error ${worst} ulp`);
  const edge = Float32Array.from([-88, -100, -Infinity, 0, NaN, -87.3]);
  const pe = h.zeros(edge.length);
  k.crossEntropyBackward(pe, h.f32(edge), h.f32([0]), h.i32([-1]), edge.length, 1, 0, 1);
  const e = h.read(pe, edge.length);
  assert.ok(e[0] >= 0 && e[0] < 1.2e-38 && e[1] >= 0 && e[1] < 1.2e-38 && e[2] >= 0 && e[2] < 1.2e-38, `far below: ${e.slice(0, 3)}`);
  assert.is(e[3], 1);
  assert.ok(Number.isNaN(e[4]), "NaN stays NaN");
  assert.ok(Math.abs(e[5] - Math.exp(edge[5])) / Math.exp(edge[5]) < 1e-6, "still accurate just above the flush point");
});

// ---------- JREG cosine ----------

function referenceCosine(a, b, rows, c) {
  const cos = new Float64Array(rows), na = new Float64Array(rows), nb = new Float64Array(rows);
  const da = new Float64Array(rows * c), db = new Float64Array(rows * c);
  for (let i = 0; i < rows; i++) {
    let ab = 0, aa = 0, bb = 0;
    for (let j = 0; j < c; j++) {
      const x = a[i * c + j], y = b[i * c + j];
      ab += x * y;
      aa += x * x;
      bb += y * y;
    }
    na[i] = Math.sqrt(aa);
    nb[i] = Math.sqrt(bb);
    const clamped = !(na[i] * nb[i] > 1e-8);
    const denom = clamped ? 1e-8 : na[i] * nb[i];
    cos[i] = ab / denom;
    for (let j = 0; j < c; j++) {
      const x = a[i * c + j], y = b[i * c + j];
      da[i * c + j] = clamped ? y / 1e-8 : y / denom - (cos[i] * x) / aa;
      db[i * c + j] = clamped ? x / 1e-8 : x / denom - (cos[i] * y) / bb;
    }
  }
  return { cos, na, nb, da, db };
}

function setupCosine(a, b, rows, c) {
  return {
    pA: h.f32(a), pB: h.f32(b),
    pCos: h.zeros(rows), pNa: h.zeros(rows), pNb: h.zeros(rows),
  };
}

test("cosineForward matches float64 cosine and norms (widths not multiple of 4)", () => {
  for (const [rows, c] of [[1, 1], [3, 5], [7, 67], [4, 256]]) {
    const r = rng(c * 13 + rows);
    const a = r.array(rows * c), b = r.array(rows * c);
    // mix in near-parallel rows where cos ≈ 1
    for (let j = 0; j < c; j++) b[j] = a[j] * 2 + 1e-3 * b[j];
    const s = setupCosine(a, b, rows, c);
    k.cosineForward(s.pCos, s.pNa, s.pNb, s.pA, s.pB, c, 0, rows);
    const ref = referenceCosine(a, b, rows, c);
    const cosErr = Math.max(...h.read(s.pCos, rows).map((x, i) => Math.abs(x - ref.cos[i])));
    assert.ok(cosErr < 1.5e-7, `cos rows=${rows} c=${c}: ${cosErr}`);
    assert.ok(maxRelError(h.read(s.pNa, rows), ref.na) < 1e-7);
    assert.ok(maxRelError(h.read(s.pNb, rows), ref.nb) < 1e-7);
  }
});

test("cosineBackward accumulates the analytic gradient and matches finite differences", () => {
  for (const [rows, c] of [[1, 1], [3, 5], [5, 67]]) {
    const r = rng(rows * 100 + c);
    const a = r.array(rows * c), b = r.array(rows * c);
    const s = setupCosine(a, b, rows, c);
    const weights = r.array(rows);
    const pW = h.f32(weights);
    k.cosineForward(s.pCos, s.pNa, s.pNb, s.pA, s.pB, c, 0, rows);
    const init = r.array(rows * c);
    const pDa = h.f32(init), pDb = h.f32(init);
    k.cosineBackward(pDa, pDb, pW, s.pA, s.pB, s.pCos, s.pNa, s.pNb, c, 0, rows);
    const ref = referenceCosine(a, b, rows, c);
    const wantA = ref.da.map((g, i) => init[i] + weights[Math.floor(i / c)] * g);
    const wantB = ref.db.map((g, i) => init[i] + weights[Math.floor(i / c)] * g);
    const gotA = h.read(pDa, rows * c), gotB = h.read(pDb, rows * c);
    assert.ok(maxRelError(gotA, wantA, 1e-2) < 1e-5, `da rows=${rows} c=${c}`);
    assert.ok(maxRelError(gotB, wantB, 1e-2) < 1e-5, `db rows=${rows} c=${c}`);
    const loss = () => {
      k.cosineForward(s.pCos, s.pNa, s.pNb, s.pA, s.pB, c, 0, rows);
      const cs = h.read(s.pCos, rows);
      let total = 0;
      for (let i = 0; i < rows; i++) total += weights[i] * cs[i];
      return total;
    };
    for (const [ptr, got] of [[s.pA, gotA], [s.pB, gotB]]) {
      for (const { index, numeric } of finiteDifferences(h, ptr, rows * c, loss, { eps: 1e-3, count: 20 })) {
        const analytic = got[index] - init[index];
        assert.ok(Math.abs(numeric - analytic) < 3e-3 * Math.max(1, Math.abs(analytic)), `fd rows=${rows} c=${c} [${index}]: ${numeric} vs ${analytic}`);
      }
    }
  }
});

test("cosine with zero vectors uses the 1e-8 clamp; anti-parallel gives −1 with a finite gradient", () => {
  const c = 6;
  const a = new Float32Array(3 * c), b = new Float32Array(3 * c);
  for (let j = 0; j < c; j++) {
    b[j] = j + 1; // row 0: a = 0
    // row 1: both zero
    a[2 * c + j] = j - 2.5;
    b[2 * c + j] = -3 * (j - 2.5); // row 2: anti-parallel
  }
  const s = setupCosine(a, b, 3, c);
  k.cosineForward(s.pCos, s.pNa, s.pNb, s.pA, s.pB, c, 0, 3);
  const cs = h.read(s.pCos, 3);
  assert.equal([cs[0], cs[1]], [0, 0]);
  assert.is(cs[2], -1);
  assert.is(h.read(s.pNa, 3)[0], 0);
  const pDa = h.zeros(3 * c), pDb = h.zeros(3 * c);
  k.cosineBackward(pDa, pDb, h.f32([1, 1, 1]), s.pA, s.pB, s.pCos, s.pNa, s.pNb, c, 0, 3);
  const da = h.read(pDa, 3 * c), db = h.read(pDb, 3 * c);
  for (let j = 0; j < c; j++) {
    assert.is(da[j], Math.fround((j + 1) / 1e-8), "clamped: ∂cos/∂a = b/1e-8");
    assert.is(db[j], 0, "clamped: ∂cos/∂b = a/1e-8 = 0");
    assert.is(da[c + j], 0);
    assert.is(db[c + j], 0);
  }
  // at cos = −1 the gradient b/(|a||b|) − cos·a/|a|² vanishes (b ∥ a)
  assert.ok(Math.max(...da.slice(2 * c).map(Math.abs)) < 1e-6 && Math.max(...db.slice(2 * c).map(Math.abs)) < 1e-6);
});

test("cosine row ranges are bit-identical to one full call", () => {
  const rows = 7, c = 67;
  const r = rng(77);
  const a = r.array(rows * c), b = r.array(rows * c), w = r.array(rows);
  const s = setupCosine(a, b, rows, c);
  k.cosineForward(s.pCos, s.pNa, s.pNb, s.pA, s.pB, c, 0, rows);
  const pDa = h.zeros(rows * c), pDb = h.zeros(rows * c), pW = h.f32(w);
  k.cosineBackward(pDa, pDb, pW, s.pA, s.pB, s.pCos, s.pNa, s.pNb, c, 0, rows);
  const full = [s.pCos, s.pNa, s.pNb].map((p) => h.read(p, rows)).concat([h.read(pDa, rows * c), h.read(pDb, rows * c)]);
  const t = setupCosine(a, b, rows, c);
  const pDa2 = h.zeros(rows * c), pDb2 = h.zeros(rows * c);
  for (const [x, y] of [[0, 3], [3, 4], [4, 7]]) {
    k.cosineForward(t.pCos, t.pNa, t.pNb, t.pA, t.pB, c, x, y);
    k.cosineBackward(pDa2, pDb2, pW, t.pA, t.pB, t.pCos, t.pNa, t.pNb, c, x, y);
  }
  const split = [t.pCos, t.pNa, t.pNb].map((p) => h.read(p, rows)).concat([h.read(pDa2, rows * c), h.read(pDb2, rows * c)]);
  assert.equal(split, full);
});

// ---------- distances ----------

const LIMIT = Math.fround(1 - 1e-7);

test("distanceFromCos: cosine, angular (clamp ±1) and loss angular (clamp 1−1e-7)", () => {
  const cos = Float32Array.from([1, -1, 0, 0.5, -0.3, 1.0000001, -1.5, 0.99999994, LIMIT, -LIMIT, 0.9999]);
  const n = cos.length;
  const pCos = h.f32(cos), out = h.zeros(n);
  const run = (kind) => (k.distanceFromCos(out, pCos, n, kind), h.read(out, n));
  const clamp = (x, lim) => Math.min(Math.max(x, -lim), lim);
  assert.equal(Array.from(run(0)), Array.from(cos, (x) => Math.fround(1 - x)));
  assert.equal(Array.from(run(1)), Array.from(cos, (x) => Math.fround(Math.acos(clamp(x, 1)) / Math.PI)));
  const loss = run(2);
  assert.equal(Array.from(loss), Array.from(cos, (x) => Math.fround(Math.acos(clamp(x, LIMIT)) / Math.PI)));
  assert.is(run(1)[0], 0);
  assert.is(run(1)[1], 1);
  assert.ok(loss[0] > 0 && loss[1] < 1, "loss clamp keeps the distance off the endpoints");
  assert.is(loss[0], loss[7], "1 and 0.99999994 both clamp to 1−1e-7");
  assert.throws(() => k.distanceFromCos(out, pCos, n, 3), /aborted/);
});

test("distanceGrad: −coef·scale for cosine (coef from the scalars tensor); angular derivative with zero gradient where clamped", () => {
  const cos = Float32Array.from([0, 0.5, -0.7, 0.99, LIMIT, -LIMIT, 1, -1, 0.99999994]);
  const n = cos.length;
  const pCos = h.f32(cos), d = h.zeros(n);
  // the coefficient sits at slot 3 of a scalars tensor; the others must not be read
  const scalars = h.f32([7, 7, 7, 0.5, 7]);
  const one = h.f32([1]);
  h.write(d, new Float32Array(n).fill(5));
  k.distanceGrad(d, pCos, n, 0, scalars, 3, 0.5);
  assert.equal(Array.from(h.read(d, n)), new Array(n).fill(-0.25));
  k.distanceGrad(d, pCos, n, 2, scalars, 3, 0.5);
  const g = h.read(d, n);
  for (let i = 0; i < n; i++) {
    const c = cos[i];
    const want = Math.abs(c) <= LIMIT ? -0.25 / (Math.PI * Math.sqrt(1 - c * c)) : 0;
    assert.ok(Math.abs(g[i] - want) <= 1e-6 * Math.abs(want), `kind 2 at cos=${c}: ${g[i]} vs ${want}`);
    assert.ok(Number.isFinite(g[i]));
  }
  assert.ok(g[4] !== 0 && g[5] !== 0, "the gradient passes at the clamp bounds themselves");
  assert.equal([g[6], g[7], g[8]], [0, 0, 0]);
  // finite differences of the wasm forward inside the clamp
  const inside = Float32Array.from([0.1, -0.6, 0.9]);
  const pIn = h.f32(inside), dist = h.zeros(3), dg = h.zeros(3);
  k.distanceGrad(dg, pIn, 3, 2, one, 0, 1);
  const grads = h.read(dg, 3);
  const eps = 1e-3;
  inside.forEach((c, i) => {
    const f = (x) => (h.write(pIn, [x]), k.distanceFromCos(dist, pIn, 1, 2), h.read(dist, 1)[0]);
    const all = h.read(pIn, 3);
    h.write(pIn, [c]);
    const numeric = (f(c + eps) - f(c - eps)) / (2 * eps);
    h.write(pIn, all);
    assert.ok(Math.abs(numeric - grads[i]) < 2e-3 * Math.abs(grads[i]), `fd at ${c}: ${numeric} vs ${grads[i]}`);
  });
  assert.throws(() => k.distanceGrad(d, pCos, n, 7, one, 0, 1), /aborted/);
});

test.run();
