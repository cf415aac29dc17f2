// WebGPU ops, forward and backward, against the float64 references in
// helpers/webgpu-reference.mjs, on small shapes that include sizes that are not
// multiples of the tiles (matmul 64, attention 64/16/8, workgroups 256/1024).
// Also: accumulate (+=) semantics, in-place ops, views of one buffer meeting in one
// dispatch, the step scalars, the fused optimizers, memory that stays flat, and
// limits that are reported by name. Prints the max error of every op.
// Tolerance 1e-5 relative, except: matmul and attention (3e-5: sums of k or t
// products accumulate in f32 while the reference is f64) and the angular distance
// (3e-5: f32 arccos next to cos = ±1, where the angle is √(2(1 − cos))).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { openWebGpu, rng, maxRelError } from "./helpers/webgpu.mjs";
import { WebGpuBackend } from "../dist/backend/webgpu/webgpu-backend.js";
import * as ref from "./helpers/webgpu-reference.mjs";

const gpu = await openWebGpu("webgpu-ops");
const errors = [];
const MATMUL_TOL = 3e-5;
const rand = rng(7);

function upload(data, label = "t") {
  const t = gpu.alloc(data.length, data instanceof Int32Array ? "i32" : "f32", label);
  gpu.write(t, data);
  return t;
}
const maxAbs = (x) => x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
/**
 * Elementwise relative error, with a floor of 1 % of the largest |expected|: an
 * output that cancels to near zero keeps the absolute f32 rounding of its terms,
 * which no f32 kernel can avoid.
 */
async function close(t, expected, tol, what) {
  const actual = await gpu.read(t);
  const err = maxRelError(actual.subarray(0, expected.length), expected, Math.max(1e-30, 1e-2 * maxAbs(expected)));
  errors.push([what, err]);
  assert.ok(err <= tol, `${what}: max relative error ${err} > ${tol}`);
}
const plus = (base, inc) => Float64Array.from(inc, (v, i) => v + base[i]);

if (gpu) {
  test("fill, copy, accumulate, write at an offset", async () => {
    const n = 1000 + 3;
    const a = upload(rand(n));
    const b = gpu.alloc(n, "f32", "b");
    gpu.fill(b, 0.25);
    const a0 = await gpu.read(a);
    gpu.accumulate(b, a);
    await close(b, Float64Array.from(a0, (v) => Math.fround(v + 0.25)), 0, "accumulate");
    const c = gpu.alloc(n, "f32", "c");
    gpu.copy(c, a);
    assert.equal(Array.from(await gpu.read(c)), Array.from(a0));
    gpu.write(c, new Float32Array([9, 8]), 5);
    const c1 = await gpu.read(c);
    assert.equal([c1[4], c1[5], c1[6], c1[7]], [a0[4], 9, 8, a0[7]]);
  });

  test("fill over more than 65,535 workgroups (2-D grid)", async () => {
    const n = 65536 * 256 + 77;
    const t = gpu.alloc(n, "f32", "big");
    gpu.fill(t, 3);
    const s = gpu.alloc(8, "f32", "s");
    gpu.meanInto(s, 1, t);
    const r = await gpu.read(t);
    assert.is(r[n - 1], 3);
    assert.is(r[12345678], 3);
    assert.ok(Math.abs((await gpu.read(s))[1] - 3) < 1e-6);
    gpu.free(t);
  });

  test("embedding forward and deterministic scatter-add backward", async () => {
    const vocab = 37, c = 19, n = 53;
    const tokens = Int32Array.from({ length: n }, (_, i) => (i * 7 + (i % 5)) % vocab);
    const table = rand(vocab * c);
    const tT = upload(tokens), tab = upload(table), out = gpu.alloc(n * c, "f32", "out");
    gpu.embeddingForward(out, tT, tab, n, c);
    await close(out, ref.embeddingForward(tokens, table, n, c), 0, "embeddingForward");
    const dout = rand(n * c), d0 = rand(vocab * c);
    const dT = upload(dout), dtab = upload(d0);
    gpu.embeddingBackward(dtab, tT, dT, n, c);
    await close(dtab, plus(d0, ref.embeddingBackward(tokens, dout, n, c, vocab)), 1e-5, "embeddingBackward");
    // same device, same bits on every run
    const again = upload(d0);
    gpu.embeddingBackward(again, tT, dT, n, c);
    assert.equal(Array.from(await gpu.read(again)), Array.from(await gpu.read(dtab)));
  });

  test("rmsnorm forward and backward (dw without atomics)", async () => {
    for (const [n, c] of [[5, 7], [130, 300]]) {
      const x = rand(n * c, -2, 2), w = rand(c, 0.5, 1.5), eps = 1e-5;
      const X = upload(x), W = upload(w), out = gpu.alloc(n * c, "f32", "out"), rstd = gpu.alloc(n, "f32", "rstd");
      gpu.rmsnormForward(out, rstd, X, W, n, c, eps);
      const r = ref.rmsnormForward(x, w, n, c, eps);
      await close(out, r.out, 1e-5, `rmsnormForward ${n}×${c}`);
      await close(rstd, r.rstd, 1e-5, `rmsnorm rstd ${n}×${c}`);
      const dout = rand(n * c), dx0 = rand(n * c), dw0 = rand(c);
      const dx = upload(dx0), dw = upload(dw0);
      gpu.rmsnormBackward(dx, dw, upload(dout), X, W, rstd, n, c);
      const b = ref.rmsnormBackward(dout, x, w, n, c, eps);
      await close(dx, plus(dx0, b.dx), 1e-5, `rmsnormBackward dx ${n}×${c}`);
      await close(dw, plus(dw0, b.dw), 1e-5, `rmsnormBackward dw ${n}×${c}`);
    }
  });

  test("matmul nt / nn / tn, with and without accumulate, odd and vec4 shapes", async () => {
    for (const [m, n, k] of [[1, 1, 1], [67, 33, 19], [64, 128, 32], [130, 70, 65]]) {
      for (const layout of ["nt", "nn", "tn"]) {
        const a = rand(m * k), b = rand(n * k), c0 = rand(m * n);
        const A = upload(a), B = upload(b);
        const expect = ref.matmul(a, b, m, n, k, layout);
        const C = gpu.alloc(m * n, "f32", "c");
        gpu.matmul(C, A, B, m, n, k, layout, false);
        await close(C, expect, MATMUL_TOL, `matmul ${layout} ${m}×${n}×${k}`);
        const Cacc = upload(c0);
        gpu.matmul(Cacc, A, B, m, n, k, layout, true);
        await close(Cacc, plus(c0, expect), MATMUL_TOL, `matmul ${layout} += ${m}×${n}×${k}`);
        for (const t of [A, B, C, Cacc]) gpu.free(t);
      }
    }
  });

  test("views of one buffer meet in one dispatch (read-only and writable)", async () => {
    const m = 9, n = 12, k = 20;
    const arena = gpu.alloc(4096, "f32", "arena");
    const a = rand(m * k), b = rand(n * k);
    const A = gpu.view(arena, 0, m * k, "a");
    const C = gpu.view(arena, 1024, m * n, "c");
    gpu.write(A, a);
    gpu.matmul(C, A, upload(b), m, n, k, "nt", false);
    await close(C, ref.matmul(a, b, m, n, k, "nt"), 1e-5, "matmul on views of one arena");
    assert.throws(() => gpu.view(arena, 3, 4, "misaligned"), /view alignment 256/);
    assert.throws(() => gpu.free(A), /view cannot be freed/);
  });

  test("rope in place, forward and inverse", async () => {
    const b = 2, t = 5, heads = 3, hd = 6;
    const x = rand(b * t * heads * hd);
    const { cos, sin } = ref.ropeTables(t, hd, 10000);
    const X = upload(x), COS = upload(cos), SIN = upload(sin);
    gpu.ropeInPlace(X, COS, SIN, b, t, heads, hd, false);
    await close(X, ref.rope(x, cos, sin, b, t, heads, hd, false), 1e-5, "ropeInPlace");
    const y = await gpu.read(X);
    gpu.ropeInPlace(X, COS, SIN, b, t, heads, hd, true);
    await close(X, ref.rope(y, cos, sin, b, t, heads, hd, true), 1e-5, "ropeInPlace inverse");
  });

  test("flash attention forward (lse state) and backward, causal GQA", async () => {
    for (const [b, t, heads, kvHeads, hd] of [[1, 3, 2, 1, 4], [2, 70, 4, 2, 12], [1, 37, 3, 3, 64]]) {
      const q = rand(b * t * heads * hd), k = rand(b * t * kvHeads * hd), v = rand(b * t * kvHeads * hd), dout = rand(b * t * heads * hd);
      const r = ref.attention(q, k, v, dout, b, t, heads, kvHeads, hd);
      const Q = upload(q), K = upload(k), V = upload(v);
      const out = gpu.alloc(q.length, "f32", "out");
      const state = gpu.alloc(gpu.attentionStateLength(b, t, heads, kvHeads, hd), "f32", "state");
      assert.is(state.length, b * heads * t);
      gpu.attentionForward(out, state, Q, K, V, b, t, heads, kvHeads, hd);
      const shape = `${b}×${t}×${heads}/${kvHeads}×${hd}`;
      await close(out, r.out, MATMUL_TOL, `attentionForward ${shape}`);
      await close(state, r.lse, MATMUL_TOL, `attention lse ${shape}`);
      const dq0 = rand(q.length), dk0 = rand(k.length), dv0 = rand(v.length);
      const dq = upload(dq0), dk = upload(dk0), dv = upload(dv0);
      gpu.attentionBackward(dq, dk, dv, upload(dout), out, state, Q, K, V, b, t, heads, kvHeads, hd);
      await close(dq, plus(dq0, r.dq), MATMUL_TOL, `attentionBackward dq ${shape}`);
      await close(dk, plus(dk0, r.dk), MATMUL_TOL, `attentionBackward dk ${shape}`);
      await close(dv, plus(dv0, r.dv), MATMUL_TOL, `attentionBackward dv ${shape}`);
    }
  });

  test("swiglu forward and backward on the fused gate|up layout; the backward writes and recomputes act", async () => {
    const rows = 37, f = 29, n = rows * f;
    const g = rand(n, -4, 4), u = rand(n), dout = rand(n);
    const gateUp = new Float32Array(2 * n);
    for (let i = 0; i < rows; i++) {
      gateUp.set(g.subarray(i * f, (i + 1) * f), 2 * i * f);
      gateUp.set(u.subarray(i * f, (i + 1) * f), (2 * i + 1) * f);
    }
    const GU = upload(gateUp), out = gpu.alloc(n, "f32", "out");
    gpu.swigluForward(out, GU, rows, f);
    const r = ref.swiglu(g, u, dout);
    await close(out, r.out, 1e-5, "swigluForward");
    // prefilled: the backward must overwrite, not add
    const dGU = upload(rand(2 * n)), act = upload(rand(n));
    gpu.swigluBackward(dGU, act, upload(dout), GU, rows, f);
    const want = new Float64Array(2 * n);
    for (let i = 0; i < rows; i++) {
      want.set(r.dgate.subarray(i * f, (i + 1) * f), 2 * i * f);
      want.set(r.dup.subarray(i * f, (i + 1) * f), (2 * i + 1) * f);
    }
    await close(dGU, want, 1e-5, "swigluBackward dGateUp");
    await close(act, r.out, 1e-5, "swigluBackward act");
    assert.equal(Array.from(await gpu.read(act)), Array.from(await gpu.read(out)), "recomputed act has the forward's bits");
  });

  test("cross-entropy forward and in-place backward", async () => {
    const n = 7, v = 300, scale = 1 / 7;
    const logits = rand(n * v, -5, 5);
    const targets = Int32Array.from({ length: n }, (_, i) => (i * 41) % v);
    const L = upload(logits), T = upload(targets);
    const losses = gpu.alloc(n, "f32", "losses"), lse = gpu.alloc(n, "f32", "lse");
    gpu.crossEntropyForward(losses, lse, L, T, n, v);
    const r = ref.crossEntropy(logits, targets, n, v, scale);
    await close(losses, r.losses, 1e-5, "crossEntropyForward");
    await close(lse, r.lse, 1e-5, "crossEntropy lse");
    gpu.crossEntropyBackwardInPlace(L, lse, T, n, v, scale);
    await close(L, r.dlogits, 1e-5, "crossEntropyBackwardInPlace");
    // a target outside the vocabulary is a NaN loss (the step control reports it)
    const bad = upload(Int32Array.from([v]));
    gpu.crossEntropyForward(losses, lse, upload(logits.subarray(0, v)), bad, 1, v);
    assert.ok(Number.isNaN((await gpu.read(losses))[0]));
  });

  test("cosine forward/backward, distances and their gradients", async () => {
    const n = 11, c = 333;
    const a = rand(n * c), b = Float32Array.from(a, (x, i) => x + (i % 3 === 0 ? 0.3 : -0.1) * ((i % c) / c));
    b.fill(0, 0, c); // a zero row: the 1e-8 clamp
    const A = upload(a), B = upload(b);
    const cos = gpu.alloc(n, "f32", "cos"), na = gpu.alloc(n, "f32", "na"), nb = gpu.alloc(n, "f32", "nb");
    gpu.cosineForward(cos, na, nb, A, B, n, c);
    const dcos = rand(n);
    const r = ref.cosine(a, b, n, c, dcos);
    await close(cos, r.cos, 1e-5, "cosineForward");
    await close(na, r.na, 1e-5, "cosine normA");
    const da0 = rand(n * c), db0 = rand(n * c);
    const da = upload(da0), db = upload(db0);
    gpu.cosineBackward(da, db, upload(dcos), A, B, cos, na, nb, n, c);
    // the reference runs on the device's cos and norms (the clamp branch makes it discontinuous)
    await close(da, plus(da0, r.da), 1e-4, "cosineBackward da");
    await close(db, plus(db0, r.db), 1e-4, "cosineBackward db");
    const cosValues = Float32Array.from([-1, -0.5, 0, 0.3, 0.999, 0.99999994, 1, Math.fround(1 - 1e-7)]);
    const C = upload(cosValues), out = gpu.alloc(cosValues.length, "f32", "d");
    const scalars = upload(Float32Array.from([0, 0.5, 2, 0]));
    for (const kind of [0, 1, 2]) {
      gpu.distanceFromCos(out, C, cosValues.length, kind);
      await close(out, ref.distance(cosValues, kind), kind === 0 ? 1e-5 : 3e-5, `distanceFromCos kind ${kind}`);
      if (kind === 1) continue; // infinite at |cos| = 1
      gpu.distanceGrad(out, C, cosValues.length, kind, scalars, 2, 0.25);
      await close(out, ref.distanceGrad(cosValues, kind, 0.5), 1e-5, `distanceGrad kind ${kind}`);
    }
  });

  test("meanInto and sumSquaresInto: many partials, deterministic", async () => {
    const n = 5000 + 3;
    const x = rand(n);
    const X = upload(x), s = gpu.alloc(16, "f32", "s");
    gpu.fill(s, 0);
    gpu.meanInto(s, 2, X);
    gpu.sumSquaresInto(s, 3, X);
    const mean = x.reduce((a, b) => a + b, 0) / n;
    const ss = x.reduce((a, b) => a + b * b, 0);
    const r = await gpu.read(s);
    errors.push(["meanInto", Math.abs(r[2] - mean) / Math.abs(mean)], ["sumSquaresInto", Math.abs(r[3] - ss) / ss]);
    assert.ok(Math.abs(r[2] - mean) <= 1e-5 * maxAbs(x), `mean ${r[2]} vs ${mean}`);
    assert.ok(Math.abs(r[3] - ss) <= 1e-5 * ss, `sum of squares ${r[3]} vs ${ss}`);
    gpu.sumSquaresInto(s, 4, X);
    const r2 = await gpu.read(s);
    assert.is(r2[4], r2[3]);
  });

  test("jregScalars (last-k, normalize middle, α = 0) and stepControl", async () => {
    const L = 5, len = 8 + 2 * L;
    const profile = [0.3, 0.1, 0.12, 0.08, 0.5];
    const specs = [
      { numLayers: L, alpha: 3, numerator: [0, 0, 0, 0, 1], denominator: null },
      { numLayers: L, alpha: 0.7, numerator: [0, 0, 0, 0.5, 0.5], denominator: [0, 1 / 3, 1 / 3, 1 / 3, 0] },
      { numLayers: L, alpha: 0, numerator: [0, 0, 0, 0, 1], denominator: [0, 0, 0, 0, 0] },
    ];
    for (const spec of specs) {
      const init = new Float32Array(len);
      init[0] = 2.5;
      profile.forEach((d, l) => (init[8 + l] = d));
      const s = upload(init);
      gpu.jregScalars(s, spec);
      const r = await gpu.read(s);
      const e = ref.jregScalars(Math.fround(2.5), Float32Array.from(profile), spec);
      const what = `jregScalars α=${spec.alpha}${spec.denominator ? " normalized" : ""}`;
      if (spec.alpha === 0) assert.is(r[2], r[0], "α = 0: Loss is CE exactly");
      else assert.ok(Math.abs(r[2] - e.loss) <= 1e-6 * e.loss, `${what}: loss ${r[2]} vs ${e.loss}`);
      if (spec.alpha !== 0 || !spec.denominator) assert.ok(Math.abs(r[1] - e.R) <= 1e-6 * Math.abs(e.R), `${what}: R`);
      const coef = Array.from(r.subarray(8 + L));
      const err = maxRelError(coef, e.coef, 1e-6);
      errors.push([what, err]);
      assert.ok(err <= 1e-5, `${what}: coefficients ${coef} vs ${e.coef}`);
    }
    // stepControl: clip, skip on a non-finite loss or gradient, update count
    const s = gpu.alloc(8, "f32", "s");
    gpu.write(s, Float32Array.from([0, 0, 1.5, 16, 0, 0, 0, 4]));
    gpu.stepControl(s, { clip: 1 });
    let r = await gpu.read(s);
    assert.is(r[4], 4);
    assert.ok(Math.abs(r[5] - 1 / (4 + 1e-6)) < 1e-7);
    assert.equal([r[6], r[7]], [0, 5]);
    gpu.write(s, Float32Array.from([0, 0, NaN, 16, 0, 0, 0, 5]));
    gpu.stepControl(s, { clip: 0 });
    r = await gpu.read(s);
    assert.equal([r[5], r[6], r[7]], [1, 1, 5]);
    gpu.write(s, Float32Array.from([0, 0, 1, Infinity, 0, 0, 0, 5]));
    gpu.stepControl(s, { clip: 1 });
    r = await gpu.read(s);
    assert.equal([r[6], r[7]], [2, 5]);
  });

  test("fused AdamW (decay range, clip scale, bias correction, skip) and SGD", async () => {
    const n = 1000 + 9;
    const h = { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, decayLength: 600 };
    const p0 = rand(n), g0 = rand(n), m0 = rand(n, -0.1, 0.1), v0 = rand(n, 0, 0.01);
    for (const t of [1, 2, 37]) {
      const P = upload(p0), G = upload(g0), M = upload(m0), V = upload(v0);
      const s = upload(Float32Array.from([0, 0, 0, 0, 0, 0.5, 0, t]));
      gpu.adamwStep(P, G, M, V, h, s);
      const e = ref.adamw(p0, Float64Array.from(g0, (x) => x * 0.5), m0, v0, h, t);
      await close(P, e.p, 1e-5, `adamwStep p (t=${t})`);
      await close(M, e.m, 1e-5, `adamwStep m (t=${t})`);
      await close(V, e.v, 1e-5, `adamwStep v (t=${t})`);
    }
    const P = upload(p0), G = upload(g0), M = upload(m0), V = upload(v0);
    const skip = upload(Float32Array.from([0, 0, 0, 0, 0, 1, 1, 3]));
    gpu.adamwStep(P, G, M, V, h, skip);
    gpu.sgdStep(P, G, 0.1, skip);
    assert.equal(Array.from(await gpu.read(P)), Array.from(p0), "a skipped step leaves p untouched");
    assert.equal(Array.from(await gpu.read(M)), Array.from(m0));
    const s = upload(Float32Array.from([0, 0, 0, 0, 0, 0.5, 0, 1]));
    gpu.sgdStep(P, G, 0.1, s);
    await close(P, Float64Array.from(p0, (x, i) => x - 0.1 * g0[i] * 0.5), 1e-6, "sgdStep");
  });

  test("free: alternating shapes 100 times keeps memory flat", async () => {
    const before = gpu.memoryBytes();
    for (let i = 0; i < 100; i++) {
      const t = gpu.alloc(i % 2 ? 5000 : 70000, "f32", "tmp");
      gpu.fill(t, i);
      gpu.free(t);
    }
    await gpu.read(gpu.alloc(1, "f32", "sync"));
    assert.ok(gpu.memoryBytes() <= before + 256, `memory grew from ${before} to ${gpu.memoryBytes()}`);
  });

  test("limits are checked and named", () => {
    assert.throws(() => gpu.alloc(gpu.capabilities.maxBufferBytes, "f32", "huge"), /maxBufferSize/);
    assert.throws(() => gpu.attentionForward(...Array(5).fill(gpu.alloc(4, "f32", "x")), 1, 1, 1, 1, 256), /MAX_HEAD_DIM/);
    assert.is(gpu.capabilities.viewAlignment, 256);
    assert.is(gpu.capabilities.maxWorkgroupsPerDimension, 65535);
    assert.ok(gpu.capabilities.device.length > 0);
  });

  test("an uncaptured error and a lost device are reported by the next op, naming the cause", async () => {
    const other = await WebGpuBackend.create();
    const t = other.alloc(16, "f32", "t");
    other.device.createBuffer({ size: 4, usage: 0, label: "deliberately invalid" }); // a validation error
    await other.device.queue.onSubmittedWorkDone();
    await new Promise((r) => setTimeout(r, 50));
    assert.throws(() => other.fill(t, 1), /WebGPU error: .*deliberately invalid|WebGPU error/);
    const lost = await WebGpuBackend.create();
    const u = lost.alloc(16, "f32", "u");
    lost.device.destroy();
    await lost.device.lost;
    assert.throws(() => lost.fill(u, 1), /device lost \(destroyed\)/);
    try {
      await lost.read(u);
      assert.unreachable("read after device loss");
    } catch (e) {
      assert.match(e.message, /device lost/);
    }
    await other.dispose();
    await lost.dispose();
  });

  test("print errors", async () => {
    console.log(`\nadapter: ${gpu.capabilities.device}`);
    for (const [what, err] of errors) console.log(`  ${what.padEnd(44)} ${err.toExponential(2)}`);
    await gpu.dispose();
  });
} else {
  test("webgpu ops (skipped: no adapter)", () => {});
}

test.run();
