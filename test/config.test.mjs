import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  validateConfig,
  ConfigError,
  PRESETS,
  parameterCount,
  parameterSpecs,
  headDim,
  CONFIG_LIMITS,
  configFromHF,
  configToHF,
} from "../dist/index.js";

const tiny = () => ({ ...PRESETS.tiny });

function rejects(cfg, pattern) {
  try {
    validateConfig(cfg);
  } catch (e) {
    assert.instance(e, ConfigError);
    assert.match(e.message, pattern);
    return;
  }
  assert.unreachable(`expected ConfigError matching ${pattern}`);
}

test("presets are valid and have the documented values", () => {
  assert.equal(validateConfig(PRESETS.tiny), PRESETS.tiny);
  assert.equal(validateConfig(PRESETS["bench-tiny"]), PRESETS["bench-tiny"]);
  const t = PRESETS.tiny;
  assert.equal(
    [t.vocabSize, t.hiddenSize, t.numLayers, t.numHeads, t.numKvHeads, t.intermediateSize, t.ropeTheta, t.rmsEps, t.tiedEmbeddings, t.maxSeqLen],
    [256, 64, 4, 4, 2, 172, 10000, 1e-5, false, 128],
  );
  const b = PRESETS["bench-tiny"];
  assert.equal(
    [b.vocabSize, b.hiddenSize, b.numLayers, b.numHeads, b.numKvHeads, b.intermediateSize, b.ropeTheta, b.rmsEps, b.tiedEmbeddings, b.maxSeqLen],
    [4096, 256, 6, 4, 4, 688, 10000, 1e-5, false, 256],
  );
  assert.is(headDim(t), 16);
  assert.ok(Object.isFrozen(PRESETS.tiny), "presets must not be mutable by accident");
});

test("validateConfig returns a fresh copy", () => {
  const c = tiny();
  const v = validateConfig(c);
  assert.is.not(v, c);
  v.vocabSize = 1;
  assert.is(c.vocabSize, 256);
});

test("numKvHeads must divide numHeads, message names field and range", () => {
  rejects({ ...tiny(), numKvHeads: 3 }, /^config\.numKvHeads must be an integer in \[1, 4\] that divides numHeads \(4\), got 3$/);
  rejects({ ...tiny(), numKvHeads: 8 }, /numKvHeads must be an integer in \[1, 4\].*got 8/);
  rejects({ ...tiny(), numKvHeads: 0 }, /numKvHeads.*got 0/);
});

test("hiddenSize must be divisible by numHeads with an even head dim", () => {
  rejects({ ...tiny(), hiddenSize: 65 }, /config\.hiddenSize must be an integer in \[1, 65536\] divisible by numHeads \(4\).*got 65/);
  // 4 heads of dim 3: divisible but odd head dim (RoPE rotates pairs).
  rejects({ ...tiny(), hiddenSize: 12 }, /hiddenSize.*even head dim.*got 12/);
  assert.is(validateConfig({ ...tiny(), hiddenSize: 8 }).hiddenSize, 8);
});

test("integer fields: non-integers, zero, negatives, NaN, strings, too large", () => {
  for (const field of ["vocabSize", "numLayers", "numHeads", "intermediateSize", "maxSeqLen"]) {
    const max = CONFIG_LIMITS[field];
    for (const bad of [0, -1, 1.5, NaN, Infinity, "32", null, true, [4], {}]) {
      rejects({ ...tiny(), [field]: bad }, new RegExp(`^config\\.${field} must be an integer in \\[1, ${max}\\]`));
    }
    rejects({ ...tiny(), [field]: max + 1 }, new RegExp(`config\\.${field}.*got ${max + 1}`));
  }
  rejects({ ...tiny(), vocabSize: "256" }, /vocabSize.*got "256"/);
  rejects({ ...tiny(), numLayers: NaN }, /numLayers.*got NaN/);
});

test("upper bounds are accepted", () => {
  const c = validateConfig({ ...tiny(), vocabSize: CONFIG_LIMITS.vocabSize, maxSeqLen: CONFIG_LIMITS.maxSeqLen, numLayers: CONFIG_LIMITS.numLayers });
  assert.is(c.vocabSize, CONFIG_LIMITS.vocabSize);
});

test("ropeTheta and rmsEps ranges", () => {
  for (const bad of [0, -1, NaN, Infinity, "10000", null]) {
    rejects({ ...tiny(), ropeTheta: bad }, /^config\.ropeTheta must be a finite number > 0, got/);
  }
  for (const bad of [0, 1, -1e-5, 2, NaN, Infinity, "1e-5"]) {
    rejects({ ...tiny(), rmsEps: bad }, /^config\.rmsEps must be a finite number in \(0, 1\), got/);
  }
  assert.is(validateConfig({ ...tiny(), ropeTheta: 500000.5, rmsEps: 1e-12 }).ropeTheta, 500000.5);
});

test("tiedEmbeddings must be a boolean", () => {
  for (const bad of [0, 1, "true", null]) rejects({ ...tiny(), tiedEmbeddings: bad }, /config\.tiedEmbeddings must be true or false, got/);
});

test("missing and unknown fields, non-object configs", () => {
  for (const field of Object.keys(PRESETS.tiny)) {
    const c = tiny();
    delete c[field];
    rejects(c, new RegExp(`config\\.${field} .*missing`));
  }
  rejects({ ...tiny(), hidden_size: 64 }, /config\.hidden_size is not a known field/);
  rejects({ ...tiny(), numlayers: 4 }, /config\.numlayers is not a known field; allowed fields: vocabSize/);
  for (const bad of [null, undefined, 3, "tiny", [1, 2]]) rejects(bad, /^config must be an object/);
});

test("parameterSpecs: canonical HF names, [out, in] shapes, kinds", () => {
  const c = PRESETS.tiny;
  const specs = parameterSpecs(c);
  assert.is(specs.length, 1 + 9 * c.numLayers + 1 + 1);
  assert.equal(specs[0], { name: "model.embed_tokens.weight", shape: [256, 64], kind: "embedding", size: 256 * 64 });
  const layer0 = specs.slice(1, 10).map((s) => [s.name, s.shape.join("x"), s.kind]);
  assert.equal(layer0, [
    ["model.layers.0.input_layernorm.weight", "64", "norm"],
    ["model.layers.0.self_attn.q_proj.weight", "64x64", "matrix"],
    ["model.layers.0.self_attn.k_proj.weight", "32x64", "matrix"],
    ["model.layers.0.self_attn.v_proj.weight", "32x64", "matrix"],
    ["model.layers.0.self_attn.o_proj.weight", "64x64", "matrix"],
    ["model.layers.0.post_attention_layernorm.weight", "64", "norm"],
    ["model.layers.0.mlp.gate_proj.weight", "172x64", "matrix"],
    ["model.layers.0.mlp.up_proj.weight", "172x64", "matrix"],
    ["model.layers.0.mlp.down_proj.weight", "64x172", "matrix"],
  ]);
  assert.is(specs[specs.length - 2].name, "model.norm.weight");
  assert.equal(specs[specs.length - 1], { name: "lm_head.weight", shape: [256, 64], kind: "matrix", size: 256 * 64 });
  assert.is(new Set(specs.map((s) => s.name)).size, specs.length, "names are unique");
  for (const s of specs) assert.is(s.size, s.shape.reduce((a, b) => a * b, 1));

  const tied = parameterSpecs({ ...c, tiedEmbeddings: true });
  assert.is(tied.length, specs.length - 1);
  assert.not.ok(tied.some((s) => s.name === "lm_head.weight"));
});

test("parameterCount equals the sum over parameterSpecs", () => {
  for (const c of [PRESETS.tiny, PRESETS["bench-tiny"], { ...PRESETS.tiny, tiedEmbeddings: true }, { ...PRESETS.tiny, numKvHeads: 1 }]) {
    assert.is(parameterCount(c), parameterSpecs(c).reduce((a, s) => a + s.size, 0));
  }
  // bench-tiny by hand: 2*4096*256 + 6*(2*256 + 4*256*256 + 3*688*256) + 256
  assert.is(parameterCount(PRESETS["bench-tiny"]), 2 * 4096 * 256 + 6 * (2 * 256 + 4 * 256 * 256 + 3 * 688 * 256) + 256);
});

// ---- Hugging Face config.json ----

/** A config.json as transformers writes it for a LlamaForCausalLM (fields we ignore included). */
const hfTiny = () => ({
  architectures: ["LlamaForCausalLM"],
  attention_bias: false,
  attention_dropout: 0.0,
  bos_token_id: 1,
  eos_token_id: 2,
  hidden_act: "silu",
  hidden_size: 64,
  initializer_range: 0.02,
  intermediate_size: 172,
  max_position_embeddings: 128,
  mlp_bias: false,
  model_type: "llama",
  num_attention_heads: 4,
  num_hidden_layers: 4,
  num_key_value_heads: 2,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: null,
  rope_theta: 10000.0,
  tie_word_embeddings: false,
  torch_dtype: "float32",
  transformers_version: "4.44.2",
  use_cache: true,
  vocab_size: 256,
});

function hfRejects(json, pattern) {
  try {
    configFromHF(json, "ckpt/config.json");
  } catch (e) {
    assert.instance(e, ConfigError);
    assert.ok(e.message.startsWith("ckpt/config.json: "), e.message);
    assert.match(e.message, pattern);
    return;
  }
  assert.unreachable(`expected ConfigError matching ${pattern}`);
}

test("configFromHF reads a transformers LlamaForCausalLM config", () => {
  assert.equal(configFromHF(hfTiny()), PRESETS.tiny);
  const tied = configFromHF({ ...hfTiny(), tie_word_embeddings: true, rope_theta: 500000, rms_norm_eps: 1e-6 });
  assert.is(tied.tiedEmbeddings, true);
  assert.is(tied.ropeTheta, 500000);
  assert.is(tied.rmsEps, 1e-6);
});

test("configFromHF defaults: kv heads = heads, theta 10000, eps 1e-6, untied", () => {
  const minimal = {
    vocab_size: 100,
    hidden_size: 32,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    intermediate_size: 64,
    max_position_embeddings: 16,
  };
  assert.equal(configFromHF(minimal), {
    vocabSize: 100,
    hiddenSize: 32,
    numLayers: 2,
    numHeads: 2,
    numKvHeads: 2,
    intermediateSize: 64,
    ropeTheta: 10000,
    rmsEps: 1e-6,
    tiedEmbeddings: false,
    maxSeqLen: 16,
  });
  assert.is(configFromHF({ ...minimal, num_key_value_heads: null }).numKvHeads, 2);
});

test("configFromHF rejects non-numeric values and missing keys", () => {
  hfRejects({ ...hfTiny(), hidden_size: "32" }, /hidden_size must be a number, got "32"/);
  hfRejects({ ...hfTiny(), vocab_size: [256] }, /vocab_size must be a number, got an array/);
  hfRejects({ ...hfTiny(), rope_theta: "1e4" }, /rope_theta must be a number, got "1e4"/);
  hfRejects({ ...hfTiny(), rms_norm_eps: true }, /rms_norm_eps must be a number, got true/);
  hfRejects({ ...hfTiny(), tie_word_embeddings: "false" }, /tie_word_embeddings must be true or false, got "false"/);
  const c = hfTiny();
  delete c.num_hidden_layers;
  hfRejects(c, /num_hidden_layers is required/);
  hfRejects([hfTiny()], /must be a JSON object, got an array/);
  hfRejects(null, /must be a JSON object, got null/);
});

test("configFromHF reports range errors in HF key names", () => {
  hfRejects({ ...hfTiny(), num_key_value_heads: 3 }, /num_key_value_heads must be an integer in \[1, 4\] that divides num_attention_heads \(4\), got 3/);
  hfRejects({ ...hfTiny(), hidden_size: 66 }, /hidden_size must be an integer in \[1, 65536\] divisible by num_attention_heads \(4\)/);
  hfRejects({ ...hfTiny(), vocab_size: 0 }, /vocab_size must be an integer/);
  hfRejects({ ...hfTiny(), num_hidden_layers: 2.5 }, /num_hidden_layers must be an integer .*got 2\.5/);
  hfRejects({ ...hfTiny(), rms_norm_eps: 0 }, /rms_norm_eps must be a finite number in \(0, 1\)/);
});

test("configFromHF rejects features the engine does not implement", () => {
  hfRejects({ ...hfTiny(), rope_scaling: { rope_type: "llama3", factor: 8 } }, /rope_scaling .*llama3.* is not supported/);
  hfRejects({ ...hfTiny(), attention_bias: true }, /attention_bias true is not supported/);
  hfRejects({ ...hfTiny(), mlp_bias: true }, /mlp_bias true is not supported/);
  hfRejects({ ...hfTiny(), hidden_act: "gelu" }, /hidden_act "gelu" is not supported; only "silu"/);
  hfRejects({ ...hfTiny(), model_type: "gpt2" }, /model_type "gpt2" is not supported/);
  hfRejects({ ...hfTiny(), head_dim: 32 }, /head_dim 32 differs from hidden_size \/ num_attention_heads \(16\)/);
  hfRejects({ ...hfTiny(), attention_dropout: 0.1 }, /attention_dropout 0\.1 is not supported/);
  hfRejects({ ...hfTiny(), rope_parameters: { rope_type: "yarn" } }, /rope_parameters\.rope_type "yarn" is not supported/);
  assert.is(configFromHF({ ...hfTiny(), head_dim: 16 }).hiddenSize, 64);
});

test("configFromHF: rope_parameters and sliding windows", () => {
  const c = hfTiny();
  delete c.rope_theta;
  assert.is(configFromHF({ ...c, rope_parameters: { rope_type: "default", rope_theta: 1e6 } }).ropeTheta, 1e6);
  assert.is(configFromHF({ ...hfTiny(), model_type: "mistral", sliding_window: 64 }).maxSeqLen, 64);
  assert.is(configFromHF({ ...hfTiny(), model_type: "mistral", sliding_window: 4096 }).maxSeqLen, 128);
  assert.is(configFromHF({ ...hfTiny(), sliding_window: 64, use_sliding_window: false }).maxSeqLen, 128);
});

test("configToHF writes full LlamaForCausalLM keys and round-trips exactly", () => {
  const hf = configToHF(PRESETS.tiny);
  assert.equal(hf.architectures, ["LlamaForCausalLM"]);
  assert.is(hf.model_type, "llama");
  assert.is(hf.torch_dtype, "float32");
  assert.is(hf.hidden_act, "silu");
  assert.is(hf.head_dim, 16);
  assert.is(hf.attention_bias, false);
  assert.is(hf.mlp_bias, false);
  assert.is(hf.num_key_value_heads, 2);
  assert.is(hf.max_position_embeddings, 128);
  const odd = { ...PRESETS.tiny, ropeTheta: 12345.678, rmsEps: 1.2345678901234567e-7, tiedEmbeddings: true, numKvHeads: 1 };
  for (const c of [PRESETS.tiny, PRESETS["bench-tiny"], odd]) {
    assert.equal(configFromHF(JSON.parse(JSON.stringify(configToHF(c)))), c);
  }
  assert.throws(() => configToHF({ ...PRESETS.tiny, numKvHeads: 3 }), /numKvHeads/);
});

test.run();
