// Training steps: forward, CE + α·R, backward, global-norm clipping, AdamW (or
// SGD) with the learning-rate schedule. A step enqueues all of its work and reads
// nothing back while it runs: the loss, the profile D_l, R, α·dR/dD_l, the
// gradient norm, the clip scale and the skip flag live in a device tensor of step
// scalars (backend.ts StepSlot) that later ops consume; one read of that tensor,
// taken when the step has been enqueued, resolves the step's result. A non-finite
// loss or gradient is reported and the update skipped on the device, leaving
// weights and optimizer state untouched.
import { StepSlot, stepScalarsLength, type Backend, type JregScalarsSpec, type Tensor } from "../backend/backend.ts";
import { profileInto } from "../analysis/evaluate.ts";
import { allocateGradScratch, freeAll, type Activations, type GradScratch } from "../model/activations.ts";
import type { TokenBatch } from "../model/batch.ts";
import { DEFAULT_JREG, jregLayers, jregScalarsSpec, lossDistanceKind, validateJreg, type JregOptions } from "../model/jreg.ts";
import { backward, forward } from "../model/llama.ts";
import type { LlamaModel } from "../model/model.ts";
import { allocateWeightSet, joinByName, splitByName, type WeightSet } from "../model/weights.ts";
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
  jreg: DEFAULT_JREG,
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

/** What a resumed run needs besides the model's weights (names are HF parameter names). */
export interface TrainerState {
  /** steps taken so far (skipped steps included: the schedule advances) */
  stepCount: number;
  /** optimizer updates applied (AdamW bias correction counts these) */
  updates: number;
  /** AdamW's first and second moments; null for SGD */
  moments: { m: Map<string, Float32Array>; v: Map<string, Float32Array> } | null;
}

/** Codes of StepSlot.Skip. */
const SKIP_LOSS = 1;
const SKIP_GRADIENT = 2;

export class Trainer {
  readonly config: TrainConfig;
  readonly grads: WeightSet;
  private readonly moments: { m: WeightSet; v: WeightSet } | null;
  /** the step scalars (StepSlot layout); Updates persists across steps */
  private readonly scalars: Tensor;
  private readonly spec: JregScalarsSpec;
  private readonly jregOn: boolean[];
  private scratch: GradScratch | undefined;
  /** steps enqueued so far (skipped steps included, so the schedule advances) */
  stepCount = 0;
  /** optimizer updates applied, as of the last step result that resolved */
  updates = 0;

  constructor(
    readonly model: LlamaModel,
    config: Partial<TrainConfig> = {},
  ) {
    this.config = validateTrainConfig(config, model.config.numLayers);
    const be = model.backend;
    this.grads = allocateWeightSet(be, model.config, model.layout, "grads");
    this.moments =
      this.config.optimizer === "adamw"
        ? { m: allocateWeightSet(be, model.config, model.layout, "adam.m"), v: allocateWeightSet(be, model.config, model.layout, "adam.v") }
        : null;
    this.scalars = be.alloc(stepScalarsLength(model.config.numLayers), "f32", "step scalars");
    be.fill(this.scalars, 0);
    this.spec = jregScalarsSpec(this.config.jreg, model.config.numLayers);
    this.jregOn = jregLayers(this.spec);
  }

  private get backend(): Backend {
    return this.model.backend;
  }

  /**
   * One optimizer step on the batch (skipped, with the reason, if loss or gradient
   * is non-finite). All work is enqueued before this returns, so a caller may
   * enqueue the next step before awaiting this one.
   */
  step(batch: TokenBatch): Promise<StepResult> {
    return this.enqueue(batch, true);
  }

  /**
   * Forward, loss and backward without an update: leaves the gradient of
   * CE + α·R in `grads` and advances the step counter.
   */
  computeGradients(batch: TokenBatch): Promise<StepResult> {
    return this.enqueue(batch, false);
  }

  private enqueue(batch: TokenBatch, update: boolean): Promise<StepResult> {
    const { model, config: cfg } = this;
    const be = this.backend;
    const L = model.config.numLayers;
    const s = this.scalars;
    let a: Activations;
    try {
      a = model.prepare(batch);
    } catch (e) {
      return Promise.reject(e);
    }
    const step = this.stepCount++;
    const lr = learningRate(cfg, step);
    const kind = lossDistanceKind(cfg.jreg);

    forward(be, model.config, model.weights, a);
    be.meanInto(s, StepSlot.Ce, a.losses);
    profileInto(be, a, kind, s, StepSlot.Profile);
    be.jregScalars(s, this.spec);

    if (!this.scratch || this.scratch.tokens !== a.tokens) {
      if (this.scratch) freeAll(be, this.scratch);
      this.scratch = undefined;
      this.scratch = allocateGradScratch(be, model.config, a.tokens);
    }
    be.fill(this.grads.all, 0);
    backward(be, model.config, model.weights, this.grads, a, this.scratch, { layers: this.jregOn, kind, scalars: s });
    be.sumSquaresInto(s, StepSlot.GradSumSquares, this.grads.all);

    if (update) {
      be.stepControl(s, { clip: cfg.clip });
      if (this.moments) {
        const { m, v } = this.moments;
        be.adamwStep(model.weights.all, this.grads.all, m.all, v.all, {
          lr,
          beta1: cfg.beta1,
          beta2: cfg.beta2,
          eps: cfg.eps,
          weightDecay: cfg.weightDecay,
          decayLength: model.layout.decayLength,
        }, s);
      } else {
        be.sgdStep(model.weights.all, this.grads.all, lr, s);
      }
    }
    return be.read(s).then((v) => this.result(v, step, lr, update));
  }

  private result(s: Float32Array, step: number, lr: number, update: boolean): StepResult {
    const ce = s[StepSlot.Ce]!;
    const R = s[StepSlot.R]!;
    const loss = s[StepSlot.Loss]!;
    // without stepControl (computeGradients), the norm and the verdict are made here the same way
    const gradNorm = update ? s[StepSlot.GradNorm]! : Math.fround(Math.sqrt(s[StepSlot.GradSumSquares]!));
    const skip = update ? s[StepSlot.Skip]! : !Number.isFinite(loss) ? SKIP_LOSS : !Number.isFinite(gradNorm) ? SKIP_GRADIENT : 0;
    if (update) this.updates = s[StepSlot.Updates]!;
    const r: StepResult = { step, loss, ce, jreg: R, gradNorm, lr };
    if (skip === SKIP_LOSS) return { ...r, gradNorm: NaN, skipped: `non-finite loss (ce ${ce}, R ${R})` };
    if (skip === SKIP_GRADIENT) return { ...r, skipped: "non-finite gradient" };
    return r;
  }

  /** The current gradients by parameter name (after computeGradients or step; not clipped). */
  async readGradients(): Promise<Map<string, Float32Array>> {
    return splitByName(this.model.layout, await this.backend.read(this.grads.all));
  }

  /** The state a resumed run needs, as of all steps enqueued so far (weights: model.toCheckpoint()). */
  async exportState(): Promise<TrainerState> {
    const be = this.backend;
    const stepCount = this.stepCount;
    const scalars = be.read(this.scalars);
    const m = this.moments ? be.read(this.moments.m.all) : null;
    const v = this.moments ? be.read(this.moments.v.all) : null;
    const updates = (await scalars)[StepSlot.Updates]!;
    const layout = this.model.layout;
    return {
      stepCount,
      updates,
      moments: m && v ? { m: splitByName(layout, await m), v: splitByName(layout, await v) } : null,
    };
  }

  /** Restores exportState's result into this trainer (same model config and optimizer). */
  importState(state: TrainerState): void {
    const be = this.backend;
    const check = (ok: boolean, what: string) => {
      if (!ok) throw new TrainConfigError(`trainer state: ${what}`);
    };
    check(Number.isInteger(state.stepCount) && state.stepCount >= 0, `stepCount must be an integer ≥ 0, got ${state.stepCount}`);
    check(Number.isInteger(state.updates) && state.updates >= 0 && state.updates <= state.stepCount, `updates must be an integer in [0, stepCount], got ${state.updates}`);
    check((state.moments === null) === (this.moments === null), `moments are ${state.moments ? "present" : "absent"} but the optimizer is ${this.config.optimizer}`);
    if (state.moments && this.moments) {
      be.write(this.moments.m.all, joinByName(this.model.layout, state.moments.m, "trainer state (m)"));
      be.write(this.moments.v.all, joinByName(this.model.layout, state.moments.v, "trainer state (v)"));
    }
    be.write(this.scalars, Float32Array.of(state.updates), StepSlot.Updates);
    this.stepCount = state.stepCount;
    this.updates = state.updates;
  }

  /** Frees the trainer's device buffers (gradients, moments, scratch, scalars). */
  dispose(): void {
    const be = this.backend;
    if (this.scratch) freeAll(be, this.scratch);
    this.scratch = undefined;
    be.free(this.grads.all);
    if (this.moments) {
      be.free(this.moments.m.all);
      be.free(this.moments.v.all);
    }
    be.free(this.scalars);
  }
}
