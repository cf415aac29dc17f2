// A ThreadPool worker: instantiates the engine on the module and shared memory it
// is sent, then loops forever taking jobs from the control block (see
// worker-protocol.ts). It blocks in Atomics.wait between jobs, which workers may
// do in every runtime. Runs as a Node worker_threads worker or as a module Worker
// (Deno, browsers); the bundle is dist/backend/wasm/worker.js.
import { instantiateEngine } from "./engine-module.ts";
import {
  ARGS_OFFSET,
  CTRL_ARG_COUNT,
  CTRL_ERROR,
  CTRL_ERROR_LENGTH,
  CTRL_GENERATION,
  CTRL_KERNEL,
  CTRL_PENDING,
  CTRL_QUIT,
  ERROR_TEXT_BYTES,
  ERROR_TEXT_OFFSET,
  MAX_ARGS,
  rangeSlot,
  Spinner,
  type WorkerInit,
  type WorkerReply,
} from "./worker-protocol.ts";

/**
 * Longest a worker polls for the next job before it sleeps in Atomics.wait: jobs
 * come in bursts (a training step is a sequence of kernels a few microseconds apart).
 */
const SPIN_MS = 0.3;

type Port = { post(reply: WorkerReply): void; listen(handler: (msg: WorkerInit) => void): void };

async function connect(): Promise<Port> {
  const g = globalThis as { WorkerGlobalScope?: unknown };
  if (g.WorkerGlobalScope === undefined) {
    // Node worker_threads: no WorkerGlobalScope; talk through parentPort.
    const { parentPort } = await import("node:worker_threads");
    if (!parentPort) throw new Error("worker.js must run as a worker");
    return { post: (r) => parentPort.postMessage(r), listen: (h) => parentPort.once("message", h) };
  }
  const scope = globalThis as unknown as { postMessage(m: unknown): void; onmessage: ((e: MessageEvent) => void) | null };
  return {
    post: (r) => scope.postMessage(r),
    listen: (h) => {
      scope.onmessage = (e) => {
        scope.onmessage = null;
        h(e.data as WorkerInit);
      };
    },
  };
}

function serve(init: WorkerInit, exports: Record<string, any>, generation: number): void {
  const ctrl = new Int32Array(init.control, 0, ARGS_OFFSET / 4);
  const args = new Float64Array(init.control, ARGS_OFFSET, MAX_ARGS);
  const errorText = new Uint8Array(init.control, ERROR_TEXT_OFFSET, ERROR_TEXT_BYTES);
  const kernels = init.kernels.map((name) => exports[name] as (...a: number[]) => void);
  const slot = rangeSlot(init.index);
  let seen = generation;
  const spinner = new Spinner(SPIN_MS);
  for (;;) {
    if (!spinner.spin(() => Atomics.load(ctrl, CTRL_GENERATION) !== seen)) {
      while (Atomics.load(ctrl, CTRL_GENERATION) === seen) Atomics.wait(ctrl, CTRL_GENERATION, seen);
    }
    seen = Atomics.load(ctrl, CTRL_GENERATION);
    if (Atomics.load(ctrl, CTRL_QUIT) !== 0) return;
    const start = ctrl[slot];
    const end = ctrl[slot + 1];
    if (start < end) {
      const argv = Array.from(args.subarray(0, ctrl[CTRL_ARG_COUNT]));
      try {
        kernels[ctrl[CTRL_KERNEL]](...argv, start, end);
      } catch (e) {
        // First failure wins; the caller turns it into an Error.
        if (Atomics.compareExchange(ctrl, CTRL_ERROR, 0, 2) === 0) {
          const bytes = new TextEncoder().encode(`${e instanceof Error ? e.message : String(e)} (rows ${start}..${end})`);
          const length = Math.min(bytes.length, ERROR_TEXT_BYTES);
          errorText.set(bytes.subarray(0, length));
          ctrl[CTRL_ERROR_LENGTH] = length;
          Atomics.store(ctrl, CTRL_ERROR, 1);
        }
      }
    }
    if (Atomics.sub(ctrl, CTRL_PENDING, 1) === 1) Atomics.notify(ctrl, CTRL_PENDING);
  }
}

const port = await connect();
port.listen(async (init) => {
  let exports: Record<string, any>;
  try {
    const engine = await instantiateEngine({ shared: true, module: init.module, memory: init.memory });
    exports = engine.exports;
  } catch (e) {
    port.post({ type: "error", message: e instanceof Error ? e.message : String(e) });
    return;
  }
  // Read before replying: no job can be posted until every worker is ready.
  const generation = Atomics.load(new Int32Array(init.control, 0, 1), CTRL_GENERATION);
  port.post({ type: "ready" });
  serve(init, exports, generation);
});
