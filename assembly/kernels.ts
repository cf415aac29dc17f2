// Entry point of the CPU engine (build/engine.wasm and build/engine-threads.wasm).
// Kernels never allocate: the host owns all memory above heapBase() and passes
// byte offsets. Each kernel family lives in its own file and is re-exported here.

/** First byte the host may use for its arena. */
export function heapBase(): usize {
  return __heap_base;
}

export * from "./matmul";
export * from "./simd-peak";
export { kernelsRelaxed } from "./mul-add";
export * from "./embedding";
export * from "./rmsnorm";
export * from "./rope";
export * from "./swiglu";
export * from "./bias";
export * from "./elementwise";
export * from "./init";
export * from "./optimizer";
export * from "./attention";
export * from "./cross-entropy";
export * from "./jreg";
export * from "./reduce";
export * from "./step-scalars";
