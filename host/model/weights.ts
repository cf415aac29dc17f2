// Parameters (and their gradients, and AdamW's moments) live in one backend buffer
// each, addressed by a layout table computed from the config, as llm.c does with
// its parameter block. The buffer order (decayed tensors first) is independent of
// the checkpoint order, which stays the canonical one of parameters.ts.
import type { Backend, Tensor } from "../backend/backend.ts";
import type { ModelConfig } from "./config.ts";
import { parameterSpecs, type ParameterSpec } from "./parameters.ts";

export interface LayerWeights {
  inputNorm: Tensor;
  q: Tensor;
  k: Tensor;
  v: Tensor;
  /** q/k/v projection biases (Qwen2); absent for Llama, whose linear layers have none */
  qBias?: Tensor;
  kBias?: Tensor;
  vBias?: Tensor;
  o: Tensor;
  postAttentionNorm: Tensor;
  gate: Tensor;
  up: Tensor;
  /**
   * gate and up as one [2·ffn, hidden] matrix, present when up directly follows
   * gate in the buffer (no padding between them): the fused projection's weight.
   */
  gateUp?: Tensor;
  down: Tensor;
}

/** Named views of one parameter-shaped buffer (weights, gradients, or optimizer state). */
export interface WeightSet {
  /** the whole buffer */
  all: Tensor;
  byName: Map<string, Tensor>;
  embed: Tensor;
  layers: LayerWeights[];
  finalNorm: Tensor;
  /** the embedding table itself when the head is tied */
  lmHead: Tensor;
}

export interface ParameterLayout {
  /** canonical (checkpoint) order, parameters.ts */
  specs: ParameterSpec[];
  /** element offset of specs[i] in the buffer */
  offsets: number[];
  total: number;
  /**
   * Matrices and embeddings come first in the buffer and norms last, so weight
   * decay is the one range [0, decayLength).
   */
  decayLength: number;
}

/** Every tensor starts on a 64-float (256-byte) boundary: WebGPU's binding offset rule, on every backend. */
export const PARAMETER_ALIGNMENT = 64;

export function parameterLayout(config: ModelConfig): ParameterLayout {
  const specs = parameterSpecs(config);
  const offsets = new Array<number>(specs.length);
  let total = 0;
  const place = (decayed: boolean) =>
    specs.forEach((s, i) => {
      if ((s.kind !== "norm") !== decayed) return;
      offsets[i] = total;
      total += Math.ceil(s.size / PARAMETER_ALIGNMENT) * PARAMETER_ALIGNMENT;
    });
  place(true);
  const decayLength = total;
  place(false);
  return { specs, offsets, total, decayLength };
}

export function allocateWeightSet(backend: Backend, config: ModelConfig, layout: ParameterLayout, label: string): WeightSet {
  const all = backend.alloc(layout.total, "f32", label);
  // Padding between tensors must be zero so whole-buffer reductions see only real values.
  backend.fill(all, 0);
  const byName = new Map<string, Tensor>();
  layout.specs.forEach((s, i) => byName.set(s.name, backend.view(all, layout.offsets[i]!, s.size, `${label}:${s.name}`)));
  const get = (name: string): Tensor => {
    const t = byName.get(name);
    if (!t) throw new Error(`internal: parameter ${name} missing from layout`);
    return t;
  };
  const layers: LayerWeights[] = [];
  for (let i = 0; i < config.numLayers; i++) {
    const pre = `model.layers.${i}.`;
    const gateIndex = layout.specs.findIndex((s) => s.name === pre + "mlp.gate_proj.weight");
    const gateSize = layout.specs[gateIndex]!.size;
    const gateOffset = layout.offsets[gateIndex]!;
    const adjacent = layout.offsets[gateIndex + 1] === gateOffset + gateSize && layout.specs[gateIndex + 1]!.name === pre + "mlp.up_proj.weight";
    layers.push({
      inputNorm: get(pre + "input_layernorm.weight"),
      q: get(pre + "self_attn.q_proj.weight"),
      k: get(pre + "self_attn.k_proj.weight"),
      v: get(pre + "self_attn.v_proj.weight"),
      o: get(pre + "self_attn.o_proj.weight"),
      postAttentionNorm: get(pre + "post_attention_layernorm.weight"),
      gate: get(pre + "mlp.gate_proj.weight"),
      up: get(pre + "mlp.up_proj.weight"),
      ...(adjacent ? { gateUp: backend.view(all, gateOffset, 2 * gateSize, `${label}:${pre}mlp.gate|up`) } : {}),
      down: get(pre + "mlp.down_proj.weight"),
    });
  }
  const embed = get("model.embed_tokens.weight");
  return {
    all,
    byName,
    embed,
    layers,
    finalNorm: get("model.norm.weight"),
    lmHead: config.tiedEmbeddings ? embed : get("lm_head.weight"),
  };
}

/** Joins tensors by name into one parameter-shaped buffer (padding zero). */
export function joinByName(layout: ParameterLayout, tensors: Map<string, Float32Array>, what: string): Float32Array {
  const all = new Float32Array(layout.total);
  layout.specs.forEach((s, i) => {
    const t = tensors.get(s.name);
    if (!t) throw new Error(`${what} is missing ${s.name}`);
    if (t.length !== s.size) throw new Error(`${what}: ${s.name} has ${t.length} values, expected ${s.size}`);
    all.set(t, layout.offsets[i]!);
  });
  return all;
}

/** Splits a read-back parameter-shaped buffer into tensors by name (copies). */
export function splitByName(layout: ParameterLayout, all: Float32Array): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  layout.specs.forEach((s, i) => {
    const off = layout.offsets[i]!;
    out.set(s.name, all.slice(off, off + s.size));
  });
  return out;
}
