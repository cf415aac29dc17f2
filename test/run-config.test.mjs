// The run configuration of `jreg train` / `jreg init` (host/train/run-config.ts):
// defaults shared with the library, file and --set layering, and rejections that
// name the key, the expected type and where the value came from.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DEFAULT_RUN_CONFIG,
  DEFAULT_RUN_MODEL,
  DEFAULT_JREG,
  DEFAULT_TRAIN,
  PRESETS,
  parseSet,
  parseRunConfigText,
  readRunConfigFile,
  resolveModelConfig,
  resolveRunConfig,
  checkUserSets,
  runConfigHelp,
  trainConfigFor,
  validateTrainConfig,
  parameterCount,
} from "../dist/index.js";

const fails = (fn, pattern) => {
  try {
    fn();
  } catch (e) {
    assert.is(e.name, "RunConfigError", `${e.name}: ${e.message}`);
    if (typeof pattern === "string") assert.is(e.message, pattern);
    else assert.match(e.message, pattern);
    return;
  }
  assert.unreachable(`should fail with ${pattern}`);
};

/** Every leaf key of an object as a dotted path. */
const leaves = (o, prefix = "") =>
  Object.entries(o).flatMap(([k, v]) => (v && typeof v === "object" && !Array.isArray(v) ? leaves(v, `${prefix}${k}.`) : [[prefix + k, v]]));

test("the keys the issue names exist, with the library's defaults where they overlap", () => {
  const keys = Object.keys(DEFAULT_RUN_CONFIG);
  for (const k of ["model", "steps", "batchSize", "seqLen", "lr", "minLr", "warmupSteps", "weightDecay", "clip", "seed", "jreg", "evalEvery", "saveEvery", "keepCheckpoints", "data", "out", "backend", "threads", "name", "logEvery"]) {
    assert.ok(keys.includes(k), k);
  }
  assert.equal(Object.keys(DEFAULT_RUN_CONFIG.jreg).sort(), ["alpha", "distance", "lastK", "layers", "normalize"]);
  assert.equal(DEFAULT_RUN_CONFIG.jreg, DEFAULT_JREG, "JREG defaults come from the library");
  assert.is(DEFAULT_RUN_CONFIG.weightDecay, DEFAULT_TRAIN.weightDecay);
  assert.is(DEFAULT_RUN_CONFIG.clip, DEFAULT_TRAIN.clip);
  assert.is(DEFAULT_RUN_CONFIG.data.corpus, "brown");
  assert.is(DEFAULT_RUN_CONFIG.data.vocabSize, 4096);
  assert.ok(Object.isFrozen(DEFAULT_RUN_CONFIG) && Object.isFrozen(DEFAULT_RUN_CONFIG.jreg));
});

test("no file and no --set give the defaults; out follows the name", () => {
  const c = resolveRunConfig(undefined, []);
  assert.equal(c, { ...DEFAULT_RUN_CONFIG, out: "runs/run" });
  assert.is(resolveRunConfig(undefined, ["name=jreg-a3"]).out, "runs/jreg-a3");
  assert.is(resolveRunConfig({ name: "b", out: "elsewhere" }, []).out, "elsewhere");
  assert.is(resolveRunConfig(undefined, ["out=x/y", "name=z"]).out, "x/y");
  c.jreg.alpha = 9;
  assert.is(DEFAULT_RUN_CONFIG.jreg.alpha, DEFAULT_JREG.alpha, "the result is a copy");
});

test("the default model is the size DESIGN.md's timing is for, and valid with the default tokenizer", () => {
  const m = resolveModelConfig(resolveRunConfig(undefined, []), 4096);
  assert.equal(
    { hidden: m.hiddenSize, layers: m.numLayers, heads: m.numHeads, kv: m.numKvHeads, maxSeqLen: m.maxSeqLen, vocab: m.vocabSize },
    { hidden: 128, layers: 6, heads: 4, kv: 2, maxSeqLen: DEFAULT_RUN_CONFIG.seqLen, vocab: 4096 },
  );
  assert.ok(parameterCount(m) > 1e6 && parameterCount(m) < 3e6);
  const t = validateTrainConfig(trainConfigFor(DEFAULT_RUN_CONFIG), m.numLayers);
  assert.is(t.decaySteps, DEFAULT_RUN_CONFIG.steps, "cosine decay ends at the last step");
  assert.is(t.lr, DEFAULT_RUN_CONFIG.lr);
});

test("a file overlays the defaults key by key; nested objects merge", () => {
  const c = resolveRunConfig({ steps: 10, jreg: { alpha: 3 }, data: { corpus: "my.txt" } }, []);
  assert.is(c.steps, 10);
  assert.equal(c.jreg, { ...DEFAULT_JREG, alpha: 3 });
  assert.equal(c.data, { ...DEFAULT_RUN_CONFIG.data, corpus: "my.txt" });
  assert.is(c.lr, DEFAULT_RUN_CONFIG.lr);
  // a model object replaces the default one; fields it leaves out take DEFAULT_RUN_MODEL's
  const m = resolveModelConfig(resolveRunConfig({ model: { hidden_size: 64 } }, []), 300);
  assert.is(m.hiddenSize, 64);
  assert.is(m.numLayers, DEFAULT_RUN_MODEL.num_hidden_layers);
});

test("--set takes dotted keys; values are JSON when they parse, text otherwise", () => {
  const c = resolveRunConfig({ steps: 10 }, ["jreg.alpha=3", "steps=200", "model.hidden_size=64", "data.corpus=texts/a.txt", "jreg.distance=angular", "data.tokenizer=tok.json"]);
  assert.is(c.jreg.alpha, 3);
  assert.is(c.steps, 200, "--set wins over the file");
  assert.is(c.model.hidden_size, 64);
  assert.is(c.model.num_hidden_layers, DEFAULT_RUN_MODEL.num_hidden_layers);
  assert.is(c.data.corpus, "texts/a.txt");
  assert.is(c.jreg.distance, "angular");
  assert.is(c.data.tokenizer, "tok.json");
  assert.is(resolveRunConfig(undefined, ["data.tokenizer=tok.json", "data.tokenizer=null"]).data.tokenizer, null);
  assert.is(resolveRunConfig(undefined, ["name=123"]).name, "123", "a string key keeps text that looks like a number");
  assert.is(resolveRunConfig(undefined, ['name="quoted"']).name, "quoted");
  assert.equal(resolveRunConfig(undefined, ['jreg={"alpha":1,"lastK":2}']).jreg, { ...DEFAULT_JREG, alpha: 1, lastK: 2 });
  assert.equal(parseSet("a.b=c=d"), { key: "a.b", value: "c=d" });
  assert.equal(parseSet("x=[1,2]"), { key: "x", value: [1, 2] });
  assert.equal(parseSet("x="), { key: "x", value: "" });
});

test("a preset model, and one field of it changed", () => {
  const tiny = PRESETS.tiny;
  const c = resolveRunConfig(undefined, ["model=tiny", "seqLen=64"]);
  assert.is(c.model, "tiny");
  const m = resolveModelConfig(c, 4096);
  assert.equal({ ...m, vocabSize: tiny.vocabSize }, { ...tiny }, "the preset's architecture");
  assert.is(m.vocabSize, 4096, "vocab_size follows the tokenizer");
  const wide = resolveModelConfig(resolveRunConfig(undefined, ["model=tiny", "seqLen=64", "model.hidden_size=128"]), 300);
  assert.equal({ ...wide, hiddenSize: tiny.hiddenSize, vocabSize: tiny.vocabSize }, { ...tiny });
  assert.is(wide.hiddenSize, 128);
});

test("unknown keys are rejected with a suggestion and the source", () => {
  fails(() => resolveRunConfig(undefined, ["jreg.alpah=3"]), '--set jreg.alpah=3: unknown key "jreg.alpah" (did you mean jreg.alpha?)');
  fails(() => resolveRunConfig({ stpes: 3 }, []), 'config.json: unknown key "stpes" (did you mean steps?)');
  fails(() => resolveRunConfig({ data: { corpse: "brown" } }, [], { source: "run.json" }), 'run.json: unknown key "data.corpse" (did you mean data.corpus?)');
  fails(() => resolveRunConfig(undefined, ["model.hiden_size=3"]), /unknown key "model.hiden_size" \(did you mean model.hidden_size\?\)/);
  fails(() => resolveRunConfig(undefined, ["zzzzzz=1"]), '--set zzzzzz=1: unknown key "zzzzzz"');
  fails(() => resolveRunConfig(undefined, ["steps.x=1"]), /unknown key "steps.x"/);
  fails(() => resolveRunConfig(undefined, ["steps"]), /--set steps: expected KEY=VALUE/);
});

test("wrong types are rejected naming the key and the expected type", () => {
  fails(() => resolveRunConfig({ steps: "ten" }, []), 'config.json: steps must be an integer ≥ 1, got "ten"');
  fails(() => resolveRunConfig(undefined, ["steps=ten"]), '--set steps=ten: steps must be an integer ≥ 1, got "ten"');
  fails(() => resolveRunConfig(undefined, ["steps=2.5"]), "--set steps=2.5: steps must be an integer ≥ 1, got 2.5");
  fails(() => resolveRunConfig(undefined, ["backend=cuda"]), /backend must be one of "auto", "wasm", "webgpu", got "cuda"/);
  fails(() => resolveRunConfig(undefined, ["jreg.distance=l2"]), /jreg.distance must be one of "cosine", "angular"/);
  fails(() => resolveRunConfig(undefined, ["model.tie_word_embeddings=yes"]), /model.tie_word_embeddings must be true or false, got "yes"/);
  fails(() => resolveRunConfig(undefined, ["data.validationFraction=1"]), /data.validationFraction must be a number in \(0, 1\), got 1/);
  fails(() => resolveRunConfig({ jreg: 3 }, []), /config.json: jreg must be an object/);
  fails(() => resolveRunConfig({ model: 5 }, []), /model must be a preset name/);
  fails(() => resolveRunConfig(undefined, ["model=huge"]), /model "huge" is not a preset; presets: tiny/);
  fails(() => resolveRunConfig(undefined, ["name=a/b"]), /name must be a string of letters/);
  fails(() => resolveRunConfig([1], []), "config.json: must hold a JSON object of run settings, got an array");
});

test("ranges are the trainer's and the model's own, named by run-config key", () => {
  fails(() => resolveRunConfig(undefined, ["lr=-1e-3"]), "--set lr=-1e-3: lr must be a finite number ≥ 0, got -0.001");
  fails(() => resolveRunConfig(undefined, ["weightDecay=1.5"]), /weightDecay must be in \[0, 1\), got 1.5/);
  fails(() => resolveRunConfig(undefined, ["jreg.alpha=-1"]), /--set jreg.alpha=-1: jreg.alpha must be a finite number ≥ 0/);
  fails(() => resolveRunConfig(undefined, ["jreg.lastK=7"]), /jreg.lastK must be an integer in \[1, 6\] \(the number of layers\), got 7/);
  fails(() => resolveRunConfig(undefined, ["model.num_key_value_heads=3"]), /model.num_key_value_heads must be an integer in \[1, 4\] that divides num_attention_heads/);
  fails(() => resolveRunConfig(undefined, ["seqLen=256", "model.max_position_embeddings=128"]), /seqLen 256 exceeds the model's max_position_embeddings 128/);
  fails(() => resolveRunConfig(undefined, ["minLr=0.1"]), /minLr 0.1 exceeds lr 0.003/);
  assert.is(resolveRunConfig(undefined, ["steps=5"]).warmupSteps, DEFAULT_RUN_CONFIG.warmupSteps, "a short run keeps the warm-up");
  // a later --set can repair what an earlier one broke only if each layer is valid on its own
  fails(() => resolveRunConfig(undefined, ["jreg.lastK=8", "model.num_hidden_layers=8"]), /--set jreg.lastK=8/);
  assert.is(resolveRunConfig(undefined, ["model.num_hidden_layers=8", "jreg.lastK=8"]).jreg.lastK, 8);
});

test("vocab_size defaults to the tokenizer's size; a mismatch names both", () => {
  const c = resolveRunConfig(undefined, ["model.vocab_size=2048"]);
  assert.is(resolveModelConfig(c, 2048).vocabSize, 2048);
  assert.is(resolveModelConfig(c, undefined).vocabSize, 2048);
  fails(() => resolveModelConfig(c, 4096), /model.vocab_size 2048 does not match the tokenizer's vocabulary size = 4096/);
  fails(() => resolveModelConfig(c, 4096, "--vocab-size"), /model.vocab_size 2048 does not match --vocab-size = 4096/);
  fails(() => resolveModelConfig(resolveRunConfig(undefined, []), undefined, "--vocab-size"), /vocabulary size is unknown: set model.vocab_size or give --vocab-size/);
});

test("config files: missing, invalid JSON with line:column, wrong top-level type", async () => {
  const dir = mkdtempSync(join(tmpdir(), "jreg-runcfg-"));
  const file = (name, text) => (writeFileSync(join(dir, name), text), join(dir, name));
  await assert.equal(await readRunConfigFile(file("ok.json", '{"steps": 5}')), { steps: 5 });
  const rejects = async (path, pattern) => {
    try {
      await readRunConfigFile(path);
    } catch (e) {
      assert.is(e.name, "RunConfigError");
      assert.match(e.message, pattern);
      return;
    }
    assert.unreachable(path);
  };
  await rejects(join(dir, "nope.json"), /config file .*nope\.json does not exist/);
  await rejects(file("comma.json", '{\n  "steps": 10,\n  "lr": 1e-3,\n}\n'), /comma\.json:4:1: invalid JSON: expected a double-quoted property name/);
  await rejects(file("value.json", '{\n  "steps": 10,\n  "lr": ,\n}'), /value\.json:3:9: invalid JSON: unexpected ","/);
  await rejects(file("trunc.json", '{"steps": 1'), /trunc\.json:1:12: invalid JSON: expected ',' or '}'/);
  await rejects(file("empty.json", ""), /empty\.json:1:1: invalid JSON: unexpected end/);
  await rejects(file("array.json", "[]"), /array\.json: must hold a JSON object of run settings, got an array/);
  await rejects(file("string.json", '"steps"'), /must hold a JSON object of run settings, got "steps"/);
  assert.equal(parseRunConfigText('{"a": [1, {"b": null}], "c": "\\u00e9"}', "x"), { a: [1, { b: null }], c: "é" });
});

test("a --set key given twice, or replaced by a later --set of its parent, is an error (never silently the last)", () => {
  const refused = (sets, reserved, re) => {
    assert.throws(() => checkUserSets(sets, reserved), (e) => e.name === "RunConfigError" && re.test(e.message), sets.join(" "));
  };
  refused(["steps=3", "steps=2"], [], /^--set steps=2: steps was already set by --set steps=3; give each key once$/);
  refused(["steps=3", " steps =4"], [], /steps was already set by --set steps=3/);
  refused(["jreg.alpha=1", "jreg={}"], [], /^--set jreg=\{\}: it would replace --set jreg\.alpha=1 given before it; set jreg first, then jreg\.alpha$/);
  refused(["model.hidden_size=32", "model=tiny"], [], /would replace --set model\.hidden_size=32/);
  refused(["jreg.alpha=1"], [{ key: "jreg.alpha", use: "--alpha" }], /^--set jreg\.alpha=1: this command sets jreg\.alpha itself; use --alpha$/);
  refused(["jreg={}"], [{ key: "jreg.alpha", use: "--alpha" }], /this command sets jreg\.alpha itself; use --alpha/);
  // A parent first and then one of its fields refines it; different keys are independent.
  checkUserSets(["model=tiny", "model.hidden_size=64", "jreg.alpha=1", "jreg.lastK=2", "steps=3"], [{ key: "name", use: "--runs" }]);
  const cfg = resolveRunConfig(undefined, ["model=tiny", "model.hidden_size=64"]);
  assert.is(cfg.model.hidden_size, 64);
});

test("the help lists every key with its default", () => {
  const h = runConfigHelp();
  for (const [key, value] of leaves(DEFAULT_RUN_CONFIG)) {
    const line = h.split("\n").findIndex((l) => l.trimStart().startsWith(key + " "));
    assert.ok(line >= 0, `${key} listed`);
    const detail = h.split("\n")[line + 1];
    const shown = key === "out" ? '"runs/<name>"' : JSON.stringify(value);
    assert.ok(detail.includes(`default ${shown}`), `${key}: default ${shown} in ${detail}`);
  }
  for (const f of ["max_position_embeddings", "vocab_size"]) assert.ok(h.includes(`model.${f}`));
});

test.run();
