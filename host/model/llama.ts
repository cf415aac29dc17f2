// The Llama forward and backward passes, written once against the Backend op set.
// Read top to bottom, each is a list of op calls (llm.c style); no kernel lives here.
// Semantics are Hugging Face LlamaForCausalLM's (DESIGN.md "Model").
import { DistanceKind, type Backend } from "../backend/backend.ts";
import type { Activations, GradScratch } from "./activations.ts";
import { headDim, type ModelConfig } from "./config.ts";
import type { WeightSet } from "./weights.ts";

/** The sizes both passes use: batch, sequence, tokens, hidden, ffn, heads, kv heads, head dim. */
function dims(c: ModelConfig, a: Activations) {
  return { B: a.batch, T: a.seq, N: a.tokens, C: c.hiddenSize, F: c.intermediateSize, H: c.numHeads, G: c.numKvHeads, hd: headDim(c) };
}

/** Forward pass over inputs already in `a.inputs` / `a.targets`; fills every saved activation. */
export function forward(be: Backend, c: ModelConfig, w: WeightSet, a: Activations): void {
  const { B, T, N, C, F, H, G, hd } = dims(c, a);

  be.ropeTable(a.ropeCos, a.ropeSin, T, hd, c.ropeTheta);
  be.embeddingForward(a.h[0]!, a.inputs, w.embed, N, C);

  for (let l = 0; l < c.numLayers; l++) {
    const lw = w.layers[l]!;
    const la = a.layers[l]!;
    const hIn = a.h[l]!;
    const hOut = a.h[l + 1]!;

    // attention block: hMid = hIn + o_proj(attn(rope(q), rope(k), v))
    be.rmsnormForward(la.ln1, la.ln1Rstd, hIn, lw.inputNorm, N, C, c.rmsEps);
    be.matmul(la.q, la.ln1, lw.q, N, H * hd, C, "nt", false);
    be.matmul(la.k, la.ln1, lw.k, N, G * hd, C, "nt", false);
    be.matmul(la.v, la.ln1, lw.v, N, G * hd, C, "nt", false);
    be.ropeForward(la.q, la.q, a.ropeCos, a.ropeSin, B, T, H, hd);
    be.ropeForward(la.k, la.k, a.ropeCos, a.ropeSin, B, T, G, hd);
    be.attentionForward(la.att, la.probs, la.q, la.k, la.v, B, T, H, G, hd);
    be.copy(la.hMid, hIn);
    be.matmul(la.hMid, la.att, lw.o, N, C, H * hd, "nt", true);

    // MLP block: hOut = hMid + down(silu(gate(x)) · up(x)), x = RMSNorm(hMid)
    be.rmsnormForward(la.ln2, la.ln2Rstd, la.hMid, lw.postAttentionNorm, N, C, c.rmsEps);
    be.matmul(la.gate, la.ln2, lw.gate, N, F, C, "nt", false);
    be.matmul(la.up, la.ln2, lw.up, N, F, C, "nt", false);
    be.swigluForward(la.act, la.gate, la.up, N * F);
    be.copy(hOut, la.hMid);
    be.matmul(hOut, la.act, lw.down, N, C, F, "nt", true);

    // per-token cosine of the transition h_l → h_{l+1}, for JREG and the jump profile
    be.cosineForward(a.cos[l]!, a.normA[l]!, a.normB[l]!, hIn, hOut, N, C);
  }

  be.rmsnormForward(a.lnf, a.lnfRstd, a.h[c.numLayers]!, w.finalNorm, N, C, c.rmsEps);
  be.matmul(a.logits, a.lnf, w.lmHead, N, c.vocabSize, C, "nt", false);
  be.crossEntropyForward(a.losses, a.lse, a.logits, a.targets, N, c.vocabSize);
}

/**
 * Backward pass of CE + α·R. `dRdD[l]` is α·dR/dD_l for each transition (all zero
 * when α = 0, and then no JREG op runs at all, so the result is plain CE's).
 * Gradients accumulate into `g`, which the caller zeroes. Overwrites a.logits.
 */
export function backward(
  be: Backend,
  c: ModelConfig,
  w: WeightSet,
  g: WeightSet,
  a: Activations,
  s: GradScratch,
  dRdD: readonly number[],
  lossDistance: DistanceKind,
): void {
  const { B, T, N, C, F, H, G, hd } = dims(c, a);
  const L = c.numLayers;

  // loss head: dlogits (in place of logits) → lm_head and final norm
  be.crossEntropyBackward(a.logits, a.logits, a.lse, a.targets, N, c.vocabSize, 1 / N);
  const dlogits = a.logits;
  be.matmul(g.lmHead, dlogits, a.lnf, c.vocabSize, C, N, "tn", true);
  be.matmul(s.dln, dlogits, w.lmHead, N, C, c.vocabSize, "nn", false);
  be.fill(s.dh, 0);
  be.rmsnormBackward(s.dh, g.finalNorm, s.dln, a.h[L]!, w.finalNorm, a.lnfRstd, N, C);

  be.fill(s.pending, 0);
  for (let l = L - 1; l >= 0; l--) {
    const lw = w.layers[l]!;
    const lg = g.layers[l]!;
    const la = a.layers[l]!;
    const hIn = a.h[l]!;
    const hOut = a.h[l + 1]!;

    // JREG: transition l+1's gradient w.r.t. h_{l+1} (as its "a") was parked in
    // `pending`; add it now, then this transition's parts: "b" → dh, "a" → pending.
    be.accumulate(s.dh, s.pending);
    be.fill(s.pending, 0);
    if (dRdD[l] !== 0) {
      be.distanceGrad(s.dcos, a.cos[l]!, N, lossDistance, dRdD[l]! / N);
      be.cosineBackward(s.pending, s.dh, s.dcos, hIn, hOut, a.cos[l]!, a.normA[l]!, a.normB[l]!, N, C);
    }

    // MLP block (dh flows through the residual unchanged and collects the branch)
    be.matmul(lg.down, s.dh, la.act, C, F, N, "tn", true);
    be.matmul(s.dact, s.dh, lw.down, N, F, C, "nn", false);
    be.fill(s.dgate, 0);
    be.fill(s.dup, 0);
    be.swigluBackward(s.dgate, s.dup, s.dact, la.gate, la.up, N * F);
    be.matmul(lg.gate, s.dgate, la.ln2, F, C, N, "tn", true);
    be.matmul(lg.up, s.dup, la.ln2, F, C, N, "tn", true);
    be.matmul(s.dln, s.dgate, lw.gate, N, C, F, "nn", false);
    be.matmul(s.dln, s.dup, lw.up, N, C, F, "nn", true);
    be.rmsnormBackward(s.dh, lg.postAttentionNorm, s.dln, la.hMid, lw.postAttentionNorm, la.ln2Rstd, N, C);

    // attention block
    be.matmul(lg.o, s.dh, la.att, C, H * hd, N, "tn", true);
    be.matmul(s.datt, s.dh, lw.o, N, H * hd, C, "nn", false);
    be.fill(s.dqRot, 0);
    be.fill(s.dkRot, 0);
    be.fill(s.dv, 0);
    be.attentionBackward(s.dqRot, s.dkRot, s.dv, s.datt, la.probs, la.q, la.k, la.v, B, T, H, G, hd);
    be.fill(s.dq, 0);
    be.fill(s.dk, 0);
    be.ropeBackward(s.dq, s.dqRot, a.ropeCos, a.ropeSin, B, T, H, hd);
    be.ropeBackward(s.dk, s.dkRot, a.ropeCos, a.ropeSin, B, T, G, hd);
    be.matmul(lg.q, s.dq, la.ln1, H * hd, C, N, "tn", true);
    be.matmul(lg.k, s.dk, la.ln1, G * hd, C, N, "tn", true);
    be.matmul(lg.v, s.dv, la.ln1, G * hd, C, N, "tn", true);
    be.matmul(s.dln, s.dq, lw.q, N, C, H * hd, "nn", false);
    be.matmul(s.dln, s.dk, lw.k, N, C, G * hd, "nn", true);
    be.matmul(s.dln, s.dv, lw.v, N, C, G * hd, "nn", true);
    be.rmsnormBackward(s.dh, lg.inputNorm, s.dln, hIn, lw.inputNorm, la.ln1Rstd, N, C);
  }
  be.accumulate(s.dh, s.pending);
  be.embeddingBackward(g.embed, a.inputs, s.dh, N, C);
}
