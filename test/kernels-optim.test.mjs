// CPU kernels for parameters: initNormal (assembly/init.ts) and the fused
// optimizer updates adamwStep / sgdStep (assembly/optimizer.ts), which read the
// clip scale, the skip flag and the update count from the step scalars.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHarness, rng, maxRelError } from "./helpers/engine.mjs";

const h = await createHarness();
const { k } = h;
const f = Math.fround;

function bits(arr) {
  return Array.from(new Uint32Array(Float32Array.from(arr).buffer));
}
function sample(n, std, seed, stream) {
  const p = h.zeros(n);
  k.initNormal(p, n, std, seed, stream);
  return h.read(p, n);
}
function moments(x) {
  let m = 0;
  for (const v of x) m += v;
  m /= x.length;
  let v2 = 0, v4 = 0;
  for (const v of x) {
    v2 += (v - m) ** 2;
    v4 += (v - m) ** 4;
  }
  v2 /= x.length;
  v4 /= x.length;
  return { mean: m, std: Math.sqrt(v2), kurtosis: v4 / (v2 * v2) };
}
function correlation(a, b) {
  const ma = moments(a), mb = moments(b);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - ma.mean) * (b[i] - mb.mean);
  return s / a.length / (ma.std * mb.std);
}

// ---------------------------------------------------------------- initNormal

test("initNormal has mean 0, the requested std and normal tails", () => {
  const n = 200001, std = 0.02;
  const x = sample(n, std, 1234, 0);
  assert.ok(x.every(Number.isFinite), "all samples finite");
  const { mean, std: s, kurtosis } = moments(x);
  assert.ok(Math.abs(mean) < 5 * std / Math.sqrt(n), `mean ${mean}`);
  assert.ok(Math.abs(s / std - 1) < 0.01, `std ${s} vs ${std}`);
  assert.ok(Math.abs(kurtosis - 3) < 0.1, `kurtosis ${kurtosis} (normal: 3)`);
  const within1 = x.filter((v) => Math.abs(v) < std).length / n;
  const within2 = x.filter((v) => Math.abs(v) < 2 * std).length / n;
  assert.ok(Math.abs(within1 - 0.682689) < 0.005, `P(|x|<σ) = ${within1}`);
  assert.ok(Math.abs(within2 - 0.954500) < 0.003, `P(|x|<2σ) = ${within2}`);
  // Neighbouring elements (the Box–Muller pair and across pairs) are uncorrelated.
  assert.ok(Math.abs(correlation(x.subarray(0, n - 1), x.subarray(1))) < 0.01, "lag-1 correlation");
  const even = x.filter((_, i) => i % 2 === 0).slice(0, 100000), odd = x.filter((_, i) => i % 2 === 1);
  assert.ok(Math.abs(correlation(even, odd)) < 0.015, "pair correlation");
});

test("initNormal is deterministic, a pure function of (seed, stream, index), and stays in bounds", () => {
  const a = sample(1001, 0.02, 7, 3), b = sample(1001, 0.02, 7, 3);
  assert.equal(bits(a), bits(b), "same key, same bits");
  // Prefix property: element i does not depend on n (odd n writes its last element too).
  for (const n of [1, 3, 7, 33]) assert.equal(bits(sample(n, 0.02, 7, 3)), bits(a.subarray(0, n)), `prefix n=${n}`);
  // std only scales.
  const unit = sample(1001, 1, 7, 3);
  assert.ok(unit.every((v, i) => Math.abs(v * f(0.02) - a[i]) <= 2e-7 * Math.abs(a[i])), "std scales the samples");
  // No write past n.
  const p = h.zeros(8);
  h.write(p, new Float32Array(8).fill(99));
  k.initNormal(p, 5, 0.02, 7, 3);
  assert.equal(Array.from(h.read(p + 20, 3)), [99, 99, 99], "wrote past n");
});

test("initNormal streams and seeds are independent", () => {
  const n = 50000;
  const base = sample(n, 1, 42, 0);
  for (const [seed, stream] of [[42, 1], [42, 2], [43, 0], [0, 0], [42, 0xffffffff]]) {
    const other = sample(n, 1, seed, stream);
    const same = other.filter((v, i) => v === base[i]).length;
    assert.ok(same < 5, `seed ${seed} stream ${stream}: ${same} identical samples`);
    const rho = correlation(base, other);
    assert.ok(Math.abs(rho) < 5 / Math.sqrt(n), `seed ${seed} stream ${stream}: correlation ${rho}`);
  }
  // A stream is not a shifted copy of another.
  const s1 = sample(n + 2, 1, 42, 1);
  assert.ok(Math.abs(correlation(base, s1.subarray(2))) < 5 / Math.sqrt(n), "stream 1 is not stream 0 shifted");
});

// ---------------------------------------------------------------- adamw

const HP = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8 };
// StepSlot (host/backend/backend.ts)
const CLIP_SCALE = 5, SKIP = 6, UPDATES = 7;

/** A step-scalars tensor with the optimizer's inputs set. */
function stepScalars({ clipScale = 1, skip = 0, updates = 1 } = {}) {
  const s = new Float32Array(16).fill(777); // other slots must not matter
  s[CLIP_SCALE] = clipScale;
  s[SKIP] = skip;
  s[UPDATES] = updates;
  return h.f32(s);
}
/** adamwStep over [0, n) with decay on [0, decayLength) (default: all). */
function adamw(pp, pg, pm, pv, n, wd, step, { decayLength = n, clipScale = 1, skip = 0, ranges = [[0, n]] } = {}) {
  const s = stepScalars({ clipScale, skip, updates: step });
  for (const [a, b] of ranges) k.adamwStep(pp, pg, pm, pv, HP.lr, HP.beta1, HP.beta2, HP.eps, wd, decayLength, s, a, b);
}

/** PyTorch's AdamW (single-tensor path) in float64. */
function adamw64(p, m, v, g, { lr, beta1, beta2, eps }, wd, step) {
  const bc1 = 1 - beta1 ** step, bc2 = 1 - beta2 ** step;
  for (let i = 0; i < p.length; i++) {
    p[i] *= 1 - lr * wd;
    m[i] = beta1 * m[i] + (1 - beta1) * g[i];
    v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
    p[i] -= (lr / bc1) * m[i] / (Math.sqrt(v[i]) / Math.sqrt(bc2) + eps);
  }
}
/** The same update with every PyTorch float32 op rounded as PyTorch rounds it (see optimizer.ts). */
function adamw32(p, m, v, g, hp, wd, step) {
  const lr = f(hp.lr), b1 = f(hp.beta1), b2 = f(hp.beta2), eps = f(hp.eps), w = f(wd);
  const decay = f(1 - lr * w), omb1 = f(1 - b1), omb2 = f(1 - b2);
  const negStep = f(-lr / (1 - b1 ** step)), bc2Sqrt = f(Math.sqrt(1 - b2 ** step));
  for (let i = 0; i < p.length; i++) {
    let pi = p[i];
    if (w !== 0) pi = f(pi * decay);
    m[i] = f(m[i] + f(omb1 * f(g[i] - m[i])));
    v[i] = f(f(v[i] * b2) + f(f(omb2 * g[i]) * g[i]));
    const denom = f(f(f(Math.sqrt(v[i])) / bc2Sqrt) + eps);
    p[i] = f(pi + f(f(negStep * m[i]) / denom));
  }
}

test("adamwStep follows PyTorch's AdamW over 3 steps (float64 reference and float32 op order)", () => {
  const r = rng(61);
  for (const n of [1, 3, 7, 33, 130]) {
    for (const wd of [0, 0.1]) {
      const p0 = r.array(n);
      const pp = h.f32(p0), pg = h.zeros(n), pm = h.zeros(n), pv = h.zeros(n + 4);
      h.write(pv + n * 4, [99, 99, 99, 99]);
      const p64 = Float64Array.from(p0), m64 = new Float64Array(n), v64 = new Float64Array(n);
      const p32 = Float32Array.from(p0), m32 = new Float32Array(n), v32 = new Float32Array(n);
      for (let step = 1; step <= 3; step++) {
        const g = r.array(n);
        g[0] = 0; // a zero gradient still moves p through the momentum
        h.write(pg, g);
        adamw(pp, pg, pm, pv, n, wd, step);
        adamw64(p64, m64, v64, g, HP, wd, step);
        adamw32(p32, m32, v32, g, HP, wd, step);
        const p = h.read(pp, n), m = h.read(pm, n), v = h.read(pv, n);
        assert.equal(bits(p), bits(p32), `p float32 op order n=${n} wd=${wd} step=${step}`);
        assert.equal(bits(m), bits(m32), `m float32 op order n=${n} wd=${wd} step=${step}`);
        assert.equal(bits(v), bits(v32), `v float32 op order n=${n} wd=${wd} step=${step}`);
        // The update itself (p − p0), not just p, agrees with float64.
        const delta = p.map((x, i) => x - p0[i]), delta64 = p64.map((x, i) => x - p0[i]);
        assert.ok(maxRelError(delta, delta64, 1e-3) < 1e-3, `Δp vs float64 n=${n} wd=${wd} step=${step}`);
        assert.ok(maxRelError(m, m64, 1e-3) < 1e-5, `m vs float64 n=${n} step=${step}`);
        assert.ok(maxRelError(v, v64, 1e-4) < 1e-5, `v vs float64 n=${n} step=${step}`);
      }
      assert.equal(Array.from(h.read(pv + n * 4, 4)), [99, 99, 99, 99], "wrote past n");
    }
  }
});

test("adamwStep: weight decay 0 leaves p unscaled; weight decay scales p by 1 − lr·wd", () => {
  const r = rng(62);
  const n = 37, p0 = r.array(n);
  const run = (wd) => {
    const pp = h.f32(p0);
    adamw(pp, h.zeros(n), h.zeros(n), h.zeros(n), n, wd, 1);
    return h.read(pp, n);
  };
  // With g = m = v = 0 the Adam part is exactly zero, so only the decay can move p.
  assert.equal(bits(run(0)), bits(p0), "wd = 0");
  const decay = f(1 - f(HP.lr) * f(0.1));
  assert.equal(bits(run(0.1)), bits(p0.map((x) => f(x * decay))), "wd = 0.1");
});

test("adamwStep: bias correction makes the first step ≈ lr·sign(g)", () => {
  const n = 9, g = Float32Array.from([1, -2, 3, -4, 5, -6, 7, -8, 0.5]);
  const pp = h.zeros(n);
  adamw(pp, h.f32(g), h.zeros(n), h.zeros(n), n, 0, 1);
  const p = h.read(pp, n);
  p.forEach((x, i) => assert.ok(Math.abs(x + HP.lr * Math.sign(g[i])) < 1e-7, `p[${i}] = ${x}`));
});

test("sgdStep: p −= lr·g in float32, any length", () => {
  const r = rng(63);
  for (const n of [1, 3, 7, 33]) {
    const p0 = r.array(n), g = r.array(n), lr = 0.05;
    const pp = h.f32(p0);
    k.sgdStep(pp, h.f32(g), lr, stepScalars(), 0, n);
    assert.equal(bits(h.read(pp, n)), bits(p0.map((x, i) => f(x - f(f(lr) * g[i])))), `n=${n}`);
  }
});

test("adamwStep: weight decay only on [0, decayLength), also when the boundary splits a SIMD group", () => {
  const r = rng(64);
  const n = 41, p0 = r.array(n), g = r.array(n);
  for (const decayLength of [0, 1, 13, 16, 40, 41]) {
    const pp = h.f32(p0), pm = h.zeros(n), pv = h.zeros(n);
    adamw(pp, h.f32(g), pm, pv, n, 0.1, 1, { decayLength });
    // reference: decayed prefix, undecayed rest, element by element
    const p32 = Float32Array.from(p0), m32 = new Float32Array(n), v32 = new Float32Array(n);
    const head = [p32.subarray(0, decayLength), m32.subarray(0, decayLength), v32.subarray(0, decayLength)];
    const tail = [p32.subarray(decayLength), m32.subarray(decayLength), v32.subarray(decayLength)];
    adamw32(...head, g.subarray(0, decayLength), HP, 0.1, 1);
    adamw32(...tail, g.subarray(decayLength), HP, 0, 1);
    assert.equal(bits(h.read(pp, n)), bits(p32), `decayLength ${decayLength}`);
  }
});

test("adamwStep: any split of [0, n) into ranges gives the same bits (threads)", () => {
  const r = rng(65);
  const n = 103, p0 = r.array(n), g = r.array(n);
  const run = (ranges) => {
    const pp = h.f32(p0), pm = h.f32(r.array(n).fill(0.01)), pv = h.f32(new Float32Array(n).fill(0.02));
    adamw(pp, h.f32(g), pm, pv, n, 0.1, 3, { decayLength: 50, ranges });
    return [...bits(h.read(pp, n)), ...bits(h.read(pm, n)), ...bits(h.read(pv, n))];
  };
  const whole = run([[0, n]]);
  for (const ranges of [[[0, 1], [1, n]], [[0, 50], [50, 51], [51, n]], [[0, 6], [6, 64], [64, n]]]) assert.equal(run(ranges), whole, JSON.stringify(ranges));
});

test("adamwStep and sgdStep: the skip flag leaves p, m, v bit-untouched", () => {
  const r = rng(66);
  const n = 37, p0 = r.array(n), m0 = r.array(n, 0.1), v0 = r.array(n, 0.1).map(Math.abs), g = r.array(n);
  for (const skip of [1, 2]) {
    const pp = h.f32(p0), pm = h.f32(m0), pv = h.f32(v0);
    adamw(pp, h.f32(g), pm, pv, n, 0.1, 4, { skip });
    assert.equal(bits(h.read(pp, n)), bits(p0), `adamw p, skip ${skip}`);
    assert.equal(bits(h.read(pm, n)), bits(m0), `adamw m, skip ${skip}`);
    assert.equal(bits(h.read(pv, n)), bits(v0), `adamw v, skip ${skip}`);
    const ps = h.f32(p0);
    k.sgdStep(ps, h.f32(g), 0.05, stepScalars({ skip }), 0, n);
    assert.equal(bits(h.read(ps, n)), bits(p0), `sgd p, skip ${skip}`);
  }
});

test("adamwStep and sgdStep: the clip scale multiplies g first (as clip_grad_norm_ scaling g in place)", () => {
  const r = rng(67);
  const n = 29, p0 = r.array(n), g = r.array(n), c = 0.37;
  const scaled = g.map((x) => f(x * f(c)));
  const run = (grad, clipScale) => {
    const pp = h.f32(p0), pm = h.f32(new Float32Array(n).fill(0.01)), pv = h.f32(new Float32Array(n).fill(0.03));
    adamw(pp, h.f32(grad), pm, pv, n, 0.1, 2, { clipScale });
    return [...bits(h.read(pp, n)), ...bits(h.read(pm, n)), ...bits(h.read(pv, n))];
  };
  assert.equal(run(g, c), run(scaled, 1), "adamw");
  const sgd = (grad, clipScale) => {
    const pp = h.f32(p0);
    k.sgdStep(pp, h.f32(grad), 0.05, stepScalars({ clipScale }), 0, n);
    return bits(h.read(pp, n));
  };
  assert.equal(sgd(g, c), sgd(scaled, 1), "sgd");
  assert.equal(sgd(g, c), bits(p0.map((x, i) => f(x - f(f(0.05) * scaled[i])))), "sgd float32 op order");
});

test.run();
