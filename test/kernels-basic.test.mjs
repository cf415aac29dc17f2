// CPU kernels (assembly/embedding, rmsnorm, rope, swiglu, elementwise): every
// forward against a float64 JS reference, every backward against central finite
// differences of the wasm forward and against an analytic float64 reference,
// plus accumulate (+=) semantics, row-range splits and bounds of every write.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createHarness, rng, finiteDifferences, maxRelError } from "./helpers/engine.mjs";

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

test("elementwise: add, accumulate, copy, fill, scale match float32 arithmetic and stay in bounds", () => {
  const r = rng(11);
  for (const n of ODD) {
    const a = r.array(n), b = r.array(n);
    const pa = guarded(n, a), pb = guarded(n, b), po = guarded(n);
    k.add(po, pa, pb, n);
    assert.equal(bits(h.read(po, n)), bits(a.map((x, i) => Math.fround(x + b[i]))), `add n=${n}`);
    assertCanary(po, n, "add");

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

    const s = 0.3;
    k.scale(pb, n, s);
    assert.equal(bits(h.read(pb, n)), bits(b.map((x) => Math.fround(x * Math.fround(s)))), `scale n=${n}`);
    assertCanary(pb, n, "scale");
  }
});

test("elementwise: add works in place (out aliases an input)", () => {
  const r = rng(12);
  const n = 37, a = r.array(n), b = r.array(n);
  const pa = h.f32(a), pb = h.f32(b);
  k.add(pb, pa, pb, n);
  assert.equal(bits(h.read(pb, n)), bits(a.map((x, i) => Math.fround(x + b[i]))));
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

function rmsnormRef(x, w, n, c, eps) {
  const out = new Float64Array(n * c), rstd = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let ss = 0;
    for (let j = 0; j < c; j++) ss += x[i * c + j] ** 2;
    rstd[i] = 1 / Math.sqrt(ss / c + eps);
    for (let j = 0; j < c; j++) out[i * c + j] = w[j] * x[i * c + j] * rstd[i];
  }
  return { out, rstd };
}
function rmsnormBackwardRef(dout, x, w, n, c, eps) {
  const { rstd } = rmsnormRef(x, w, n, c, eps);
  const dx = new Float64Array(n * c), dw = new Float64Array(c);
  for (let i = 0; i < n; i++) {
    let dot = 0;
    for (let j = 0; j < c; j++) dot += dout[i * c + j] * w[j] * x[i * c + j];
    for (let j = 0; j < c; j++) {
      const xi = x[i * c + j];
      dx[i * c + j] = dout[i * c + j] * w[j] * rstd[i] - (xi * rstd[i] ** 3 * dot) / c;
      dw[j] += dout[i * c + j] * xi * rstd[i];
    }
  }
  return { dx, dw };
}
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

test.run();
