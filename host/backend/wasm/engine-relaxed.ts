// The relaxed-SIMD (FMA) builds of the engine (assembly/mul-add.ts), in a module
// of their own so that engine-module.ts imports them only when asked for
// kernels: "relaxed": the default path never loads or compiles them, and the web
// build (scripts/build-web.mjs) replaces them with empty arrays.
import engineRelaxedBytes from "../../../build/engine-relaxed.wasm";
import engineThreadsRelaxedBytes from "../../../build/engine-threads-relaxed.wasm";

export const relaxedBytes = { plain: engineRelaxedBytes as Uint8Array, threads: engineThreadsRelaxedBytes as Uint8Array };
