// The host API's entry point: an engine owns a backend and makes models and trainers.
//
//   const engine = await createEngine({ backend: "auto" });
//   const model = engine.createModel(PRESETS.tiny, { seed: 1 });
//   const trainer = engine.createTrainer(model, { lr: 1e-3, jreg: { alpha: 3 } });
//   const r = await trainer.step(batch);           // {loss, ce, jreg, gradNorm, lr}
//   const p = await engine.jumpProfile(model, batch); // D_l, J, per-token statistics
//   const e = await engine.evaluate(model, batch);    // CE, R, D_l, J, early-exit CE
import type { Backend } from "./backend/backend.ts";
import { WasmBackend } from "./backend/wasm/wasm-backend.ts";
import type { KernelVariant } from "./backend/wasm/engine-module.ts";
import { WebGpuBackend } from "./backend/webgpu/webgpu-backend.ts";
import { hardwareGpuMayExist, isSoftwareAdapter, NoAdapterError, requestAdapter } from "./backend/webgpu/adapter.ts";
import type { Checkpoint } from "./io/checkpoint.ts";
import type { ModelConfig } from "./model/config.ts";
import { LlamaModel } from "./model/model.ts";
import type { TokenBatch } from "./model/batch.ts";
import { Trainer, type TrainConfig } from "./train/trainer.ts";
import { jumpProfile, type JumpProfile } from "./analysis/jump-profile.ts";
import { earlyExitCe, evaluate, type Evaluation } from "./analysis/evaluate.ts";
import { loadCpuModule } from "./cpu/cpu-module.ts";
import type { JregOptions } from "./model/jreg.ts";

export type BackendName = "wasm" | "webgpu" | "auto";

export interface EngineOptions {
  /** "auto" takes WebGPU only on a real (non-fallback) GPU adapter, else wasm */
  backend?: BackendName;
  /** wasm: threads including the calling one (default: up to 8, where shared memory works) */
  threads?: number;
  /** webgpu: bind at most this many bytes per buffer (default: the device's limit); smaller splits more */
  maxBindingBytes?: number;
  /**
   * wasm: the URL of the thread-pool worker script. Default: guessed from this
   * module's URL, which holds for dist/ as built; a page bundled by another tool
   * passes where it put host/backend/wasm/worker.ts's bundle.
   */
  workerUrl?: URL | string;
  /**
   * wasm: "exact" (default) gives the same bits in every runtime and for any
   * thread count; "relaxed" uses fused multiply-adds (relaxed SIMD) in the matmul
   * and attention micro-kernels: faster, but deterministic only on one machine and
   * runtime. Node 20 needs --experimental-wasm-relaxed-simd for it.
   */
  kernels?: KernelVariant;
}

export class BackendUnavailableError extends Error {
  override name = "BackendUnavailableError";
}

export interface Engine {
  readonly backend: Backend;
  createModel(config: ModelConfig, opts?: { seed?: number }): LlamaModel;
  loadModel(ckpt: Checkpoint): LlamaModel;
  createTrainer(model: LlamaModel, config?: Partial<Omit<TrainConfig, "jreg">> & { jreg?: Partial<TrainConfig["jreg"]> }): Trainer;
  jumpProfile(model: LlamaModel, batch: TokenBatch): Promise<JumpProfile>;
  /** CE, R, loss, D_l, J and the early-exit CE of every layer on one batch */
  evaluate(model: LlamaModel, batch: TokenBatch, jreg?: Partial<JregOptions>): Promise<Evaluation>;
  earlyExitCe(model: LlamaModel, batch: TokenBatch): Promise<number[]>;
  dispose(): Promise<void>;
}

export async function createEngine(opts: EngineOptions = {}): Promise<Engine> {
  const name = opts.backend ?? "auto";
  if (name !== "wasm" && name !== "webgpu" && name !== "auto") {
    throw new BackendUnavailableError(`backend must be "wasm", "webgpu" or "auto", got ${JSON.stringify(name)}`);
  }
  const backend = await createBackend(name, opts);
  const cpu = await loadCpuModule();
  return {
    backend,
    createModel: (config, o = {}) => LlamaModel.create(backend, cpu, config, o.seed ?? 0),
    loadModel: (ckpt) => LlamaModel.fromCheckpoint(backend, cpu, ckpt),
    createTrainer: (model, config = {}) => new Trainer(model, config as Partial<TrainConfig>),
    jumpProfile: (model, batch) => jumpProfile(model, batch),
    evaluate: (model, batch, jreg) => evaluate(model, batch, jreg),
    earlyExitCe: (model, batch) => earlyExitCe(model, batch),
    dispose: () => backend.dispose(),
  };
}

/**
 * "webgpu": the WebGPU backend on any adapter, software ones included (a clear
 * error when there is none). "auto": WebGPU only on a real GPU, else wasm.
 */
export async function createBackend(name: BackendName, opts: EngineOptions): Promise<Backend> {
  if (name === "webgpu") {
    try {
      return await WebGpuBackend.create({ maxBindingBytes: opts.maxBindingBytes });
    } catch (e) {
      if (e instanceof NoAdapterError) {
        throw new BackendUnavailableError(`--backend webgpu: ${e.message}. Use --backend wasm (or auto) on this machine.`);
      }
      throw e;
    }
  }
  const wasm = () => WasmBackend.create({ threads: opts.threads, workerUrl: opts.workerUrl, kernels: opts.kernels });
  if (name === "wasm" || !(await hardwareGpuMayExist())) return wasm();
  try {
    const { adapter } = await requestAdapter();
    if (!isSoftwareAdapter(adapter)) return await WebGpuBackend.create({ adapter, maxBindingBytes: opts.maxBindingBytes });
  } catch {
    // no adapter, or it would not open: the CPU backend serves
  }
  return wasm();
}
