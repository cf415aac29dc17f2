// Parameters (and their gradients) live in one backend buffer each, addressed by a
// layout table computed from the config, as llm.c does with its parameter block.
import type { Backend, Tensor } from "../backend/backend.ts";
import type { ModelConfig } from "./config.ts";
import { parameterSpecs, type ParameterSpec } from "./parameters.ts";

export interface LayerWeights {
  inputNorm: Tensor;
  q: Tensor;
  k: Tensor;
  v: Tensor;
  o: Tensor;
  postAttentionNorm: Tensor;
  gate: Tensor;
  up: Tensor;
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
  specs: ParameterSpec[];
  offsets: number[];
  total: number;
}

export function parameterLayout(config: ModelConfig): ParameterLayout {
  const specs = parameterSpecs(config);
  const offsets: number[] = [];
  let total = 0;
  for (const s of specs) {
    offsets.push(total);
    // 16 floats (64 bytes) alignment keeps every tensor SIMD- and cache-line-aligned.
    total += Math.ceil(s.size / 16) * 16;
  }
  return { specs, offsets, total };
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
    layers.push({
      inputNorm: get(pre + "input_layernorm.weight"),
      q: get(pre + "self_attn.q_proj.weight"),
      k: get(pre + "self_attn.k_proj.weight"),
      v: get(pre + "self_attn.v_proj.weight"),
      o: get(pre + "self_attn.o_proj.weight"),
      postAttentionNorm: get(pre + "post_attention_layernorm.weight"),
      gate: get(pre + "mlp.gate_proj.weight"),
      up: get(pre + "mlp.up_proj.weight"),
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

/** Splits a read-back parameter-shaped buffer into tensors by name (copies). */
export function splitByName(layout: ParameterLayout, all: Float32Array): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  layout.specs.forEach((s, i) => {
    const off = layout.offsets[i]!;
    out.set(s.name, all.slice(off, off + s.size));
  });
  return out;
}
