// A fixed pool of workers that run engine kernels on index ranges of one shared
// WebAssembly.Memory. `parallelFor` is synchronous: the caller writes the job into
// a small control block (a SharedArrayBuffer), wakes the workers with
// Atomics.notify, then claims chunks from a shared counter alongside them (see
// worker-protocol.ts) and blocks in Atomics.wait until every chunk is done. No
// message passing happens per job, so a dispatch costs a few microseconds, and the
// result is ready when the call returns, as the rest of the engine expects of a
// kernel call. A descheduled worker costs only the chunk it holds: the others claim
// the rest, and the caller never waits for a worker that has not started.
//
// The chunks are a pure function of (total, grain, chunks), and a kernel gets the
// claiming thread's index only to pick scratch, so a kernel whose per-index
// results do not depend on the range boundaries gives the same bits on any number
// of threads and whichever thread claims what.
import type { EngineModule } from "./engine-module.ts";
import {
  CONTROL_BYTES,
  CTRL_ARG_COUNT,
  CTRL_CHUNK_COUNT,
  CTRL_CHUNK_SIZE,
  CTRL_DONE,
  CTRL_ERROR,
  CTRL_ERROR_LENGTH,
  CTRL_GENERATION,
  CTRL_KERNEL,
  CTRL_QUIT,
  CTRL_TOTAL,
  MAX_ARGS,
  MAX_THREADS,
  Spinner,
  claimChunks,
  claimStart,
  controlViews,
  type Control,
  type WorkerInit,
  type WorkerReply,
} from "./worker-protocol.ts";

/** The subset of the Node worker_threads and web Worker APIs the pool uses. */
interface PoolWorker {
  postMessage(message: unknown): void;
  terminate(): unknown;
}

/** Longest the caller polls for the last chunks to finish (they end at nearly the same time). */
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
    // make the worker's file entry fail to load, and Node refuses V8 flags such as
    // --experimental-wasm-relaxed-simd in a worker's execArgv (V8's flags are
    // process-wide: the worker has them anyway).
    const execArgv = process.execArgv.filter((arg) => !arg.startsWith("--input-type") && !arg.startsWith("--experimental-wasm-"));
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
 * Chunk t of a split of [0, total) into at most `parts` pieces: every chunk holds
 * `size` indices (a multiple of `grain`) except the last. A pure function of its
 * arguments, so the same call always splits the same way.
 */
export function chunkShape(total: number, grain: number, parts: number): { size: number; count: number } {
  const grains = Math.ceil(total / grain);
  const size = Math.ceil(grains / Math.max(1, Math.min(parts, grains))) * grain;
  return { size, count: Math.ceil(total / size) };
}

/**
 * The chunks parallelFor runs: at most `parts` contiguous [start, end) ranges that
 * cover [0, total), every boundary a multiple of `grain`, as even as that allows.
 */
export function chunkBounds(total: number, grain: number, parts: number): Array<[number, number]> {
  const { size, count } = chunkShape(total, grain, parts);
  return Array.from({ length: count }, (_, t): [number, number] => [t * size, Math.min(total, (t + 1) * size)]);
}

export class ThreadPool {
  /** The partition parallelFor uses (see chunkBounds). */
  static readonly chunkBounds = chunkBounds;
  static readonly chunkShape = chunkShape;
  /** Threads that run chunks, the caller included. */
  readonly size: number;
  private readonly control: Control;
  private generation = 0;
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
    this.control = controlViews(control ?? new ArrayBuffer(CONTROL_BYTES));
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
   * Calls `exports[kernel](...args, start, end, thread)` on disjoint contiguous
   * chunks that cover [0, total): at most `chunks` of them (default: one per
   * thread), every boundary a multiple of `grain`. The threads (the caller is
   * thread 0) claim chunks until none are left, so `thread` (< size) varies from
   * call to call; use it only to pick per-thread scratch. A kernel without that
   * last parameter ignores it (WebAssembly drops extra arguments). Returns when all
   * chunks are done; an exception in any chunk is rethrown here as an Error.
   */
  parallelFor(kernel: string, args: number[], total: number, grain = 1, chunks = this.size): void {
    if (this.terminated) throw new Error("ThreadPool: used after terminate()");
    const index = this.kernelIndex.get(kernel);
    if (index === undefined) throw new Error(`ThreadPool: unknown kernel "${kernel}"`);
    if (!Number.isInteger(total) || total < 0) throw new RangeError(`ThreadPool: total must be an integer >= 0, got ${total}`);
    if (!Number.isInteger(grain) || grain < 1) throw new RangeError(`ThreadPool: grain must be an integer >= 1, got ${grain}`);
    if (!Number.isInteger(chunks) || chunks < 1) throw new RangeError(`ThreadPool: chunks must be an integer >= 1, got ${chunks}`);
    if (args.length > MAX_ARGS) throw new RangeError(`ThreadPool: at most ${MAX_ARGS} kernel arguments, got ${args.length}`);
    if (this.busy) throw new Error("ThreadPool: parallelFor is not re-entrant");
    if (total === 0) return;
    const fn = this.engine.exports[kernel] as (...a: number[]) => void;

    const shape = chunkShape(total, grain, chunks);
    if (this.workers.length === 0 || shape.count === 1) {
      // The same chunks in order on the caller: identical bits, no hand-off.
      for (let t = 0; t < shape.count; t++) fn(...args, t * shape.size, Math.min(total, (t + 1) * shape.size), 0);
      return;
    }
    const { ctrl, claim } = this.control;
    this.busy = true;
    try {
      const generation = (this.generation = (this.generation + 1) >>> 0);
      // The claim word first: a worker still looking at the previous job now fails
      // to claim before any of the fields below change (worker-protocol.ts).
      Atomics.store(claim, 0, claimStart(generation));
      Atomics.store(ctrl, CTRL_TOTAL, total);
      Atomics.store(ctrl, CTRL_CHUNK_SIZE, shape.size);
      Atomics.store(ctrl, CTRL_CHUNK_COUNT, shape.count);
      ctrl[CTRL_KERNEL] = index;
      ctrl[CTRL_ARG_COUNT] = args.length;
      this.control.args.set(args);
      Atomics.store(ctrl, CTRL_ERROR, 0);
      Atomics.store(ctrl, CTRL_DONE, 0);
      Atomics.store(ctrl, CTRL_GENERATION, generation | 0);
      Atomics.notify(ctrl, CTRL_GENERATION);

      let callerError: unknown;
      claimChunks(this.control, generation, 0, (start, end) => {
        try {
          fn(...args, start, end, 0);
        } catch (e) {
          // Keep claiming: every chunk must be done before the job can end.
          callerError ??= e;
        }
      });
      this.waitForChunks(shape.count);
      if (callerError !== undefined) throw callerError instanceof Error ? callerError : new Error(String(callerError));
      if (Atomics.load(ctrl, CTRL_ERROR) !== 0) {
        const length = ctrl[CTRL_ERROR_LENGTH];
        const text = new TextDecoder().decode(this.control.errorText.slice(0, length));
        throw new Error(`${kernel} failed on a worker: ${text}`);
      }
    } finally {
      this.busy = false;
    }
  }

  private waitForChunks(count: number): void {
    const { ctrl } = this.control;
    if (this.spinner.spin(() => Atomics.load(ctrl, CTRL_DONE) === count)) return;
    for (;;) {
      const done = Atomics.load(ctrl, CTRL_DONE);
      if (done === count) return;
      Atomics.wait(ctrl, CTRL_DONE, done);
    }
  }

  /** Stops the workers. The pool cannot be used afterwards. */
  async terminate(): Promise<void> {
    if (this.terminated) return;
    this.terminated = true;
    if (this.workers.length === 0) return;
    const { ctrl } = this.control;
    Atomics.store(ctrl, CTRL_QUIT, 1);
    Atomics.add(ctrl, CTRL_GENERATION, 1);
    Atomics.notify(ctrl, CTRL_GENERATION);
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
