// The host API: engine creation, model init, batch validation, train config
// validation, skipped non-finite steps, steady memory, checkpoint round trip.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createEngine, readCheckpoint, writeCheckpoint, PRESETS, regularizer, middleLayers, jumpStrength } from "../dist/index.js";

const small = {
  vocabSize: 50, hiddenSize: 32, numLayers: 3, numHeads: 4, numKvHeads: 2,
  intermediateSize: 40, ropeTheta: 10000, rmsEps: 1e-5, tiedEmbeddings: true, maxSeqLen: 16,
};
const batchOf = (rows, len, vocab = 50, seed = 3) => {
  let s = seed;
  const ids = new Int32Array(rows * len).map(() => ((s = (s * 1103515245 + 12345) >>> 0) >>> 8) % vocab);
  return { batch: rows, length: len, ids };
};

test("createEngine rejects unknown and unavailable backends by name", async () => {
  try {
    await createEngine({ backend: "cuda" });
    assert.unreachable();
  } catch (e) {
    assert.match(e.message, /backend must be "wasm", "webgpu" or "auto"/);
  }
  try {
    await createEngine({ backend: "wasm", threads: 0 });
    assert.unreachable();
  } catch (e) {
    assert.match(e.message, /threads must be an integer/);
  }
});

test("init: seeded and deterministic; matrices ~ N(0, 0.02), norms 1", async () => {
  const engine = await createEngine({ backend: "wasm", threads: 1 });
  const a = await engine.createModel(PRESETS.tiny, { seed: 5 }).toCheckpoint();
  const b = await engine.createModel(PRESETS.tiny, { seed: 5 }).toCheckpoint();
  const c = await engine.createModel(PRESETS.tiny, { seed: 6 }).toCheckpoint();
  const name = "model.layers.1.mlp.up_proj.weight";
  assert.equal(Array.from(a.tensors.get(name)), Array.from(b.tensors.get(name)));
  assert.not.equal(Array.from(a.tensors.get(name)), Array.from(c.tensors.get(name)));
  const w = a.tensors.get(name);
  let m = 0, v = 0;
  for (const x of w) m += x / w.length;
  for (const x of w) v += (x - m) ** 2 / w.length;
  assert.ok(Math.abs(m) < 0.002, `mean ${m}`);
  assert.ok(Math.abs(Math.sqrt(v) - 0.02) < 0.001, `std ${Math.sqrt(v)}`);
  assert.ok(a.tensors.get("model.norm.weight").every((x) => x === 1));
  // different tensors get different streams
  assert.not.equal(Array.from(a.tensors.get("model.layers.0.mlp.up_proj.weight").slice(0, 8)), Array.from(w.slice(0, 8)));
  await engine.dispose();
});

test("bad batches get errors that name the problem", async () => {
  const engine = await createEngine({ backend: "wasm", threads: 1 });
  const model = engine.createModel(small, { seed: 1 });
  const bad = [
    [{ batch: 2, length: 5, ids: new Int32Array(9) }, /shape mismatch: 2 rows × 5 tokens needs 10 ids, got 9/],
    [{ batch: 1, length: 5, ids: Int32Array.from([1, 2, 50, 3, 4]) }, /token id 50 at row 0, column 2 is out of range \[0, 50\)/],
    [{ batch: 1, length: 3, ids: Int32Array.from([1, -1, 2]) }, /token id -1/],
    [{ batch: 1, length: 18, ids: new Int32Array(18) }, /sequence length 17 exceeds the model's maximum 16/],
    [{ batch: 1, length: 1, ids: new Int32Array(1) }, /at least 2 tokens/],
    [{ batch: 0, length: 3, ids: new Int32Array(0) }, /batch size/],
  ];
  for (const [b, re] of bad) {
    try {
      await engine.evaluate(model, b);
      assert.unreachable(`should reject ${re}`);
    } catch (e) {
      assert.match(e.message, re);
    }
  }
  await engine.dispose();
});

test("train config and JREG options are validated by name", async () => {
  const engine = await createEngine({ backend: "wasm", threads: 1 });
  const model = engine.createModel(small);
  const bad = [
    [{ lr: -1 }, /train.lr must be a finite number ≥ 0/],
    [{ beta2: 1 }, /train.beta2 must be in \[0, 1\)/],
    [{ clip: NaN }, /train.clip/],
    [{ optimizer: "lion" }, /optimizer must be "adamw" or "sgd"/],
    [{ jreg: { alpha: -1 } }, /jreg.alpha must be a finite number ≥ 0/],
    [{ jreg: { lastK: 4 } }, /jreg.lastK must be an integer in \[1, 3\]/],
    [{ jreg: { distance: "l2" } }, /jreg.distance must be "cosine" or "angular"/],
    [{ jreg: { normalize: "all" } }, /jreg.normalize must be "none" or "middle"/],
  ];
  for (const [cfg, re] of bad) assert.throws(() => engine.createTrainer(model, cfg), re);
  await engine.dispose();
});

test("a non-finite loss is reported, the step skipped, weights and optimizer state untouched", async () => {
  const engine = await createEngine({ backend: "wasm", threads: 1 });
  const model = engine.createModel(small, { seed: 2 });
  const trainer = engine.createTrainer(model, { lr: 1e-2 });
  await trainer.step(batchOf(2, 9));
  const before = await model.toCheckpoint();
  // poison one weight: the next loss is NaN
  const emb = before.tensors.get("model.embed_tokens.weight").slice();
  emb.fill(NaN);
  const poisoned = engine.loadModel({ config: before.config, tensors: new Map([...before.tensors, ["model.embed_tokens.weight", emb]]) });
  const t2 = engine.createTrainer(poisoned, { lr: 1e-2 });
  const r = await t2.step(batchOf(2, 9));
  assert.ok(r.skipped, "step must be skipped");
  assert.match(r.skipped, /non-finite loss/);
  assert.is(t2.updates, 0);
  // the healthy trainer keeps going and its weights changed only by its own steps
  const r2 = await trainer.step(batchOf(2, 9));
  assert.not.ok(r2.skipped);
  assert.is(trainer.updates, 2);
  await engine.dispose();
});

test("writeCheckpoint refuses non-finite weights and keeps the previous checkpoint", async () => {
  const engine = await createEngine({ backend: "wasm", threads: 1 });
  const model = engine.createModel(small, { seed: 2 });
  const dir = mkdtempSync(join(tmpdir(), "jreg-api-"));
  const ckpt = await model.toCheckpoint();
  await writeCheckpoint(dir, ckpt);
  const bad = new Map(ckpt.tensors);
  const w = bad.get("model.layers.0.self_attn.q_proj.weight").slice();
  w[3] = Infinity;
  bad.set("model.layers.0.self_attn.q_proj.weight", w);
  let threw = false;
  try {
    await writeCheckpoint(dir, { config: ckpt.config, tensors: bad });
  } catch (e) {
    threw = true;
    assert.match(e.message, /q_proj/);
  }
  assert.ok(threw);
  const back = await readCheckpoint(dir);
  for (const [name, t] of ckpt.tensors) assert.equal(Array.from(back.tensors.get(name)), Array.from(t), name);
  // and the model loads back to identical outputs
  const again = engine.loadModel(back);
  const b = batchOf(2, 9);
  assert.is((await engine.evaluate(again, b)).ce, (await engine.evaluate(model, b)).ce);
  await engine.dispose();
});

test("memory stays steady over 50 training steps", async () => {
  const engine = await createEngine({ backend: "wasm", threads: 2 });
  const model = engine.createModel(small, { seed: 4 });
  const trainer = engine.createTrainer(model, { jreg: { alpha: 3, normalize: "middle" } });
  await trainer.step(batchOf(4, 17, 50, 1));
  const after1 = engine.backend.memoryBytes();
  for (let s = 0; s < 49; s++) await trainer.step(batchOf(4, 17, 50, s + 2));
  assert.is(engine.backend.memoryBytes(), after1);
  await engine.dispose();
});

test("JREG scalar part: middle layers, J, R and dR/dD by finite differences", () => {
  assert.equal(middleLayers(1), [0]);
  assert.equal(middleLayers(2), [0]);
  assert.equal(middleLayers(5), [1, 2, 3]);
  assert.is(jumpStrength([0.1, 0.2, 0.3, 0.9]), 0.9 / 0.25);
  const D = [0.11, 0.23, 0.19, 0.31, 0.67];
  for (const opts of [
    { alpha: 1, distance: "cosine", lastK: 1, normalize: "none" },
    { alpha: 1, distance: "cosine", lastK: 2, normalize: "middle" },
    { alpha: 1, distance: "cosine", lastK: 4, normalize: "middle" },
  ]) {
    const { R, dR } = regularizer(D, opts);
    for (let l = 0; l < D.length; l++) {
      const h = 1e-6;
      const up = D.slice(), dn = D.slice();
      up[l] += h;
      dn[l] -= h;
      const fd = (regularizer(up, opts).R - regularizer(dn, opts).R) / (2 * h);
      assert.ok(Math.abs(fd - dR[l]) < 1e-6, `dR[${l}] ${dR[l]} vs ${fd}`);
    }
    assert.ok(R > 0);
  }
});

test.run();
