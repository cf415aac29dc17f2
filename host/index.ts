// Public, runtime-neutral API of the JREG engine.
export { instantiateEngine, Arena, sharedMemorySupported } from "./backend/wasm/engine-module.ts";
export * from "./io/index.ts";
export * from "./model/config.ts";
export * from "./model/parameters.ts";
export * from "./engine.ts";
export type { Backend, Tensor, MatmulLayout, AdamWHyper } from "./backend/backend.ts";
export { DistanceKind } from "./backend/backend.ts";
export { WasmBackend } from "./backend/wasm/wasm-backend.ts";
export { LlamaModel, INIT_STD, type Evaluation } from "./model/model.ts";
export { BatchError, validateBatch, splitInputsTargets } from "./model/batch.ts";
export * from "./model/jreg.ts";
export { Trainer, DEFAULT_TRAIN, TrainConfigError, validateTrainConfig, type TrainConfig, type StepResult } from "./train/trainer.ts";
export { learningRate, type ScheduleConfig } from "./train/schedule.ts";
export { jumpProfile, PROFILE_QUANTILES, HISTOGRAM_BINS, type JumpProfile, type TokenStats } from "./analysis/jump-profile.ts";
export { CpuReducer } from "./analysis/cpu-reducer.ts";
export { ThreadPool } from "./backend/wasm/thread-pool.ts";
export { WasmMatmul } from "./backend/wasm/matmul.ts";
export * from "./tokenizer/index.ts";
