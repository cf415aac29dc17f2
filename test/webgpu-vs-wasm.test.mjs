// Every op, forward and backward, gives the same result on the WebGPU backend as
// on the wasm backend for the same inputs (odd shapes), within 1e-5 relative
// (floor: 1 % of the largest magnitude, as in webgpu-ops.test.mjs).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { WasmBackend } from "../dist/internal.js";
import { openWebGpu, rng, maxRelError } from "./helpers/webgpu.mjs";
import { ropeTables } from "./helpers/webgpu-reference.mjs";

const gpu = await openWebGpu("webgpu-vs-wasm");
const cpu = gpu ? await WasmBackend.create({ threads: 1 }) : null;
const rand = rng(11);
const errors = [];

/** Runs fn(backend, upload, alloc) on both backends; compares every tensor it returns. */
async function same(what, fn, tol = 1e-5) {
  const results = [];
  for (const be of [gpu, cpu]) {
    const up = (data) => {
      const t = be.alloc(data.length, data instanceof Int32Array ? "i32" : "f32", "in");
      be.write(t, data);
      return t;
    };
    const outs = fn(be, up);
    results.push(await Promise.all(Object.values(outs).map((t) => be.read(t))));
  }
  const names = Object.keys(fn(gpu, (d) => { const t = gpu.alloc(d.length, "f32", "x"); return t; }));
  results[0].forEach((g, i) => {
    const w = results[1][i];
    let scale = 0;
    for (const x of w) scale = Math.max(scale, Math.abs(x));
    const err = maxRelError(g, w, Math.max(1e-30, 1e-2 * scale));
    errors.push([`${what} ${names[i]}`, err]);
    assert.ok(err <= tol, `${what} ${names[i]}: ${err} > ${tol}`);
  });
}

if (gpu) {
  const n = 45, c = 37, vocab = 29;
  const tokens = Int32Array.from({ length: n }, (_, i) => (i * 5 + 3) % vocab);
  const x = rand(n * c), y = rand(n * c), w = rand(c, 0.5, 1.5), dout = rand(n * c), g0 = rand(n * c), gateUp = rand(2 * n * c, -4, 4);

  test("embedding, rmsnorm, swiglu", async () => {
    const table = rand(vocab * c), d0 = rand(vocab * c);
    await same("embedding", (be, up) => {
      const out = be.alloc(n * c, "f32", "out"), T = up(tokens), dt = up(d0);
      be.embeddingForward(out, T, up(table), n, c);
      be.embeddingBackward(dt, T, up(dout), n, c);
      return { out, dtable: dt };
    });
    await same("rmsnorm", (be, up) => {
      const out = be.alloc(n * c, "f32", "out"), rstd = be.alloc(n, "f32", "rstd"), X = up(x), W = up(w);
      be.rmsnormForward(out, rstd, X, W, n, c, 1e-5);
      const dx = up(g0), dw = up(w);
      be.rmsnormBackward(dx, dw, up(dout), X, W, rstd, n, c);
      return { out, rstd, dx, dw };
    });
    await same("swiglu", (be, up) => {
      // the fused gate|up layout [n, 2c]; the backward writes over a prefilled dGateUp
      const out = be.alloc(n * c, "f32", "out"), act = be.alloc(n * c, "f32", "act"), GU = up(gateUp), dGU = up(gateUp);
      be.swigluForward(out, GU, n, c);
      be.swigluBackward(dGU, act, up(dout), GU, n, c);
      return { out, act, dGateUp: dGU };
    });
  });

  test("matmul nt / nn / tn with accumulate", async () => {
    for (const [m, nn, k] of [[67, 33, 19], [64, 20, 96]]) {
      const a = rand(m * k), b = rand(nn * k), c0 = rand(m * nn);
      for (const layout of ["nt", "nn", "tn"]) {
        await same(`matmul ${layout} ${m}×${nn}×${k}`, (be, up) => {
          const C = be.alloc(m * nn, "f32", "c"), Cacc = up(c0), A = up(a), B = up(b);
          be.matmul(C, A, B, m, nn, k, layout, false);
          be.matmul(Cacc, A, B, m, nn, k, layout, true);
          return { c: C, cAccumulated: Cacc };
        }, 3e-5);
        // operands placed inside wider tensors (offsets, row strides)
        const o = { aOffset: 5, bOffset: 8, cOffset: 3, lda: (layout === "tn" ? m : k) + 3, ldb: (layout === "nt" ? k : nn) + 4, ldc: nn + 7 };
        const rowsA = layout === "tn" ? k : m, rowsB = layout === "nt" ? nn : k;
        const pa = rand(o.aOffset + rowsA * o.lda), pb = rand(o.bOffset + rowsB * o.ldb), pc = rand(o.cOffset + m * o.ldc);
        await same(`matmul ${layout} ${m}×${nn}×${k} placed`, (be, up) => {
          const C = up(pc);
          be.matmul(C, up(pa), up(pb), m, nn, k, layout, true, o);
          return { c: C };
        }, 3e-5);
      }
    }
  });

  test("rope, attention", async () => {
    const b = 2, t = 19, heads = 4, kvHeads = 2, hd = 8;
    const { cos, sin } = ropeTables(t, hd, 10000);
    const dq0 = rand(b * t * heads * hd);
    const q = rand(b * t * heads * hd), k = rand(b * t * kvHeads * hd), v = rand(b * t * kvHeads * hd), d = rand(b * t * heads * hd);
    await same("rope", (be, up) => {
      const X = up(q), Y = up(q);
      be.ropeInPlace(X, up(cos), up(sin), b, t, heads, hd, false);
      be.ropeInPlace(Y, up(cos), up(sin), b, t, heads, hd, true);
      return { forward: X, inverse: Y };
    });
    await same("attention", (be, up) => {
      const Q = up(q), K = up(k), V = up(v), out = be.alloc(q.length, "f32", "out");
      const state = be.alloc(be.attentionStateLength(b, t, heads, kvHeads, hd), "f32", "state");
      be.attentionForward(out, state, Q, K, V, b, t, heads, kvHeads, hd);
      const dq = up(dq0), dk = up(new Float32Array(k.length)), dv = up(new Float32Array(v.length));
      be.attentionBackward(dq, dk, dv, up(d), out, state, Q, K, V, b, t, heads, kvHeads, hd);
      return { out, dq, dk, dv };
    }, 3e-5);
  });

  test("cross-entropy, cosine, distances, reductions, step scalars, optimizers", async () => {
    const v = 130, rows = 9, logits = rand(rows * v, -4, 4);
    const targets = Int32Array.from({ length: rows }, (_, i) => (i * 17) % v);
    await same("crossEntropy", (be, up) => {
      const L = up(logits), losses = be.alloc(rows, "f32", "l"), lse = be.alloc(rows, "f32", "lse"), T = up(targets);
      be.crossEntropyForward(losses, lse, L, T, rows, v);
      be.crossEntropyBackwardInPlace(L, lse, T, rows, v, 1 / rows);
      return { losses, lse, dlogits: L };
    });
    const L = 3, len = 8 + 2 * L;
    await same("cosine + distances + jreg", (be, up) => {
      const A = up(x), B = up(Float32Array.from(x, (s, i) => s + 0.2 * y[i]));
      const cosT = be.alloc(n, "f32", "cos"), na = be.alloc(n, "f32", "na"), nb = be.alloc(n, "f32", "nb");
      be.cosineForward(cosT, na, nb, A, B, n, c);
      const s = up(new Float32Array(len));
      const dists = [];
      for (const kind of [0, 1, 2]) {
        const d = be.alloc(n, "f32", "d");
        be.distanceFromCos(d, cosT, n, kind);
        dists.push(d);
      }
      be.meanInto(s, 0, dists[0]);
      for (let l = 0; l < L; l++) be.meanInto(s, 8 + l, dists[l % 3]);
      be.jregScalars(s, { numLayers: L, alpha: 0.5, numerator: [0, 0.5, 0.5], denominator: [1, 0, 0] });
      const dcos = be.alloc(n, "f32", "dcos");
      be.distanceGrad(dcos, cosT, n, 2, s, 8 + L + 1, 1 / n);
      const da = up(g0), db = up(g0);
      be.cosineBackward(da, db, dcos, A, B, cosT, na, nb, n, c);
      be.sumSquaresInto(s, 3, da);
      be.stepControl(s, { clip: 0.5 });
      return { cos: cosT, normA: na, cosine: dists[0], angular: dists[1], angularLoss: dists[2], dcos, da, db, scalars: s };
    });
    const p0 = rand(1000), gr = rand(1000), m0 = rand(1000, -0.1, 0.1), v0 = rand(1000, 0, 0.01);
    await same("adamw + sgd", (be, up) => {
      const P = up(p0), G = up(gr), M = up(m0), V = up(v0), P2 = up(p0);
      const s = up(Float32Array.from([0, 0, 0, 0, 0, 0.7, 0, 3]));
      be.adamwStep(P, G, M, V, { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, decayLength: 640 }, s);
      be.sgdStep(P2, G, 0.05, s);
      return { p: P, m: M, v: V, pSgd: P2 };
    });
  });

  test("print errors", async () => {
    console.log("\nwebgpu vs wasm, max relative error:");
    for (const [what, err] of errors) console.log(`  ${what.padEnd(40)} ${err.toExponential(2)}`);
    await gpu.dispose();
    await cpu.dispose();
  });
} else {
  test("webgpu vs wasm (skipped: no adapter)", () => {});
}

test.run();
