// Saved activations and backward scratch for one (batch, sequence) shape.
// Allocated once per shape and reused every step, so training does not grow memory.
import type { Backend, Tensor } from "../backend/backend.ts";
import { headDim, type ModelConfig } from "./config.ts";

export interface LayerActivations {
  /** RMSNorm(h_{l-1}) and its 1/rms per token */
  ln1: Tensor;
  ln1Rstd: Tensor;
  /** q and k after RoPE, v: [B, T, heads|kvHeads, headDim] */
  q: Tensor;
  k: Tensor;
  v: Tensor;
  /** softmax probabilities [B, heads, T, T] */
  probs: Tensor;
  /** attention output before o_proj */
  att: Tensor;
  /** residual after the attention block */
  hMid: Tensor;
  ln2: Tensor;
  ln2Rstd: Tensor;
  gate: Tensor;
  up: Tensor;
  /** silu(gate) · up */
  act: Tensor;
}

export interface Activations {
  batch: number;
  seq: number;
  /** B·T */
  tokens: number;
  inputs: Tensor;
  targets: Tensor;
  /** residual stream h_0..h_L, each [B·T, hidden] */
  h: Tensor[];
  layers: LayerActivations[];
  lnf: Tensor;
  lnfRstd: Tensor;
  /** [B·T, vocab]; overwritten in place by dlogits in the backward pass */
  logits: Tensor;
  losses: Tensor;
  lse: Tensor;
  ropeCos: Tensor;
  ropeSin: Tensor;
  /** per transition l (0-based): per-token cos(h_l, h_{l+1}) and the two norms */
  cos: Tensor[];
  normA: Tensor[];
  normB: Tensor[];
  /** per-token distance scratch [B·T] */
  distance: Tensor;
}

export interface GradScratch {
  /** gradient of the residual stream at the current level */
  dh: Tensor;
  /** JREG gradient waiting for the next level down */
  pending: Tensor;
  dln: Tensor;
  dq: Tensor;
  dk: Tensor;
  dv: Tensor;
  dqRot: Tensor;
  dkRot: Tensor;
  datt: Tensor;
  dact: Tensor;
  dgate: Tensor;
  dup: Tensor;
  dcos: Tensor;
}

export function allocateActivations(be: Backend, c: ModelConfig, batch: number, seq: number): Activations {
  const N = batch * seq;
  const hd = headDim(c);
  const qw = c.numHeads * hd;
  const kvw = c.numKvHeads * hd;
  const f = (len: number, label: string) => be.alloc(len, "f32", label);
  const layers: LayerActivations[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    layers.push({
      ln1: f(N * c.hiddenSize, `L${l}.ln1`),
      ln1Rstd: f(N, `L${l}.ln1Rstd`),
      q: f(N * qw, `L${l}.q`),
      k: f(N * kvw, `L${l}.k`),
      v: f(N * kvw, `L${l}.v`),
      probs: f(batch * c.numHeads * seq * seq, `L${l}.probs`),
      att: f(N * qw, `L${l}.att`),
      hMid: f(N * c.hiddenSize, `L${l}.hMid`),
      ln2: f(N * c.hiddenSize, `L${l}.ln2`),
      ln2Rstd: f(N, `L${l}.ln2Rstd`),
      gate: f(N * c.intermediateSize, `L${l}.gate`),
      up: f(N * c.intermediateSize, `L${l}.up`),
      act: f(N * c.intermediateSize, `L${l}.act`),
    });
  }
  const perTransition = (label: string) => Array.from({ length: c.numLayers }, (_, l) => f(N, `${label}${l + 1}`));
  return {
    batch,
    seq,
    tokens: N,
    inputs: be.alloc(N, "i32", "inputs"),
    targets: be.alloc(N, "i32", "targets"),
    h: Array.from({ length: c.numLayers + 1 }, (_, l) => f(N * c.hiddenSize, `h${l}`)),
    layers,
    lnf: f(N * c.hiddenSize, "lnf"),
    lnfRstd: f(N, "lnfRstd"),
    logits: f(N * c.vocabSize, "logits"),
    losses: f(N, "losses"),
    lse: f(N, "lse"),
    ropeCos: f(seq * (hd / 2), "ropeCos"),
    ropeSin: f(seq * (hd / 2), "ropeSin"),
    cos: perTransition("cos"),
    normA: perTransition("normA"),
    normB: perTransition("normB"),
    distance: f(N, "distance"),
  };
}

export function allocateGradScratch(be: Backend, c: ModelConfig, tokens: number): GradScratch {
  const hd = headDim(c);
  const f = (len: number, label: string) => be.alloc(len, "f32", label);
  return {
    dh: f(tokens * c.hiddenSize, "dh"),
    pending: f(tokens * c.hiddenSize, "pending"),
    dln: f(tokens * c.hiddenSize, "dln"),
    dq: f(tokens * c.numHeads * hd, "dq"),
    dk: f(tokens * c.numKvHeads * hd, "dk"),
    dv: f(tokens * c.numKvHeads * hd, "dv"),
    dqRot: f(tokens * c.numHeads * hd, "dqRot"),
    dkRot: f(tokens * c.numKvHeads * hd, "dkRot"),
    datt: f(tokens * c.numHeads * hd, "datt"),
    dact: f(tokens * c.intermediateSize, "dact"),
    dgate: f(tokens * c.intermediateSize, "dgate"),
    dup: f(tokens * c.intermediateSize, "dup"),
    dcos: f(tokens, "dcos"),
  };
}
