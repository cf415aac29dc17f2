// Causal grouped-query attention (assembly/attention.ts): float64 JS reference for
// forward and backward, finite differences of the wasm forward, causality, and
// unit ranges bit-identical to one full call.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHarness, rng, finiteDifferences, maxRelError } from "./helpers/engine.mjs";

const h = await createHarness();
const { k } = h;

// [b, t, heads, hd] and [b, t, kvHeads, hd] row-major; HF repeat_kv grouping.
function referenceAttention({ b, t, heads, kvHeads, hd }, q, kk, v, dout) {
  const rep = heads / kvHeads;
  const scale = 1 / Math.sqrt(hd);
  const out = new Float64Array(b * t * heads * hd);
  const probs = new Float64Array(b * heads * t * t);
  const dq = new Float64Array(q.length), dk = new Float64Array(kk.length), dv = new Float64Array(v.length);
  const qi = (bi, i, hh) => ((bi * t + i) * heads + hh) * hd;
  const ki = (bi, j, g) => ((bi * t + j) * kvHeads + g) * hd;
  for (let bi = 0; bi < b; bi++) {
    for (let hh = 0; hh < heads; hh++) {
      const g = Math.floor(hh / rep);
      for (let i = 0; i < t; i++) {
        const s = new Float64Array(i + 1);
        let m = -Infinity;
        for (let j = 0; j <= i; j++) {
          let d = 0;
          for (let c = 0; c < hd; c++) d += q[qi(bi, i, hh) + c] * kk[ki(bi, j, g) + c];
          s[j] = d * scale;
          m = Math.max(m, s[j]);
        }
        let sum = 0;
        for (let j = 0; j <= i; j++) sum += (s[j] = Math.exp(s[j] - m));
        const prow = (bi * heads + hh) * t * t + i * t;
        for (let j = 0; j <= i; j++) {
          const p = (probs[prow + j] = s[j] / sum);
          for (let c = 0; c < hd; c++) out[qi(bi, i, hh) + c] += p * v[ki(bi, j, g) + c];
        }
        if (!dout) continue;
        const dp = new Float64Array(i + 1);
        let dot = 0;
        for (let j = 0; j <= i; j++) {
          for (let c = 0; c < hd; c++) dp[j] += dout[qi(bi, i, hh) + c] * v[ki(bi, j, g) + c];
          dot += probs[prow + j] * dp[j];
        }
        for (let j = 0; j <= i; j++) {
          const p = probs[prow + j];
          const ds = p * (dp[j] - dot) * scale;
          for (let c = 0; c < hd; c++) {
            dq[qi(bi, i, hh) + c] += ds * kk[ki(bi, j, g) + c];
            dk[ki(bi, j, g) + c] += ds * q[qi(bi, i, hh) + c];
            dv[ki(bi, j, g) + c] += p * dout[qi(bi, i, hh) + c];
          }
        }
      }
    }
  }
  return { out, probs, dq, dk, dv };
}

function setup(shape, seed) {
  const { b, t, heads, kvHeads, hd } = shape;
  const r = rng(seed);
  const nq = b * t * heads * hd, nk = b * t * kvHeads * hd;
  const q = r.array(nq), kk = r.array(nk), v = r.array(nk), dout = r.array(nq);
  const units = b * kvHeads;
  return {
    ...shape, units, nq, nk, q, kk, v, dout,
    pq: h.f32(q), pk: h.f32(kk), pv: h.f32(v), pdout: h.f32(dout),
    pout: h.zeros(nq), pprobs: h.zeros(b * heads * t * t), pscratch: h.zeros(units * t),
    pdq: h.zeros(nq), pdk: h.zeros(nk), pdv: h.zeros(nk),
  };
}

const forward = (s, u0 = 0, u1 = s.units) =>
  k.attentionForward(s.pout, s.pprobs, s.pq, s.pk, s.pv, s.b, s.t, s.heads, s.kvHeads, s.hd, u0, u1);
const backward = (s, u0 = 0, u1 = s.units) =>
  k.attentionBackward(s.pdq, s.pdk, s.pdv, s.pscratch, s.pdout, s.pprobs, s.pq, s.pk, s.pv, s.b, s.t, s.heads, s.kvHeads, s.hd, u0, u1);

const SHAPES = [
  { b: 1, t: 1, heads: 1, kvHeads: 1, hd: 4 },
  { b: 2, t: 5, heads: 4, kvHeads: 2, hd: 6 },
  { b: 1, t: 7, heads: 6, kvHeads: 3, hd: 16 },
  { b: 2, t: 9, heads: 4, kvHeads: 4, hd: 20 },
  { b: 1, t: 13, heads: 2, kvHeads: 1, hd: 3 },
  { b: 1, t: 33, heads: 4, kvHeads: 2, hd: 64 },
];
const label = (s) => `b=${s.b} t=${s.t} heads=${s.heads}/${s.kvHeads} hd=${s.hd}`;

test("attentionForward matches the float64 reference (out and probs, masked probs are 0)", () => {
  SHAPES.forEach((shape, n) => {
    const s = setup(shape, 100 + n);
    h.write(s.pprobs, new Float32Array(s.b * s.heads * s.t * s.t).fill(7));
    forward(s);
    const ref = referenceAttention(s, s.q, s.kk, s.v, null);
    const probs = h.read(s.pprobs, ref.probs.length);
    const outErr = Math.max(...h.read(s.pout, s.nq).map((x, i) => Math.abs(x - ref.out[i])));
    const pErr = Math.max(...probs.map((x, i) => Math.abs(x - ref.probs[i])));
    assert.ok(outErr < 2e-6, `out ${label(s)}: ${outErr}`);
    assert.ok(pErr < 1e-6, `probs ${label(s)}: ${pErr}`);
    for (let row = 0; row < s.b * s.heads * s.t; row++) {
      const i = row % s.t;
      for (let j = i + 1; j < s.t; j++) assert.is(probs[row * s.t + j], 0, "masked entry is 0");
    }
  });
});

test("attentionBackward accumulates the float64 reference gradients", () => {
  SHAPES.forEach((shape, n) => {
    const s = setup(shape, 200 + n);
    const r = rng(n);
    const init = { q: r.array(s.nq), k: r.array(s.nk), v: r.array(s.nk) };
    h.write(s.pdq, init.q);
    h.write(s.pdk, init.k);
    h.write(s.pdv, init.v);
    forward(s);
    backward(s);
    const ref = referenceAttention(s, s.q, s.kk, s.v, s.dout);
    for (const [name, ptr, len, want, base] of [
      ["dq", s.pdq, s.nq, ref.dq, init.q],
      ["dk", s.pdk, s.nk, ref.dk, init.k],
      ["dv", s.pdv, s.nk, ref.dv, init.v],
    ]) {
      const got = h.read(ptr, len);
      const err = Math.max(...got.map((x, i) => Math.abs(x - base[i] - want[i])));
      assert.ok(err < 1e-5, `${name} ${label(s)}: ${err}`);
    }
  });
});

test("attentionBackward matches finite differences of the wasm forward (loss = Σ r·out)", () => {
  for (const shape of [SHAPES[1], SHAPES[2], { b: 1, t: 6, heads: 2, kvHeads: 1, hd: 9 }]) {
    const s = setup(shape, 300);
    forward(s);
    backward(s);
    const loss = () => {
      forward(s);
      const out = h.read(s.pout, s.nq);
      let total = 0;
      for (let i = 0; i < out.length; i++) total += s.dout[i] * out[i];
      return total;
    };
    for (const [name, ptr, len, grad] of [
      ["q", s.pq, s.nq, h.read(s.pdq, s.nq)],
      ["k", s.pk, s.nk, h.read(s.pdk, s.nk)],
      ["v", s.pv, s.nk, h.read(s.pdv, s.nk)],
    ]) {
      for (const { index, numeric } of finiteDifferences(h, ptr, len, loss, { eps: 1e-2, count: 24 })) {
        assert.ok(Math.abs(numeric - grad[index]) < 5e-3 * Math.max(1, Math.abs(grad[index])), `d${name}[${index}] ${label(s)}: ${numeric} vs ${grad[index]}`);
      }
    }
  }
});

test("causality: changing q, k, v after position s leaves out[≤ s] bit-identical", () => {
  const shape = { b: 2, t: 11, heads: 4, kvHeads: 2, hd: 6 };
  const s = setup(shape, 400);
  forward(s);
  const before = h.read(s.pout, s.nq);
  const cut = 4; // positions 0..cut kept
  const r = rng(9);
  for (const [ptr, width] of [[s.pq, s.heads * s.hd], [s.pk, s.kvHeads * s.hd], [s.pv, s.kvHeads * s.hd]]) {
    for (let bi = 0; bi < s.b; bi++) {
      const from = (bi * s.t + cut + 1) * width, to = (bi + 1) * s.t * width;
      h.write(ptr + from * 4, r.array(to - from, 10));
    }
  }
  forward(s);
  const after = h.read(s.pout, s.nq);
  const rowWidth = s.heads * s.hd;
  for (let bi = 0; bi < s.b; bi++) {
    const a = (bi * s.t) * rowWidth, z = (bi * s.t + cut + 1) * rowWidth;
    assert.equal(after.slice(a, z), before.slice(a, z), `batch ${bi} positions ≤ ${cut}`);
    assert.not.equal(after.slice(z, (bi + 1) * s.t * rowWidth), before.slice(z, (bi + 1) * s.t * rowWidth));
  }
});

test("unit ranges are bit-identical to one full call (forward and backward)", () => {
  for (const shape of [{ b: 2, t: 9, heads: 6, kvHeads: 3, hd: 20 }, { b: 3, t: 5, heads: 4, kvHeads: 4, hd: 6 }]) {
    const full = setup(shape, 500);
    forward(full);
    backward(full);
    const split = setup(shape, 500);
    const cuts = [0, 1, Math.floor(full.units / 2), full.units];
    for (let c = 0; c + 1 < cuts.length; c++) forward(split, cuts[c], cuts[c + 1]);
    for (let c = cuts.length - 2; c >= 0; c--) backward(split, cuts[c], cuts[c + 1]); // any order
    for (const key of ["pout", "pdq", "pdk", "pdv"]) {
      const n = key === "pdk" || key === "pdv" ? full.nk : full.nq;
      assert.equal(h.read(split[key], n), h.read(full[key], n), `${key} ${label(full)}`);
    }
    assert.equal(h.read(split.pprobs, full.b * full.heads * full.t * full.t), h.read(full.pprobs, full.b * full.heads * full.t * full.t));
  }
});

test("attentionBackward touches only its unit's scratch slice", () => {
  const s = setup({ b: 2, t: 5, heads: 4, kvHeads: 2, hd: 8 }, 600);
  forward(s);
  h.write(s.pscratch, new Float32Array(s.units * s.t).fill(-99));
  backward(s, 1, 2);
  const scratch = h.read(s.pscratch, s.units * s.t);
  for (let u = 0; u < s.units; u++) {
    const slice = scratch.slice(u * s.t, (u + 1) * s.t);
    if (u === 1) assert.ok(slice.some((x) => x !== -99), "unit 1 used its slice");
    else assert.ok(slice.every((x) => x === -99), `unit ${u}'s slice untouched`);
  }
});

test("kvHeads = heads is plain multi-head attention; GQA shares kv heads as repeat_kv", () => {
  // GQA with heads=4/kvHeads=2 equals MHA with k, v repeated per query head.
  const g = setup({ b: 1, t: 6, heads: 4, kvHeads: 2, hd: 8 }, 700);
  forward(g);
  const m = setup({ b: 1, t: 6, heads: 4, kvHeads: 4, hd: 8 }, 701);
  const repeat = (x) => {
    const y = new Float32Array(x.length * 2);
    for (let i = 0; i < 6; i++) for (let hh = 0; hh < 4; hh++) y.set(x.subarray((i * 2 + (hh >> 1)) * 8, (i * 2 + (hh >> 1)) * 8 + 8), (i * 4 + hh) * 8);
    return y;
  };
  h.write(m.pq, g.q);
  h.write(m.pk, repeat(g.kk));
  h.write(m.pv, repeat(g.v));
  forward(m);
  assert.equal(h.read(m.pout, m.nq), h.read(g.pout, g.nq));
});

test("a bench-tiny-sized head (t = 64, hd = 64) gives finite, non-zero gradients", () => {
  const s = setup({ b: 1, t: 64, heads: 4, kvHeads: 4, hd: 64 }, 800);
  forward(s);
  backward(s);
  for (const [ptr, n] of [[s.pout, s.nq], [s.pdq, s.nq], [s.pdk, s.nk], [s.pdv, s.nk]]) assert.is(k.allFinite(ptr, n), 1);
  assert.ok(maxRelError(h.read(s.pdv, s.nk), new Float32Array(s.nk)) > 0, "gradients are not all zero");
});

test("the shared-memory (threaded) build gives the same bits as the plain build", async () => {
  const shape = { b: 2, t: 19, heads: 6, kvHeads: 3, hd: 12 };
  const plain = setup(shape, 1000);
  forward(plain);
  backward(plain);
  const hs = await createHarness({ shared: true });
  const r = rng(1000);
  const nq = plain.nq, nk = plain.nk;
  const P = { q: hs.f32(r.array(nq)), k: hs.f32(r.array(nk)), v: hs.f32(r.array(nk)), dout: hs.f32(r.array(nq)) };
  const out = hs.zeros(nq), probs = hs.zeros(shape.b * shape.heads * shape.t * shape.t), scratch = hs.zeros(plain.units * shape.t);
  const dq = hs.zeros(nq), dk = hs.zeros(nk), dv = hs.zeros(nk);
  const dims = [shape.b, shape.t, shape.heads, shape.kvHeads, shape.hd, 0, plain.units];
  hs.k.attentionForward(out, probs, P.q, P.k, P.v, ...dims);
  hs.k.attentionBackward(dq, dk, dv, scratch, P.dout, probs, P.q, P.k, P.v, ...dims);
  assert.equal(hs.read(P.q, nq), h.read(plain.pq, nq), "same inputs");
  assert.equal(hs.read(out, nq), h.read(plain.pout, nq));
  assert.equal(hs.read(dq, nq), h.read(plain.pdq, nq));
  assert.equal(hs.read(dk, nk), h.read(plain.pdk, nk));
  assert.equal(hs.read(dv, nk), h.read(plain.pdv, nk));
});

test("heads that are not a multiple of kvHeads are rejected, not silently regrouped", () => {
  const s = setup({ b: 1, t: 3, heads: 4, kvHeads: 2, hd: 4 }, 900);
  assert.throws(() => k.attentionForward(s.pout, s.pprobs, s.pq, s.pk, s.pv, 1, 3, 3, 2, 4, 0, 2), /aborted/);
  assert.throws(() => k.attentionBackward(s.pdq, s.pdk, s.pdv, s.pscratch, s.pdout, s.pprobs, s.pq, s.pk, s.pv, 1, 3, 4, 0, 4, 0, 1), /aborted/);
});

test.run();
