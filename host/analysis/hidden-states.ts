// Read-backs of one forward pass for analysis and tests: the logits, the residual
// states h_0..h_L, and the per-token distance of every transition.
import type { Backend, DistanceKind } from "../backend/backend.ts";
import type { Activations } from "../model/activations.ts";
import type { TokenBatch } from "../model/batch.ts";
import type { LlamaModel } from "../model/model.ts";

/** Logits [B·T·V] and hidden states h_0..h_L (each [B·T·hidden]) of one batch. */
export async function forwardWithHiddenStates(model: LlamaModel, batch: TokenBatch): Promise<{ logits: Float32Array; hiddenStates: Float32Array[] }> {
  const be = model.backend;
  const V = model.config.vocabSize;
  // the LM head may run in row chunks that share one logits buffer: read each as it is made
  const chunks: Array<{ start: number; rows: number; data: Promise<Float32Array> }> = [];
  const a = model.run(batch, (logits, start, rows) => chunks.push({ start, rows, data: be.read(logits) }));
  const hidden = a.h.map((h) => be.read(h));
  const logits = new Float32Array(a.tokens * V);
  for (const c of chunks) logits.set((await c.data).subarray(0, c.rows * V), c.start * V);
  return { logits, hiddenStates: await Promise.all(hidden) };
}

/** Per-token distance of every transition, as [kind][L][B·T] (the kernels' values, read back), of the forward in `a`. */
export function tokenDistances(be: Backend, a: Activations, kinds: readonly DistanceKind[]): Promise<Float32Array[][]> {
  const out: Promise<Float32Array>[][] = kinds.map(() => []);
  kinds.forEach((kind, k) => {
    for (let l = 0; l < a.layers.length; l++) {
      be.distanceFromCos(a.distance, a.cos[l]!, a.tokens, kind);
      out[k]!.push(be.read(a.distance));
    }
  });
  return Promise.all(out.map((ps) => Promise.all(ps)));
}
