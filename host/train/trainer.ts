// One optimizer step at a time: forward, CE + α·R, backward, global-norm clipping,
// AdamW (or SGD) with the learning-rate schedule. A non-finite loss or gradient is
// reported and the step is skipped, leaving weights and optimizer state untouched.
import { DistanceKind, type Backend } from "../backend/backend.ts";
import { allocateGradScratch, type GradScratch } from "../model/activations.ts";
import type { TokenBatch } from "../model/batch.ts";
import { validateJreg, type JregOptions } from "../model/jreg.ts";
import { backward } from "../model/llama.ts";
import type { LlamaModel } from "../model/model.ts";
import { allocateWeightSet, splitByName, type WeightSet } from "../model/weights.ts";
import { learningRate } from "./schedule.ts";

export type OptimizerName = "adamw" | "sgd";

export interface TrainConfig {
  optimizer: OptimizerName;
  lr: number;
  minLr: number;
  warmupSteps: number;
  /** cosine decay horizon in steps; 0 keeps lr constant after warm-up */
  decaySteps: number;
  /** AdamW decoupled weight decay; applied to matrices and embeddings, never norms */
  weightDecay: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** clip the global gradient norm to this value; 0 disables clipping */
  clip: number;
  jreg: JregOptions;
}

export const DEFAULT_TRAIN: TrainConfig = {
  optimizer: "adamw",
  lr: 1e-3,
  minLr: 1e-4,
  warmupSteps: 0,
  decaySteps: 0,
  weightDecay: 0.1,
  beta1: 0.9,
  beta2: 0.95,
  eps: 1e-8,
  clip: 1.0,
  jreg: { alpha: 0, distance: "cosine", lastK: 1, normalize: "none" },
};

export interface StepResult {
  /** 0-based index of this step */
  step: number;
  loss: number;
  ce: number;
  /** R, the regularizer value (before α) */
  jreg: number;
  gradNorm: number;
  lr: number;
  /** set when the step was skipped, with the reason */
  skipped?: string;
}

export class TrainConfigError extends Error {
  override name = "TrainConfigError";
}

export function validateTrainConfig(cfg: Partial<TrainConfig>, numLayers: number): TrainConfig {
  const c: TrainConfig = { ...DEFAULT_TRAIN, ...cfg, jreg: validateJreg({ ...DEFAULT_TRAIN.jreg, ...cfg.jreg }, numLayers) };
  if (c.optimizer !== "adamw" && c.optimizer !== "sgd") {
    throw new TrainConfigError(`optimizer must be "adamw" or "sgd", got ${JSON.stringify(cfg.optimizer)}`);
  }
  const check = (name: keyof TrainConfig, ok: (v: number) => boolean, range: string) => {
    const v = c[name] as unknown;
    if (typeof v !== "number" || !Number.isFinite(v) || !ok(v)) {
      throw new TrainConfigError(`train.${name} must be ${range}, got ${String(v)}`);
    }
  };
  check("lr", (v) => v >= 0, "a finite number ≥ 0");
  check("minLr", (v) => v >= 0, "a finite number ≥ 0");
  check("warmupSteps", (v) => Number.isInteger(v) && v >= 0, "an integer ≥ 0");
  check("decaySteps", (v) => Number.isInteger(v) && v >= 0, "an integer ≥ 0");
  check("weightDecay", (v) => v >= 0 && v < 1, "in [0, 1)");
  check("beta1", (v) => v >= 0 && v < 1, "in [0, 1)");
  check("beta2", (v) => v >= 0 && v < 1, "in [0, 1)");
  check("eps", (v) => v > 0, "a finite number > 0");
  check("clip", (v) => v >= 0, "a finite number ≥ 0 (0 disables clipping)");
  return c;
}

export class Trainer {
  readonly config: TrainConfig;
  readonly grads: WeightSet;
  private moments: { m: WeightSet; v: WeightSet } | undefined;
  private scratch: GradScratch | undefined;
  /** steps taken so far (skipped steps included, so the schedule advances) */
  stepCount = 0;
  /** optimizer updates applied (AdamW bias correction counts these) */
  updates = 0;

  constructor(
    readonly model: LlamaModel,
    config: Partial<TrainConfig> = {},
  ) {
    this.config = validateTrainConfig(config, model.config.numLayers);
    this.grads = allocateWeightSet(model.backend, model.config, model.layout, "grads");
  }

  private get backend(): Backend {
    return this.model.backend;
  }

  /** One optimizer step on the batch (skipped, with the reason, if loss or gradient is non-finite). */
  async step(batch: TokenBatch): Promise<StepResult> {
    const result = await this.computeGradients(batch);
    if (result.skipped) return result;
    const cfg = this.config;
    if (cfg.clip > 0) {
      // torch.nn.utils.clip_grad_norm_'s coefficient
      const coef = cfg.clip / (result.gradNorm + 1e-6);
      if (coef < 1) this.backend.scale(this.grads.all, coef);
    }
    this.apply(result.lr);
    return result;
  }

  /**
   * Forward, loss and backward without an update: leaves the gradient of
   * CE + α·R in `grads` and advances the step counter.
   */
  async computeGradients(batch: TokenBatch): Promise<StepResult> {
    const { model, config: cfg } = this;
    const be = this.backend;
    const step = this.stepCount++;
    const lr = learningRate(cfg, step);

    const a = model.run(batch);
    const ev = await model.summarize(a, cfg.jreg);
    const result: StepResult = { step, loss: ev.loss, ce: ev.ce, jreg: ev.R, gradNorm: NaN, lr };
    if (!Number.isFinite(ev.loss)) return { ...result, skipped: `non-finite loss (ce ${ev.ce}, R ${ev.R})` };

    if (!this.scratch || this.scratch.dh.length < a.tokens * model.config.hiddenSize) {
      this.scratch = allocateGradScratch(be, model.config, a.tokens);
    }
    be.fill(this.grads.all, 0);
    // With α = 0 no JREG op runs at all, so loss and gradients are exactly CE's.
    const alpha = cfg.jreg.alpha;
    const dRdD = ev.dR.map((d) => (alpha === 0 ? 0 : alpha * d));
    const kind = cfg.jreg.distance === "cosine" ? DistanceKind.Cosine : DistanceKind.AngularLoss;
    backward(be, model.config, model.weights, this.grads, a, this.scratch, dRdD, kind);

    result.gradNorm = Math.sqrt(await be.sumSquares(this.grads.all));
    if (!Number.isFinite(result.gradNorm)) return { ...result, skipped: "non-finite gradient" };
    return result;
  }

  /** The current gradients by parameter name (after computeGradients; after step they are clipped). */
  async readGradients(): Promise<Map<string, Float32Array>> {
    return splitByName(this.model.layout, await this.backend.read(this.grads.all));
  }

  private apply(lr: number): void {
    const be = this.backend;
    const cfg = this.config;
    this.updates++;
    if (cfg.optimizer === "sgd") {
      be.sgdStep(this.model.weights.all, this.grads.all, lr);
      return;
    }
    this.moments ??= {
      m: allocateWeightSet(be, this.model.config, this.model.layout, "adam.m"),
      v: allocateWeightSet(be, this.model.config, this.model.layout, "adam.v"),
    };
    const { m, v } = this.moments;
    for (const s of this.model.layout.specs) {
      be.adamwStep(this.model.weights.byName.get(s.name)!, this.grads.byName.get(s.name)!, m.byName.get(s.name)!, v.byName.get(s.name)!, {
        lr,
        beta1: cfg.beta1,
        beta2: cfg.beta2,
        eps: cfg.eps,
        weightDecay: s.kind === "norm" ? 0 : cfg.weightDecay,
        step: this.updates,
      });
    }
  }
}
