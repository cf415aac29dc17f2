// The CLI contract: `jreg eval --json` and `jreg step` against the PyTorch fixtures,
// and clear errors (with a non-zero exit) on bad input.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseSafetensors, readCheckpoint, DEFAULT_JREG, DEFAULT_TRAIN } from "../dist/index.js";
import { COMMANDS } from "../dist/cli/main.js";

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
      assert.equal(Object.keys(out).sort(), ["D_angular", "D_cosine", "J_angular", "J_cosine", "R", "ce", "early_exit_ce", "loss"]);
      exp.early_exit_ce.forEach((x, i) => assert.ok(rel(out.early_exit_ce[i], x) < 1e-4, `early_exit_ce ${i}`));
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
    [["step", "--model", fx("tiny-l3"), "--tokens", fx("tiny-l3", "tokens.json"), "--lr", "-1e-3", "--optimizer", "sgd", "--out", join(dir, "o4")], /--lr must be a finite number ≥ 0, got -0\.001/],
    [["step", "--model", fx("tiny-l3"), "--tokens", fx("tiny-l3", "tokens.json"), "--lr", "0.1", "--optimizer", "adamw", "--wd", "2", "--out", join(dir, "o5")], /--wd must be in \[0, 1\), got 2/],
    [["eval", "--model", fx("tiny-l3"), "--tokens", fx("tiny-l3", "tokens.json"), "--alpha", "-3"], /--alpha must be a finite number ≥ 0, got -3/],
    [["demo", "--steps", "2.5"], /^jreg demo: --steps must be an integer ≥ 1, got "2\.5"\n/],
    [["demo", "--setps", "2"], /unknown flag --setps \(did you mean --steps\?\)/],
  ];
  for (const [args, pattern] of cases) {
    const r = jreg(...args);
    assert.ok(r.status !== 0, `${args.join(" ")} should fail`);
    assert.match(r.stderr, pattern, `${args.join(" ")}: ${r.stderr}`);
    assert.not.match(r.stderr, /at .*\.js:\d+/, "no stack trace for user errors");
    assert.not.match(r.stderr, /decaySteps|train\.|jreg\.lastK/, "errors name flags, not internal fields");
  }
  for (const o of ["o1", "o2", "o3", "o4", "o5"]) assert.not.ok(existsSync(join(dir, o)), `${o} must not be written`);
});

test("step refuses weights that overflow the forward pass and writes nothing", () => {
  // A model whose weights overflow the forward pass (3e38 in a norm makes the logits infinite) is refused
  // when it is read, naming the tensor (io/checkpoint.ts MAX_ABS_WEIGHT); the trainer's skip of a
  // non-finite step is tested in api.test.mjs.
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
  assert.match(r.stderr, /tensor model\.norm\.weight has 3\.0*\d*e\+38, beyond ±1000000000 at index 0/);
  assert.not.ok(existsSync(out));
});

/** Every runnable command line with its spec, from the command table itself. */
const commandLines = Object.entries(COMMANDS).flatMap(([name, c]) =>
  c.subcommands ? Object.entries(c.subcommands).map(([sub, cmd]) => [[name, sub], cmd]) : [[[name], c]],
);

test("--help on every command and subcommand: exit 0, every flag and every default", () => {
  assert.ok(commandLines.length >= 9);
  for (const [words, cmd] of commandLines) {
    const r = jreg(...words, "--help");
    assert.is(r.status, 0, `${words.join(" ")} --help: ${r.stderr}`);
    assert.match(r.stdout, new RegExp(`^usage: jreg ${words.join(" ")}`));
    for (const [flag, f] of Object.entries(cmd.spec.flags)) {
      assert.ok(r.stdout.includes(`--${flag}`), `${words.join(" ")}: --${flag}`);
      if (f.default !== undefined && f.type !== "boolean") assert.ok(r.stdout.includes(`(default: ${f.default})`), `${words.join(" ")} --${flag} default ${f.default}`);
      if (f.defaultText !== undefined) assert.ok(r.stdout.includes(`(default: ${f.defaultText})`), `${words.join(" ")} --${flag}: ${f.defaultText}`);
    }
    assert.is(jreg(...words, "-h").stdout, r.stdout, "-h is --help");
  }
  const top = jreg("--help");
  assert.is(top.status, 0);
  for (const [words] of commandLines) assert.match(top.stdout, new RegExp(`\\n  ${words.join(" ")}\\s`), words.join(" "));
  for (const name of ["train", "report", "init", "bench"]) assert.ok(top.stdout.includes(`  ${name} `), name);
  const group = jreg("tokenizer", "--help");
  assert.is(group.status, 0, group.stderr);
  assert.match(group.stdout, /tokenizer train/);
  const none = jreg();
  assert.is(none.status, 2);
  assert.match(none.stderr, /usage: jreg <command>/);
});

test("help states the defaults it shares with the library, and where the CLI differs", () => {
  const ev = jreg("eval", "--help").stdout;
  assert.match(ev, new RegExp(`--alpha A .*\\(default: ${DEFAULT_JREG.alpha}\\)`));
  assert.match(ev, new RegExp(`--jreg-last-k K .*\\(default: ${DEFAULT_JREG.lastK}\\)`));
  const demo = jreg("demo", "--help").stdout;
  assert.match(demo, /--alpha A .*\(default: 3\)/);
  assert.match(demo, /default to α = 0/);
  const step = jreg("step", "--help").stdout;
  assert.match(step, /--wd W .*\(default: 0\)/);
  assert.match(step, /--clip C .*\(default: 0\)/);
  assert.ok(step.includes(`weight decay ${DEFAULT_TRAIN.weightDecay}, clip ${DEFAULT_TRAIN.clip}`), "says the trainer's defaults differ");
  assert.match(step, new RegExp(`--beta2 B2 .*\\(default: ${DEFAULT_TRAIN.beta2}\\)`));
});

test("unknown commands suggest a command that works", () => {
  for (const [typo, fix] of [[["demoo"], "jreg demo"], [["tokenizer", "trian"], "jreg tokenizer train"], [["tokeniser"], "jreg tokenize"], [["benc"], "jreg bench"]]) {
    const r = jreg(...typo);
    assert.is(r.status, 2);
    const m = /did you mean "([^"]+)"\?/.exec(r.stderr);
    assert.ok(m, `${typo.join(" ")}: ${r.stderr}`);
    assert.is(m[1], fix);
    const works = jreg(...m[1].split(" ").slice(1), "--help");
    assert.is(works.status, 0, `the suggestion ${m[1]} works`);
  }
  const far = jreg("foo");
  assert.is(far.status, 2);
  assert.match(far.stderr, /unknown command "foo"; commands: /);
  for (const name of /commands: (.*)/.exec(far.stderr)[1].split(", ")) assert.is(jreg(...name.split(" "), "--help").status, 0, name);
});

test("a --set key given twice, or one the command sets itself, is a usage error before anything runs", () => {
  const dir = mkdtempSync(join(tmpdir(), "jreg-sets-"));
  let r = jreg("init", "--set", "model.hidden_size=32", "--set", "model.hidden_size=64", "--out", join(dir, "ck"));
  assert.is(r.status, 2, r.stderr);
  assert.match(r.stderr, /^jreg init: --set model\.hidden_size=64: model\.hidden_size was already set by --set model\.hidden_size=32; give each key once$/m);
  assert.not.ok(existsSync(join(dir, "ck")));
  r = jreg("train", "--set", "steps=3", "--set", "out=" + join(dir, "run"), "--set", "steps=2");
  assert.is(r.status, 2, r.stderr);
  assert.match(r.stderr, /--set steps=2: steps was already set by --set steps=3/);
  assert.not.ok(existsSync(join(dir, "run")));
  r = jreg("start", "--set", "jreg.alpha=1", "--runs", join(dir, "runs"));
  assert.is(r.status, 2, r.stderr);
  assert.match(r.stderr, /^jreg start: --set jreg\.alpha=1: this command sets jreg\.alpha itself; use --alpha$/m);
  assert.not.ok(existsSync(join(dir, "runs")));
});

test("--version prints the package version", () => {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const r = jreg("--version");
  assert.is(r.status, 0);
  assert.is(r.stdout.trim(), `jreg ${pkg.version}`);
});

test("a closed stdout stops the command cleanly: exit 0, no stack trace", async () => {
  for (const args of [["demo", "--steps", "2"], ["init", "--help"]]) {
    const child = spawn(process.execPath, [join(root, "bin/jreg.mjs"), ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.stdout.once("data", () => child.stdout.destroy());
    const code = await new Promise((resolve) => child.on("close", resolve));
    assert.is(code, 0, `${args.join(" ")}: ${stderr}`);
    assert.not.match(stderr, /EPIPE|Error|\bat /, `${args.join(" ")}: ${stderr}`);
  }
});

test("runtime errors: one line naming the command, exit 1, no stack trace", () => {
  const r = jreg("eval", "--model", join(tmpdir(), "jreg-nothing-here"), "--tokens", fx("tiny-l3", "tokens.json"));
  assert.is(r.status, 1);
  assert.match(r.stderr, /^jreg eval: .*does not exist/);
  assert.is(r.stderr.trim().split("\n").length, 1);
});

test("init writes a seeded HF checkpoint of the configured model, and never overwrites", async () => {
  const dir = mkdtempSync(join(tmpdir(), "jreg-init-"));
  const cfg = join(dir, "run.json");
  writeFileSync(cfg, JSON.stringify({ model: { hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 64 }, seqLen: 16, seed: 5 }));
  const a = jreg("init", "--config", cfg, "--vocab-size", "300", "--out", join(dir, "a"));
  assert.is(a.status, 0, a.stderr);
  assert.match(a.stdout, /wrote .*a: [\d,]+ parameters \(vocab 300, hidden 32, 2 layers, 2\/1 heads, ffn 64\), seed 5/);
  const ckpt = await readCheckpoint(join(dir, "a"));
  assert.equal(
    { v: ckpt.config.vocabSize, h: ckpt.config.hiddenSize, l: ckpt.config.numLayers, kv: ckpt.config.numKvHeads, t: ckpt.config.maxSeqLen },
    { v: 300, h: 32, l: 2, kv: 1, t: 16 },
  );
  const b = jreg("init", "--config", cfg, "--set", "model.vocab_size=300", "--out", join(dir, "b"));
  assert.is(b.status, 0, b.stderr);
  const bytes = (d) => readFileSync(join(dir, d, "model.safetensors"));
  assert.ok(bytes("a").equals(bytes("b")), "same seed, same weights");
  assert.is(jreg("init", "--config", cfg, "--vocab-size", "300", "--set", "seed=6", "--out", join(dir, "c")).status, 0);
  assert.not.ok(bytes("a").equals(bytes("c")), "another seed, other weights");

  const before = bytes("a");
  const again = jreg("init", "--config", cfg, "--vocab-size", "300", "--set", "seed=9", "--out", join(dir, "a"));
  assert.is(again.status, 1);
  assert.match(again.stderr, /--out .*a exists and is not empty; nothing was written/);
  assert.ok(bytes("a").equals(before), "untouched");
  mkdirSync(join(dir, "empty"));
  assert.is(jreg("init", "--config", cfg, "--vocab-size", "300", "--out", join(dir, "empty")).status, 0, "an empty directory is fine");

  const bad = (args, pattern) => {
    const r = jreg("init", ...args, "--out", join(dir, "never"));
    assert.is(r.status, 2, r.stderr);
    assert.match(r.stderr, pattern);
    assert.not.match(r.stderr, /\bat .*:\d+/);
  };
  bad(["--config", cfg, "--vocab-size", "300", "--set", "model.vocab_size=512"], /model\.vocab_size 512 does not match --vocab-size = 300/);
  bad(["--config", cfg], /vocabulary size is unknown: set model\.vocab_size or give --vocab-size/);
  bad(["--config", join(dir, "missing.json"), "--vocab-size", "300"], /config file .*missing\.json does not exist/);
  writeFileSync(join(dir, "broken.json"), '{\n  "steps": 3,\n}');
  bad(["--config", join(dir, "broken.json"), "--vocab-size", "300"], /broken\.json:3:1: invalid JSON/);
  writeFileSync(join(dir, "ten.json"), '{"steps": "ten"}');
  bad(["--config", join(dir, "ten.json"), "--vocab-size", "300"], /ten\.json: steps must be an integer ≥ 1, got "ten"/);
  bad(["--vocab-size", "300", "--set", "jreg.alpah=3"], /--set jreg\.alpah=3: unknown key "jreg\.alpah" \(did you mean jreg\.alpha\?\)/);
  assert.not.ok(existsSync(join(dir, "never")));
});

test("bench lists its suites in --help and rejects unknown ones", async () => {
  const { SUITES } = await import("../bench/run.mjs");
  const r = jreg("bench", "--help");
  assert.is(r.status, 0, r.stderr);
  for (const name of Object.keys(SUITES)) assert.match(r.stdout, new RegExp(`\\n  ${name}\\s`), name);
  const bad = jreg("bench", "matmull");
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /unknown benchmark suite "matmull" \(did you mean matmul\?\)/);
});

test("the same CLI runs under Deno: help, version, usage errors, closed stdout", () => {
  const deno = join(root, "node_modules/.bin/deno");
  if (!existsSync(deno)) return console.log("  (deno not installed: skipped)");
  const run = (...args) => spawnSync(deno, ["run", "-A", join(root, "dist/cli/main.js"), ...args], { encoding: "utf8", timeout: 60_000 });
  const v = run("--version");
  assert.is(v.status, 0, v.stderr);
  assert.is(v.stdout.trim(), jreg("--version").stdout.trim());
  const h = run("demo", "--help");
  assert.is(h.status, 0);
  assert.is(h.stdout, jreg("demo", "--help").stdout);
  const e = run("demo", "--steps", "2.5");
  assert.is(e.status, 2);
  assert.match(e.stderr, /--steps must be an integer ≥ 1, got "2\.5"/);
  // exit with Deno's own status, not head's
  const piped = spawnSync("bash", ["-c", `"${deno}" run -A "${join(root, "dist/cli/main.js")}" demo --steps 2 | head -1; exit \${PIPESTATUS[0]}`], { encoding: "utf8", timeout: 60_000 });
  assert.is(piped.status, 0, piped.stderr);
  assert.match(piped.stdout, /^tiny model: /);
  assert.not.match(piped.stderr, /Error|\bat /);
});

test.run();
