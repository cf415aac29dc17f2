// A Llama model on a backend: its weights and the activations of the last batch
// shape it ran. The graph itself is llama.ts; evaluation and analysis passes live
// in host/analysis, training in host/train.
import type { Backend, Tensor } from "../backend/backend.ts";
import type { CpuModule } from "../cpu/cpu-module.ts";
import type { Checkpoint } from "../io/checkpoint.ts";
import { allocateActivations, freeAll, type Activations } from "./activations.ts";
import { splitInputsTargets, validateBatch, type TokenBatch } from "./batch.ts";
import { headDim, validateConfig, type ModelConfig } from "./config.ts";
import { forward } from "./llama.ts";
import { allocateWeightSet, joinByName, parameterLayout, splitByName, type ParameterLayout, type WeightSet } from "./weights.ts";

/** Standard deviation of the normal init of matrices and embeddings (DESIGN.md). */
export const INIT_STD = 0.02;

export class LlamaModel {
  readonly layout: ParameterLayout;
  readonly weights: WeightSet;
  private acts: Activations | undefined;

  private constructor(
    readonly backend: Backend,
    /** the host CPU path: init values and RoPE tables come from here */
    readonly cpu: CpuModule,
    readonly config: ModelConfig,
  ) {
    this.layout = parameterLayout(config);
    this.weights = allocateWeightSet(backend, config, this.layout, "weights");
  }

  /**
   * A fresh model: normal(0, 0.02) matrices and embeddings (stream = the tensor's
   * index in the canonical order), norms 1; made on the host, identical on every backend.
   */
  static create(backend: Backend, cpu: CpuModule, config: ModelConfig, seed = 0): LlamaModel {
    const m = new LlamaModel(backend, cpu, validateConfig(config));
    const all = new Float32Array(m.layout.total);
    m.layout.specs.forEach((s, i) => {
      const values = s.kind === "norm" ? new Float32Array(s.size).fill(1) : cpu.normal(s.size, INIT_STD, seed, i);
      all.set(values, m.layout.offsets[i]!);
    });
    backend.write(m.weights.all, all);
    return m;
  }

  static fromCheckpoint(backend: Backend, cpu: CpuModule, ckpt: Checkpoint): LlamaModel {
    const m = new LlamaModel(backend, cpu, validateConfig(ckpt.config));
    backend.write(m.weights.all, joinByName(m.layout, ckpt.tensors, "checkpoint"));
    return m;
  }

  async toCheckpoint(): Promise<Checkpoint> {
    const tensors = splitByName(this.layout, await this.backend.read(this.weights.all));
    return { config: { ...this.config }, tensors };
  }

  /**
   * Validates the batch, uploads it and returns activation buffers of its shape.
   * A new shape frees the previous one's buffers and uploads its RoPE tables.
   */
  prepare(batch: TokenBatch): Activations {
    const T = validateBatch(batch, this.config);
    if (!this.acts || this.acts.batch !== batch.batch || this.acts.seq !== T) {
      if (this.acts) freeAll(this.backend, this.acts);
      this.acts = undefined;
      const a = allocateActivations(this.backend, this.config, batch.batch, T);
      const { cos, sin } = this.cpu.ropeTables(T, headDim(this.config), this.config.ropeTheta);
      this.backend.write(a.ropeCos, cos);
      this.backend.write(a.ropeSin, sin);
      this.acts = a;
    }
    const { inputs, targets } = splitInputsTargets(batch);
    this.backend.write(this.acts.inputs, inputs);
    this.backend.write(this.acts.targets, targets);
    return this.acts;
  }

  /**
   * Runs the forward pass on a batch and leaves its activations in place.
   * `onLogits(logits, start, rows)` sees each LM-head chunk's logits as they are made.
   */
  run(batch: TokenBatch, onLogits?: (logits: Tensor, start: number, rows: number) => void): Activations {
    const a = this.prepare(batch);
    forward(this.backend, this.config, this.weights, a, onLogits);
    return a;
  }

  /** Frees the weights and activations; the model cannot be used afterwards. */
  dispose(): void {
    if (this.acts) freeAll(this.backend, this.acts);
    this.acts = undefined;
    this.backend.free(this.weights.all);
  }
}
