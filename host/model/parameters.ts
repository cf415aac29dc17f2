// The parameter list of a Llama model: names, shapes and kinds in one canonical
// order. Names and [out, in] layouts are exactly Hugging Face LlamaForCausalLM's,
// so a checkpoint maps onto this list one tensor per entry. The order is the
// layout order of the parameter arena (llm.c style: one block, a size table).
import { headDim, type ModelConfig } from "./config.ts";

/**
 * embedding: the token embedding table (normal init, weight decay);
 * matrix: every linear layer incl. lm_head (normal init, weight decay);
 * norm: RMSNorm weights (init 1, never decayed).
 */
export type ParameterKind = "embedding" | "matrix" | "norm";

export interface ParameterSpec {
  name: string;
  shape: number[];
  kind: ParameterKind;
  /** Number of elements (product of shape). */
  size: number;
}

function spec(name: string, shape: number[], kind: ParameterKind): ParameterSpec {
  return { name, shape, kind, size: shape.reduce((a, b) => a * b, 1) };
}

/**
 * Canonical order: embed_tokens; per layer: input_layernorm, q/k/v/o_proj,
 * post_attention_layernorm, gate/up/down_proj; model.norm; lm_head (untied only —
 * a tied model reuses embed_tokens as the output projection).
 */
export function parameterSpecs(c: ModelConfig): ParameterSpec[] {
  const d = c.hiddenSize;
  const kvDim = c.numKvHeads * headDim(c);
  const ff = c.intermediateSize;
  const specs: ParameterSpec[] = [spec("model.embed_tokens.weight", [c.vocabSize, d], "embedding")];
  for (let i = 0; i < c.numLayers; i++) {
    const p = `model.layers.${i}`;
    specs.push(
      spec(`${p}.input_layernorm.weight`, [d], "norm"),
      spec(`${p}.self_attn.q_proj.weight`, [d, d], "matrix"),
      spec(`${p}.self_attn.k_proj.weight`, [kvDim, d], "matrix"),
      spec(`${p}.self_attn.v_proj.weight`, [kvDim, d], "matrix"),
      spec(`${p}.self_attn.o_proj.weight`, [d, d], "matrix"),
      spec(`${p}.post_attention_layernorm.weight`, [d], "norm"),
      spec(`${p}.mlp.gate_proj.weight`, [ff, d], "matrix"),
      spec(`${p}.mlp.up_proj.weight`, [ff, d], "matrix"),
      spec(`${p}.mlp.down_proj.weight`, [d, ff], "matrix"),
    );
  }
  specs.push(spec("model.norm.weight", [d], "norm"));
  if (!c.tiedEmbeddings) specs.push(spec("lm_head.weight", [c.vocabSize, d], "matrix"));
  return specs;
}
