// The trainer on the device-scalar contract: steps enqueued back to back give the
// same results as awaited ones, export/import resumes bit for bit, the device's
// jregScalars and stepControl agree with the host reference (model/jreg.ts), and
// the reported skip reasons.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createEngine, regularizer, jregScalarsSpec, validateJreg, WasmBackend, StepSlot, coefSlot, stepScalarsLength } from "../dist/internal.js";

const small = {
  vocabSize: 61, hiddenSize: 32, numLayers: 4, numHeads: 4, numKvHeads: 2,
  intermediateSize: 40, ropeTheta: 10000, rmsEps: 1e-5, tiedEmbeddings: false, maxSeqLen: 24,
};
/** Deterministic batch number `i` (an LCG per index). */
function batchOf(i, rows = 3, len = 13, vocab = small.vocabSize) {
  let s = 1000 + i * 7919;
  const ids = new Int32Array(rows * len).map(() => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) % vocab);
  return { batch: rows, length: len, ids };
}
const TRAIN = { lr: 3e-3, minLr: 3e-4, warmupSteps: 2, decaySteps: 6, clip: 1, weightDecay: 0.1, jreg: { alpha: 0.5, distance: "angular", lastK: 2, normalize: "middle" } };
const bits = (x) => new Uint32Array(Float32Array.from(x).buffer);
const sameBits = (a, b, what) => assert.equal(Array.from(bits(a)), Array.from(bits(b)), what);
async function weightsOf(model) {
  return (await model.toCheckpoint()).tensors;
}

test("steps enqueued back to back (p1 = step(b1); p2 = step(b2)) equal awaited steps", async () => {
  const engine = await createEngine({ backend: "wasm", threads: 1 });
  const seq = engine.createModel(small, { seed: 3 });
  const par = engine.createModel(small, { seed: 3 });
  const ts = engine.createTrainer(seq, TRAIN);
  const tp = engine.createTrainer(par, TRAIN);
  const sequential = [];
  for (let i = 0; i < 4; i++) sequential.push(await ts.step(batchOf(i)));
  const pending = [0, 1, 2, 3].map((i) => tp.step(batchOf(i)));
  const concurrent = await Promise.all(pending);
  assert.equal(concurrent, sequential);
  assert.ok(sequential[3].loss < sequential[0].loss, "training moved");
  assert.is(tp.updates, 4);
  const a = await weightsOf(seq), b = await weightsOf(par);
  for (const [name, w] of a) sameBits(b.get(name), w, name);
  await engine.dispose();
});

test("resume: 6 steps == 3 steps, export (checkpoint + trainer state), import into a fresh engine, 3 steps — bit for bit", async () => {
  for (const optimizer of ["adamw", "sgd"]) {
    const cfg = { ...TRAIN, optimizer };
    const e1 = await createEngine({ backend: "wasm", threads: 1 });
    const straight = e1.createModel(small, { seed: 9 });
    const t1 = e1.createTrainer(straight, cfg);
    const losses = [];
    for (let i = 0; i < 6; i++) losses.push((await t1.step(batchOf(i))).loss);

    const e2 = await createEngine({ backend: "wasm", threads: 1 });
    const first = e2.createModel(small, { seed: 9 });
    const t2 = e2.createTrainer(first, cfg);
    const resumedLosses = [];
    for (let i = 0; i < 3; i++) resumedLosses.push((await t2.step(batchOf(i))).loss);
    const ckpt = await first.toCheckpoint();
    const state = await t2.exportState();
    assert.is(state.stepCount, 3);
    assert.is(state.updates, 3);
    assert.is(state.moments === null, optimizer === "sgd");
    await e2.dispose();

    const e3 = await createEngine({ backend: "wasm", threads: 2 });
    const resumed = e3.loadModel(ckpt);
    const t3 = e3.createTrainer(resumed, cfg);
    t3.importState(state);
    for (let i = 3; i < 6; i++) resumedLosses.push((await t3.step(batchOf(i))).loss);
    assert.equal(resumedLosses, losses, `${optimizer} losses`);
    const a = await weightsOf(straight), b = await weightsOf(resumed);
    for (const [name, w] of a) sameBits(b.get(name), w, `${optimizer} ${name}`);
    const s1 = await t1.exportState(), s3 = await t3.exportState();
    assert.is(s3.updates, 6);
    if (s1.moments) for (const [name, m] of s1.moments.m) sameBits(s3.moments.m.get(name), m, `m ${name}`);
    if (s1.moments) for (const [name, v] of s1.moments.v) sameBits(s3.moments.v.get(name), v, `v ${name}`);
    // state of the wrong optimizer is refused by name
    const other = e3.createTrainer(resumed, { ...cfg, optimizer: optimizer === "sgd" ? "adamw" : "sgd" });
    assert.throws(() => other.importState(state), /moments are/);
    await e1.dispose();
    await e3.dispose();
  }
});

test("a skipped step (non-finite gradient or loss) keeps weights and moments, is reported, and later steps still count updates right", async () => {
  const engine = await createEngine({ backend: "wasm", threads: 1 });
  const model = engine.createModel(small, { seed: 5 });
  const trainer = engine.createTrainer(model, TRAIN);
  await trainer.step(batchOf(0));
  const before = await weightsOf(model);
  const stateBefore = await trainer.exportState();
  // NaN final-norm weights make the loss NaN
  const poisoned = new Map(before);
  poisoned.set("model.norm.weight", before.get("model.norm.weight").slice().fill(NaN));
  const bad = engine.loadModel({ config: small, tensors: poisoned });
  const tb = engine.createTrainer(bad, TRAIN);
  const r = await tb.step(batchOf(1));
  assert.match(r.skipped, /^non-finite loss \(ce NaN, R /);
  assert.is(tb.updates, 0);
  const after = await weightsOf(bad);
  for (const [name, w] of poisoned) sameBits(after.get(name), w, name);
  // the healthy trainer is unaffected and its state is what it was
  const stateAfter = await trainer.exportState();
  for (const [name, m] of stateBefore.moments.m) sameBits(stateAfter.moments.m.get(name), m, name);
  await engine.dispose();
});

/** The device's jregScalars on a profile against model/jreg.ts's regularizer (f64). */
test("jregScalars matches regularizer() on random profiles for every option combination; α = 0 gives Loss = Ce exactly", async () => {
  const be = await WasmBackend.create({ threads: 1 });
  let seed = 17;
  const uniform = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  for (const L of [1, 2, 3, 6]) {
    const s = be.alloc(stepScalarsLength(L), "f32", "s");
    for (const distance of ["cosine", "angular"]) {
      for (let lastK = 1; lastK <= L; lastK++) {
        for (const normalize of ["none", "middle"]) {
          for (const alpha of [0, 0.3, 3]) {
            const opts = validateJreg({ alpha, distance, lastK, normalize }, L);
            const profile = Float32Array.from({ length: L }, () => 0.02 + uniform());
            const ce = Math.fround(2 + uniform());
            const init = new Float32Array(stepScalarsLength(L));
            init[StepSlot.Ce] = ce;
            init.set(profile, StepSlot.Profile);
            be.write(s, init);
            be.jregScalars(s, jregScalarsSpec(opts, L));
            const got = await be.read(s);
            const { R, dR } = regularizer(Array.from(profile), opts);
            const what = `L${L} ${distance} k${lastK} ${normalize} α${alpha}`;
            assert.ok(Math.abs(got[StepSlot.R] - R) <= 1e-6 * Math.abs(R), `${what}: R ${got[StepSlot.R]} vs ${R}`);
            if (alpha === 0) assert.is(got[StepSlot.Loss], ce, `${what}: loss is exactly ce`);
            else assert.ok(Math.abs(got[StepSlot.Loss] - (ce + alpha * R)) <= 1e-6 * (ce + alpha * R), `${what}: loss`);
            for (let l = 0; l < L; l++) {
              const want = alpha * dR[l];
              assert.ok(Math.abs(got[coefSlot(L, l)] - want) <= 1e-6 * Math.max(Math.abs(want), 1e-6), `${what}: coef[${l}] ${got[coefSlot(L, l)]} vs ${want}`);
            }
            sameBits(got.subarray(StepSlot.Profile, StepSlot.Profile + L), profile, `${what}: profile untouched`);
          }
        }
      }
    }
  }
  await be.dispose();
});

test("stepControl: gradient norm, clip scale as clip_grad_norm_, skip codes, and the update count", async () => {
  const be = await WasmBackend.create({ threads: 1 });
  const L = 2;
  const s = be.alloc(stepScalarsLength(L), "f32", "s");
  const run = (loss, sumSq, clip, updates) => {
    const init = new Float32Array(stepScalarsLength(L));
    init[StepSlot.Loss] = loss;
    init[StepSlot.GradSumSquares] = sumSq;
    init[StepSlot.Updates] = updates;
    be.write(s, init);
    be.stepControl(s, { clip });
    return be.read(s);
  };
  let r = await run(2.5, 16, 1, 4);
  assert.is(r[StepSlot.GradNorm], 4);
  assert.is(r[StepSlot.ClipScale], Math.fround(1 / (4 + 1e-6)));
  assert.is(r[StepSlot.Skip], 0);
  assert.is(r[StepSlot.Updates], 5);
  r = await run(2.5, 0.25, 1, 0);
  assert.is(r[StepSlot.ClipScale], 1, "no clipping below the threshold");
  r = await run(2.5, 16, 0, 0);
  assert.is(r[StepSlot.ClipScale], 1, "clip 0 disables clipping");
  r = await run(NaN, 16, 1, 7);
  assert.is(r[StepSlot.Skip], 1);
  assert.is(r[StepSlot.Updates], 7, "a skipped step does not count");
  r = await run(Infinity, 16, 1, 7);
  assert.is(r[StepSlot.Skip], 1);
  r = await run(2.5, Infinity, 1, 7);
  assert.is(r[StepSlot.Skip], 2);
  assert.is(r[StepSlot.Updates], 7);
  r = await run(2.5, NaN, 1, 7);
  assert.is(r[StepSlot.Skip], 2);
  await be.dispose();
});

test.run();
