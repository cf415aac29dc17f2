// `jreg eval … --backend webgpu` and `jreg step … --backend webgpu` give the same
// JSON and checkpoint as `--backend wasm`, within tolerance (the CLI contract).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseSafetensors } from "../dist/index.js";
import { openWebGpu } from "./helpers/webgpu.mjs";

const probe = await openWebGpu("webgpu-cli");
await probe?.dispose();

const root = fileURLToPath(new URL("..", import.meta.url));
const fx = (c, f = "") => join(root, "test/fixtures", c, f);
const jreg = (...args) => spawnSync(process.execPath, [join(root, "bin/jreg.mjs"), ...args], { encoding: "utf8", timeout: 120_000, env: { ...process.env, XDG_RUNTIME_DIR: "/tmp" } });
const rel = (a, b) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

if (probe) {
  test("eval --json: webgpu equals wasm", () => {
    const args = ["eval", "--model", fx("tiny-l3"), "--tokens", fx("tiny-l3", "tokens.json"), "--alpha", "3", "--jreg-distance", "angular", "--jreg-last-k", "2", "--jreg-normalize", "middle", "--json"];
    const g = jreg(...args, "--backend", "webgpu");
    const w = jreg(...args, "--backend", "wasm");
    assert.is(g.status, 0, g.stderr);
    assert.is(w.status, 0, w.stderr);
    const a = JSON.parse(g.stdout), b = JSON.parse(w.stdout);
    assert.equal(Object.keys(a).sort(), Object.keys(b).sort());
    for (const k of ["ce", "R", "loss", "J_angular", "J_cosine"]) assert.ok(rel(a[k], b[k]) < 1e-5, `${k}: ${a[k]} vs ${b[k]}`);
    b.D_angular.forEach((x, i) => assert.ok(rel(a.D_angular[i], x) < 1e-5, `D_angular[${i}]`));
  });

  test("step: webgpu writes the same checkpoint as wasm", () => {
    const outs = {};
    const json = {};
    for (const backend of ["webgpu", "wasm"]) {
      outs[backend] = mkdtempSync(join(tmpdir(), `jreg-step-${backend}-`));
      const r = jreg("step", "--model", fx("tiny-untied"), "--tokens", fx("tiny-untied", "tokens.json"), "--lr", "0.1", "--optimizer", "sgd", "--alpha", "3", "--clip", "1", "--backend", backend, "--out", outs[backend]);
      assert.is(r.status, 0, r.stderr);
      json[backend] = JSON.parse(r.stdout);
    }
    for (const k of ["loss", "ce", "jreg", "gradNorm", "lr"]) assert.ok(rel(json.webgpu[k], json.wasm[k]) < 1e-5, k);
    const read = (d) => parseSafetensors(readFileSync(join(d, "model.safetensors")));
    const g = read(outs.webgpu), w = read(outs.wasm);
    assert.equal([...g.keys()].sort(), [...w.keys()].sort());
    for (const [name, t] of w) {
      const a = g.get(name).data, b = t.data;
      let scale = 0, bad = 0;
      for (let i = 0; i < b.length; i++) {
        scale = Math.max(scale, Math.abs(b[i]));
        bad = Math.max(bad, Math.abs(a[i] - b[i]));
      }
      assert.ok(bad <= 1e-5 * scale, `${name}: worst |diff| ${bad}, scale ${scale}`);
    }
  });
} else {
  test("webgpu CLI (skipped: no adapter)", () => {});
}

test.run();
