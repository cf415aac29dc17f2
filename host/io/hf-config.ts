// Conversion between the engine's ModelConfig and a Hugging Face config.json
// for LlamaForCausalLM. Features the engine does not implement (RoPE scaling,
// biases, other activations, a head_dim decoupled from hidden/heads) are
// rejected by name rather than silently ignored, because ignoring them would
// produce a model that loads but computes something else.
import { ConfigError, headDim, validateConfig, type ModelConfig } from "../model/config.ts";
import { describeValue } from "./describe-value.ts";

/** HF key for each ModelConfig field (used for loading and for error messages). */
const HF_KEYS: Record<keyof ModelConfig, string> = {
  vocabSize: "vocab_size",
  hiddenSize: "hidden_size",
  numLayers: "num_hidden_layers",
  numHeads: "num_attention_heads",
  numKvHeads: "num_key_value_heads",
  intermediateSize: "intermediate_size",
  ropeTheta: "rope_theta",
  rmsEps: "rms_norm_eps",
  tiedEmbeddings: "tie_word_embeddings",
  maxSeqLen: "max_position_embeddings",
};

/** HF defaults (LlamaConfig) for keys a config.json may leave out. */
const DEFAULT_ROPE_THETA = 10000;
const DEFAULT_RMS_EPS = 1e-6;

/** Keys whose null transformers reads as "derive it" (None): kv heads = heads, no sliding window, head_dim from hidden/heads. */
const NULL_MEANS_DEFAULT = new Set(["num_key_value_heads", "sliding_window", "head_dim"]);

/** Model types whose config and weights follow LlamaForCausalLM exactly. */
const LLAMA_LIKE = ["llama", "mistral"];

function describe(v: unknown): string {
  if (v === undefined) return "missing";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object" && v !== null) return "an object";
  return JSON.stringify(v) ?? String(v);
}

/**
 * Reads an HF LlamaForCausalLM config.json (already JSON-parsed). Defaults as in
 * transformers' LlamaConfig: num_key_value_heads = num_attention_heads,
 * rope_theta 10000, rms_norm_eps 1e-6, tie_word_embeddings false. A Mistral
 * sliding_window smaller than max_position_embeddings caps maxSeqLen, since up to
 * the window its attention equals full causal attention.
 */
export function configFromHF(json: unknown, source = "config.json"): ModelConfig {
  const fail = (msg: string): never => {
    throw new ConfigError(`${source}: ${msg}`);
  };
  if (typeof json !== "object" || json === null || Array.isArray(json)) fail(`must be a JSON object, got ${describe(json)}`);
  const o = json as Record<string, unknown>;
  const present = (key: string) => o[key] !== undefined && o[key] !== null;

  const num = (key: string, fallback?: number): number => {
    const v = o[key];
    // null is "not set" only where transformers treats None as "use the default";
    // elsewhere (rms_norm_eps: null) it would crash transformers, so it is an error here too.
    if (v === null && !NULL_MEANS_DEFAULT.has(key)) return fail(`${key} must be a number, got null`);
    if (!present(key)) {
      if (fallback !== undefined) return fallback;
      return fail(`${key} is required`);
    }
    if (typeof v !== "number") return fail(`${key} must be a number, got ${describe(v)}`);
    return v;
  };

  if (present("model_type") && !LLAMA_LIKE.includes(o.model_type as string)) {
    fail(`model_type ${describe(o.model_type)} is not supported; expected one of ${LLAMA_LIKE.join(", ")}`);
  }
  if (present("hidden_act") && o.hidden_act !== "silu") fail(`hidden_act ${describe(o.hidden_act)} is not supported; only "silu" (SwiGLU) is`);
  for (const key of ["attention_bias", "mlp_bias"]) {
    if (present(key) && o[key] !== false) fail(`${key} ${describe(o[key])} is not supported; the engine's linear layers have no bias`);
  }
  if (present("rope_scaling")) fail(`rope_scaling ${describeValue(o.rope_scaling)} is not supported; only plain RoPE is`);
  if (present("attention_dropout") && o.attention_dropout !== 0) {
    fail(`attention_dropout ${describe(o.attention_dropout)} is not supported; the engine has no dropout`);
  }

  // Newer transformers releases nest RoPE settings in rope_parameters.
  let ropeTheta = num("rope_theta", DEFAULT_ROPE_THETA);
  if (present("rope_parameters")) {
    const rp = o.rope_parameters as Record<string, unknown>;
    if (typeof rp !== "object" || Array.isArray(rp)) fail(`rope_parameters must be an object, got ${describe(rp)}`);
    if (rp.rope_type !== undefined && rp.rope_type !== "default") fail(`rope_parameters.rope_type ${describe(rp.rope_type)} is not supported; only "default" is`);
    if (rp.rope_theta !== undefined) {
      if (typeof rp.rope_theta !== "number") fail(`rope_parameters.rope_theta must be a number, got ${describe(rp.rope_theta)}`);
      ropeTheta = rp.rope_theta as number;
    }
  }

  if (present("tie_word_embeddings") && typeof o.tie_word_embeddings !== "boolean") {
    fail(`tie_word_embeddings must be true or false, got ${describe(o.tie_word_embeddings)}`);
  }
  const numHeads = num("num_attention_heads");
  let maxSeqLen = num("max_position_embeddings");
  if (present("sliding_window") && o.use_sliding_window !== false) {
    const w = num("sliding_window");
    // Checked here: once it caps maxSeqLen, validateConfig would blame max_position_embeddings.
    if (!Number.isSafeInteger(w) || w < 1) fail(`sliding_window must be an integer ≥ 1 (or null for none), got ${describe(w)}`);
    if (w < maxSeqLen) maxSeqLen = w;
  }
  const candidate = {
    vocabSize: num("vocab_size"),
    hiddenSize: num("hidden_size"),
    numLayers: num("num_hidden_layers"),
    numHeads,
    numKvHeads: num("num_key_value_heads", numHeads),
    intermediateSize: num("intermediate_size"),
    ropeTheta,
    rmsEps: num("rms_norm_eps", DEFAULT_RMS_EPS),
    tiedEmbeddings: o.tie_word_embeddings === true,
    maxSeqLen,
  };

  // RoPE frequencies are theta^(-2i/d): below 1 they grow with i, and a tiny theta
  // (1e-300) overflows float32 angles to NaN. Every released model uses ≥ 10000.
  if (Number.isFinite(ropeTheta) && ropeTheta > 0 && ropeTheta < 1) {
    fail(`${present("rope_parameters") && (o.rope_parameters as Record<string, unknown>).rope_theta !== undefined ? "rope_parameters.rope_theta" : "rope_theta"} must be ≥ 1, got ${ropeTheta} (RoPE frequencies theta^(-2i/d) would grow with i and overflow)`);
  }
  let config: ModelConfig;
  try {
    config = validateConfig(candidate);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    // Say it in the file's own vocabulary: config.numKvHeads -> num_key_value_heads.
    let msg = e.message;
    for (const [field, key] of Object.entries(HF_KEYS)) msg = msg.replace(new RegExp(`(config\\.)?\\b${field}\\b`, "g"), key);
    return fail(msg);
  }

  if (present("head_dim")) {
    const hd = num("head_dim");
    if (hd !== headDim(config)) {
      fail(`head_dim ${hd} differs from hidden_size / num_attention_heads (${headDim(config)}); a separate head_dim is not supported`);
    }
  }
  return config;
}

/** A complete HF LlamaForCausalLM config.json object for `c` (float32 weights). */
export function configToHF(c: ModelConfig): Record<string, unknown> {
  const config = validateConfig(c);
  return {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    vocab_size: config.vocabSize,
    hidden_size: config.hiddenSize,
    num_hidden_layers: config.numLayers,
    num_attention_heads: config.numHeads,
    num_key_value_heads: config.numKvHeads,
    head_dim: headDim(config),
    intermediate_size: config.intermediateSize,
    hidden_act: "silu",
    max_position_embeddings: config.maxSeqLen,
    rms_norm_eps: config.rmsEps,
    rope_theta: config.ropeTheta,
    rope_scaling: null,
    tie_word_embeddings: config.tiedEmbeddings,
    attention_bias: false,
    attention_dropout: 0.0,
    mlp_bias: false,
    initializer_range: 0.02,
    torch_dtype: "float32",
  };
}
