// Memory and the backend's binding limit: alternating batch shapes reaches a
// steady memory size (activations of the old shape are freed), and an LM head
// chunked over rows (a lowered maxBindingBytes) gives the unchunked results.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createEngine, WasmBackend, LlamaModel, Trainer, loadCpuModule, lmHeadRows, checkActivationLimits, forwardWithHiddenStates, evaluate } from "../dist/internal.js";

const config = {
  vocabSize: 61, hiddenSize: 32, numLayers: 3, numHeads: 4, numKvHeads: 2,
  intermediateSize: 40, ropeTheta: 10000, rmsEps: 1e-5, tiedEmbeddings: false, maxSeqLen: 48,
};
function batchOf(rows, len, seed = 3) {
  let s = seed;
  const ids = new Int32Array(rows * len).map(() => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) % config.vocabSize);
  return { batch: rows, length: len, ids };
}
const bits = (x) => Array.from(new Uint32Array(Float32Array.from(x).buffer));

test("evaluate alternating between two batch shapes 100 times: memory flat after the first round, no live bytes leak", async () => {
  const engine = await createEngine({ backend: "wasm", threads: 1 });
  const model = engine.createModel(config, { seed: 1 });
  const shapes = [batchOf(2, 9), batchOf(3, 33)];
  for (const b of shapes) await engine.evaluate(model, b);
  const bytes = engine.backend.memoryBytes();
  const live = engine.backend.arena.bytesLive;
  for (let i = 0; i < 100; i++) {
    await engine.evaluate(model, shapes[i % 2]);
    assert.is(engine.backend.memoryBytes(), bytes, `memory grew at call ${i}`);
  }
  await engine.evaluate(model, shapes[1]);
  assert.is(engine.backend.arena.bytesLive, live, "live bytes after a full round");
  await engine.dispose();
});

test("training alternating between two batch shapes: memory flat after the first round", async () => {
  const engine = await createEngine({ backend: "wasm", threads: 2 });
  const model = engine.createModel(config, { seed: 1 });
  const trainer = engine.createTrainer(model, { jreg: { alpha: 1, normalize: "middle" } });
  const shapes = [batchOf(2, 9), batchOf(3, 33)];
  for (const b of shapes) await trainer.step(b);
  const bytes = engine.backend.memoryBytes();
  for (let i = 0; i < 20; i++) {
    await trainer.step(shapes[i % 2]);
    await engine.jumpProfile(model, shapes[(i + 1) % 2]);
    assert.is(engine.backend.memoryBytes(), bytes, `memory grew at round ${i}`);
  }
  await engine.dispose();
});

test("free-list arena: freed blocks are reused, neighbours coalesce, the top comes down", async () => {
  const be = await WasmBackend.create({ threads: 1 });
  const arena = be.arena;
  const top0 = arena.bytesUsed;
  const a = arena.alloc(1000), b = arena.alloc(3000), c = arena.alloc(500);
  assert.ok(a % 256 === 0 && b % 256 === 0 && c % 256 === 0, "256-byte aligned");
  arena.free(a);
  arena.free(b); // coalesces with a's hole
  const d = arena.alloc(4000); // fits the joined hole only
  assert.is(d, a);
  arena.free(c);
  arena.free(d);
  assert.is(arena.bytesUsed, top0, "everything freed: the top is back");
  assert.throws(() => arena.free(d), /not a live allocation/);
  await be.dispose();
});

test("LM head chunked over rows (lowered maxBindingBytes): logits, CE, D, early-exit CE bit-identical; gradients equal (lm_head within rounding)", async () => {
  const cpu = await loadCpuModule();
  const V = config.vocabSize;
  const plain = await WasmBackend.create({ threads: 1 });
  const chunked = await WasmBackend.create({ threads: 2, maxBindingBytes: 64 * V * 4 + 100 });
  const batch = batchOf(5, 41); // 200 tokens: chunks of 64, 64, 64, 8
  assert.is(lmHeadRows(plain, 200, V), 200);
  assert.is(lmHeadRows(chunked, 200, V), 64);
  const mp = LlamaModel.create(plain, cpu, config, 7);
  const mc = LlamaModel.create(chunked, cpu, config, 7);

  const fp = await forwardWithHiddenStates(mp, batch);
  const fc = await forwardWithHiddenStates(mc, batch);
  assert.equal(bits(fc.logits), bits(fp.logits), "logits");
  const jreg = { alpha: 3, distance: "angular", lastK: 2, normalize: "middle" };
  const ep = await evaluate(mp, batch, jreg);
  const ec = await evaluate(mc, batch, jreg);
  assert.equal(ec, ep);

  const tp = new Trainer(mp, { jreg });
  const tc = new Trainer(mc, { jreg });
  const rp = await tp.computeGradients(batch);
  const rc = await tc.computeGradients(batch);
  assert.is(rc.loss, rp.loss);
  const gp = await tp.readGradients(), gc = await tc.readGradients();
  for (const [name, want] of gp) {
    const got = gc.get(name);
    if (name === "lm_head.weight") {
      // the weight gradient sums over rows chunk by chunk: the same terms, another rounding order
      let scale = 0, worst = 0;
      for (let i = 0; i < want.length; i++) {
        scale = Math.max(scale, Math.abs(want[i]));
        worst = Math.max(worst, Math.abs(got[i] - want[i]));
      }
      assert.ok(worst <= 1e-6 * scale, `${name}: ${worst} vs scale ${scale}`);
      assert.not.equal(bits(got), bits(new Float32Array(got.length)), "nonzero");
    } else {
      assert.equal(bits(got), bits(want), name);
    }
  }
  await plain.dispose();
  await chunked.dispose();
});

test("lmHeadRows: row chunks are multiples of 64, and a vocabulary too large for 64 rows is refused by name", async () => {
  const be = await WasmBackend.create({ threads: 1, maxBindingBytes: 1 << 20 });
  assert.is(lmHeadRows(be, 300, 1000), 256); // 262 rows fit, rounded down to 256
  assert.is(lmHeadRows(be, 263, 1000), 256);
  assert.is(lmHeadRows(be, 262, 1000), 262); // fits one binding: one chunk
  assert.is(lmHeadRows(be, 100, 100), 100);
  assert.throws(() => lmHeadRows(be, 1000, 8192), /LM head needs at least 64 rows of 8192 logits/);
  await be.dispose();
});

test("a batch whose activations exceed the backend's largest buffer is refused before any allocation, naming the limit and the largest batch that fits", async () => {
  const config = { vocabSize: 64, hiddenSize: 32, numLayers: 2, numHeads: 4, numKvHeads: 2, intermediateSize: 4096, ropeTheta: 10000, rmsEps: 1e-5, tiedEmbeddings: true, maxSeqLen: 1024 };
  // a WebGPU-like device with a 1 MiB buffer limit: the widest per-token tensor is the fused gate|up, 2 × 4096 floats = 32 KiB
  const device = { name: "webgpu", capabilities: { maxBufferBytes: 1 << 20, maxBindingBytes: 1 << 20 } };
  checkActivationLimits(device, config, 1, 32); // exactly 1 MiB: fits
  assert.throws(() => checkActivationLimits(device, config, 2, 32), (e) =>
    /maxBufferSize\) of 1048576 bytes/.test(e.message) && e.message.includes("the largest that fits is batch 1 at sequence length 32") && e.message.includes("[64, 8192] gate|up (2 × intermediate)"));
  assert.throws(() => checkActivationLimits(device, config, 1, 64), /no batch at sequence length 64; at most 32 tokens per batch/);
  // the wasm backend (2 GiB buffers): 65 × 1024 tokens × 32 KiB > 2 GiB, refused with nothing allocated
  const be = await WasmBackend.create({ threads: 1 });
  const cpu = await loadCpuModule();
  const model = LlamaModel.create(be, cpu, config, 1);
  const before = be.memoryBytes();
  const ids = new Int32Array(65 * 1025).map((_, i) => i % 64);
  assert.throws(() => model.prepare({ batch: 65, length: 1025, ids }), /largest that fits is batch 64 at sequence length 1024/);
  assert.is(be.memoryBytes(), before, "nothing was allocated");
  await be.dispose();
});

test.run();
