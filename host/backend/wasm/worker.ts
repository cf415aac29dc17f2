// A ThreadPool worker, in one of two roles chosen by its first message:
// - "supervise" (pool-supervisor.ts): starts the kernel workers and watches them;
// - "init", a kernel worker: instantiates the engine on the module and shared
//   memory it is sent, then loops forever taking jobs from the control block (see
//   worker-protocol.ts). It blocks in Atomics.wait between jobs, which workers may
//   do in every runtime.
// Runs as a Node worker_threads worker or as a module Worker (Deno, browsers); the
// bundle is dist/backend/wasm/worker.js. One script for both roles keeps a single
// worker URL for users and bundlers to point at.
import { instantiateEngine } from "./engine-module.ts";
import { supervise } from "./pool-supervisor.ts";
import {
  CTRL_ARG_COUNT,
  CTRL_GENERATION,
  CTRL_KERNEL,
  CTRL_QUIT,
  Spinner,
  claimChunks,
  controlViews,
  recordDeath,
  workerName,
  type SuperviseInit,
  type SupervisorQuit,
  type WorkerInit,
  type WorkerReply,
} from "./worker-protocol.ts";

/**
 * Longest a worker polls for the next job before it sleeps in Atomics.wait: jobs
 * come in bursts (a training step is a sequence of kernels a few microseconds apart).
 */
const SPIN_MS = 0.3;

type Message = WorkerInit | SuperviseInit | SupervisorQuit;
type Port = { post(reply: WorkerReply): void; listen(handler: (msg: Message) => void): void };

async function connect(): Promise<Port> {
  const g = globalThis as { WorkerGlobalScope?: unknown };
  if (g.WorkerGlobalScope === undefined) {
    // Node worker_threads: no WorkerGlobalScope; talk through parentPort.
    const { parentPort } = await import("node:worker_threads");
    if (!parentPort) throw new Error("worker.js must run as a worker");
    return { post: (r) => parentPort.postMessage(r), listen: (h) => parentPort.on("message", h) };
  }
  const scope = globalThis as unknown as { postMessage(m: unknown): void; onmessage: ((e: MessageEvent) => void) | null };
  return { post: (r) => scope.postMessage(r), listen: (h) => (scope.onmessage = (e) => h(e.data as Message)) };
}

function serve(init: WorkerInit, exports: Record<string, any>, generation: number): void {
  const control = controlViews(init.control);
  const { ctrl, args } = control;
  const kernels = init.kernels.map((name) => exports[name] as (...a: number[]) => void);
  let seen = generation;
  const spinner = new Spinner(SPIN_MS);
  for (;;) {
    if (!spinner.spin(() => Atomics.load(ctrl, CTRL_GENERATION) !== seen)) {
      while (Atomics.load(ctrl, CTRL_GENERATION) === seen) Atomics.wait(ctrl, CTRL_GENERATION, seen);
    }
    seen = Atomics.load(ctrl, CTRL_GENERATION);
    if (Atomics.load(ctrl, CTRL_QUIT) !== 0) return;
    // Read lazily, after the first successful claim: only then are these the job's.
    let kernel: ((...a: number[]) => void) | undefined;
    let argv: number[] = [];
    claimChunks(control, seen, init.index, (start, end) => {
      if (kernel === undefined) {
        kernel = kernels[ctrl[CTRL_KERNEL]];
        argv = Array.from(args.subarray(0, ctrl[CTRL_ARG_COUNT]));
      }
      kernel(...argv, start, end, init.index);
    });
  }
}

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

async function runKernelWorker(port: Port, init: WorkerInit): Promise<void> {
  let exports: Record<string, any>;
  try {
    const engine = await instantiateEngine({ shared: true, module: init.module, memory: init.memory });
    exports = engine.exports;
  } catch (e) {
    port.post({ type: "error", message: messageOf(e) });
    return;
  }
  const start = () => {
    // Read before replying: no job can be posted until every worker is ready.
    const generation = Atomics.load(controlViews(init.control).ctrl, CTRL_GENERATION);
    port.post({ type: "ready" });
    try {
      serve(init, exports, generation);
    } catch (e) {
      // Outside any kernel (kernel errors are the job's): this worker serves no
      // more jobs. It records why in the control block itself, before it dies:
      // a message to the supervisor would race with the runtime's own report of
      // the death (Node delivers a worker's uncaught error on another channel
      // than its messages, and under load the error came first about 1 run in 5),
      // and the shared record also wakes the caller without a round trip. The
      // supervisor's later report of the same death is then a no-op (first wins).
      recordDeath(controlViews(init.control), `${workerName(init.index, init.workers)} failed outside a kernel: ${messageOf(e)}`);
      throw e;
    }
  };
  // Held until this thread dies (see pool-supervisor.ts): serve() never returns
  // while the pool runs, so the callback never ends.
  const locks = (globalThis as { navigator?: { locks?: { request(name: string, cb: () => unknown): Promise<unknown> } } }).navigator?.locks;
  if (init.lifeLock !== undefined && locks) void locks.request(init.lifeLock, start);
  else start();
}

const port = await connect();
let quit: (() => Promise<void>) | undefined;
port.listen(async (message) => {
  if (message.type === "init") await runKernelWorker(port, message);
  else if (message.type === "supervise") {
    try {
      quit = await supervise(message);
    } catch (e) {
      port.post({ type: "error", message: messageOf(e) });
      return;
    }
    port.post({ type: "ready" });
  } else if (message.type === "quit") {
    await quit?.();
    port.post({ type: "stopped" });
  }
});
