// The Llama forward and backward passes, written once against the Backend op set.
// Read top to bottom, each is a list of op calls (llm.c style); no kernel lives here.
// Semantics are Hugging Face LlamaForCausalLM's (DESIGN.md "Model"), plus optional
// q/k/v projection biases (Qwen2; LayerWeights.qBias etc., absent in trained models).
import { coefSlot, type Backend, type DistanceKind, type Tensor } from "../backend/backend.ts";
import type { Activations, GradScratch, LayerActivations } from "./activations.ts";
import { headDim, type ModelConfig } from "./config.ts";
import type { LayerWeights, WeightSet } from "./weights.ts";

/** The sizes both passes use: batch, sequence, tokens, hidden, ffn, heads, kv heads, head dim. */
function dims(c: ModelConfig, a: BlockContext) {
  return { B: a.batch, T: a.seq, N: a.tokens, C: c.hiddenSize, F: c.intermediateSize, H: c.numHeads, G: c.numKvHeads, hd: headDim(c) };
}

/** Row chunks [start, rows) of the LM head; starts are multiples of 64 (256-byte aligned views). */
export function headChunks(a: Pick<Activations, "tokens" | "headRows">): Array<{ start: number; rows: number }> {
  const out: Array<{ start: number; rows: number }> = [];
  for (let start = 0; start < a.tokens; start += a.headRows) out.push({ start, rows: Math.min(a.headRows, a.tokens - start) });
  return out;
}

/** Rows [start, start + rows) of a [tokens, width] tensor. */
function rowsOf(be: Backend, t: Tensor, start: number, rows: number, width: number): Tensor {
  return start === 0 && rows * width === t.length ? t : be.view(t, start * width, rows * width, `${t.label}[${start}:${start + rows}]`);
}

/** What the loss head reads and writes (subsets of WeightSet and Activations). */
export type LossHeadWeights = Pick<WeightSet, "finalNorm" | "lmHead">;
export type LossHeadActivations = Pick<Activations, "tokens" | "headRows" | "lnf" | "lnfRstd" | "logits" | "losses" | "lse" | "targets">;

/**
 * The loss head on a residual state h: final norm into a.lnf, then, chunk by chunk,
 * the LM head into a.logits and the cross-entropy into a.losses / a.lse. `onChunk`
 * runs after each chunk's logits are made (they are overwritten by the next chunk).
 */
export function lossHead(be: Backend, c: ModelConfig, w: LossHeadWeights, a: LossHeadActivations, h: Tensor, onChunk?: (logits: Tensor, start: number, rows: number) => void): void {
  be.rmsnormForward(a.lnf, a.lnfRstd, h, w.finalNorm, a.tokens, c.hiddenSize, c.rmsEps);
  headCrossEntropy(be, c, w, a, headChunks(a), onChunk);
}

/**
 * The LM head and cross-entropy on rows of a.lnf that are already normed, one
 * chunk (of at most a.headRows rows, starting on a multiple of 64) at a time.
 * Every row's loss is the same whatever the chunks (each output row of the
 * matmul and of the CE is computed alone), so a caller may gather the states of
 * several layers into a.lnf and run them in one pass over the LM head.
 */
export function headCrossEntropy(
  be: Backend, c: ModelConfig, w: Pick<LossHeadWeights, "lmHead">, a: Pick<LossHeadActivations, "lnf" | "logits" | "losses" | "lse" | "targets">,
  chunks: ReadonlyArray<{ start: number; rows: number }>, onChunk?: (logits: Tensor, start: number, rows: number) => void,
): void {
  const C = c.hiddenSize;
  const V = c.vocabSize;
  for (const { start, rows } of chunks) {
    be.matmul(a.logits, rowsOf(be, a.lnf, start, rows, C), w.lmHead, rows, V, C, "nt", false);
    onChunk?.(a.logits, start, rows);
    be.crossEntropyForward(rowsOf(be, a.losses, start, rows, 1), rowsOf(be, a.lse, start, rows, 1), a.logits, rowsOf(be, a.targets, start, rows, 1), rows, V);
  }
}

/** The shapes and RoPE tables one block needs (a subset of Activations). */
export type BlockContext = Pick<Activations, "batch" | "seq" | "tokens" | "ropeCos" | "ropeSin">;

/**
 * One decoder block: hOut = block(hIn), saving its activations in `la`. Shared by
 * the whole-model forward and the layer-streaming analysis (host/analysis/streaming-forward.ts).
 */
export function blockForward(be: Backend, c: ModelConfig, lw: LayerWeights, la: LayerActivations, a: BlockContext, hIn: Tensor, hOut: Tensor): void {
  const { B, T, N, C, F, H, G, hd } = dims(c, a);

  // attention block: hMid = hIn + o_proj(attn(rope(q), rope(k), v))
  be.rmsnormForward(la.ln1, la.ln1Rstd, hIn, lw.inputNorm, N, C, c.rmsEps);
  be.matmul(la.q, la.ln1, lw.q, N, H * hd, C, "nt", false);
  be.matmul(la.k, la.ln1, lw.k, N, G * hd, C, "nt", false);
  be.matmul(la.v, la.ln1, lw.v, N, G * hd, C, "nt", false);
  if (lw.qBias) be.biasAddInPlace(la.q, lw.qBias, N, H * hd);
  if (lw.kBias) be.biasAddInPlace(la.k, lw.kBias, N, G * hd);
  if (lw.vBias) be.biasAddInPlace(la.v, lw.vBias, N, G * hd);
  be.ropeInPlace(la.q, a.ropeCos, a.ropeSin, B, T, H, hd, false);
  be.ropeInPlace(la.k, a.ropeCos, a.ropeSin, B, T, G, hd, false);
  be.attentionForward(la.att, la.attState, la.q, la.k, la.v, B, T, H, G, hd);
  be.copy(la.hMid, hIn);
  be.matmul(la.hMid, la.att, lw.o, N, C, H * hd, "nt", true);

  // MLP block: hOut = hMid + down(silu(gate(x)) · up(x)), x = RMSNorm(hMid);
  // gate and up are one [N, 2F] product (each element the same sum as alone)
  be.rmsnormForward(la.ln2, la.ln2Rstd, la.hMid, lw.postAttentionNorm, N, C, c.rmsEps);
  if (lw.gateUp) be.matmul(la.gateUp, la.ln2, lw.gateUp, N, 2 * F, C, "nt", false);
  else {
    be.matmul(la.gateUp, la.ln2, lw.gate, N, F, C, "nt", false, { ldc: 2 * F });
    be.matmul(la.gateUp, la.ln2, lw.up, N, F, C, "nt", false, { ldc: 2 * F, cOffset: F });
  }
  be.swigluForward(la.act, la.gateUp, N, F);
  be.copy(hOut, la.hMid);
  be.matmul(hOut, la.act, lw.down, N, C, F, "nt", true);
}

/** Forward pass over inputs already in `a.inputs` / `a.targets` (and RoPE tables in a.rope*); fills every saved activation. */
export function forward(be: Backend, c: ModelConfig, w: WeightSet, a: Activations, onLogits?: (logits: Tensor, start: number, rows: number) => void): void {
  const { B, T, N, C, F, H, G, hd } = dims(c, a);

  be.embeddingForward(a.h[0]!, a.inputs, w.embed, N, C);

  for (let l = 0; l < c.numLayers; l++) {
    const hIn = a.h[l]!;
    const hOut = a.h[l + 1]!;
    blockForward(be, c, w.layers[l]!, a.layers[l]!, a, hIn, hOut);

    // per-token cosine of the transition h_l → h_{l+1}, for JREG and the jump profile
    be.cosineForward(a.cos[l]!, a.normA[l]!, a.normB[l]!, hIn, hOut, N, C);
  }

  lossHead(be, c, w, a, a.h[c.numLayers]!, onLogits);
}

/** Which transitions carry a JREG gradient, and where its coefficients are. */
export interface JregBackward {
  /** per transition l (0-based): true where α·dR/dD_l can be nonzero (none when α = 0) */
  layers: readonly boolean[];
  kind: DistanceKind;
  /** the step scalars, holding α·dR/dD_l at coefSlot(L, l) */
  scalars: Tensor;
}

/**
 * Backward pass of CE + α·R. JREG ops run only on the transitions in `jreg.layers`,
 * with their coefficients read from the device; with none, the result is plain
 * CE's exactly. Gradients accumulate into `g`, which the caller zeroes.
 * Overwrites a.logits (and a.lnf's chunk logits when the head is chunked).
 */
export function backward(be: Backend, c: ModelConfig, w: WeightSet, g: WeightSet, a: Activations, s: GradScratch, jreg: JregBackward): void {
  const { B, T, N, C, F, H, G, hd } = dims(c, a);
  const L = c.numLayers;
  const V = c.vocabSize;

  // loss head, chunk by chunk: dlogits (in place of logits) → lm_head and final norm.
  // A single chunk still holds the forward's logits; more chunks recompute theirs.
  const chunks = headChunks(a);
  for (const { start, rows } of chunks) {
    const lnf = rowsOf(be, a.lnf, start, rows, C);
    if (chunks.length > 1) be.matmul(a.logits, lnf, w.lmHead, rows, V, C, "nt", false);
    be.crossEntropyBackwardInPlace(a.logits, rowsOf(be, a.lse, start, rows, 1), rowsOf(be, a.targets, start, rows, 1), rows, V, 1 / N);
    be.matmul(g.lmHead, a.logits, lnf, V, C, rows, "tn", true);
    be.matmul(rowsOf(be, s.dln, start, rows, C), a.logits, w.lmHead, rows, C, V, "nn", false);
  }
  be.fill(s.dh, 0);
  be.rmsnormBackward(s.dh, g.finalNorm, s.dln, a.h[L]!, w.finalNorm, a.lnfRstd, N, C);

  for (let l = L - 1; l >= 0; l--) {
    const lw = w.layers[l]!;
    const lg = g.layers[l]!;
    const la = a.layers[l]!;
    const hIn = a.h[l]!;
    const hOut = a.h[l + 1]!;

    // JREG: transition l+2's gradient w.r.t. h_{l+1} (its "a") was parked in
    // `pending`; add it now, then this transition's parts: "b" → dh, "a" → pending.
    if (jreg.layers[l + 1]) be.accumulate(s.dh, s.pending);
    if (jreg.layers[l]) {
      be.fill(s.pending, 0);
      be.distanceGrad(s.dcos, a.cos[l]!, N, jreg.kind, jreg.scalars, coefSlot(L, l), 1 / N);
      be.cosineBackward(s.pending, s.dh, s.dcos, hIn, hOut, a.cos[l]!, a.normA[l]!, a.normB[l]!, N, C);
    }

    // MLP block (dh flows through the residual unchanged and collects the branch).
    // swigluBackward writes d(gate|up) and recomputes silu(gate)·up into la.act.
    be.matmul(s.dact, s.dh, lw.down, N, F, C, "nn", false);
    be.swigluBackward(s.dGateUp, la.act, s.dact, la.gateUp, N, F);
    be.matmul(lg.down, s.dh, la.act, C, F, N, "tn", true);
    if (lg.gateUp) be.matmul(lg.gateUp, s.dGateUp, la.ln2, 2 * F, C, N, "tn", true);
    else {
      be.matmul(lg.gate, s.dGateUp, la.ln2, F, C, N, "tn", true, { lda: 2 * F });
      be.matmul(lg.up, s.dGateUp, la.ln2, F, C, N, "tn", true, { lda: 2 * F, aOffset: F });
    }
    // two products, not one of depth 2F: the same sums as before the fusion, bit for bit
    be.matmul(s.dln, s.dGateUp, lw.gate, N, C, F, "nn", false, { lda: 2 * F });
    be.matmul(s.dln, s.dGateUp, lw.up, N, C, F, "nn", true, { lda: 2 * F, aOffset: F });
    be.rmsnormBackward(s.dh, lg.postAttentionNorm, s.dln, la.hMid, lw.postAttentionNorm, la.ln2Rstd, N, C);

    // attention block: gradients w.r.t. the rotated q, k, rotated back in place
    be.matmul(lg.o, s.dh, la.att, C, H * hd, N, "tn", true);
    be.matmul(s.datt, s.dh, lw.o, N, H * hd, C, "nn", false);
    be.fill(s.dq, 0);
    be.fill(s.dk, 0);
    be.fill(s.dv, 0);
    be.attentionBackward(s.dq, s.dk, s.dv, s.datt, la.att, la.attState, la.q, la.k, la.v, B, T, H, G, hd);
    be.ropeInPlace(s.dq, a.ropeCos, a.ropeSin, B, T, H, hd, true);
    be.ropeInPlace(s.dk, a.ropeCos, a.ropeSin, B, T, G, hd, true);
    if (lg.qBias) be.biasBackward(lg.qBias, s.dq, N, H * hd);
    if (lg.kBias) be.biasBackward(lg.kBias, s.dk, N, G * hd);
    if (lg.vBias) be.biasBackward(lg.vBias, s.dv, N, G * hd);
    be.matmul(lg.q, s.dq, la.ln1, H * hd, C, N, "tn", true);
    be.matmul(lg.k, s.dk, la.ln1, G * hd, C, N, "tn", true);
    be.matmul(lg.v, s.dv, la.ln1, G * hd, C, N, "tn", true);
    be.matmul(s.dln, s.dq, lw.q, N, C, H * hd, "nn", false);
    be.matmul(s.dln, s.dk, lw.k, N, C, G * hd, "nn", true);
    be.matmul(s.dln, s.dv, lw.v, N, C, G * hd, "nn", true);
    be.rmsnormBackward(s.dh, lg.inputNorm, s.dln, hIn, lw.inputNorm, la.ln1Rstd, N, C);
  }
  if (jreg.layers[0]) be.accumulate(s.dh, s.pending);
  be.embeddingBackward(g.embed, a.inputs, s.dh, N, C);
}
