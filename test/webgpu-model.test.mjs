// The whole model on the WebGPU backend: a full step (loss and every gradient)
// against the PyTorch fixtures and against the wasm backend, one AdamW step, the
// evaluation (CE, R, D_l, J) and a 20-step loss trace within 1e-4 of wasm.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { createEngine, readCheckpoint, parseTokens } from "../dist/index.js";
import { FIXTURE_CASES as CASES, fixtureDir as dir, fixtureJson, fixtureTensors as tensors, close, closeTensor } from "./helpers/fixtures.mjs";
import { openWebGpu } from "./helpers/webgpu.mjs";
import { backendTrace } from "./runtime/webgpu-trace.mjs";

const probe = await openWebGpu("webgpu-model");
await probe?.dispose();

const expected = (c) => fixtureJson(c);
const worst = [];

async function setup(c, backend, maxBindingBytes) {
  const engine = await createEngine({ backend, threads: 1, maxBindingBytes });
  const ckpt = await readCheckpoint(dir(c));
  const batch = parseTokens(readFileSync(dir(c) + "tokens.json", "utf8"), { vocabSize: ckpt.config.vocabSize });
  return { engine, ckpt, batch, model: engine.loadModel(ckpt) };
}

if (probe) {
  for (const c of CASES) {
    test(`${c}: gradients (CE + 3R, angular k=2 middle, CE alone) vs PyTorch and vs wasm; evaluation`, async () => {
      const exp = expected(c);
      const gpu = await setup(c, "webgpu");
      const cpu = await setup(c, "wasm");
      assert.is(gpu.engine.backend.name, "webgpu");
      const variants = [
        ["grads.safetensors", { alpha: 3 }],
        ["grads-angular-k2-middle.safetensors", { alpha: 3, distance: "angular", lastK: 2, normalize: "middle" }],
        ["grads-ce.safetensors", { alpha: 0 }],
      ];
      let vsTorch = 0, vsWasm = 0;
      for (const [file, jreg] of variants) {
        const tg = gpu.engine.createTrainer(gpu.model, { jreg });
        const tc = cpu.engine.createTrainer(cpu.model, { jreg });
        const rg = await tg.computeGradients(gpu.batch);
        const rc = await tc.computeGradients(cpu.batch);
        close(rg.loss, rc.loss, `${file} loss vs wasm`, 1e-5);
        close(rg.gradNorm, rc.gradNorm, `${file} gradNorm vs wasm`, 1e-5);
        if (file === "grads.safetensors") {
          close(rg.loss, exp.loss, "loss vs PyTorch");
          close(rg.gradNorm, exp.gradNorm, "gradNorm vs PyTorch");
        }
        if (jreg.alpha === 0) assert.is(rg.loss, rg.ce, "α = 0: loss is CE exactly");
        const gg = await tg.readGradients();
        const gc = await tc.readGradients();
        for (const [name, want] of tensors(c, file)) {
          vsTorch = Math.max(vsTorch, closeTensor(gg.get(name), want, `${file} ${name} vs PyTorch`));
          vsWasm = Math.max(vsWasm, closeTensor(gg.get(name), gc.get(name), `${file} ${name} vs wasm`, 1e-5));
        }
      }
      const e = await gpu.engine.evaluate(gpu.model, gpu.batch, { alpha: 3 });
      close(e.ce, exp.ce, "eval ce");
      close(e.R, exp.R["cosine/1/none"], "eval R");
      exp.D_angular.forEach((d, l) => close(e.D_angular[l], d, `D_angular[${l}]`));
      close(e.J_cosine, exp.J_cosine, "J_cosine");
      worst.push([c, vsTorch, vsWasm]);
      await gpu.engine.dispose();
      await cpu.engine.dispose();
    });
  }

  test('backend "auto" takes WebGPU only on a real adapter; "webgpu" forces it', async () => {
    const forced = await createEngine({ backend: "webgpu" });
    const software = /llvmpipe|lavapipe|swiftshader|software/i.test(forced.backend.capabilities.device);
    await forced.dispose();
    const auto = await createEngine({ backend: "auto", threads: 1 });
    assert.is(auto.backend.name, software ? "wasm" : "webgpu", `adapter: ${forced.backend.capabilities.device}`);
    await auto.dispose();
  });

  test("one clipped AdamW step equals the wasm backend's", async () => {
    const c = "tiny-untied";
    const h = expected(c).adamw;
    const cfg = { optimizer: "adamw", lr: h.lr, minLr: h.lr, beta1: h.beta1, beta2: h.beta2, eps: h.eps, weightDecay: h.weightDecay, clip: h.clip, jreg: { alpha: 3 } };
    const after = [];
    for (const backend of ["webgpu", "wasm"]) {
      const { engine, batch, model } = await setup(c, backend);
      const r = await engine.createTrainer(model, cfg).step(batch);
      assert.not.ok(r.skipped);
      after.push((await model.toCheckpoint()).tensors);
      await engine.dispose();
    }
    // The first Adam step moves each weight by ≈ lr·sign(g): compare in units of lr.
    for (const [name, want] of after[1]) {
      const got = after[0].get(name);
      let bad = 0;
      for (let i = 0; i < want.length; i++) bad = Math.max(bad, Math.abs(got[i] - want[i]));
      assert.ok(bad <= 1e-2 * h.lr + 1e-6, `${name}: worst |diff| ${bad} (lr ${h.lr})`);
    }
  });

  test("a 20 KiB binding limit: the model and the arena ops split their work, same step", async () => {
    const c = "tiny-untied";
    const cfg = { optimizer: "adamw", lr: 1e-2, minLr: 1e-2, weightDecay: 0.1, clip: 1, jreg: { alpha: 3 } };
    const small = await setup(c, "webgpu", 20480);
    assert.is(small.engine.backend.capabilities.maxBindingBytes, 20480);
    const cpu = await setup(c, "wasm");
    const ts = small.engine.createTrainer(small.model, cfg);
    const tc = cpu.engine.createTrainer(cpu.model, cfg);
    const rs = await ts.computeGradients(small.batch);
    const rc = await tc.computeGradients(cpu.batch);
    close(rs.loss, rc.loss, "loss", 1e-5);
    close(rs.gradNorm, rc.gradNorm, "gradNorm (sum of squares over 7 chunks)", 1e-5);
    const gs = await ts.readGradients(), gc = await tc.readGradients();
    for (const [name, want] of gc) closeTensor(gs.get(name), want, `${name} vs wasm`, 1e-5);
    const a = await ts.step(small.batch), b = await tc.step(cpu.batch);
    close(a.loss, b.loss, "step loss", 1e-5);
    const pa = (await small.model.toCheckpoint()).tensors, pb = (await cpu.model.toCheckpoint()).tensors;
    // Adam's first steps move weights by ≈ lr·sign(g): compare in units of lr
    for (const [name, want] of pb) {
      const got = pa.get(name);
      let bad = 0;
      for (let i = 0; i < want.length; i++) bad = Math.max(bad, Math.abs(got[i] - want[i]));
      assert.ok(bad <= 1e-3 * cfg.lr, `${name} after AdamW (split arena): worst |diff| ${bad}`);
    }
    await small.engine.dispose();
    await cpu.engine.dispose();
  });

  test("20-step loss trace within 1e-4 of the wasm backend", async () => {
    const g = await backendTrace("webgpu", 20);
    const w = await backendTrace("wasm", 20);
    assert.is(g.backend, "webgpu");
    assert.ok(w.trace[19] < w.trace[0] - 0.5, "training progressed");
    let maxErr = 0;
    g.trace.forEach((loss, i) => (maxErr = Math.max(maxErr, close(loss, w.trace[i], `step ${i}`))));
    console.log(`\n20-step trace: max relative difference webgpu vs wasm ${maxErr.toExponential(2)}`);
    for (const [c, t, x] of worst) console.log(`  ${c}: gradients vs PyTorch ${t.toExponential(2)}, vs wasm ${x.toExponential(2)} (of max|g|)`);
  });
} else {
  test("webgpu model (skipped: no adapter)", () => {});
}

test.run();
