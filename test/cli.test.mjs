// The CLI contract: `jreg eval --json` and `jreg step` against the PyTorch fixtures,
// and clear errors (with a non-zero exit) on bad input.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseSafetensors } from "../dist/index.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const fx = (c, f = "") => join(root, "test/fixtures", c, f);
const jreg = (...args) => spawnSync(process.execPath, [join(root, "bin/jreg.mjs"), ...args], { encoding: "utf8", timeout: 60_000 });
const rel = (a, b) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

test("eval --json prints ce, R, loss, D and J matching the reference for every option", () => {
  for (const c of ["tiny-untied", "tiny-l2"]) {
    const exp = JSON.parse(readFileSync(fx(c, "expected.json"), "utf8"));
    for (const key of ["cosine/1/none", "angular/2/middle"]) {
      const [d, k, n] = key.split("/");
      const r = jreg("eval", "--model", fx(c), "--tokens", fx(c, "tokens.json"), "--alpha", "3", "--jreg-distance", d, "--jreg-last-k", k, "--jreg-normalize", n, "--backend", "wasm", "--json");
      assert.is(r.status, 0, r.stderr);
      const out = JSON.parse(r.stdout);
      assert.equal(Object.keys(out).sort(), ["D_angular", "D_cosine", "J_angular", "J_cosine", "R", "ce", "loss"]);
      assert.ok(rel(out.ce, exp.ce) < 1e-4, "ce");
      assert.ok(rel(out.R, exp.R[key]) < 1e-4, `R ${key}`);
      assert.ok(rel(out.loss, out.ce + 3 * out.R) < 1e-12, "loss = ce + alpha R");
      exp.D_angular.forEach((x, i) => assert.ok(rel(out.D_angular[i], x) < 1e-4));
      exp.D_cosine.forEach((x, i) => assert.ok(rel(out.D_cosine[i], x) < 1e-4));
      assert.ok(rel(out.J_angular, exp.J_angular) < 1e-4);
      assert.ok(rel(out.J_cosine, exp.J_cosine) < 1e-4);
    }
  }
});

test("step --optimizer sgd writes the checkpoint of one SGD step", () => {
  const c = "tiny-tied";
  const out = mkdtempSync(join(tmpdir(), "jreg-step-"));
  const r = jreg("step", "--model", fx(c), "--tokens", fx(c, "tokens.json"), "--lr", "0.1", "--optimizer", "sgd", "--alpha", "3", "--out", out);
  assert.is(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout);
  assert.ok(Number.isFinite(res.gradNorm));
  assert.equal(readdirSync(out).sort(), ["config.json", "model.safetensors"]);
  const got = parseSafetensors(readFileSync(join(out, "model.safetensors")));
  const want = parseSafetensors(readFileSync(fx(c, "sgd-step.safetensors")));
  assert.ok(!got.has("lm_head.weight"), "a tied checkpoint stores no lm_head.weight");
  for (const [name, w] of want) {
    const g = got.get(name).data;
    let scale = 0, worst = 0;
    for (let i = 0; i < w.data.length; i++) {
      scale = Math.max(scale, Math.abs(w.data[i]));
      worst = Math.max(worst, Math.abs(g[i] - w.data[i]));
    }
    assert.ok(worst <= 1e-4 * scale, `${name}: ${worst}`);
  }
  assert.equal(JSON.parse(readFileSync(join(out, "config.json"), "utf8")).tie_word_embeddings, true);
});

test("step --optimizer adamw with weight decay and clipping runs and changes the weights", () => {
  const c = "tiny-l3";
  const out = mkdtempSync(join(tmpdir(), "jreg-step-"));
  const r = jreg("step", "--model", fx(c), "--tokens", fx(c, "tokens.json"), "--lr", "0.01", "--optimizer", "adamw", "--alpha", "3", "--wd", "0.1", "--beta1", "0.9", "--beta2", "0.95", "--eps", "1e-8", "--clip", "1", "--out", out);
  assert.is(r.status, 0, r.stderr);
  const before = parseSafetensors(readFileSync(fx(c, "model.safetensors")));
  const after = parseSafetensors(readFileSync(join(out, "model.safetensors")));
  const want = parseSafetensors(readFileSync(fx(c, "adamw-step.safetensors")));
  for (const [name, w] of want) {
    const a = after.get(name).data, b = before.get(name).data;
    let moved = 0, far = 0;
    for (let i = 0; i < a.length; i++) {
      if (a[i] !== b[i]) moved++;
      if (Math.abs(a[i] - w.data[i]) > 2e-3) far++;
    }
    assert.ok(moved > a.length / 2, `${name} moved`);
    assert.ok(far <= a.length * 0.01, `${name}: ${far} entries far from the reference`);
  }
});

test("bad input: clear message, non-zero exit, nothing written", () => {
  const dir = mkdtempSync(join(tmpdir(), "jreg-bad-"));
  const bad = (name, text) => (writeFileSync(join(dir, name), text), join(dir, name));
  const cases = [
    [["eval", "--model", join(dir, "nope"), "--tokens", fx("tiny-l3", "tokens.json"), "--json"], /does not exist/],
    [["eval", "--model", fx("tiny-l3"), "--tokens", bad("ragged.json", "[[1,2,3],[1,2]]"), "--json"], /row 1/],
    [["eval", "--model", fx("tiny-l3"), "--tokens", bad("range.json", "[[1,2,40]]"), "--json"], /out of range/],
    [["eval", "--model", fx("tiny-l3"), "--tokens", bad("trunc.json", "[[1,2,"), "--json"], /JSON/i],
    [["eval", "--model", fx("tiny-l3"), "--tokens", bad("long.json", JSON.stringify([Array.from({ length: 40 }, () => 1)])), "--json"], /maxSeqLen|exceeds|max/i],
    [["eval", "--model", fx("tiny-l3"), "--tokens", fx("tiny-l3", "tokens.json"), "--jreg-last-k", "9", "--json"], /--jreg-last-k must be an integer in \[1, 3\]/],
    [["eval", "--model", fx("tiny-l3"), "--tokens", fx("tiny-l3", "tokens.json"), "--jreg-distance", "euclid"], /--jreg-distance must be one of/],
    [["eval", "--model", fx("tiny-l3"), "--tokens", fx("tiny-l3", "tokens.json"), "--backend", "cuda"], /--backend must be one of/],
    [["eval", "--tokens", fx("tiny-l3", "tokens.json")], /--model is required/],
    [["step", "--model", fx("tiny-l3"), "--tokens", fx("tiny-l3", "tokens.json"), "--lr", "x", "--optimizer", "sgd", "--out", join(dir, "o1")], /--lr must be a number/],
    [["step", "--model", fx("tiny-l3"), "--tokens", fx("tiny-l3", "tokens.json"), "--lr", "0.1", "--optimizer", "lion", "--out", join(dir, "o2")], /--optimizer must be one of/],
    [["step", "--model", fx("tiny-l3"), "--tokens", fx("tiny-l3", "tokens.json"), "--lr", "0.1", "--optimizer", "sgd", "--beta1", "1.5", "--out", join(dir, "o3")], /--beta1 must be in \[0, 1\), got 1.5/],
    [["frobnicate"], /unknown command/],
  ];
  for (const [args, pattern] of cases) {
    const r = jreg(...args);
    assert.ok(r.status !== 0, `${args.join(" ")} should fail`);
    assert.match(r.stderr, pattern, `${args.join(" ")}: ${r.stderr}`);
    assert.not.match(r.stderr, /at .*\.js:\d+/, "no stack trace for user errors");
  }
  for (const o of ["o1", "o2", "o3"]) assert.not.ok(existsSync(join(dir, o)), `${o} must not be written`);
});

test("step skips a non-finite loss and writes nothing", () => {
  // A model whose weights overflow the forward pass: huge embeddings make the logits infinite.
  const dir = mkdtempSync(join(tmpdir(), "jreg-nan-"));
  const src = readFileSync(fx("tiny-l3", "model.safetensors"));
  const headerLen = Number(new DataView(src.buffer, src.byteOffset).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(src.subarray(8, 8 + headerLen)));
  const [b] = header["model.norm.weight"].data_offsets;
  const bytes = new Uint8Array(src);
  new Float32Array(bytes.buffer, 8 + headerLen + b, 4).fill(3e38); // finite, but overflows downstream
  const model = join(dir, "model");
  spawnSync("mkdir", ["-p", model]);
  writeFileSync(join(model, "model.safetensors"), bytes);
  writeFileSync(join(model, "config.json"), readFileSync(fx("tiny-l3", "config.json")));
  const out = join(dir, "out");
  const r = jreg("step", "--model", model, "--tokens", fx("tiny-l3", "tokens.json"), "--lr", "0.1", "--optimizer", "sgd", "--out", out);
  assert.ok(r.status !== 0);
  assert.match(r.stderr, /non-finite/);
  assert.not.ok(existsSync(out));
});

test.run();
