// Internals for tests and benchmarks (bundled to dist/internal.js): not the
// public API, which is index.ts. Everything public is re-exported too, so a test
// can take all it needs from one module instance.
export * from "./index.ts";
export { instantiateEngine, Arena, ARENA_ALIGNMENT, sharedMemorySupported } from "./backend/wasm/engine-module.ts";
export { withFixedMemoryImport, FixedMemoryError, preferFixedSharedMemory } from "./backend/wasm/fixed-memory.ts";
export { ThreadPool } from "./backend/wasm/thread-pool.ts";
export { WasmMatmul } from "./backend/wasm/wasm-matmul.ts";
export { WasmBackend, type WasmBackendOptions } from "./backend/wasm/wasm-backend.ts";
export { StepSlot, coefSlot, stepScalarsLength } from "./backend/backend.ts";
export { CpuModule, loadCpuModule } from "./cpu/cpu-module.ts";
export { parameterLayout, PARAMETER_ALIGNMENT } from "./model/weights.ts";
export { lmHeadRows, checkActivationLimits } from "./model/activations.ts";
export { exitChunks } from "./analysis/streaming-forward.ts";
export { loadCorpus } from "./data/corpus.ts";
export { splitDocuments } from "./data/split.ts";
export * from "./research/index.ts";
export * from "./report/largest-jump.ts";
