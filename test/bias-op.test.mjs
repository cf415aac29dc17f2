// The bias op (Qwen2's q/k/v projection biases) on both backends against a
// float64 reference: biasAddInPlace (x[i, j] += bias[j]) and biasBackward
// (dbias[j] += Σ_i dout[i, j], accumulating). Widths that are not multiples of
// 4 (the SIMD lanes) or 256 (the workgroup) and more rows than one workgroup.
// The wasm and webgpu column sums use the same row order, so they agree closely;
// the add is checked against f64 at 1e-6 and the column sum at 3e-5 relative (an
// f32 running sum of n terms, as the matmul tolerance; floor: 1 % of the largest value).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { WasmBackend } from "../dist/internal.js";
import { openWebGpu, rng, maxRelError } from "./helpers/webgpu.mjs";

const rand = rng(11);
const gpu = await openWebGpu("bias-op");
const wasm = await WasmBackend.create({ threads: 1 });
const backends = gpu ? [wasm, gpu] : [wasm];
const SHAPES = [
  [1, 1],
  [7, 5],
  [300, 67],
  [33, 260],
];

function upload(be, data, label) {
  const t = be.alloc(data.length, "f32", label);
  be.write(t, data);
  return t;
}
const maxAbs = (x) => x.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
function close(actual, expected, tol, what) {
  const err = maxRelError(actual.subarray(0, expected.length), expected, Math.max(1e-30, 1e-2 * maxAbs(expected)));
  assert.ok(err <= tol, `${what}: max relative error ${err} > ${tol}`);
}

for (const be of backends) {
  for (const [n, c] of SHAPES) {
    test(`${be.name}: biasAddInPlace and biasBackward, n=${n} c=${c}`, async () => {
      const x0 = rand(n * c);
      const bias = rand(c);
      const x = upload(be, x0, "x");
      const b = upload(be, bias, "bias");
      be.biasAddInPlace(x, b, n, c);
      const expectedX = Float64Array.from(x0, (v, i) => v + bias[i % c]);
      close(await be.read(x), expectedX, 1e-6, "bias add");

      const dout = rand(n * c);
      const db0 = rand(c);
      const db = upload(be, db0, "dbias");
      const d = upload(be, dout, "dout");
      be.biasBackward(db, d, n, c);
      const expected = Float64Array.from(db0);
      for (let i = 0; i < n; i++) for (let j = 0; j < c; j++) expected[j] += dout[i * c + j];
      close(await be.read(db), expected, 3e-5, "bias backward (accumulates)");
      for (const t of [x, b, db, d]) be.free(t);
    });
  }
}

test("wasm and webgpu bias backward agree", async () => {
  if (!gpu) return;
  const [n, c] = [257, 131];
  const dout = rand(n * c);
  const out = [];
  for (const be of backends) {
    const db = be.alloc(c, "f32", "db");
    be.fill(db, 0);
    const d = upload(be, dout, "dout");
    be.biasBackward(db, d, n, c);
    out.push(await be.read(db));
  }
  close(out[1], Float64Array.from(out[0]), 1e-6, "webgpu vs wasm");
});

test.after(async () => {
  for (const be of backends) await be.dispose();
});
test.run();
