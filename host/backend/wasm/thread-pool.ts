// A fixed pool of workers that run engine kernels on row ranges of one shared
// WebAssembly.Memory. `parallelFor` is synchronous: the caller writes the job into
// a small control block (a SharedArrayBuffer of Int32/Float64 words), wakes the
// workers with Atomics.notify, runs the first chunk itself, and blocks in
// Atomics.wait until every worker has finished. No message passing happens per
// job, so a dispatch costs a few microseconds, and the result is ready when the
// call returns, as the rest of the engine expects of a kernel call.
//
// The partition is a pure function of (total, grain, size), so a kernel whose
// per-row results do not depend on the range boundaries gives the same bits on
// any number of threads.
import type { EngineModule } from "./engine-module.ts";
import {
  CONTROL_BYTES,
  CTRL_ERROR,
  CTRL_ERROR_LENGTH,
  CTRL_GENERATION,
  CTRL_KERNEL,
  CTRL_ARG_COUNT,
  CTRL_PENDING,
  CTRL_QUIT,
  ERROR_TEXT_OFFSET,
  ERROR_TEXT_BYTES,
  ARGS_OFFSET,
  MAX_ARGS,
  MAX_THREADS,
  rangeSlot,
  Spinner,
  type WorkerInit,
  type WorkerReply,
} from "./worker-protocol.ts";

/** The subset of the Node worker_threads and web Worker APIs the pool uses. */
interface PoolWorker {
  postMessage(message: unknown): void;
  terminate(): unknown;
}

/** Longest the caller polls for the workers to finish (chunks end at nearly the same time). */
const SPIN_MS = 0.5;

/** Where the bundled worker lives relative to the module that contains this code. */
function defaultWorkerUrl(): URL {
  const here = import.meta.url;
  const path = new URL(here).pathname;
  // Unbundled sources (e.g. Deno running host/*.ts): the worker sits beside this file.
  if (/\/backend\/wasm\/[^/]+$/.test(path)) return new URL(path.endsWith(".ts") ? "./worker.ts" : "./worker.js", here);
  // The bundle: entry points and shared chunks sit in dist/ (or one folder below it,
  // like dist/cli/); the worker entry is dist/backend/wasm/worker.js.
  if (/\/dist\/[^/]+\/[^/]+$/.test(path)) return new URL("../backend/wasm/worker.js", here);
  return new URL("./backend/wasm/worker.js", here);
}

/** True when this thread may block in Atomics.wait (not a browser's main thread). */
function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

function isNode(): boolean {
  const g = globalThis as { Deno?: unknown; process?: { versions?: { node?: string } } };
  return g.Deno === undefined && typeof g.process?.versions?.node === "string";
}

async function spawnWorker(url: URL): Promise<{ worker: PoolWorker; onReply(cb: (r: WorkerReply) => void, fail: (e: Error) => void): void }> {
  if (isNode()) {
    const { Worker } = await import("node:worker_threads");
    // Workers inherit the parent's CLI options; --input-type (from `node -e`) would
    // make the worker's file entry fail to load.
    const execArgv = process.execArgv.filter((arg) => !arg.startsWith("--input-type"));
    const worker = new Worker(url, { execArgv });
    // A blocked worker must not keep the process alive once the caller is done.
    worker.unref();
    return {
      worker,
      onReply(cb, fail) {
        worker.once("message", cb);
        worker.once("error", fail);
      },
    };
  }
  const worker = new Worker(url, { type: "module" });
  return {
    worker,
    onReply(cb, fail) {
      worker.onmessage = (e: MessageEvent) => cb(e.data as WorkerReply);
      worker.onerror = (e: ErrorEvent) => {
        e.preventDefault?.();
        // A module that fails to load raises a plain Event without a message.
        fail(new Error(`thread pool worker failed to start (${url}): ${e.message || "the script could not be loaded"}`));
      };
    },
  };
}

/**
 * The chunks parallelFor runs: at most `parts` contiguous [start, end) ranges that
 * cover [0, total), every boundary a multiple of `grain`, as even as that allows.
 * A pure function of its arguments, so the same call always splits the same way.
 */
export function chunkBounds(total: number, grain: number, parts: number): Array<[number, number]> {
  const grains = Math.ceil(total / grain);
  const chunks = Math.min(parts, grains);
  const perChunk = Math.ceil(grains / chunks) * grain;
  const out: Array<[number, number]> = [];
  for (let t = 0; t < chunks; t++) {
    const start = t * perChunk;
    if (start >= total) break;
    out.push([start, Math.min(total, start + perChunk)]);
  }
  return out;
}

export class ThreadPool {
  /** The partition parallelFor uses (see chunkBounds). */
  static readonly chunkBounds = chunkBounds;
  /** Threads that run chunks, the caller included. */
  readonly size: number;
  private readonly control: Int32Array;
  private readonly args: Float64Array;
  private readonly errorText: Uint8Array;
  private readonly kernelIndex: Map<string, number>;
  private busy = false;
  private terminated = false;
  private readonly spinner = new Spinner(SPIN_MS);

  private constructor(
    private readonly engine: EngineModule,
    private readonly workers: PoolWorker[],
    control: SharedArrayBuffer | null,
    kernelNames: string[],
  ) {
    this.size = workers.length + 1;
    const buffer = control ?? new ArrayBuffer(CONTROL_BYTES);
    this.control = new Int32Array(buffer, 0, ARGS_OFFSET / 4);
    this.args = new Float64Array(buffer, ARGS_OFFSET, MAX_ARGS);
    this.errorText = new Uint8Array(buffer, ERROR_TEXT_OFFSET, ERROR_TEXT_BYTES);
    this.kernelIndex = new Map(kernelNames.map((name, i) => [name, i]));
  }

  /**
   * Starts `threads - 1` workers on the engine's module and shared memory. Falls
   * back to running everything on the caller (size 1) when threads <= 1, the
   * engine's memory is not shared, or this thread cannot block (a browser's main
   * thread). `workerUrl` overrides where the bundled worker script is found.
   */
  static async create(engine: EngineModule, threads: number, options: { workerUrl?: URL | string } = {}): Promise<ThreadPool> {
    if (!Number.isInteger(threads) || threads < 1 || threads > MAX_THREADS) {
      throw new RangeError(`ThreadPool: threads must be an integer in [1, ${MAX_THREADS}], got ${threads}`);
    }
    const kernelNames = Object.keys(engine.exports).filter((name) => typeof engine.exports[name] === "function");
    if (threads === 1 || !engine.shared || !canBlock()) return new ThreadPool(engine, [], null, kernelNames);

    const control = new SharedArrayBuffer(CONTROL_BYTES);
    const url = options.workerUrl !== undefined ? new URL(options.workerUrl) : defaultWorkerUrl();
    const started: PoolWorker[] = [];
    try {
      await Promise.all(
        Array.from({ length: threads - 1 }, async (_, i) => {
          const { worker, onReply } = await spawnWorker(url);
          started.push(worker);
          const ready = new Promise<void>((resolve, reject) =>
            onReply(
              (reply) => (reply.type === "ready" ? resolve() : reject(new Error(`thread pool worker ${i + 1}: ${reply.message}`))),
              (e) => reject(e),
            ),
          );
          const init: WorkerInit = {
            type: "init",
            module: engine.module,
            memory: engine.memory,
            control,
            index: i + 1,
            kernels: kernelNames,
          };
          worker.postMessage(init);
          await ready;
        }),
      );
    } catch (e) {
      await Promise.all(started.map((w) => w.terminate()));
      throw e;
    }
    return new ThreadPool(engine, started, control, kernelNames);
  }

  /**
   * Calls `exports[kernel](...args, start, end)` on disjoint contiguous chunks that
   * cover [0, total), one chunk per thread at most, with every boundary a multiple
   * of `grain`. Returns when all chunks are done; an exception in any chunk is
   * rethrown here as an Error.
   */
  parallelFor(kernel: string, args: number[], total: number, grain = 1): void {
    if (this.terminated) throw new Error("ThreadPool: used after terminate()");
    const index = this.kernelIndex.get(kernel);
    if (index === undefined) throw new Error(`ThreadPool: unknown kernel "${kernel}"`);
    if (!Number.isInteger(total) || total < 0) throw new RangeError(`ThreadPool: total must be an integer >= 0, got ${total}`);
    if (!Number.isInteger(grain) || grain < 1) throw new RangeError(`ThreadPool: grain must be an integer >= 1, got ${grain}`);
    if (args.length > MAX_ARGS) throw new RangeError(`ThreadPool: at most ${MAX_ARGS} kernel arguments, got ${args.length}`);
    if (this.busy) throw new Error("ThreadPool: parallelFor is not re-entrant");
    if (total === 0) return;
    const fn = this.engine.exports[kernel] as (...a: number[]) => void;

    const chunks = chunkBounds(total, grain, this.size);
    if (chunks.length === 1) {
      fn(...args, 0, total);
      return;
    }
    const ctrl = this.control;
    this.busy = true;
    try {
      for (let w = 1; w < this.size; w++) {
        const [start, end] = chunks[w] ?? [0, 0];
        ctrl[rangeSlot(w)] = start;
        ctrl[rangeSlot(w) + 1] = end;
      }
      ctrl[CTRL_KERNEL] = index;
      ctrl[CTRL_ARG_COUNT] = args.length;
      this.args.set(args);
      ctrl[CTRL_ERROR] = 0;
      Atomics.store(ctrl, CTRL_PENDING, this.workers.length);
      Atomics.add(ctrl, CTRL_GENERATION, 1);
      Atomics.notify(ctrl, CTRL_GENERATION);

      let callerError: unknown;
      try {
        fn(...args, chunks[0][0], chunks[0][1]);
      } catch (e) {
        callerError = e;
      }
      this.waitForWorkers();
      if (callerError !== undefined) throw callerError instanceof Error ? callerError : new Error(String(callerError));
      if (Atomics.load(ctrl, CTRL_ERROR) !== 0) {
        const length = ctrl[CTRL_ERROR_LENGTH];
        const text = new TextDecoder().decode(this.errorText.slice(0, length));
        throw new Error(`${kernel} failed on a worker: ${text}`);
      }
    } finally {
      this.busy = false;
    }
  }

  private waitForWorkers(): void {
    const ctrl = this.control;
    if (this.spinner.spin(() => Atomics.load(ctrl, CTRL_PENDING) === 0)) return;
    for (;;) {
      const pending = Atomics.load(ctrl, CTRL_PENDING);
      if (pending === 0) return;
      Atomics.wait(ctrl, CTRL_PENDING, pending);
    }
  }

  /** Stops the workers. The pool cannot be used afterwards. */
  async terminate(): Promise<void> {
    if (this.terminated) return;
    this.terminated = true;
    if (this.workers.length === 0) return;
    Atomics.store(this.control, CTRL_QUIT, 1);
    Atomics.add(this.control, CTRL_GENERATION, 1);
    Atomics.notify(this.control, CTRL_GENERATION);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
