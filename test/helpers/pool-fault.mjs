// Test-only fault injection for the wasm thread pool: makes a kernel worker die
// the way real workers die, at a chosen moment, without any hook in the engine.
// Loaded in every thread (as a `node --import` preload, or imported by
// pool-fault-worker.mjs, the worker script Deno, browser and API tests point
// workerUrl at); it acts only in a kernel worker, i.e. a worker thread that
// instantiates the engine (the supervisor never does, and the caller runs a
// script without the fault).
//
// The fault: JREG_TEST_POOL_FAULT in Node and Deno; in a browser, the `fault`
// parameter of the worker script's URL (pool-fault-worker.mjs?fault=…, which the
// pool hands on from the supervisor to its kernel workers).
//
// "MODE:ARG:WHEN" — WHEN is N (the N-th kernel call in the worker) or file=PATH
// (the first kernel call once PATH exists; Node only):
//   exit:CODE:WHEN    process.exit(CODE) (Deno.exit) while the worker holds a chunk
//   throw:_:WHEN      the job loop itself throws, outside any kernel, after that call
//   throw:busy:WHEN   the same, with every worker's event loop kept busy 50 ms at a
//                     time (the supervisor's, in effect: a kernel worker's never runs
//                     once it serves), as on a loaded machine: whatever reports the
//                     death then arrives while the supervisor is busy, and it takes
//                     the reports in the runtime's order, not in the order sent
//   oom:_:WHEN        the worker fills its JS heap while it holds a chunk, until the
//                     runtime stops it (Node: ERR_WORKER_OUT_OF_MEMORY; run the
//                     process with a small --max-old-space-size, which every
//                     isolate of the process takes)
//   terminate:_:WHEN  (browsers) the supervisor calls terminate() on the worker
//                     while it holds a chunk (it blocks there until it is gone).
//                     Not for Deno: Deno 2.9's terminate() takes effect only once
//                     the worker's current task ends (measured: a worker blocked
//                     or computing for 3 s releases its Web Lock after 3 s), and
//                     a kernel worker's task, its job loop, never ends
//   close:_:WHEN      (web workers) self.close() while the worker holds a chunk; it
//                     then carries on (a closed worker stops once its task ends)
const g = globalThis;
const web = g.Deno === undefined && g.process?.versions?.node === undefined;
const env = g.Deno
  ? g.Deno.env.get("JREG_TEST_POOL_FAULT")
  : web
    ? new URL(g.location.href).searchParams.get("fault") ?? undefined
    : g.process.env.JREG_TEST_POOL_FAULT;
const inWorker = g.Deno || web ? typeof g.WorkerGlobalScope !== "undefined" : !(await import("node:worker_threads")).isMainThread;
const TERMINATE_ME = "jreg-test-pool-fault: terminate me";

if (env && inWorker && env.startsWith("terminate:") && typeof g.Worker === "function") {
  // The supervisor's side of "terminate": it starts the kernel workers through this constructor.
  const RealWorker = g.Worker;
  g.Worker = class extends RealWorker {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (e) => e.data === TERMINATE_ME && this.terminate());
    }
  };
}

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
  if (mode === "throw" && arg === "busy") {
    const spin = setInterval(() => {
      for (const end = Date.now() + 50; Date.now() < end; );
    }, 1);
    if (!g.Deno && !web) spin.unref();
  }
  const exit = (code) => (g.Deno ? g.Deno.exit(code) : g.process.exit(code));
  const fault = () => {
    if (mode === "exit") exit(Number(arg));
    if (mode === "throw") {
      const realWait = Atomics.wait;
      Atomics.wait = () => {
        Atomics.wait = realWait;
        throw new Error("injected fault in the job loop");
      };
    }
    if (mode === "oom") {
      // Small arrays: the allocation loop keeps reaching V8's interrupt checks, so
      // the runtime's near-heap-limit handler can stop the thread cleanly.
      const hoard = [];
      for (let i = 0; ; i++) hoard.push(new Array(256).fill(i));
    }
    if (mode === "terminate") {
      g.postMessage(TERMINATE_ME);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
    }
    if (mode === "close") g.close();
  };
  const realInstantiate = WebAssembly.instantiate;
  WebAssembly.instantiate = async (...a) => {
    const instance = await realInstantiate(...a);
    const exports = {};
    for (const [name, value] of Object.entries(instance.exports)) {
      exports[name] =
        typeof value !== "function"
          ? value
          : (...args) => {
              if (due()) fault();
              return value(...args);
            };
    }
    return { exports };
  };
}
