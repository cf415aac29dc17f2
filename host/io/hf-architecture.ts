// The architectures `jreg analyze` reads from a Hugging Face config.json: the
// Llama block (pre-norm RMSNorm, RoPE attention with GQA, SwiGLU MLP) and its
// close relatives. What each adds over configFromHF (which stays strict, for
// training checkpoints):
//   - rope_scaling of type "linear" or "llama3" (Llama 3.1+), applied to the
//     RoPE tables on the host (model/rope-scaling.ts);
//   - Qwen2's q/k/v projection biases;
//   - Mistral's (or Qwen2's) sliding window, recorded so that the analysis can
//     refuse texts longer than it (up to the window, sliding attention equals
//     full causal attention).
// Anything that would change the computation in a way the engine does not
// implement is rejected by name: Gemma's norm offset and embedding scale, MoE
// experts, other RoPE scalings, biases beyond q/k/v, other activations.
import { ConfigError, type ModelConfig } from "../model/config.ts";
import type { RopeScaling } from "../model/rope-scaling.ts";
import { configFromHF } from "./hf-config.ts";

export interface Architecture {
  /** model_type from config.json ("llama" when absent) */
  modelType: string;
  config: ModelConfig;
  ropeScaling: RopeScaling | null;
  /** q_proj, k_proj and v_proj carry a bias (Qwen2) */
  qkvBias: boolean;
  /** attention window in tokens, or null for full causal attention */
  slidingWindow: number | null;
}

/** model_type values whose block differs from Llama's, and how (for the error message). */
const UNSUPPORTED_TYPES: Record<string, string> = {
  gemma: "Gemma's RMSNorm offset (weight + 1) and embedding scale (√hidden_size)",
  gemma2: "Gemma's RMSNorm offset (weight + 1), embedding scale (√hidden_size), extra norms and logit soft-capping",
  gemma3: "Gemma's RMSNorm offset (weight + 1), embedding scale (√hidden_size), extra norms and q/k norms",
  gemma3_text: "Gemma's RMSNorm offset (weight + 1), embedding scale (√hidden_size), extra norms and q/k norms",
  mixtral: "a mixture-of-experts MLP",
  qwen2_moe: "a mixture-of-experts MLP",
  qwen3_moe: "a mixture-of-experts MLP",
  deepseek_v2: "multi-head latent attention and a mixture-of-experts MLP",
  deepseek_v3: "multi-head latent attention and a mixture-of-experts MLP",
  qwen3: "q/k RMSNorms inside attention",
  phi3: "fused qkv_proj and gate_up_proj weights",
  olmo2: "post-norm blocks and q/k norms",
  cohere: "LayerNorm and parallel attention/MLP blocks",
};

/**
 * Fields of Llama-like configs (Granite, Gemma 2, Phi, OLMo, …) that change the
 * computation when set, with the value that leaves it unchanged (null: must be
 * absent). A model_type not listed above that sets one is refused rather than
 * analysed as plain Llama.
 */
const CHANGING_FIELDS: Record<string, { neutral: unknown; what: string }> = {
  embedding_multiplier: { neutral: 1, what: "scales the embeddings" },
  residual_multiplier: { neutral: 1, what: "scales each residual branch" },
  attention_multiplier: { neutral: null, what: "replaces the 1/√head_dim attention scale" },
  logits_scaling: { neutral: 1, what: "divides the logits" },
  final_logit_softcapping: { neutral: null, what: "soft-caps the logits" },
  attn_logit_softcapping: { neutral: null, what: "soft-caps the attention scores" },
  query_pre_attn_scalar: { neutral: null, what: "replaces the attention scale" },
  partial_rotary_factor: { neutral: 1, what: "rotates only part of each head" },
  qk_layernorm: { neutral: false, what: "adds q/k norms" },
  use_qk_norm: { neutral: false, what: "adds q/k norms" },
  clip_qkv: { neutral: null, what: "clips q/k/v" },
};

/** Keys that only a mixture-of-experts config has. */
const MOE_KEYS = ["num_local_experts", "num_experts", "n_routed_experts", "moe_intermediate_size"];

/** Model types handled here; any other type is accepted if nothing below rejects it and its tensors have Llama's names. */
const QKV_BIAS_TYPES = ["qwen2"];

const describe = (v: unknown): string => (typeof v === "object" && v !== null ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v)));

function ropeScalingFrom(raw: unknown, maxPos: number, fail: (msg: string) => never): RopeScaling | null {
  if (raw === undefined || raw === null) return null;
  if (typeof raw !== "object" || Array.isArray(raw)) return fail(`rope_scaling must be an object or null, got ${describe(raw)}`);
  const r = raw as Record<string, unknown>;
  const type = r.rope_type ?? r.type;
  const number = (key: string, fallback?: number): number => {
    const v = r[key] ?? fallback;
    if (typeof v !== "number" || !Number.isFinite(v) || !(v > 0)) return fail(`rope_scaling.${key} must be a number > 0, got ${describe(r[key])}`);
    return v;
  };
  if (type === "default") return null;
  if (type === "linear") return { type: "linear", factor: number("factor") };
  if (type === "llama3") {
    const s = {
      type: "llama3" as const,
      factor: number("factor"),
      lowFreqFactor: number("low_freq_factor"),
      highFreqFactor: number("high_freq_factor"),
      originalMaxPositionEmbeddings: number("original_max_position_embeddings", maxPos),
    };
    if (!(s.highFreqFactor > s.lowFreqFactor)) fail(`rope_scaling.high_freq_factor (${s.highFreqFactor}) must exceed low_freq_factor (${s.lowFreqFactor})`);
    return s;
  }
  return fail(`rope_scaling type ${describe(type)} is not supported; only "linear" and "llama3" are (or none)`);
}

/** Reads a config.json (already parsed) for analysis; errors are ConfigError prefixed with `source`. */
export function architectureFromHF(json: unknown, source = "config.json"): Architecture {
  const fail = (msg: string): never => {
    throw new ConfigError(`${source}: ${msg}`);
  };
  if (typeof json !== "object" || json === null || Array.isArray(json)) return fail(`must be a JSON object, got ${describe(json)}`);
  const o = { ...(json as Record<string, unknown>) };
  const present = (key: string) => o[key] !== undefined && o[key] !== null;
  const modelType = present("model_type") ? String(o.model_type) : "llama";

  const why = UNSUPPORTED_TYPES[modelType];
  if (why) fail(`model_type "${modelType}" is not supported: its block has ${why}, which the engine's Llama block does not`);
  for (const key of MOE_KEYS) {
    if (present(key) && o[key] !== 0) fail(`${key} ${describe(o[key])}: mixture-of-experts models are not supported; the engine's MLP is one dense SwiGLU`);
  }

  for (const [key, { neutral, what }] of Object.entries(CHANGING_FIELDS)) {
    if (present(key) && o[key] !== neutral) fail(`${key} ${describe(o[key])} is not supported: it ${what}, which the engine's Llama block does not`);
  }

  const qkvBias = QKV_BIAS_TYPES.includes(modelType);
  if (present("attention_bias") && o.attention_bias !== false) {
    fail(`attention_bias ${describe(o.attention_bias)} is not supported: it adds biases to q/k/v and o_proj; only q/k/v biases (Qwen2) are`);
  }
  delete o.attention_bias;

  const maxPos = typeof o.max_position_embeddings === "number" ? o.max_position_embeddings : 0;
  const ropeScaling = ropeScalingFrom(o.rope_scaling, maxPos, fail);
  delete o.rope_scaling;

  // Qwen2 records a sliding_window but uses it only with use_sliding_window true.
  let slidingWindow: number | null = null;
  if (present("sliding_window") && o.use_sliding_window !== false && !(modelType === "qwen2" && o.use_sliding_window !== true)) {
    const w = o.sliding_window;
    if (typeof w !== "number" || !Number.isInteger(w) || w < 1) fail(`sliding_window must be a positive integer or null, got ${describe(w)}`);
    slidingWindow = w as number;
  }
  delete o.sliding_window;
  delete o.use_sliding_window;
  delete o.max_window_layers;

  // The rest is the Llama config, checked by the training loader's rules.
  const config = configFromHF({ ...o, model_type: "llama" }, source);
  return { modelType, config, ropeScaling, qkvBias, slidingWindow };
}
