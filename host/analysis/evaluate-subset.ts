// Evaluation over several batches (a run's fixed validation subset): every
// per-batch quantity averaged with each batch weighted by its target tokens, so
// the result is the mean over all tokens of the subset whatever the batching.
// J is recomputed from the averaged profile (the ratio of mean distances, not a
// mean of per-batch ratios), which is what the D_l shown beside it gives.
import type { TokenBatch } from "../model/batch.ts";
import { jumpStrength, type JregOptions } from "../model/jreg.ts";
import type { LlamaModel } from "../model/model.ts";
import { evaluate, type Evaluation } from "./evaluate.ts";

export interface SubsetEvaluation extends Evaluation {
  /** target tokens evaluated (rows × sequence length, summed over batches) */
  tokens: number;
}

function addScaled(into: number[], xs: readonly number[], w: number): void {
  for (let i = 0; i < xs.length; i++) into[i] = (into[i] ?? 0) + w * xs[i]!;
}

export async function evaluateSubset(model: LlamaModel, batches: readonly TokenBatch[], jreg: Partial<JregOptions> = {}): Promise<SubsetEvaluation> {
  if (batches.length === 0) throw new Error("evaluateSubset: no batches to evaluate");
  let tokens = 0;
  let ce = 0;
  let R = 0;
  let loss = 0;
  const D_angular: number[] = [];
  const D_cosine: number[] = [];
  const early: number[] = [];
  for (const b of batches) {
    const e = await evaluate(model, b, jreg);
    const w = b.batch * (b.length - 1);
    tokens += w;
    ce += w * e.ce;
    R += w * e.R;
    loss += w * e.loss;
    addScaled(D_angular, e.D_angular, w);
    addScaled(D_cosine, e.D_cosine, w);
    addScaled(early, e.early_exit_ce, w);
  }
  const mean = (xs: number[]) => xs.map((x) => x / tokens);
  const Da = mean(D_angular);
  const Dc = mean(D_cosine);
  return {
    ce: ce / tokens,
    R: R / tokens,
    loss: loss / tokens,
    D_angular: Da,
    D_cosine: Dc,
    J_angular: jumpStrength(Da),
    J_cosine: jumpStrength(Dc),
    early_exit_ce: mean(early),
    tokens,
  };
}
