// Causal grouped-query attention (assembly/attention.ts), flash style: the forward
// saves only the log-sum-exp per query row, the backward recomputes the
// probabilities. Checked against a float64 JS reference (out, lse, dq, dk, dv),
// finite differences of the wasm forward, causality, unit ranges bit-identical to
// one full call, scratch use (size bound, contents on entry irrelevant) and the
// threaded build.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHarness, rng, finiteDifferences } from "./helpers/engine.mjs";

const h = await createHarness();
const { k } = h;

// q [b, t, heads, hd], k and v [b, t, kvHeads, hd] row-major; HF repeat_kv grouping.
function referenceAttention({ b, t, heads, kvHeads, hd }, q, kk, v, dout) {
  const rep = heads / kvHeads;
  const scale = 1 / Math.sqrt(hd);
  const out = new Float64Array(b * t * heads * hd);
  const lse = new Float64Array(b * heads * t);
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
        for (let j = 0; j <= i; j++) sum += Math.exp(s[j] - m);
        lse[(bi * heads + hh) * t + i] = m + Math.log(sum);
        const p = s.map((x) => Math.exp(x - m) / sum);
        for (let j = 0; j <= i; j++) for (let c = 0; c < hd; c++) out[qi(bi, i, hh) + c] += p[j] * v[ki(bi, j, g) + c];
        if (!dout) continue;
        const dp = new Float64Array(i + 1);
        let dot = 0;
        for (let j = 0; j <= i; j++) {
          for (let c = 0; c < hd; c++) dp[j] += dout[qi(bi, i, hh) + c] * v[ki(bi, j, g) + c];
          dot += p[j] * dp[j];
        }
        for (let j = 0; j <= i; j++) {
          const ds = p[j] * (dp[j] - dot) * scale;
          for (let c = 0; c < hd; c++) {
            dq[qi(bi, i, hh) + c] += ds * kk[ki(bi, j, g) + c];
            dk[ki(bi, j, g) + c] += ds * q[qi(bi, i, hh) + c];
            dv[ki(bi, j, g) + c] += p[j] * dout[qi(bi, i, hh) + c];
          }
        }
      }
    }
  }
  return { out, lse, dq, dk, dv };
}

function setup(shape, seed, harness = h) {
  const { b, t, heads, kvHeads, hd } = shape;
  const r = rng(seed);
  const nq = b * t * heads * hd, nk = b * t * kvHeads * hd, nl = b * heads * t;
  const q = r.array(nq), kk = r.array(nk), v = r.array(nk), dout = r.array(nq);
  const units = b * kvHeads; // backward units: (batch row, kv head)
  const fwdUnits = harness.k.attentionForwardUnits(b, t, heads); // forward units: (batch row, query head, query tile)
  const scratchBytes = Number(harness.k.attentionBackwardScratchBytes(t, hd, heads / kvHeads));
  const fwdScratchBytes = Number(harness.k.attentionForwardScratchBytes(hd));
  return {
    ...shape, units, fwdUnits, nq, nk, nl, q, kk, v, dout, scratchBytes, fwdScratchBytes,
    pq: harness.f32(q), pk: harness.f32(kk), pv: harness.f32(v), pdout: harness.f32(dout),
    pout: harness.f32(new Float32Array(nq).fill(NaN)), plse: harness.f32(new Float32Array(nl).fill(NaN)),
    // scratch for one unit, filled with NaN: its contents on entry must not matter
    pscratch: harness.f32(new Float32Array(scratchBytes / 4).fill(NaN)),
    pfscratch: harness.f32(new Float32Array(fwdScratchBytes / 4).fill(NaN)),
    pdq: harness.zeros(nq), pdk: harness.zeros(nk), pdv: harness.zeros(nk),
  };
}

const dims = (s) => [s.b, s.t, s.heads, s.kvHeads, s.hd];
const forward = (s, u0 = 0, u1 = s.fwdUnits, kk = k) => kk.attentionForward(s.pout, s.plse, s.pfscratch, s.pq, s.pk, s.pv, ...dims(s), u0, u1);
const backward = (s, u0 = 0, u1 = s.units, kk = k) =>
  kk.attentionBackward(s.pdq, s.pdk, s.pdv, s.pscratch, s.pdout, s.pout, s.plse, s.pq, s.pk, s.pv, ...dims(s), u0, u1);
const maxAbsDiff = (got, want, base) => {
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i] - (base ? base[i] : 0) - want[i]);
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : e;
  }
  return worst;
};

// odd lengths (1, 7, 33, 37), head dims that are not multiples of 4, 8 or 16, GQA groups 1, 2, 3, 4
const SHAPES = [
  { b: 1, t: 1, heads: 2, kvHeads: 1, hd: 4 },
  { b: 2, t: 7, heads: 4, kvHeads: 4, hd: 8 },
  { b: 1, t: 7, heads: 6, kvHeads: 3, hd: 12 },
  { b: 2, t: 9, heads: 4, kvHeads: 1, hd: 20 },
  { b: 1, t: 13, heads: 2, kvHeads: 1, hd: 3 },
  { b: 1, t: 33, heads: 4, kvHeads: 2, hd: 64 },
  { b: 1, t: 33, heads: 4, kvHeads: 1, hd: 12 },
  { b: 1, t: 37, heads: 3, kvHeads: 1, hd: 9 },
  { b: 1, t: 70, heads: 2, kvHeads: 2, hd: 64 },
  { b: 1, t: 150, heads: 4, kvHeads: 2, hd: 20 }, // several key and query tiles, hd not a multiple of 16
  { b: 1, t: 131, heads: 2, kvHeads: 1, hd: 32 },
];
const label = (s) => `b=${s.b} t=${s.t} heads=${s.heads}/${s.kvHeads} hd=${s.hd}`;

test("attentionForward matches the float64 reference: out, and lse = logsumexp of the scaled scores", () => {
  SHAPES.forEach((shape, n) => {
    const s = setup(shape, 100 + n);
    forward(s);
    const ref = referenceAttention(s, s.q, s.kk, s.v, null);
    const outErr = maxAbsDiff(h.read(s.pout, s.nq), ref.out);
    const lseErr = maxAbsDiff(h.read(s.plse, s.nl), ref.lse);
    assert.ok(outErr < 3e-6, `out ${label(s)}: ${outErr}`);
    assert.ok(lseErr < 3e-6, `lse ${label(s)}: ${lseErr}`);
  });
});

test("attentionForward leaves q, k, v untouched", () => {
  const s = setup(SHAPES[5], 150);
  forward(s);
  assert.equal(h.read(s.pq, s.nq), s.q);
  assert.equal(h.read(s.pk, s.nk), s.kk);
  assert.equal(h.read(s.pv, s.nk), s.v);
});

test("attentionBackward accumulates the float64 reference gradients (from its own forward's out and lse)", () => {
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
      const err = maxAbsDiff(h.read(ptr, len), want, base);
      assert.ok(err < 1e-5, `${name} ${label(s)}: ${err}`);
    }
  });
});

test("attentionBackward matches finite differences of the wasm forward (loss = Σ r·out)", () => {
  for (const shape of [SHAPES[1], SHAPES[2], SHAPES[3], { b: 1, t: 6, heads: 2, kvHeads: 1, hd: 9 }]) {
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

test("causality: changing q, k, v after position s leaves out[≤ s] and lse[≤ s] bit-identical", () => {
  for (const shape of [{ b: 2, t: 11, heads: 4, kvHeads: 2, hd: 6 }, { b: 1, t: 21, heads: 2, kvHeads: 2, hd: 16 }]) {
    const s = setup(shape, 400);
    forward(s);
    const before = h.read(s.pout, s.nq), lseBefore = h.read(s.plse, s.nl);
    const cut = 4; // positions 0..cut kept
    const r = rng(9);
    for (const [ptr, width] of [[s.pq, s.heads * s.hd], [s.pk, s.kvHeads * s.hd], [s.pv, s.kvHeads * s.hd]]) {
      for (let bi = 0; bi < s.b; bi++) {
        const from = (bi * s.t + cut + 1) * width, to = (bi + 1) * s.t * width;
        h.write(ptr + from * 4, r.array(to - from, 10));
      }
    }
    forward(s);
    const after = h.read(s.pout, s.nq), lseAfter = h.read(s.plse, s.nl);
    const rowWidth = s.heads * s.hd;
    for (let bi = 0; bi < s.b; bi++) {
      const a = (bi * s.t) * rowWidth, z = (bi * s.t + cut + 1) * rowWidth;
      assert.equal(after.slice(a, z), before.slice(a, z), `batch ${bi} positions ≤ ${cut} ${label(s)}`);
      assert.not.equal(after.slice(z, (bi + 1) * s.t * rowWidth), before.slice(z, (bi + 1) * s.t * rowWidth));
      for (let hh = 0; hh < s.heads; hh++) {
        const row = (bi * s.heads + hh) * s.t;
        assert.equal(lseAfter.slice(row, row + cut + 1), lseBefore.slice(row, row + cut + 1), `lse batch ${bi} head ${hh}`);
      }
    }
  }
});

// A call's scratch region is the one of its thread index (the last argument): regions of `thread` threads.
const forwardOn = (s, u0, u1, thread, scratch) =>
  k.attentionForward(s.pout, s.plse, scratch, s.pq, s.pk, s.pv, ...dims(s), u0, u1, thread);
const backwardOn = (s, u0, u1, thread, scratch) =>
  k.attentionBackward(s.pdq, s.pdk, s.pdv, scratch, s.pdout, s.pout, s.plse, s.pq, s.pk, s.pv, ...dims(s), u0, u1, thread);

test("unit ranges on either thread's scratch are bit-identical to one full call (forward and backward, any order, any split)", () => {
  for (const shape of [
    { b: 2, t: 9, heads: 6, kvHeads: 3, hd: 20 },
    { b: 3, t: 5, heads: 4, kvHeads: 4, hd: 6 },
    { b: 2, t: 40, heads: 4, kvHeads: 2, hd: 12 },
    { b: 1, t: 150, heads: 2, kvHeads: 1, hd: 16 },
  ]) {
    const full = setup(shape, 500);
    forward(full);
    backward(full);
    const splits = (n) => [[...new Set([0, 1, Math.floor(n / 2), n])], [...Array(n + 1).keys()]];
    for (let variant = 0; variant < 2; variant++) {
      const split = setup(shape, 500);
      // two threads' regions, holding another task's leftovers
      const fs = h.f32(new Float32Array(split.fwdScratchBytes / 2).fill(3));
      const bs = h.f32(new Float32Array(split.scratchBytes / 2).fill(-5));
      const fc = splits(full.fwdUnits)[variant], bc = splits(full.units)[variant];
      for (let c = fc.length - 2; c >= 0; c--) forwardOn(split, fc[c], fc[c + 1], c & 1, fs);
      for (let c = bc.length - 2; c >= 0; c--) backwardOn(split, bc[c], bc[c + 1], (c + 1) & 1, bs);
      for (const [key, n] of [["pout", full.nq], ["plse", full.nl], ["pdq", full.nq], ["pdk", full.nk], ["pdv", full.nk]]) {
        assert.equal(h.read(split[key], n), h.read(full[key], n), `${key} ${label(full)} split ${variant}`);
      }
    }
  }
});

test("forward units partition the query rows: each writes contiguous positions of one (batch row, head), and its lse", () => {
  for (const shape of [{ b: 2, t: 6, heads: 4, kvHeads: 2, hd: 8 }, { b: 2, t: 75, heads: 2, kvHeads: 1, hd: 4 }]) {
    const s = setup(shape, 540);
    const owner = new Int32Array(s.b * s.heads * s.t).fill(-1); // (bi, h, i) → unit
    for (let u = 0; u < s.fwdUnits; u++) {
      h.write(s.pout, new Float32Array(s.nq).fill(NaN));
      h.write(s.plse, new Float32Array(s.nl).fill(NaN));
      forward(s, u, u + 1);
      const out = h.read(s.pout, s.nq), lse = h.read(s.plse, s.nl);
      const mine = [];
      for (let bi = 0; bi < s.b; bi++) {
        for (let hh = 0; hh < s.heads; hh++) {
          for (let i = 0; i < s.t; i++) {
            const at = ((bi * s.t + i) * s.heads + hh) * s.hd;
            const wrote = out.subarray(at, at + s.hd).every(Number.isFinite);
            assert.is(Number.isFinite(lse[(bi * s.heads + hh) * s.t + i]), wrote, `lse with out, unit ${u}`);
            if (out.subarray(at, at + s.hd).some(Number.isFinite)) assert.ok(wrote, `unit ${u} wrote a partial row`);
            if (!wrote) continue;
            const row = (bi * s.heads + hh) * s.t + i;
            assert.is(owner[row], -1, `row b${bi} h${hh} i${i} written by units ${owner[row]} and ${u}`);
            owner[row] = u;
            mine.push([bi, hh, i]);
          }
        }
      }
      assert.ok(mine.length > 0, `unit ${u} wrote nothing`);
      assert.ok(mine.every(([bi, hh]) => bi === mine[0][0] && hh === mine[0][1]), `unit ${u}: one batch row and head`);
      assert.ok(mine.every(([, , i], n) => i === mine[0][2] + n), `unit ${u}: contiguous positions`);
    }
    assert.ok(owner.every((u) => u >= 0), `every row of ${label(s)} has a unit`);
  }
});

test("a backward unit writes only its own query heads' rows of dq and its kv head's rows of dk, dv", () => {
  const s = setup({ b: 2, t: 6, heads: 4, kvHeads: 2, hd: 8 }, 550);
  const unit = 2; // batch 1, kv head 0 (query heads 0 and 1)
  forward(s);
  backward(s, unit, unit + 1);
  const dq = h.read(s.pdq, s.nq), dk = h.read(s.pdk, s.nk), dv = h.read(s.pdv, s.nk);
  for (let bi = 0; bi < 2; bi++) {
    for (let i = 0; i < 6; i++) {
      for (let hh = 0; hh < 4; hh++) {
        const mine = bi === 1 && hh < 2;
        assert.is(dq.subarray(((bi * 6 + i) * 4 + hh) * 8, ((bi * 6 + i) * 4 + hh + 1) * 8).some((x) => x !== 0), mine, `dq b${bi} i${i} h${hh}`);
      }
      for (let g = 0; g < 2; g++) {
        const mine = bi === 1 && g === 0;
        const at = ((bi * 6 + i) * 2 + g) * 8;
        assert.is(dk.subarray(at, at + 8).some((x) => x !== 0), mine, `dk b${bi} j${i} g${g}`);
        assert.is(dv.subarray(at, at + 8).some((x) => x !== 0), mine, `dv b${bi} j${i} g${g}`);
      }
    }
  }
});

test("both kernels stay inside their scratch region (thread 1's ends where thread 2's would start), whose size does not grow with t", () => {
  for (const shape of [{ b: 1, t: 37, heads: 4, kvHeads: 2, hd: 12 }, { b: 1, t: 64, heads: 2, kvHeads: 2, hd: 64 }, { b: 2, t: 5, heads: 1, kvHeads: 1, hd: 3 }, { b: 1, t: 130, heads: 2, kvHeads: 1, hd: 20 }]) {
    const s = setup(shape, 600);
    for (const [bytes, run] of [[s.fwdScratchBytes, forwardOn], [s.scratchBytes, backwardOn]]) {
      const before = h.f32(new Float32Array(64).fill(-7));
      const regions = h.f32(new Float32Array((2 * bytes) / 4).fill(NaN));
      const after = h.f32(new Float32Array(64).fill(-7)); // allocated right after the two regions
      assert.ok(after >= regions + 2 * bytes && before + 256 <= regions, "guards lie around the regions");
      if (run === backwardOn) forward(s);
      run(s, 0, run === forwardOn ? s.fwdUnits : s.units, 1, regions);
      const seen = h.read(regions, (2 * bytes) / 4);
      assert.ok(seen.subarray(0, bytes / 4).every(Number.isNaN), `thread 0's region untouched ${label(s)}`);
      assert.ok(seen.subarray(bytes / 4).some((x) => !Number.isNaN(x)), "thread 1's region was used");
      assert.ok(h.read(after, 64).every((x) => x === -7) && h.read(before, 64).every((x) => x === -7), `nothing written outside ${label(s)}`);
    }
  }
  const bytes = (t) => Number(k.attentionBackwardScratchBytes(t, 64, 4));
  for (const t of [256, 1024, 8192]) assert.is(bytes(t), bytes(16), `backward scratch at t = ${t}`);
  assert.ok(bytes(16) < 256 * 1024 && Number(k.attentionForwardScratchBytes(64)) < 256 * 1024, "tiles, not rows of t");
});

test("kvHeads = heads is plain multi-head attention; GQA shares kv heads as repeat_kv", () => {
  // GQA with heads=4/kvHeads=2 equals MHA with k, v repeated per query head:
  // the forward bit for bit, dq within rounding, and dk, dv as the sums over each group.
  const shape = { b: 1, t: 9, heads: 4, kvHeads: 2, hd: 8 };
  const gq = setup(shape, 700);
  forward(gq);
  backward(gq);
  const m = setup({ ...shape, kvHeads: 4 }, 701);
  const repeat = (x) => {
    const y = new Float32Array(x.length * 2);
    for (let i = 0; i < 9; i++) for (let hh = 0; hh < 4; hh++) y.set(x.subarray((i * 2 + (hh >> 1)) * 8, (i * 2 + (hh >> 1)) * 8 + 8), (i * 4 + hh) * 8);
    return y;
  };
  h.write(m.pq, gq.q);
  h.write(m.pk, repeat(gq.kk));
  h.write(m.pv, repeat(gq.v));
  h.write(m.pdout, gq.dout);
  forward(m);
  backward(m);
  assert.equal(h.read(m.pout, m.nq), h.read(gq.pout, gq.nq));
  assert.equal(h.read(m.plse, m.nl), h.read(gq.plse, gq.nl));
  assert.ok(maxAbsDiff(h.read(m.pdq, m.nq), h.read(gq.pdq, gq.nq)) < 1e-6, "dq");
  const fold = (x) => {
    const y = new Float64Array(x.length / 2);
    for (let i = 0; i < 9; i++) for (let hh = 0; hh < 4; hh++) for (let c = 0; c < 8; c++) y[(i * 2 + (hh >> 1)) * 8 + c] += x[(i * 4 + hh) * 8 + c];
    return y;
  };
  assert.ok(maxAbsDiff(h.read(gq.pdk, gq.nk), fold(h.read(m.pdk, m.nk))) < 1e-5, "dk");
  assert.ok(maxAbsDiff(h.read(gq.pdv, gq.nk), fold(h.read(m.pdv, m.nk))) < 1e-5, "dv");
});

test("a bench-tiny-sized head (t = 256, hd = 64) stays close to the reference on sampled rows", () => {
  const s = setup({ b: 1, t: 256, heads: 1, kvHeads: 1, hd: 64 }, 800);
  forward(s);
  backward(s);
  for (const [ptr, n] of [[s.pout, s.nq], [s.plse, s.nl], [s.pdq, s.nq], [s.pdk, s.nk], [s.pdv, s.nk]]) assert.is(k.allFinite(ptr, n), 1);
  const ref = referenceAttention(s, s.q, s.kk, s.v, s.dout);
  assert.ok(maxAbsDiff(h.read(s.pout, s.nq), ref.out) < 3e-6, "out");
  assert.ok(maxAbsDiff(h.read(s.plse, s.nl), ref.lse) < 1e-5, "lse");
  for (const [name, ptr, want] of [["dq", s.pdq, ref.dq], ["dk", s.pdk, ref.dk], ["dv", s.pdv, ref.dv]]) {
    const err = maxAbsDiff(h.read(ptr, want.length), want);
    assert.ok(err < 2e-5, `${name}: ${err}`);
  }
});

test("the shared-memory (threaded) build gives the same bits as the plain build", async () => {
  const shape = { b: 2, t: 19, heads: 6, kvHeads: 3, hd: 12 };
  const plain = setup(shape, 1000);
  forward(plain);
  backward(plain);
  const hs = await createHarness({ shared: true });
  const sh = setup(shape, 1000, hs);
  forward(sh, 0, sh.fwdUnits, hs.k);
  backward(sh, 0, sh.units, hs.k);
  assert.equal(hs.read(sh.pq, sh.nq), h.read(plain.pq, plain.nq), "same inputs");
  for (const [key, n] of [["pout", plain.nq], ["plse", plain.nl], ["pdq", plain.nq], ["pdk", plain.nk], ["pdv", plain.nk]]) {
    assert.equal(hs.read(sh[key], n), h.read(plain[key], n), key);
  }
});

test("heads that are not a multiple of kvHeads are rejected, not silently regrouped", () => {
  const s = setup({ b: 1, t: 3, heads: 4, kvHeads: 2, hd: 4 }, 900);
  assert.throws(() => k.attentionForward(s.pout, s.plse, s.pq, s.pk, s.pv, 1, 3, 3, 2, 4, 0, 2), /aborted/);
  assert.throws(() => k.attentionBackward(s.pdq, s.pdk, s.pdv, s.pscratch, s.pdout, s.pout, s.plse, s.pq, s.pk, s.pv, 1, 3, 4, 0, 4, 0, 1), /aborted/);
});

test.run();
