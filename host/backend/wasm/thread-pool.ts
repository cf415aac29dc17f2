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
//
// A worker that dies outright (an exit, an uncaught error outside a kernel, out of
// memory) would leave the caller waiting for its chunk forever. So the kernel
// workers are started and watched by a supervisor worker (pool-supervisor.ts)
// whose event loop is never blocked; it records a death in the control block and
// wakes the caller, and this and every later parallelFor fails with that reason.
import type { EngineModule } from "./engine-module.ts";
import { spawnWorker, type SpawnedWorker } from "./spawn-worker.ts";
import {
  CONTROL_BYTES,
  CTRL_ARG_COUNT,
  CTRL_CHUNK_COUNT,
  CTRL_CHUNK_SIZE,
  CTRL_DEAD,
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
  readDeath,
  recordDeath,
  type Control,
  type SuperviseInit,
  type WorkerReply,
} from "./worker-protocol.ts";

/** Longest the caller polls for the last chunks to finish (they end at nearly the same time). */
const SPIN_MS = 0.5;
/**
 * Longest the caller sleeps before it looks again whether a thread died. The
 * supervisor wakes it at once when it records a death; this bound covers only a
 * wake-up that raced with the caller going to sleep.
 */
const DEATH_CHECK_MS = 100;
/** How long terminate() waits for the supervisor to stop the workers before it stops the supervisor itself. */
const QUIT_WAIT_MS = 2000;

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
  /** Set once a thread of the pool has died: every later parallelFor throws it. */
  private failure: string | undefined;
  private readonly spinner = new Spinner(SPIN_MS);

  private constructor(
    private readonly engine: EngineModule,
    private readonly supervisor: SupervisorHandle | null,
    workers: number,
    control: SharedArrayBuffer | null,
    kernelNames: string[],
  ) {
    this.size = workers + 1;
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
    if (threads === 1 || !engine.shared || !canBlock()) return new ThreadPool(engine, null, 0, null, kernelNames);

    const control = new SharedArrayBuffer(CONTROL_BYTES);
    const url = options.workerUrl !== undefined ? new URL(options.workerUrl) : defaultWorkerUrl();
    const supervisor = await SupervisorHandle.start(url, controlViews(control));
    const init: SuperviseInit = {
      type: "supervise",
      workerUrl: url.href,
      workers: threads - 1,
      module: engine.module,
      memory: engine.memory,
      control,
      kernels: kernelNames,
    };
    supervisor.worker.postMessage(init);
    const reply = await supervisor.nextReply();
    if (reply?.type !== "ready") {
      await supervisor.worker.terminate();
      const why = reply?.type === "error" ? reply.message : `the worker ${supervisor.died}`;
      throw new Error(`thread pool failed to start (${url}): ${why}`);
    }
    // A blocked worker must not keep the process alive once the caller is done.
    supervisor.worker.unref();
    return new ThreadPool(engine, supervisor, threads - 1, control, kernelNames);
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
    // One load on the hot path; stays set once a death is recorded (or inline: never).
    if (Atomics.load(this.control.ctrl, CTRL_DEAD) !== 0) this.failDead(kernel);
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
    if (this.supervisor === null || shape.count === 1) {
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
      this.waitForChunks(shape.count, kernel);
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

  private waitForChunks(count: number, kernel: string): void {
    const { ctrl } = this.control;
    if (this.spinner.spin(() => Atomics.load(ctrl, CTRL_DONE) === count)) return;
    for (;;) {
      const done = Atomics.load(ctrl, CTRL_DONE);
      if (done === count) return;
      // A dead thread's chunk never finishes: give up on the job.
      if (Atomics.load(ctrl, CTRL_DEAD) !== 0) this.failDead(kernel);
      Atomics.wait(ctrl, CTRL_DONE, done, DEATH_CHECK_MS);
    }
  }

  /** Throws once a death is recorded: the first message (naming the kernel that noticed it) on every call. */
  private failDead(kernel: string): never {
    // CTRL_DEAD is -1 while the text is being written: wait for it.
    let death = readDeath(this.control);
    while (death === undefined) death = readDeath(this.control);
    this.failure ??= `wasm thread pool: ${death} (noticed in ${kernel}); the engine is unusable: dispose it and create a new one`;
    throw new Error(this.failure);
  }

  /** Stops the workers, whether they all live or not. The pool cannot be used afterwards. */
  async terminate(): Promise<void> {
    if (this.terminated) return;
    this.terminated = true;
    const supervisor = this.supervisor;
    if (supervisor === null) return;
    // The supervisor stops its workers; if it is dead or stuck, stopping it stops
    // them too (a worker's own workers end with it in every runtime).
    if (supervisor.died === undefined) {
      supervisor.worker.postMessage({ type: "quit" });
      await supervisor.nextReply(QUIT_WAIT_MS);
    }
    await supervisor.worker.terminate();
  }
}

/** The caller's side of the supervisor worker: its replies in order, and whether it died. */
class SupervisorHandle {
  /** How the supervisor itself died, once it has. */
  died: string | undefined;
  private readonly replies: WorkerReply[] = [];
  private wake: (() => void) | undefined;

  private constructor(readonly worker: SpawnedWorker) {}

  static async start(url: URL, control: Control): Promise<SupervisorHandle> {
    const handle = new SupervisorHandle(await spawnWorker(url));
    handle.worker.onMessage((r: WorkerReply) => {
      handle.replies.push(r);
      handle.wake?.();
    });
    handle.worker.onFailure((how) => {
      // Its workers end with it, so the pool is as dead as if one of them had died.
      handle.died = how;
      recordDeath(control, `the supervisor thread ${how}`);
      handle.wake?.();
    });
    return handle;
  }

  /** The next reply; undefined once the supervisor has died, or after `timeoutMs`. */
  nextReply(timeoutMs = Infinity): Promise<WorkerReply | undefined> {
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const finish = (reply: WorkerReply | undefined) => {
        this.wake = undefined;
        if (timer !== undefined) clearTimeout(timer);
        resolve(reply);
      };
      this.wake = () => {
        const reply = this.replies.shift();
        if (reply !== undefined || this.died !== undefined) finish(reply);
      };
      if (Number.isFinite(timeoutMs)) timer = setTimeout(() => finish(undefined), timeoutMs);
      this.wake();
    });
  }
}
