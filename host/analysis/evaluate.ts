// Evaluation of a model on a batch: CE, R, loss, the jump profile (both
// distances) and the early-exit CE of every layer. All reductions write into one
// device tensor of scalars, read back once.
import { DistanceKind, StepSlot, stepScalarsLength, type Backend, type Tensor } from "../backend/backend.ts";
import type { Activations } from "../model/activations.ts";
import type { TokenBatch } from "../model/batch.ts";
import { jregScalarsSpec, jumpStrength, lossDistanceKind, validateJreg, type JregOptions } from "../model/jreg.ts";
import { lossHead } from "../model/llama.ts";
import type { LlamaModel } from "../model/model.ts";

export interface Evaluation {
  ce: number;
  R: number;
  loss: number;
  D_angular: number[];
  D_cosine: number[];
  J_angular: number;
  J_cosine: number;
  /** CE of lm_head(final_norm(h_l)) for l = 1..L; the last equals ce */
  early_exit_ce: number[];
}

/** Writes D_l (l = 0..L−1) of the distance `kind` into out[at + l]. */
export function profileInto(be: Backend, a: Activations, kind: DistanceKind, out: Tensor, at: number): void {
  for (let l = 0; l < a.layers.length; l++) {
    be.distanceFromCos(a.distance, a.cos[l]!, a.tokens, kind);
    be.meanInto(out, at + l, a.distance);
  }
}

/**
 * For each h_l (l = 1..L) of the forward in `a`: the CE of lm_head(final_norm(h_l)),
 * into out[at + l − 1]. Runs h_L last, so a.losses/lse/lnf end as the forward left them.
 */
export function earlyExitInto(model: LlamaModel, a: Activations, out: Tensor, at: number): void {
  const L = model.config.numLayers;
  for (let l = 1; l <= L; l++) {
    lossHead(model.backend, model.config, model.weights, a, a.h[l]!);
    model.backend.meanInto(out, at + l - 1, a.losses);
  }
}

/** Allocates a scalars tensor, runs `fill` on it, reads it once and frees it. */
export async function withScalars(be: Backend, length: number, label: string, fill: (s: Tensor) => void): Promise<Float32Array> {
  const s = be.alloc(length, "f32", label);
  try {
    be.fill(s, 0);
    fill(s);
    return await be.read(s);
  } finally {
    be.free(s);
  }
}

/** CE, R, loss, the jump profile (both distances) and the early-exit CE of one batch. */
export async function evaluate(model: LlamaModel, batch: TokenBatch, jreg: Partial<JregOptions> = {}): Promise<Evaluation> {
  const L = model.config.numLayers;
  const opts = validateJreg(jreg, L);
  const be = model.backend;
  const base = stepScalarsLength(L);
  const at = { angular: base, cosine: base + L, earlyExit: base + 2 * L };
  const s = await withScalars(be, base + 3 * L, "evaluation scalars", (s) => {
    const a = model.run(batch);
    be.meanInto(s, StepSlot.Ce, a.losses);
    profileInto(be, a, lossDistanceKind(opts), s, StepSlot.Profile);
    be.jregScalars(s, jregScalarsSpec(opts, L));
    profileInto(be, a, DistanceKind.Angular, s, at.angular);
    profileInto(be, a, DistanceKind.Cosine, s, at.cosine);
    earlyExitInto(model, a, s, at.earlyExit);
  });
  const D_angular = Array.from(s.subarray(at.angular, at.angular + L));
  const D_cosine = Array.from(s.subarray(at.cosine, at.cosine + L));
  const ce = s[StepSlot.Ce]!;
  const R = s[StepSlot.R]!;
  return {
    ce,
    R,
    // from the read-back ce and R in f64 (the device's f32 Loss rounds once more), exactly ce when α = 0
    loss: opts.alpha === 0 ? ce : ce + opts.alpha * R,
    D_angular,
    D_cosine,
    J_angular: jumpStrength(D_angular),
    J_cosine: jumpStrength(D_cosine),
    early_exit_ce: Array.from(s.subarray(at.earlyExit, at.earlyExit + L)),
  };
}

/** The early-exit CE of every layer l = 1..L: CE of lm_head(final_norm(h_l)); the last is the model's CE. */
export async function earlyExitCe(model: LlamaModel, batch: TokenBatch): Promise<number[]> {
  const L = model.config.numLayers;
  const s = await withScalars(model.backend, L, "early-exit scalars", (s) => earlyExitInto(model, model.run(batch), s, 0));
  return Array.from(s);
}
