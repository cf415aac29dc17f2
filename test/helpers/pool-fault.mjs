// Test-only fault injection for the wasm thread pool: makes a kernel worker die
// the way real workers die, at a chosen moment, without any hook in the engine.
// Loaded in every thread (as a `node --import` preload, or imported by
// pool-fault-worker.mjs, the worker script Deno and API tests point workerUrl at);
// it acts only in a kernel worker, i.e. a worker thread that instantiates the
// engine (the supervisor never does, the caller is the main thread).
//
// JREG_TEST_POOL_FAULT = "MODE:ARG:WHEN" — WHEN is N (the N-th kernel call in the
// worker) or file=PATH (the first kernel call once PATH exists; Node only):
//   exit:CODE:WHEN   process.exit(CODE) (Deno.exit) while the worker holds a chunk
//   throw:_:WHEN     the job loop itself throws, outside any kernel, after that call
const g = globalThis;
const env = g.Deno ? g.Deno.env.get("JREG_TEST_POOL_FAULT") : g.process?.env.JREG_TEST_POOL_FAULT;
const inWorker = g.Deno ? typeof g.WorkerGlobalScope !== "undefined" : !(await import("node:worker_threads")).isMainThread;

if (env && inWorker) {
  const [mode, arg, ...rest] = env.split(":");
  const when = rest.join(":");
  let calls = 0;
  let due;
  if (when.startsWith("file=")) {
    const { existsSync } = await import("node:fs");
    const path = when.slice(5);
    let fired = false;
    due = () => !fired && ++calls % 16 === 0 && (fired = existsSync(path));
  } else {
    due = () => ++calls === Number(when);
  }
  const exit = (code) => (g.Deno ? g.Deno.exit(code) : g.process.exit(code));
  const realInstantiate = WebAssembly.instantiate;
  WebAssembly.instantiate = async (...a) => {
    const instance = await realInstantiate(...a);
    const exports = {};
    for (const [name, value] of Object.entries(instance.exports)) {
      exports[name] =
        typeof value !== "function"
          ? value
          : (...args) => {
              if (due()) {
                if (mode === "exit") exit(Number(arg));
                if (mode === "throw") {
                  const realWait = Atomics.wait;
                  Atomics.wait = () => {
                    Atomics.wait = realWait;
                    throw new Error("injected fault in the job loop");
                  };
                }
              }
              return value(...args);
            };
    }
    return { exports };
  };
}
