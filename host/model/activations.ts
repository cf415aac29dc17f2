// Saved activations and backward scratch for one (batch, sequence) shape.
// Allocated once per shape and reused every step; freed when the shape changes,
// so alternating shapes does not grow memory.
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
  /** what attentionForward saves for the backward; its size is the backend's choice */
  attState: Tensor;
  /** attention output before o_proj */
  att: Tensor;
  /** residual after the attention block */
  hMid: Tensor;
  ln2: Tensor;
  ln2Rstd: Tensor;
  /** the fused gate|up projection: row i holds gate (ffn values) then up (ffn values) */
  gateUp: Tensor;
  /**
   * silu(gate) · up, [tokens, ffn]: one buffer shared by every layer (the forward
   * uses it at once, the backward recomputes it from gateUp), not saved per layer
   */
  act: Tensor;
}

export interface Activations {
  batch: number;
  seq: number;
  /** B·T */
  tokens: number;
  /**
   * Rows of the LM head per chunk: all tokens when [tokens, vocab] fits one binding,
   * else a multiple of 64 (so row views stay 256-byte aligned).
   */
  headRows: number;
  inputs: Tensor;
  targets: Tensor;
  /** residual stream h_0..h_L, each [B·T, hidden] */
  h: Tensor[];
  layers: LayerActivations[];
  lnf: Tensor;
  lnfRstd: Tensor;
  /** [headRows, vocab]: one chunk's logits; overwritten in place by its dlogits in the backward */
  logits: Tensor;
  losses: Tensor;
  lse: Tensor;
  /** RoPE tables [seq, headDim/2], made on the host and uploaded (host/cpu) */
  ropeCos: Tensor;
  ropeSin: Tensor;
  /** per transition l (0-based): per-token cos(h_l, h_{l+1}) and the two norms */
  cos: Tensor[];
  normA: Tensor[];
  normB: Tensor[];
  /** per-token distance scratch [B·T] */
  distance: Tensor;
  /** every allocation above, for freeActivations */
  owned: Tensor[];
}

export interface GradScratch {
  tokens: number;
  /** gradient of the residual stream at the current level */
  dh: Tensor;
  /** JREG gradient waiting for the next level down */
  pending: Tensor;
  dln: Tensor;
  /** gradients of q and k (rotated back in place), and of v */
  dq: Tensor;
  dk: Tensor;
  dv: Tensor;
  datt: Tensor;
  dact: Tensor;
  /** gradient of gateUp, same layout (written by swigluBackward) */
  dGateUp: Tensor;
  dcos: Tensor;
  owned: Tensor[];
}

/** Rows per LM-head chunk so that [rows, vocab] f32 fits the backend's binding limit. */
export function lmHeadRows(be: Backend, tokens: number, vocab: number): number {
  const limit = Math.min(be.capabilities.maxBindingBytes, be.capabilities.maxBufferBytes);
  const fit = Math.floor(limit / (vocab * 4));
  if (fit >= tokens) return tokens;
  const rows = Math.floor(fit / 64) * 64;
  if (rows < 64) {
    throw new RangeError(
      `the LM head needs at least 64 rows of ${vocab} logits (${64 * vocab * 4} bytes) per chunk, over the backend's binding limit of ${limit} bytes`,
    );
  }
  return rows;
}

/**
 * Checks before allocating anything that the widest per-token activation
 * ([tokens, max(hidden, heads·hd, 2·intermediate)] f32, the widest being the fused gate|up) fits one buffer of the
 * backend; the error names the limit and the largest batch that fits at this
 * sequence length. (The logits are chunked, so they never decide this; see
 * lmHeadRows. A binding-size limit below the buffer limit is named by the
 * WebGPU backend itself when an op binds the tensor.)
 */
export function checkActivationLimits(be: Pick<Backend, "name" | "capabilities">, c: ModelConfig, batch: number, seq: number): void {
  const limit = be.capabilities.maxBufferBytes;
  const widths: [string, number][] = [
    ["hidden", c.hiddenSize],
    ["attention (heads × head_dim)", c.numHeads * headDim(c)],
    ["gate|up (2 × intermediate)", 2 * c.intermediateSize],
  ];
  const [name, width] = widths.reduce((a, b) => (b[1] > a[1] ? b : a));
  const tokens = batch * seq;
  const bytes = tokens * width * 4;
  if (bytes <= limit) return;
  const maxTokens = Math.floor(limit / (width * 4));
  const maxBatch = Math.floor(maxTokens / seq);
  const fits = maxBatch >= 1 ? `batch ${maxBatch} at sequence length ${seq}` : `no batch at sequence length ${seq}; at most ${maxTokens} tokens per batch, e.g. batch 1 at sequence length ${maxTokens}`;
  throw new RangeError(
    `batch ${batch} × sequence ${seq} = ${tokens} tokens needs ${bytes} bytes for one [${tokens}, ${width}] ${name} activation, ` +
      `over the ${be.name} backend's largest buffer (maxBufferBytes${be.name === "webgpu" ? ", the device's maxBufferSize" : ""}) of ${limit} bytes; the largest that fits is ${fits} (${maxTokens} tokens)`,
  );
}

export function allocateActivations(be: Backend, c: ModelConfig, batch: number, seq: number): Activations {
  checkActivationLimits(be, c, batch, seq);
  const N = batch * seq;
  const hd = headDim(c);
  const qw = c.numHeads * hd;
  const kvw = c.numKvHeads * hd;
  const owned: Tensor[] = [];
  const f = (len: number, label: string, dtype: "f32" | "i32" = "f32") => {
    const t = be.alloc(len, dtype, label);
    owned.push(t);
    return t;
  };
  const stateLength = be.attentionStateLength(batch, seq, c.numHeads, c.numKvHeads, hd);
  const layers: LayerActivations[] = [];
  const act = f(N * c.intermediateSize, "act");
  for (let l = 0; l < c.numLayers; l++) {
    layers.push({
      ln1: f(N * c.hiddenSize, `L${l}.ln1`),
      ln1Rstd: f(N, `L${l}.ln1Rstd`),
      q: f(N * qw, `L${l}.q`),
      k: f(N * kvw, `L${l}.k`),
      v: f(N * kvw, `L${l}.v`),
      attState: f(stateLength, `L${l}.attState`),
      att: f(N * qw, `L${l}.att`),
      hMid: f(N * c.hiddenSize, `L${l}.hMid`),
      ln2: f(N * c.hiddenSize, `L${l}.ln2`),
      ln2Rstd: f(N, `L${l}.ln2Rstd`),
      gateUp: f(2 * N * c.intermediateSize, `L${l}.gateUp`),
      act,
    });
  }
  const perTransition = (label: string) => Array.from({ length: c.numLayers }, (_, l) => f(N, `${label}${l + 1}`));
  const headRows = lmHeadRows(be, N, c.vocabSize);
  return {
    batch,
    seq,
    tokens: N,
    headRows,
    inputs: f(N, "inputs", "i32"),
    targets: f(N, "targets", "i32"),
    h: Array.from({ length: c.numLayers + 1 }, (_, l) => f(N * c.hiddenSize, `h${l}`)),
    layers,
    lnf: f(N * c.hiddenSize, "lnf"),
    lnfRstd: f(N, "lnfRstd"),
    logits: f(headRows * c.vocabSize, "logits"),
    losses: f(N, "losses"),
    lse: f(N, "lse"),
    ropeCos: f(seq * (hd / 2), "ropeCos"),
    ropeSin: f(seq * (hd / 2), "ropeSin"),
    cos: perTransition("cos"),
    normA: perTransition("normA"),
    normB: perTransition("normB"),
    distance: f(N, "distance"),
    owned,
  };
}

export function allocateGradScratch(be: Backend, c: ModelConfig, tokens: number): GradScratch {
  const hd = headDim(c);
  const owned: Tensor[] = [];
  const f = (len: number, label: string) => {
    const t = be.alloc(len, "f32", label);
    owned.push(t);
    return t;
  };
  return {
    tokens,
    dh: f(tokens * c.hiddenSize, "dh"),
    pending: f(tokens * c.hiddenSize, "pending"),
    dln: f(tokens * c.hiddenSize, "dln"),
    dq: f(tokens * c.numHeads * hd, "dq"),
    dk: f(tokens * c.numKvHeads * hd, "dk"),
    dv: f(tokens * c.numKvHeads * hd, "dv"),
    datt: f(tokens * c.numHeads * hd, "datt"),
    dact: f(tokens * c.intermediateSize, "dact"),
    dGateUp: f(2 * tokens * c.intermediateSize, "dGateUp"),
    dcos: f(tokens, "dcos"),
    owned,
  };
}

/** Frees every tensor of an activation set or a gradient scratch. */
export function freeAll(be: Backend, set: { owned: Tensor[] }): void {
  for (let i = set.owned.length - 1; i >= 0; i--) be.free(set.owned[i]!);
  set.owned.length = 0;
}
