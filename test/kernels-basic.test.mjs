// CPU kernels (assembly/embedding, rmsnorm, rope, swiglu, elementwise): every
// forward against a float64 JS reference, every backward against central finite
// differences of the wasm forward and against an analytic float64 reference,
// plus accumulate (+=) semantics, row-range splits and bounds of every write.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHarness, rng, finiteDifferences, maxRelError } from "./helpers/engine.mjs";
import { rmsnormForward as rmsnormRef, rmsnormBackward as rmsnormBackwardRef } from "./helpers/webgpu-reference.mjs";

const h = await createHarness();
const { k } = h;

/** Sizes that exercise the scalar tails (not multiples of 4) and the vector body. */
const ODD = [1, 3, 7, 33];
const CANARY = 12345.5;

/** Allocates n floats followed by 4 canary floats, copying `data` (or zeros) in. */
function guarded(n, data) {
  const ptr = h.zeros(n + 4);
  if (data) h.write(ptr, data);
  h.write(ptr + n * 4, new Float32Array(4).fill(CANARY));
  return ptr;
}
function assertCanary(ptr, n, what) {
  const tail = h.read(ptr + n * 4, 4);
  assert.ok(tail.every((v) => v === CANARY), `${what}: wrote past its ${n} elements`);
}
function bits(arr) {
  return Array.from(new Uint32Array(Float32Array.from(arr).buffer));
}
function assertClose(actual, expected, tol, what, floor = 1e-6) {
  const err = maxRelError(actual, expected, floor);
  assert.ok(err <= tol, `${what}: max relative error ${err} > ${tol}`);
}
/** Σ r·out in float64, the scalar loss whose gradient is r. */
function dotLoss(ptr, r) {
  const out = h.read(ptr, r.length);
  let s = 0;
  for (let i = 0; i < r.length; i++) s += r[i] * out[i];
  return s;
}
/**
 * Finite differences of `loss` w.r.t. the floats at ptr, compared with the
 * analytic gradient `grad` (indexed like ptr). Errors are relative to the larger
 * of |grad[i]| and a tenth of the gradient's largest entry.
 */
function assertFiniteDifferences(ptr, n, loss, grad, what, opts = {}) {
  const scale = Math.max(...Array.from(grad, Math.abs), 1e-3);
  const tol = opts.tol ?? 2e-2;
  for (const { index, numeric } of finiteDifferences(h, ptr, n, loss, { count: 24, ...opts })) {
    const err = Math.abs(numeric - grad[index]) / Math.max(Math.abs(grad[index]), 0.1 * scale);
    assert.ok(err <= tol, `${what}[${index}]: finite difference ${numeric} vs analytic ${grad[index]} (rel ${err})`);
  }
}

// ---------------------------------------------------------------- elementwise

test("elementwise: accumulate, copy, fill match float32 arithmetic and stay in bounds", () => {
  const r = rng(11);
  for (const n of ODD) {
    const a = r.array(n), b = r.array(n);
    const pa = guarded(n, a), pb = guarded(n, b);
    k.accumulate(pa, pb, n);
    assert.equal(bits(h.read(pa, n)), bits(a.map((x, i) => Math.fround(x + b[i]))), `accumulate n=${n}`);
    assertCanary(pa, n, "accumulate");

    const pc = guarded(n);
    k.copy(pc, pb, n);
    assert.equal(bits(h.read(pc, n)), bits(b), `copy n=${n}`);
    assertCanary(pc, n, "copy");

    k.fill(pc, n, -2.5);
    assert.ok(h.read(pc, n).every((v) => v === -2.5), `fill n=${n}`);
    assertCanary(pc, n, "fill");
  }
});

// ---------------------------------------------------------------- embedding

test("embeddingForward gathers rows exactly", () => {
  const r = rng(21);
  for (const c of ODD) {
    const vocab = 5, n = 9;
    const table = r.array(vocab * c), tokens = r.ints(n, vocab);
    const out = guarded(n * c);
    k.embeddingForward(out, h.i32(tokens), h.f32(table), n, c);
    const expected = new Float32Array(n * c);
    for (let i = 0; i < n; i++) expected.set(table.subarray(tokens[i] * c, tokens[i] * c + c), i * c);
    assert.equal(bits(h.read(out, n * c)), bits(expected), `c=${c}`);
    assertCanary(out, n * c, "embeddingForward");
  }
});

test("embeddingBackward scatter-adds in ascending order, accumulates, matches float64 and finite differences", () => {
  const r = rng(22);
  for (const c of ODD) {
    const vocab = 4, n = 11;
    const tokens = r.ints(n, vocab);
    tokens[0] = tokens[5] = tokens[9] = 2; // repeated ids must sum
    const dout = r.array(n * c), prefill = r.array(vocab * c);
    const pTok = h.i32(tokens), pDout = h.f32(dout);
    const dtable = guarded(vocab * c, prefill);
    k.embeddingBackward(dtable, pTok, pDout, n, c);
    assertCanary(dtable, vocab * c, "embeddingBackward");

    // Bit-exact: float32 sums in ascending i starting from the pre-filled gradient.
    const exact = Float32Array.from(prefill);
    const ref64 = Float64Array.from(prefill);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < c; j++) {
        exact[tokens[i] * c + j] = Math.fround(exact[tokens[i] * c + j] + dout[i * c + j]);
        ref64[tokens[i] * c + j] += dout[i * c + j];
      }
    const got = h.read(dtable, vocab * c);
    assert.equal(bits(got), bits(exact), `ascending order c=${c}`);
    assertClose(got, ref64, 1e-5, `float64 reference c=${c}`, 1e-3);

    // Finite differences of Σ dout·embeddingForward w.r.t. the table.
    const table = h.f32(r.array(vocab * c)), out = h.zeros(n * c), grad = h.zeros(vocab * c);
    k.embeddingBackward(grad, pTok, pDout, n, c);
    const loss = () => (k.embeddingForward(out, pTok, table, n, c), dotLoss(out, dout));
    assertFiniteDifferences(table, vocab * c, loss, h.read(grad, vocab * c), `dtable c=${c}`);
  }
});

// ---------------------------------------------------------------- rmsnorm

const RMS_EPS = 1e-5;

test("rmsnormForward matches float64 and row ranges give identical bits", () => {
  const r = rng(31);
  for (const c of ODD) {
    const n = 5;
    const x = r.array(n * c), w = r.array(c).map((v) => 1 + 0.3 * v);
    const px = h.f32(x), pw = h.f32(w);
    const out = guarded(n * c), rstd = guarded(n);
    k.rmsnormForward(out, rstd, px, pw, c, RMS_EPS, 0, n);
    assertCanary(out, n * c, "rmsnorm out");
    assertCanary(rstd, n, "rmsnorm rstd");
    const ref = rmsnormRef(x, w, n, c, RMS_EPS);
    assertClose(h.read(out, n * c), ref.out, 2e-6, `out c=${c}`, 1e-3);
    assertClose(h.read(rstd, n), ref.rstd, 1e-6, `rstd c=${c}`);

    const out2 = h.zeros(n * c), rstd2 = h.zeros(n);
    k.rmsnormForward(out2, rstd2, px, pw, c, RMS_EPS, 0, 2);
    k.rmsnormForward(out2, rstd2, px, pw, c, RMS_EPS, 2, 3);
    k.rmsnormForward(out2, rstd2, px, pw, c, RMS_EPS, 3, n);
    assert.equal(bits(h.read(out2, n * c)), bits(h.read(out, n * c)), `split rows c=${c}`);
    assert.equal(bits(h.read(rstd2, n)), bits(h.read(rstd, n)), `split rstd c=${c}`);

    // A range touches only its own rows.
    const out3 = guarded(n * c, new Float32Array(n * c).fill(7));
    k.rmsnormForward(out3, h.zeros(n), px, pw, c, RMS_EPS, 1, 2);
    const o3 = h.read(out3, n * c);
    assert.ok(o3.every((v, idx) => (idx >= c && idx < 2 * c) || v === 7), `range [1,2) wrote elsewhere c=${c}`);
  }
});

test("rmsnormBackward matches float64, finite differences, and accumulates", () => {
  const r = rng(32);
  for (const c of ODD) {
    const n = 4;
    const x = r.array(n * c), w = r.array(c).map((v) => 1 + 0.3 * v), dout = r.array(n * c);
    const px = h.f32(x), pw = h.f32(w), pdout = h.f32(dout);
    const out = h.zeros(n * c), rstd = h.zeros(n);
    k.rmsnormForward(out, rstd, px, pw, c, RMS_EPS, 0, n);
    const dx = guarded(n * c), dw = guarded(c);
    k.rmsnormBackward(dx, dw, pdout, px, pw, rstd, n, c);
    assertCanary(dx, n * c, "rmsnorm dx");
    assertCanary(dw, c, "rmsnorm dw");
    const gx = h.read(dx, n * c), gw = h.read(dw, c);

    const ref = rmsnormBackwardRef(dout, x, w, n, c, RMS_EPS);
    // dx is a difference of two terms of size |dout·w·rstd| that cancel almost
    // completely when c is small, so its float32 error is relative to that size.
    const { rstd: r64 } = rmsnormRef(x, w, n, c, RMS_EPS);
    let termScale = 0;
    for (let i = 0; i < n * c; i++) termScale = Math.max(termScale, Math.abs(dout[i] * w[i % c] * r64[Math.floor(i / c)]));
    const sw = Math.max(...Array.from(ref.dw, Math.abs));
    assertClose(gx, ref.dx, 1e-4, `dx vs float64 c=${c}`, 1e-2 * termScale);
    assertClose(gw, ref.dw, 1e-5, `dw vs float64 c=${c}`, 1e-3 * sw);

    // c = 1 makes out ≈ sign(x)·w, whose x-derivative is a spike at 0 that finite
    // differences cannot resolve; the float64 check above covers that size.
    const loss = () => (k.rmsnormForward(out, rstd, px, pw, c, RMS_EPS, 0, n), dotLoss(out, dout));
    if (c > 1) assertFiniteDifferences(px, n * c, loss, gx, `dx c=${c}`);
    assertFiniteDifferences(pw, c, loss, gw, `dw c=${c}`);
    k.rmsnormForward(out, rstd, px, pw, c, RMS_EPS, 0, n);

    // Pre-filled gradients are added to.
    const px0 = r.array(n * c), pw0 = r.array(c);
    const dx2 = h.f32(px0), dw2 = h.f32(pw0);
    k.rmsnormBackward(dx2, dw2, pdout, px, pw, rstd, n, c);
    assertClose(h.read(dx2, n * c), gx.map((v, i) => v + px0[i]), 1e-5, `dx accumulates c=${c}`, 1e-2);
    assertClose(h.read(dw2, c), gw.map((v, i) => v + pw0[i]), 1e-5, `dw accumulates c=${c}`, 1e-2);
  }
});

// ---------------------------------------------------------------- rope

/** HF's table: inv_freq in float32, angle = f32(pos · inv_freq), cos/sin in float64. */
function ropeTableRef(t, hd, theta) {
  const half = hd / 2, cos = new Float64Array(t * half), sin = new Float64Array(t * half);
  for (let i = 0; i < half; i++) {
    const exponent = Math.fround(Math.fround(2 * i) / hd);
    const invFreq = Math.fround(1 / Math.fround(Math.fround(theta) ** exponent));
    for (let pos = 0; pos < t; pos++) {
      const angle = Math.fround(pos * invFreq);
      cos[pos * half + i] = Math.cos(angle);
      sin[pos * half + i] = Math.sin(angle);
    }
  }
  return { cos, sin };
}
/** out = R·x (transpose = false) or Rᵀ·x, HF rotate_half pairing, in float64. */
function ropeRef(x, cos, sin, b, t, heads, hd, transpose = false) {
  const half = hd / 2, out = new Float64Array(x.length), sgn = transpose ? -1 : 1;
  for (let bi = 0; bi < b; bi++)
    for (let pos = 0; pos < t; pos++)
      for (let hh = 0; hh < heads; hh++) {
        const base = ((bi * t + pos) * heads + hh) * hd;
        for (let i = 0; i < half; i++) {
          const c = cos[pos * half + i], s = sgn * sin[pos * half + i];
          const x1 = x[base + i], x2 = x[base + half + i];
          out[base + i] = x1 * c - x2 * s;
          out[base + half + i] = x2 * c + x1 * s;
        }
      }
  return out;
}
const ROPE_SHAPES = [
  { b: 1, t: 1, heads: 1, hd: 2 },
  { b: 2, t: 3, heads: 3, hd: 6 },
  { b: 2, t: 5, heads: 2, hd: 14 },
  { b: 1, t: 4, heads: 3, hd: 66 },
];

test("ropeTable matches HF's float32 inv_freq and the exact angles pos·θ^(−2i/hd)", () => {
  for (const { t, hd } of [{ t: 1, hd: 2 }, { t: 7, hd: 6 }, { t: 33, hd: 14 }, { t: 64, hd: 64 }]) {
    const theta = 10000, half = hd / 2;
    const cos = guarded(t * half), sin = guarded(t * half);
    k.ropeTable(cos, sin, t, hd, theta);
    assertCanary(cos, t * half, "rope cos");
    assertCanary(sin, t * half, "rope sin");
    const got = { cos: h.read(cos, t * half), sin: h.read(sin, t * half) };
    const ref = ropeTableRef(t, hd, theta);
    for (const key of ["cos", "sin"]) {
      for (let i = 0; i < t * half; i++) {
        assert.ok(Math.abs(got[key][i] - ref[key][i]) <= 1e-7, `${key}[${i}] t=${t} hd=${hd}: ${got[key][i]} vs ${ref[key][i]}`);
        const pos = Math.floor(i / half), j = i % half;
        const exact = Math[key](pos * theta ** (-2 * j / hd));
        assert.ok(Math.abs(got[key][i] - exact) <= 1e-5 * Math.max(1, pos), `${key} vs exact angle at pos ${pos}, i ${j}`);
      }
    }
    // Position 0 is the identity rotation.
    assert.ok(got.cos.subarray(0, half).every((v) => v === 1) && got.sin.subarray(0, half).every((v) => v === 0));
  }
});

test("ropeInPlace forward matches float64 (HF rotate_half pairing) and stays in bounds", () => {
  const r = rng(41);
  for (const { b, t, heads, hd } of ROPE_SHAPES) {
    const n = b * t * heads * hd, half = hd / 2;
    const cos = h.zeros(t * half), sin = h.zeros(t * half);
    k.ropeTable(cos, sin, t, hd, 500);
    const c32 = h.read(cos, t * half), s32 = h.read(sin, t * half);
    const x = r.array(n), px = guarded(n, x);
    k.ropeInPlace(px, cos, sin, b, t, heads, hd, 0);
    assertCanary(px, n, "ropeInPlace");
    assertClose(h.read(px, n), ropeRef(x, c32, s32, b, t, heads, hd), 1e-5, `rope b${b} t${t} h${heads} hd${hd}`, 1e-2);
  }
});

test("ropeInPlace inverse is Rᵀ: matches float64 and finite differences, and undoes the forward", () => {
  const r = rng(42);
  for (const { b, t, heads, hd } of ROPE_SHAPES) {
    const n = b * t * heads * hd, half = hd / 2;
    const cos = h.zeros(t * half), sin = h.zeros(t * half);
    k.ropeTable(cos, sin, t, hd, 500);
    const c32 = h.read(cos, t * half), s32 = h.read(sin, t * half);
    const x = r.array(n), dout = r.array(n), px = h.f32(x);
    const dx = guarded(n, dout);
    k.ropeInPlace(dx, cos, sin, b, t, heads, hd, 1);
    assertCanary(dx, n, "ropeInPlace inverse");
    const g = h.read(dx, n);
    assertClose(g, ropeRef(dout, c32, s32, b, t, heads, hd, true), 1e-5, `dx vs float64 hd=${hd}`, 1e-2);

    // the gradient of Σ dout·rope(x) w.r.t. x, by finite differences of the forward
    const out = h.zeros(n);
    const loss = () => (h.write(out, h.read(px, n)), k.ropeInPlace(out, cos, sin, b, t, heads, hd, 0), dotLoss(out, dout));
    assertFiniteDifferences(px, n, loss, g, `rope dx hd=${hd}`);

    // forward then inverse is the identity up to rounding
    const round = h.f32(x);
    k.ropeInPlace(round, cos, sin, b, t, heads, hd, 0);
    k.ropeInPlace(round, cos, sin, b, t, heads, hd, 1);
    assertClose(h.read(round, n), x, 1e-5, `inverse(forward(x)) hd=${hd}`, 1e-2);
  }
});

// ---------------------------------------------------------------- swiglu

const silu64 = (g) => g / (1 + Math.exp(-g));
function swigluData(r, n) {
  // Normal values plus the tails where exp over- or underflows.
  const gate = r.array(n, 3);
  const extremes = [-120, -90, -87.5, -20, 0, 20, 88.5, 120];
  for (let i = 0; i < Math.min(n, extremes.length); i += 2) gate[i] = extremes[(i / 2) % extremes.length];
  return { gate, up: r.array(n) };
}

test("swigluForward matches float64 silu(gate)·up, including exp's overflow range", () => {
  const r = rng(51);
  for (const n of [...ODD, 64, 1001]) {
    const { gate, up } = swigluData(r, n);
    const out = guarded(n);
    k.swigluForward(out, h.f32(gate), h.f32(up), n);
    assertCanary(out, n, "swigluForward");
    const got = h.read(out, n);
    const ref = Float64Array.from(gate, (g, i) => silu64(g) * up[i]);
    // Below gate ≈ −87, exp(−gate) is clamped and silu returns ~1e−36 instead of
    // ~1e−38 or less: both are zero for every practical purpose, hence the floor.
    assertClose(got, ref, 1e-6, `n=${n}`, 1e-20);
  }
});

test("swiglu gives the same bits for an element in the vector body or the scalar tail", () => {
  const r = rng(52);
  const n = 41;
  const { gate, up } = swigluData(r, n);
  const dout = r.array(n);
  const pg = h.f32(gate), pu = h.f32(up), pd = h.f32(dout);
  const full = h.zeros(n), dgFull = h.zeros(n), duFull = h.zeros(n), actFull = h.zeros(n);
  k.swigluForward(full, pg, pu, n);
  k.swigluBackward(dgFull, duFull, actFull, pd, pg, pu, n);
  assert.equal(bits(h.read(actFull, n)), bits(h.read(full, n)), "the backward's recomputed act has the forward's bits");
  for (const split of [1, 2, 3, 5, 22]) {
    const part = h.zeros(n), dg = h.zeros(n), du = h.zeros(n), act = h.zeros(n);
    for (const [lo, hi] of [[0, split], [split, n]]) {
      const o = lo * 4;
      k.swigluForward(part + o, pg + o, pu + o, hi - lo);
      k.swigluBackward(dg + o, du + o, act + o, pd + o, pg + o, pu + o, hi - lo);
    }
    assert.equal(bits(h.read(part, n)), bits(h.read(full, n)), `forward split at ${split}`);
    assert.equal(bits(h.read(dg, n)), bits(h.read(dgFull, n)), `dgate split at ${split}`);
    assert.equal(bits(h.read(du, n)), bits(h.read(duFull, n)), `dup split at ${split}`);
    assert.equal(bits(h.read(act, n)), bits(h.read(full, n)), `act split at ${split}`);
  }
});

test("swiglu row kernels on the fused gate|up layout: the bits of the elementwise kernels, for any row split", () => {
  const r = rng(54);
  for (const [rows, f] of [[5, 7], [4, 16], [3, 33]]) {
    const n = rows * f;
    const { gate, up } = swigluData(r, n);
    const dout = r.array(n);
    // row i of gateUp: gate row i then up row i
    const gateUp = new Float32Array(2 * n);
    for (let i = 0; i < rows; i++) {
      gateUp.set(gate.subarray(i * f, (i + 1) * f), 2 * i * f);
      gateUp.set(up.subarray(i * f, (i + 1) * f), (2 * i + 1) * f);
    }
    const pg = h.f32(gate), pu = h.f32(up), pd = h.f32(dout), pgu = h.f32(gateUp);
    const out = h.zeros(n), dg = h.zeros(n), du = h.zeros(n), act = h.zeros(n);
    k.swigluForward(out, pg, pu, n);
    k.swigluBackward(dg, du, act, pd, pg, pu, n);
    const wantOut = bits(h.read(out, n)), wantDg = h.read(dg, n), wantDu = h.read(du, n);
    for (const split of [0, 1, rows - 1]) {
      const rOut = guarded(n), rAct = guarded(n), rD = guarded(2 * n, new Float32Array(2 * n).fill(7));
      for (const [lo, hi] of [[split, rows], [0, split]]) {
        k.swigluForwardRows(rOut, pgu, f, lo, hi);
        k.swigluBackwardRows(rD, rAct, pd, pgu, f, lo, hi);
      }
      assertCanary(rOut, n, "swigluForwardRows");
      assertCanary(rAct, n, "swigluBackwardRows act");
      assertCanary(rD, 2 * n, "swigluBackwardRows dGateUp");
      assert.equal(bits(h.read(rOut, n)), wantOut, `forward rows ${rows}×${f} split at ${split}`);
      assert.equal(bits(h.read(rAct, n)), wantOut, `act rows ${rows}×${f} split at ${split}`);
      const d = h.read(rD, 2 * n);
      for (let i = 0; i < rows; i++) {
        assert.equal(bits(d.subarray(2 * i * f, (2 * i + 1) * f)), bits(wantDg.subarray(i * f, (i + 1) * f)), `dgate row ${i}`);
        assert.equal(bits(d.subarray((2 * i + 1) * f, (2 * i + 2) * f)), bits(wantDu.subarray(i * f, (i + 1) * f)), `dup row ${i}`);
      }
    }
  }
});

test("swigluBackward matches float64 and finite differences, and writes (no accumulation)", () => {
  const r = rng(53);
  for (const n of [...ODD, 64]) {
    const gate = r.array(n, 3), up = r.array(n), dout = r.array(n);
    const pg = h.f32(gate), pu = h.f32(up), pd = h.f32(dout);
    // prefilled with values that an accumulating kernel would add to
    const dg = guarded(n, r.array(n)), du = guarded(n, r.array(n)), act = guarded(n, r.array(n));
    k.swigluBackward(dg, du, act, pd, pg, pu, n);
    assertCanary(dg, n, "dgate");
    assertCanary(du, n, "dup");
    assertCanary(act, n, "act");
    const gg = h.read(dg, n), gu = h.read(du, n);
    const refG = Float64Array.from(gate, (g, i) => {
      const s = 1 / (1 + Math.exp(-g));
      return dout[i] * up[i] * s * (1 + g * (1 - s));
    });
    const refU = Float64Array.from(gate, (g, i) => dout[i] * silu64(g));
    assertClose(gg, refG, 1e-5, `dgate n=${n}`, 1e-4);
    assertClose(gu, refU, 1e-5, `dup n=${n}`, 1e-4);
    assertClose(h.read(act, n), Float64Array.from(gate, (g, i) => silu64(g) * up[i]), 1e-6, `act n=${n}`, 1e-20);

    const out = h.zeros(n);
    const loss = () => (k.swigluForward(out, pg, pu, n), dotLoss(out, dout));
    assertFiniteDifferences(pg, n, loss, gg, `dgate n=${n}`);
    assertFiniteDifferences(pu, n, loss, gu, `dup n=${n}`);
  }
});

test("swiglu propagates NaN so the host's non-finite check sees it", () => {
  const n = 6, gate = [NaN, 1, 2, 3, 4, NaN], up = [1, 1, NaN, 1, 1, 1];
  const out = h.zeros(n), dg = h.zeros(n), du = h.zeros(n), act = h.zeros(n);
  const pg = h.f32(gate), pu = h.f32(up);
  k.swigluForward(out, pg, pu, n);
  k.swigluBackward(dg, du, act, h.f32(new Float32Array(n).fill(1)), pg, pu, n);
  const o = h.read(out, n), g = h.read(dg, n), u = h.read(du, n);
  for (const i of [0, 2, 5]) assert.ok(Number.isNaN(o[i]), `out[${i}] = ${o[i]}`);
  for (const i of [0, 2, 5]) assert.ok(Number.isNaN(g[i]), `dgate[${i}] = ${g[i]}`);
  for (const i of [0, 5]) assert.ok(Number.isNaN(u[i]), `dup[${i}] = ${u[i]}`);
  for (const i of [1, 3, 4]) assert.ok(Number.isFinite(o[i]) && Number.isFinite(g[i]) && Number.isFinite(u[i]), `finite at ${i}`);
});

test.run();
