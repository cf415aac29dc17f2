// analyzeCheckpoint on the WebGPU backend (lavapipe in CI): the layer-streaming
// forward with q/k/v biases, rope scaling, a sharded BF16 checkpoint, against the
// PyTorch reference (same tolerances as analyze.test.mjs), a chunked LM head
// against the wasm backend, the all-layers early-exit pass against one layer at a
// time, and earlyExit false.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { analyzeCheckpoint } from "../dist/internal.js";
import { openWebGpu } from "./helpers/webgpu.mjs";

const FIX = new URL("./fixtures/analyze/", import.meta.url).pathname;
const gpu = await openWebGpu("webgpu-analyze");
const near = (a, b, tol, what) => a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) <= tol, `${what}[${i}]: ${x} vs ${b[i]}`));

if (gpu) {
  for (const [name, finalState] of [
    ["qwen2-bias", "pre-norm"],
    ["llama3-bf16-sharded", "post-norm"],
    ["llama-linear-f16-tied", "pre-norm"],
  ]) {
    test(`webgpu: ${name}, ${finalState} matches PyTorch`, async () => {
      const exp = JSON.parse(await readFile(join(FIX, name, "expected.json"), "utf8"));
      const ref = exp[finalState];
      const r = await analyzeCheckpoint(join(FIX, name), { tokens: exp.ids, seq: exp.seq, finalState, backend: gpu });
      assert.is(r.backend, "webgpu");
      near(r.D_angular, ref.D_angular, 2e-4, "D_angular");
      near(r.D_cosine, ref.D_cosine, 2e-4, "D_cosine");
      near(r.early_exit_ce.map((x, i) => x / ref.early_exit_ce[i]), ref.early_exit_ce.map(() => 1), 1e-4, "early_exit_ce");
    });
  }
  test("webgpu with a chunked LM head (64-row chunks of 147 tokens) agrees with wasm", async () => {
    const dir = join(FIX, "qwen2-bias");
    const ids = Array.from({ length: 150 }, (_, i) => (i * 13 + 1) % 61);
    const g = await analyzeCheckpoint(dir, { tokens: ids, seq: 49, backend: gpu, headRows: 64 });
    const w = await analyzeCheckpoint(dir, { tokens: ids, seq: 49, backend: "wasm", threads: 1 });
    near(g.D_angular, w.D_angular, 2e-5, "D_angular");
    near(g.early_exit_ce.map((x, i) => x / w.early_exit_ce[i]), w.early_exit_ce.map(() => 1), 1e-5, "early_exit_ce");
  });
  test("webgpu: all layers in one LM-head pass equals one layer at a time; earlyExit false keeps the profile and CE", async () => {
    const dir = join(FIX, "qwen2-bias");
    const ids = Array.from({ length: 150 }, (_, i) => (i * 13 + 1) % 61);
    const o = { tokens: ids, seq: 49, backend: gpu };
    const one = await analyzeCheckpoint(dir, { ...o, headLayers: 1 });
    const all = await analyzeCheckpoint(dir, { ...o, headRows: 256 }); // chunks span the layer slots
    const quick = await analyzeCheckpoint(dir, { ...o, earlyExit: false });
    near(all.early_exit_ce.map((x, i) => x / one.early_exit_ce[i]), one.early_exit_ce.map(() => 1), 1e-6, "grouped early_exit_ce");
    assert.is(quick.early_exit_ce, null);
    assert.equal(quick.D_angular, one.D_angular);
    near([quick.ce / one.ce], [1], 1e-6, "ce");
  });
  test.after(() => gpu.dispose());
}
test.run();
