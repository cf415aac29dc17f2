// Public, runtime-neutral API of the JREG engine.
export { instantiateEngine, Arena, sharedMemorySupported } from "./backend/wasm/engine-module.ts";
export * from "./io/index.ts";
export * from "./model/config.ts";
export * from "./model/parameters.ts";
