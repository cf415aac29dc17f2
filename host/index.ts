// Public, runtime-neutral API of the JREG engine.
export { instantiateEngine, Arena, sharedMemorySupported } from "./backend/wasm/engine-module.ts";
