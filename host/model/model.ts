// A Llama model on a backend: its weights, activation buffers, and the passes
// that read results back (evaluation, hidden states, jump profile).
import { DistanceKind, type Backend } from "../backend/backend.ts";
import type { Checkpoint } from "../io/checkpoint.ts";
import { allocateActivations, type Activations } from "./activations.ts";
import { splitInputsTargets, validateBatch, type TokenBatch } from "./batch.ts";
import { validateConfig, type ModelConfig } from "./config.ts";
import { jumpStrength, regularizer, validateJreg, type JregOptions } from "./jreg.ts";
import { forward } from "./llama.ts";
import { allocateWeightSet, parameterLayout, splitByName, type ParameterLayout, type WeightSet } from "./weights.ts";

/** Standard deviation of the normal init of matrices and embeddings (DESIGN.md). */
export const INIT_STD = 0.02;

export interface Evaluation {
  ce: number;
  R: number;
  loss: number;
  D_angular: number[];
  D_cosine: number[];
  J_angular: number;
  J_cosine: number;
}

export class LlamaModel {
  readonly layout: ParameterLayout;
  readonly weights: WeightSet;
  private acts: Activations | undefined;

  private constructor(
    readonly backend: Backend,
    readonly config: ModelConfig,
  ) {
    this.layout = parameterLayout(config);
    this.weights = allocateWeightSet(backend, config, this.layout, "weights");
  }

  /** A fresh model: normal(0, 0.02) matrices and embeddings, norms 1; seeded and identical on every runtime. */
  static create(backend: Backend, config: ModelConfig, seed = 0): LlamaModel {
    const m = new LlamaModel(backend, validateConfig(config));
    m.layout.specs.forEach((s, i) => {
      const t = m.weights.byName.get(s.name)!;
      if (s.kind === "norm") backend.fill(t, 1);
      else backend.initNormal(t, INIT_STD, seed, i);
    });
    return m;
  }

  static fromCheckpoint(backend: Backend, ckpt: Checkpoint): LlamaModel {
    const m = new LlamaModel(backend, validateConfig(ckpt.config));
    for (const s of m.layout.specs) {
      const data = ckpt.tensors.get(s.name);
      if (!data) throw new Error(`checkpoint is missing ${s.name}`);
      if (data.length !== s.size) throw new Error(`checkpoint tensor ${s.name} has ${data.length} values, expected ${s.size}`);
      backend.write(m.weights.byName.get(s.name)!, data);
    }
    return m;
  }

  async toCheckpoint(): Promise<Checkpoint> {
    const tensors = splitByName(this.layout, await this.backend.read(this.weights.all));
    return { config: { ...this.config }, tensors };
  }

  /** Validates the batch, uploads it and returns activation buffers of its shape (reused across calls). */
  prepare(batch: TokenBatch): Activations {
    const T = validateBatch(batch, this.config);
    if (!this.acts || this.acts.batch !== batch.batch || this.acts.seq !== T) {
      this.acts = allocateActivations(this.backend, this.config, batch.batch, T);
    }
    const { inputs, targets } = splitInputsTargets(batch);
    this.backend.write(this.acts.inputs, inputs);
    this.backend.write(this.acts.targets, targets);
    return this.acts;
  }

  /** Runs the forward pass on a batch and leaves its activations in place. */
  run(batch: TokenBatch): Activations {
    const a = this.prepare(batch);
    forward(this.backend, this.config, this.weights, a);
    return a;
  }

  /** Per-layer mean distance D_l for transitions 1..L. */
  async layerDistances(a: Activations, kind: DistanceKind): Promise<number[]> {
    const out: number[] = [];
    for (let l = 0; l < this.config.numLayers; l++) {
      this.backend.distanceFromCos(a.distance, a.cos[l]!, a.tokens, kind);
      out.push(await this.backend.mean(a.distance));
    }
    return out;
  }

  /** CE, R, loss and the jump profile (both distances) of one batch. */
  async evaluate(batch: TokenBatch, jreg: Partial<JregOptions> = {}): Promise<Evaluation> {
    const opts = validateJreg(jreg, this.config.numLayers);
    const a = this.run(batch);
    return this.summarize(a, opts);
  }

  async summarize(a: Activations, opts: JregOptions): Promise<Evaluation & { dR: number[] }> {
    const ce = await this.backend.mean(a.losses);
    const D_angular = await this.layerDistances(a, DistanceKind.Angular);
    const D_cosine = await this.layerDistances(a, DistanceKind.Cosine);
    const lossProfile = opts.distance === "cosine" ? D_cosine : await this.layerDistances(a, DistanceKind.AngularLoss);
    const { R, dR } = regularizer(lossProfile, opts);
    return {
      ce,
      R,
      loss: opts.alpha === 0 ? ce : ce + opts.alpha * R,
      D_angular,
      D_cosine,
      J_angular: jumpStrength(D_angular),
      J_cosine: jumpStrength(D_cosine),
      dR,
    };
  }

  /** Logits [B·T·V] and hidden states h_0..h_L (each [B·T·hidden]) of one batch. */
  async forwardWithHiddenStates(batch: TokenBatch): Promise<{ logits: Float32Array; hiddenStates: Float32Array[] }> {
    const a = this.run(batch);
    const hiddenStates: Float32Array[] = [];
    for (const h of a.h) hiddenStates.push(await this.backend.read(h));
    return { logits: await this.backend.read(a.logits), hiddenStates };
  }

  /** Per-token distance of every transition, as [L][B·T] (the kernels' values, read back). */
  async tokenDistances(a: Activations, kind: DistanceKind): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let l = 0; l < this.config.numLayers; l++) {
      this.backend.distanceFromCos(a.distance, a.cos[l]!, a.tokens, kind);
      out.push(await this.backend.read(a.distance));
    }
    return out;
  }
}
