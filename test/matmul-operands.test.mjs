// Backend.matmul with placed operands (offsets and row strides, backend.ts
// MatmulOperands) on both backends: every layout against a float64 reference on
// shapes that are not multiples of the tiles, C outside its window untouched to
// the bit, accumulate, a fused wider product giving the bits of the separate ones
// (what the model's fused gate|up relies on), and operands refused by name.
// The wasm backend runs on 1 and 2 threads (same bits); WebGPU where an adapter
// exists (Mesa lavapipe here; see helpers/webgpu.mjs).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { WasmBackend } from "../dist/internal.js";
import { openWebGpu, rng, maxRelError } from "./helpers/webgpu.mjs";

const TOL = 3e-5; // f32 sums of k products against float64
const rand = rng(11);

/** C (+)= op(A)·op(B) in float64 on operands placed as `o` describes. */
function reference(cInit, a, b, m, n, k, layout, accumulate, o) {
  const c = Float64Array.from(cInit);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) {
        const av = layout === "tn" ? a[o.aOffset + p * o.lda + i] : a[o.aOffset + i * o.lda + p];
        const bv = layout === "nt" ? b[o.bOffset + j * o.ldb + p] : b[o.bOffset + p * o.ldb + j];
        s += av * bv;
      }
      const e = o.cOffset + i * o.ldc + j;
      c[e] = (accumulate ? c[e] : 0) + s;
    }
  return c;
}

/** Shapes × layouts × placements, odd and multiple-of-4 (WebGPU's vec4 path) alike. */
function cases() {
  const out = [];
  const shapes = [[5, 7, 3], [17, 33, 20], [64, 16, 8], [70, 65, 31]];
  let seed = 0;
  for (const [m, n, k] of shapes)
    for (const layout of ["nt", "nn", "tn"])
      for (const accumulate of [false, true]) {
        seed++;
        const pad = (cols, extra) => cols + (seed % 2 === 0 ? extra : 4 * extra);
        const [aRows, aCols] = layout === "tn" ? [k, m] : [m, k];
        const [bRows, bCols] = layout === "nt" ? [n, k] : [k, n];
        const o = { aOffset: seed % 3 === 0 ? 0 : 3 + seed, bOffset: 4 * (seed % 5), cOffset: 1 + (seed % 7), lda: pad(aCols, 3), ldb: seed % 2 ? bCols : pad(bCols, 1), ldc: pad(n, 5) };
        out.push({ m, n, k, layout, accumulate, o, aLen: o.aOffset + aRows * o.lda, bLen: o.bOffset + bRows * o.ldb, cLen: o.cOffset + m * o.ldc + 9 });
      }
  return out;
}

async function checkPlaced(be, what) {
  for (const t of cases()) {
    const a = rand(t.aLen), b = rand(t.bLen), c0 = rand(t.cLen);
    const A = be.alloc(t.aLen, "f32", "A"), B = be.alloc(t.bLen, "f32", "B"), C = be.alloc(t.cLen, "f32", "C");
    be.write(A, a);
    be.write(B, b);
    be.write(C, c0);
    be.matmul(C, A, B, t.m, t.n, t.k, t.layout, t.accumulate, t.o);
    const got = await be.read(C);
    const want = reference(c0, a, b, t.m, t.n, t.k, t.layout, t.accumulate, t.o);
    const name = `${what} ${t.layout} ${t.m}×${t.n}×${t.k} acc=${t.accumulate} ${JSON.stringify(t.o)}`;
    const inWindow = (e) => e >= t.o.cOffset && (e - t.o.cOffset) % t.o.ldc < t.n && e < t.o.cOffset + t.m * t.o.ldc;
    let worst = 0;
    const scale = want.reduce((s, v) => Math.max(s, Math.abs(v)), 0);
    for (let e = 0; e < t.cLen; e++) {
      if (inWindow(e)) worst = Math.max(worst, Math.abs(got[e] - want[e]) / Math.max(Math.abs(want[e]), 1e-2 * scale));
      else if (Object.is(got[e], c0[e]) === false) assert.unreachable(`${name}: element ${e} outside C's window changed (${c0[e]} → ${got[e]})`);
    }
    assert.ok(worst <= TOL, `${name}: max relative error ${worst}`);
    for (const x of [A, B, C]) be.free(x);
  }
}

/** A [m, 2f] product against two [m, f] products into its column blocks (nt), and the transposed case (tn). */
async function checkFusedBits(be, what) {
  const m = 37, f = 29, k = 23;
  const x = rand(m * k), w = rand(2 * f * k), dy = rand(m * 2 * f);
  const X = be.alloc(m * k, "f32", "x"), W = be.alloc(2 * f * k, "f32", "w"), DY = be.alloc(m * 2 * f, "f32", "dy");
  be.write(X, x);
  be.write(W, w);
  be.write(DY, dy);
  // forward: y = x·Wᵀ with W = [gate; up] → one [m, 2f] product or two strided ones
  const fused = be.alloc(m * 2 * f, "f32", "fused"), split = be.alloc(m * 2 * f, "f32", "split");
  be.matmul(fused, X, W, m, 2 * f, k, "nt", false);
  be.matmul(split, X, W, m, f, k, "nt", false, { ldc: 2 * f });
  be.matmul(split, X, W, m, f, k, "nt", false, { ldc: 2 * f, cOffset: f, bOffset: f * k });
  assert.equal(Array.from(await be.read(split)), Array.from(await be.read(fused)), `${what}: fused nt = two strided nt`);
  // weight gradient: dW = dyᵀ·x, one [2f, k] product or two reading column blocks of dy
  const dwFused = be.alloc(2 * f * k, "f32", "dwFused"), dwSplit = be.alloc(2 * f * k, "f32", "dwSplit");
  be.matmul(dwFused, DY, X, 2 * f, k, m, "tn", false);
  be.matmul(dwSplit, DY, X, f, k, m, "tn", false, { lda: 2 * f });
  be.matmul(dwSplit, DY, X, f, k, m, "tn", false, { lda: 2 * f, aOffset: f, cOffset: f * k });
  assert.equal(Array.from(await be.read(dwSplit)), Array.from(await be.read(dwFused)), `${what}: fused tn = two strided tn`);
  for (const t of [X, W, DY, fused, split, dwFused, dwSplit]) be.free(t);
}

function checkRefused(be, what) {
  const A = be.alloc(100, "f32", "A"), B = be.alloc(100, "f32", "B"), C = be.alloc(100, "f32", "C");
  assert.throws(() => be.matmul(C, A, B, 4, 4, 4, "nt", false, { lda: 3 }), /row stride of A must be an integer ≥ 4, got 3/, what);
  assert.throws(() => be.matmul(C, A, B, 4, 4, 4, "nn", false, { ldb: 2.5 }), /row stride of B/, what);
  assert.throws(() => be.matmul(C, A, B, 4, 4, 4, "tn", false, { cOffset: -1 }), /offset of C must be a non-negative integer/, what);
  assert.throws(() => be.matmul(C, A, B, 4, 4, 4, "nt", false, { ldc: 40 }), /operand too small: C \[4×4, stride 40\] from element 0 needs 124 elements, C has 100/, what);
  assert.throws(() => be.matmul(C, A, B, 4, 4, 4, "nt", false, { aOffset: 90 }), /operand too small: A \[4×4, stride 4\] from element 90 needs 106 elements, A has 100/, what);
  assert.throws(() => be.matmul(C, A, B, 4, 4, 4, "xx", false), /unknown layout "xx"/, what);
  for (const t of [A, B, C]) be.free(t);
}

for (const threads of [1, 2]) {
  test(`wasm (${threads} thread${threads > 1 ? "s" : ""}): placed operands match float64, C outside its window is untouched`, async () => {
    const be = await WasmBackend.create({ threads });
    await checkPlaced(be, `wasm ${threads}T`);
    await checkFusedBits(be, `wasm ${threads}T`);
    checkRefused(be, `wasm ${threads}T`);
    await be.dispose();
  });
}

test("wasm: 1 and 2 threads give the same bits on placed operands", async () => {
  const results = [];
  for (const threads of [1, 2]) {
    const be = await WasmBackend.create({ threads });
    const m = 300, n = 70, k = 90, o = { aOffset: 5, lda: 97, ldc: 77, cOffset: 3 };
    const A = be.alloc(5 + m * 97, "f32", "A"), B = be.alloc(n * k, "f32", "B"), C = be.alloc(3 + m * 77, "f32", "C");
    const r = rng(5);
    be.write(A, r(5 + m * 97));
    be.write(B, r(n * k));
    be.write(C, r(3 + m * 77));
    be.matmul(C, A, B, m, n, k, "nt", true, o);
    results.push(Array.from(new Uint32Array((await be.read(C)).buffer)));
    await be.dispose();
  }
  assert.equal(results[0], results[1]);
});

const gpu = await openWebGpu("matmul-operands");
if (gpu) {
  test("webgpu: placed operands match float64, C outside its window is untouched", async () => {
    await checkPlaced(gpu, "webgpu");
    await checkFusedBits(gpu, "webgpu");
    checkRefused(gpu, "webgpu");
  });
}

test.after(async () => {
  if (gpu) await gpu.dispose();
});

test.run();
