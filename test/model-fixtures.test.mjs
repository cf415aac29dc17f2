// The whole engine (wasm backend) against the independent PyTorch reference in
// test/fixtures/ (see its README): logits, CE, jump profile, every R option,
// every parameter gradient, one AdamW and one SGD step, for four configurations.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { createEngine, readCheckpoint, parseTokens, forwardWithHiddenStates } from "../dist/index.js";
import { FIXTURE_CASES as CASES, fixtureDir as dir, fixtureJson, fixtureTensors as tensors, close, closeTensor } from "./helpers/fixtures.mjs";

const expected = (c) => fixtureJson(c);

/** The kernel build under test: test/relaxed-kernels.test.mjs reruns this file with JREG_TEST_KERNELS=relaxed. */
const kernels = process.env.JREG_TEST_KERNELS ?? "exact";

async function setup(c, threads = 1) {
  const engine = await createEngine({ backend: "wasm", threads, kernels });
  assert.is(engine.backend.capabilities.device.includes("relaxed"), kernels === "relaxed", `the ${kernels} kernels are loaded`);
  const ckpt = await readCheckpoint(dir(c));
  const batch = parseTokens(readFileSync(dir(c) + "tokens.json", "utf8"), { vocabSize: ckpt.config.vocabSize });
  return { engine, ckpt, batch, model: engine.loadModel(ckpt) };
}

for (const c of CASES) {
  test(`${c}: logits, CE, jump profile and R for every option`, async () => {
    const exp = expected(c);
    const { engine, batch, model } = await setup(c);
    const { logits } = await forwardWithHiddenStates(model, batch);
    closeTensor(logits, exp.logits, "logits");
    for (const key of Object.keys(exp.R)) {
      const [distance, k, normalize] = key.split("/");
      const e = await engine.evaluate(model, batch, { alpha: 3, distance, lastK: Number(k), normalize });
      close(e.ce, exp.ce, "ce");
      close(e.R, exp.R[key], `R ${key}`);
      close(e.loss, exp.ce + 3 * exp.R[key], `loss ${key}`);
      exp.D_angular.forEach((d, l) => close(e.D_angular[l], d, `D_angular[${l}]`));
      exp.D_cosine.forEach((d, l) => close(e.D_cosine[l], d, `D_cosine[${l}]`));
      close(e.J_angular, exp.J_angular, "J_angular");
      close(e.J_cosine, exp.J_cosine, "J_cosine");
    }
    // early-exit CE of every layer (PyTorch reference), and h_L's is the model's CE exactly
    const e = await engine.evaluate(model, batch);
    assert.is(e.early_exit_ce.length, exp.early_exit_ce.length);
    exp.early_exit_ce.forEach((want, l) => close(e.early_exit_ce[l], want, `early_exit_ce[${l}]`));
    assert.is(e.early_exit_ce[e.early_exit_ce.length - 1], e.ce);
    assert.equal(await engine.earlyExitCe(model, batch), e.early_exit_ce);
    const profile = await engine.jumpProfile(model, batch);
    close(profile.J_cosine, exp.J_cosine, "profile J_cosine");
    close(profile.J_angular, exp.J_angular, "profile J_angular");
    exp.D_angular.forEach((d, l) => close(profile.D_angular[l], d, `profile D_angular[${l}]`));
    for (const kind of ["angular", "cosine"]) {
      for (const t of profile.perToken[kind]) {
        const q = [t.min, ...t.quantiles, t.max];
        for (let i = 1; i < q.length; i++) assert.ok(q[i - 1] <= q[i], `${kind} quantiles ordered`);
        assert.ok(t.min <= t.mean && t.mean <= t.max);
        assert.is(t.histogram.reduce((x, y) => x + y, 0), profile.tokens, `${kind} histogram counts every token`);
      }
    }
    await engine.dispose();
  });

  test(`${c}: gradients of CE + 3R (default), of CE + 3R(angular, k=2, middle), and of CE alone`, async () => {
    const exp = expected(c);
    const { engine, batch, model } = await setup(c);
    const variants = [
      ["grads.safetensors", { alpha: 3 }],
      ["grads-angular-k2-middle.safetensors", { alpha: 3, distance: "angular", lastK: 2, normalize: "middle" }],
      ["grads-ce.safetensors", { alpha: 0 }],
    ];
    for (const [file, jreg] of variants) {
      const trainer = engine.createTrainer(model, { jreg });
      const r = await trainer.computeGradients(batch);
      if (file === "grads.safetensors") {
        close(r.gradNorm, exp.gradNorm, "gradNorm");
        close(r.loss, exp.loss, "loss");
      }
      const got = await trainer.readGradients();
      for (const [name, want] of tensors(c, file)) closeTensor(got.get(name), want, `${file} ${name}`);
    }
    await engine.dispose();
  });

  test(`${c}: one AdamW step (clipped) and one SGD step`, async () => {
    const exp = expected(c);
    {
      const { engine, batch, model } = await setup(c);
      const grads = tensors(c, "grads.safetensors");
      const h = exp.adamw;
      const trainer = engine.createTrainer(model, {
        optimizer: "adamw", lr: h.lr, minLr: h.lr, beta1: h.beta1, beta2: h.beta2, eps: h.eps, weightDecay: h.weightDecay, clip: h.clip, jreg: { alpha: 3 },
      });
      const r = await trainer.step(batch);
      assert.not.ok(r.skipped);
      const after = (await model.toCheckpoint()).tensors;
      // The first AdamW step moves each weight by lr·u(ĝ), u(g) = g/(|g| + eps), ĝ the
      // clipped gradient. Our gradients match the reference to δ = 1e-4·max|g| per
      // tensor, so u may differ by up to δ·eps/(|ĝ| + eps)² (capped at 2): the bound
      // is tight where |ĝ| ≫ eps and loose only where the gradient is near zero.
      const coef = Math.min(1, h.clip / (exp.gradNorm + 1e-6));
      for (const [name, want] of tensors(c, "adamw-step.safetensors")) {
        const g = grads.get(name);
        let gmax = 0;
        for (const x of g) gmax = Math.max(gmax, Math.abs(x));
        const delta = 1e-4 * gmax * coef;
        const got = after.get(name);
        for (let i = 0; i < want.length; i++) {
          const gh = Math.abs(g[i]) * coef;
          const du = Math.min(2, (2 * delta * h.eps) / (gh + h.eps) ** 2 + 1e-5);
          const tol = h.lr * du + 1e-6 * Math.abs(want[i]);
          if (!(Math.abs(got[i] - want[i]) <= tol)) assert.unreachable(`adamw ${name}[${i}]: got ${got[i]}, want ${want[i]} (tol ${tol})`);
        }
      }
      await engine.dispose();
    }
    {
      const { engine, batch, model } = await setup(c);
      const trainer = engine.createTrainer(model, { optimizer: "sgd", lr: exp.sgd.lr, minLr: exp.sgd.lr, clip: 0, jreg: { alpha: 3 } });
      await trainer.step(batch);
      const after = (await model.toCheckpoint()).tensors;
      for (const [name, want] of tensors(c, "sgd-step.safetensors")) closeTensor(after.get(name), want, `sgd ${name}`);
      await engine.dispose();
    }
  });
}

test("α = 0 reproduces plain CE exactly, whatever the JREG options", async () => {
  const { engine, batch, model } = await setup("tiny-untied");
  const base = engine.createTrainer(model, { jreg: { alpha: 0 } });
  const r0 = await base.computeGradients(batch);
  const g0 = await base.readGradients();
  assert.is(r0.loss, r0.ce);
  for (const jreg of [{ alpha: 0, distance: "angular", lastK: 3, normalize: "middle" }, { alpha: 0, lastK: 2 }]) {
    const t = engine.createTrainer(model, { jreg });
    const r = await t.computeGradients(batch);
    assert.is(r.loss, r0.ce);
    assert.is(r.ce, r0.ce);
    const g = await t.readGradients();
    for (const [name, want] of g0) assert.equal(Array.from(g.get(name)), Array.from(want), name);
  }
  // and with α > 0 the gradients do change
  const t3 = engine.createTrainer(model, { jreg: { alpha: 3 } });
  await t3.computeGradients(batch);
  const g3 = await t3.readGradients();
  // (model.norm.weight would not: the final norm comes after h_L, so JREG does not reach it)
  assert.not.equal(Array.from(g3.get("model.layers.0.mlp.down_proj.weight")), Array.from(g0.get("model.layers.0.mlp.down_proj.weight")));
  await engine.dispose();
});

test("causality: changing a future token leaves earlier logits bit-identical", async () => {
  const { engine, batch, model } = await setup("tiny-untied");
  const V = model.config.vocabSize;
  const T = batch.length - 1;
  const before = (await forwardWithHiddenStates(model, batch)).logits;
  for (const s of [0, 4, T - 2]) {
    const ids = batch.ids.slice();
    ids[s + 1] = (ids[s + 1] + 1) % V; // row 0, input position s+1
    const after = (await forwardWithHiddenStates(model, { ...batch, ids })).logits;
    assert.equal(Array.from(after.subarray(0, (s + 1) * V)), Array.from(before.subarray(0, (s + 1) * V)), `positions ≤ ${s}`);
    assert.not.equal(Array.from(after.subarray((s + 1) * V, (s + 2) * V)), Array.from(before.subarray((s + 1) * V, (s + 2) * V)));
    // other rows are untouched
    assert.equal(Array.from(after.subarray(T * V)), Array.from(before.subarray(T * V)));
  }
  await engine.dispose();
});

test("two threads give bit-identical gradients to one thread", async () => {
  const one = await setup("tiny-untied", 1);
  const two = await setup("tiny-untied", 2);
  const a = one.engine.createTrainer(one.model, { jreg: { alpha: 3 } });
  const b = two.engine.createTrainer(two.model, { jreg: { alpha: 3 } });
  const ra = await a.computeGradients(one.batch);
  const rb = await b.computeGradients(two.batch);
  assert.is(ra.loss, rb.loss);
  const ga = await a.readGradients();
  const gb = await b.readGradients();
  for (const [name, want] of ga) assert.equal(Array.from(gb.get(name)), Array.from(want), name);
  await one.engine.dispose();
  await two.engine.dispose();
});

test.run();
