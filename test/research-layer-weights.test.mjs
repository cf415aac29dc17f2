// jreg.layers ("last-k" | "all" | one weight per transition) against the
// independent PyTorch reference (test/fixtures/<case>/layer-weights.json and
// grads-layers-*.safetensors, written by make_fixtures.py --layer-weights):
// R, loss and every parameter gradient on wasm, and on WebGPU when an adapter is
// there; plus validation errors and the host-side regularizer's dR/dD_l against
// central differences.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createEngine, readCheckpoint, parseTokens, validateJreg, regularizer, layerWeights, jregScalarsSpec, resolveRunConfig } from "../dist/index.js";
import { openWebGpu } from "./helpers/webgpu.mjs";
import { FIXTURE_CASES as CASES, fixtureDir as dir, fixtureJson, fixtureTensors as tensors, close, closeTensor } from "./helpers/fixtures.mjs";

const reference = (c) => fixtureJson(c, "layer-weights.json");

async function checkCase(c, backend) {
  const ref = reference(c);
  assert.is(ref.variants.length, 4);
  const engine = await createEngine({ backend, threads: 1 });
  const ckpt = await readCheckpoint(dir(c));
  const batch = parseTokens(readFileSync(dir(c) + "tokens.json", "utf8"), { vocabSize: ckpt.config.vocabSize });
  const model = engine.loadModel(ckpt);
  for (const v of ref.variants) {
    const e = await engine.evaluate(model, batch, v.jreg);
    close(e.R, v.R, `${c} ${v.name} R (evaluate)`);
    close(e.loss, v.loss, `${c} ${v.name} loss (evaluate)`);
    const trainer = engine.createTrainer(model, { jreg: v.jreg });
    const r = await trainer.computeGradients(batch);
    close(r.loss, v.loss, `${c} ${v.name} loss (trainer)`);
    close(r.gradNorm, v.gradNorm, `${c} ${v.name} gradNorm`);
    const got = await trainer.readGradients();
    const want = tensors(c, v.grads);
    assert.is(got.size, want.size, `${c} ${v.name}: every parameter has a gradient`);
    for (const [name, w] of want) closeTensor(got.get(name), w, `${c} ${v.name} ${name}`);
  }
  await engine.dispose();
}

for (const c of CASES) {
  test(`${c} (wasm): R, loss, gradNorm and every gradient for layers "all" and an array, with and without normalize middle`, async () => {
    await checkCase(c, "wasm");
  });
}

const gpu = await openWebGpu("research-layer-weights");
await gpu?.dispose();
if (gpu) {
  for (const c of ["tiny-untied", "tiny-l3"]) {
    test(`${c} (webgpu): the same against PyTorch`, async () => {
      await checkCase(c, "webgpu");
    });
  }
}

test('"last-k" is the default and gives the same weights as before; "all" is 1/L each', () => {
  const o = validateJreg({ alpha: 1, lastK: 2 }, 4);
  assert.is(o.layers, "last-k");
  assert.equal(layerWeights(o, 4), [0, 0, 0.5, 0.5]);
  assert.equal(layerWeights({ lastK: 2, layers: "all" }, 4), [0.25, 0.25, 0.25, 0.25]);
  assert.equal(layerWeights({ lastK: 2, layers: [0, 1, 2, 0] }, 4), [0, 1, 2, 0]);
  // the device spec carries the same numerator weights
  assert.equal(jregScalarsSpec(validateJreg({ alpha: 1, layers: [0, 1, 2, 0] }, 4), 4).numerator, [0, 1, 2, 0]);
});

test("regularizer: dR/dD_l equals central differences of R for arrays, with and without normalize middle", () => {
  const D = [0.11, 0.07, 0.19, 0.43];
  for (const normalize of ["none", "middle"]) {
    for (const layers of ["all", "last-k", [0, 0.5, 0.75, 1], [2, 0, 0, 0]]) {
      const opts = validateJreg({ alpha: 1, layers, lastK: 2, normalize }, 4);
      const { R, dR } = regularizer(D, opts);
      const h = 1e-6;
      for (let l = 0; l < 4; l++) {
        const up = D.slice(), dn = D.slice();
        up[l] += h;
        dn[l] -= h;
        const fd = (regularizer(up, opts).R - regularizer(dn, opts).R) / (2 * h);
        assert.ok(Math.abs(fd - dR[l]) <= 1e-7 * Math.max(1, Math.abs(fd)), `${JSON.stringify(layers)} ${normalize} dR[${l}]: ${dR[l]} vs fd ${fd}`);
      }
      assert.ok(Number.isFinite(R));
    }
  }
});

test("jreg.layers errors name the field and say what is wrong", () => {
  const fails = (layers, re) => assert.throws(() => validateJreg({ alpha: 1, layers }, 3), re);
  fails("last", /jreg\.layers must be "last-k", "all" or an array of 3 weights/);
  fails([1, 2], /jreg\.layers must have one weight per transition: 3 \(the number of layers\), got 2/);
  fails([1, -1, 2], /jreg\.layers\[1\] must be a finite number ≥ 0, got -1/);
  fails([1, "a", 2], /jreg\.layers\[1\] must be a finite number ≥ 0, got "a"/);
  fails([0, 0, 0], /jreg\.layers must have at least one weight > 0/);
});

test("run config: jreg.layers from the file and from --set, checked against the layer count", () => {
  assert.is(resolveRunConfig(undefined).jreg.layers, "last-k");
  assert.is(resolveRunConfig(undefined, ["jreg.layers=all"]).jreg.layers, "all");
  assert.equal(resolveRunConfig({ jreg: { layers: [0, 0, 0, 0, 0.5, 1] } }).jreg.layers, [0, 0, 0, 0, 0.5, 1]);
  assert.equal(resolveRunConfig(undefined, ["jreg.layers=[0,0,0,1,1,1]"]).jreg.layers, [0, 0, 0, 1, 1, 1]);
  assert.throws(() => resolveRunConfig({ jreg: { layers: "middle" } }), /config\.json: jreg\.layers must be "last-k", "all" or an array of numbers/);
  assert.throws(() => resolveRunConfig(undefined, ["jreg.layers=[1,2]"]), /--set jreg\.layers=\[1,2\]: jreg\.layers must have one weight per transition: 6/);
});

const root = fileURLToPath(new URL("..", import.meta.url));
const jreg = (...args) => spawnSync(process.execPath, [join(root, "bin/jreg.mjs"), ...args], { encoding: "utf8", timeout: 60_000 });

test("CLI: eval --jreg-layers matches the reference; bad values name the flag", () => {
  const c = "tiny-l3";
  const v = reference(c).variants.find((x) => x.name === "array-cosine-middle");
  const r = jreg("eval", "--model", dir(c), "--tokens", dir(c) + "tokens.json", "--alpha", "3", "--jreg-distance", "cosine", "--jreg-normalize", "middle",
    "--jreg-layers", v.jreg.layers.join(","), "--backend", "wasm", "--json");
  assert.is(r.status, 0, r.stderr);
  close(JSON.parse(r.stdout).R, v.R, "eval --json R");
  for (const [val, re] of [["0,1", /--jreg-layers must have one weight per transition: 3/], ["1,x,2", /--jreg-layers must be last-k, all or comma-separated numbers/], ["0,0,0", /--jreg-layers must have at least one weight > 0/]]) {
    const bad = jreg("eval", "--model", dir(c), "--tokens", dir(c) + "tokens.json", "--jreg-layers", val, "--backend", "wasm", "--json");
    assert.is.not(bad.status, 0);
    assert.match(bad.stderr, re);
    assert.not.match(bad.stderr, /at .*\.js:\d+/, "no stack trace");
  }
});

test.run();
