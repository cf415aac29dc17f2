// Entry point of the CPU engine (build/engine.wasm and build/engine-threads.wasm).
// Kernels never allocate: the host owns all memory above heapBase() and passes
// byte offsets. Each kernel family lives in its own file and is re-exported here.

/** First byte the host may use for its arena. */
export function heapBase(): usize {
  return __heap_base;
}
