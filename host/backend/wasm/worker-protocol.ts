// The contract between ThreadPool (caller side), pool-supervisor.ts and worker.ts
// (worker side): the messages, the layout of the shared control block through
// which jobs are dispatched without messages, the chunk-claiming loop both sides
// run, and the death record through which a dead worker fails the caller.
//
// A job is `total` indices cut into `chunkCount` chunks of `chunkSize` (the last
// one shorter). The caller and every worker claim chunks one at a time from a
// shared counter until none are left, so a thread that the OS deschedules simply
// claims fewer chunks instead of stalling the others. The kernel receives the
// chunk's [start, end) and the claiming thread's index (for per-thread scratch);
// a kernel whose output depends only on the index range gives the same bits
// whichever thread claims what.

/** Int32 word indices of the control block. */
export const CTRL_GENERATION = 0; // bumped once per job; workers sleep on it
export const CTRL_DONE = 1; // chunks finished in the current job; the caller sleeps on it
export const CTRL_KERNEL = 2; // index into the kernel name table sent at init
export const CTRL_ARG_COUNT = 3;
export const CTRL_QUIT = 4; // set before the final generation bump: workers exit their loop
export const CTRL_ERROR = 5; // 0, or 1 once a thread has written an error message
export const CTRL_ERROR_LENGTH = 6; // bytes of UTF-8 error text
export const CTRL_TOTAL = 7; // indices in the job
export const CTRL_CHUNK_SIZE = 8; // indices per chunk (the last may be shorter)
export const CTRL_CHUNK_COUNT = 9; // chunks in the job
export const CTRL_DEAD = 10; // 0 while every worker lives; -1 while a death is recorded; then 1
export const CTRL_DEAD_LENGTH = 11; // bytes of UTF-8 text saying who died and how
const INT_WORDS = 16;

/**
 * Byte offset of the claim word, a BigInt64: (job generation << 32) | next chunk.
 * Carrying the generation makes a claim by a thread that woke for an older job
 * fail (compareExchange sees another generation) instead of taking a chunk of a
 * job whose arguments it has not read.
 */
export const CLAIM_OFFSET = INT_WORDS * 4;

/** Most threads a pool may have. */
export const MAX_THREADS = 64;
/** Kernel arguments are stored as float64 so that f32 parameters survive too. */
export const MAX_ARGS = 32;
export const ARGS_OFFSET = CLAIM_OFFSET + 64;
export const ERROR_TEXT_OFFSET = ARGS_OFFSET + MAX_ARGS * 8;
export const ERROR_TEXT_BYTES = 1024;
export const DEATH_TEXT_OFFSET = ERROR_TEXT_OFFSET + ERROR_TEXT_BYTES;
export const DEATH_TEXT_BYTES = 1024;
export const CONTROL_BYTES = DEATH_TEXT_OFFSET + DEATH_TEXT_BYTES;

/** Caller → supervisor: start `workers` kernel workers from `workerUrl` and watch them. */
export interface SuperviseInit {
  type: "supervise";
  workerUrl: string;
  workers: number;
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  kernels: string[];
}

/** Supervisor → kernel worker. */
export interface WorkerInit {
  type: "init";
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  /** 1-based; the caller is thread 0. */
  index: number;
  /** Kernel workers in the pool (for the name a death record gives this one: workerName). */
  workers: number;
  kernels: string[];
  /**
   * A Web Locks name the worker holds for as long as it lives (where the runtime
   * has navigator.locks and no exit event: Deno, browsers), so that the supervisor
   * learns of a worker that stopped without an error event.
   */
  lifeLock?: string;
}

/** Caller → supervisor: stop every worker, then reply "stopped". */
export interface SupervisorQuit {
  type: "quit";
}

/** Replies: a kernel worker to its supervisor, and the supervisor to the caller. */
export type WorkerReply = { type: "ready" } | { type: "stopped" } | { type: "error"; message: string };

/** Views of one control block. */
export interface Control {
  ctrl: Int32Array;
  claim: BigInt64Array;
  args: Float64Array;
  errorText: Uint8Array;
  deathText: Uint8Array;
}

export function controlViews(buffer: SharedArrayBuffer | ArrayBuffer): Control {
  return {
    ctrl: new Int32Array(buffer, 0, INT_WORDS),
    claim: new BigInt64Array(buffer, CLAIM_OFFSET, 1),
    args: new Float64Array(buffer, ARGS_OFFSET, MAX_ARGS),
    errorText: new Uint8Array(buffer, ERROR_TEXT_OFFSET, ERROR_TEXT_BYTES),
    deathText: new Uint8Array(buffer, DEATH_TEXT_OFFSET, DEATH_TEXT_BYTES),
  };
}

/** How a death record names kernel worker `index` (1-based) of a pool with `workers` of them. */
export function workerName(index: number, workers: number): string {
  return `worker ${index} of ${workers}`;
}

/**
 * Records that a thread of the pool died (the first death wins) and wakes the
 * caller, which may be blocked waiting for a chunk the dead thread held. Written
 * by whoever learns of the death first: a kernel worker whose job loop failed
 * (before it stops), the supervisor, or the caller itself when the supervisor dies.
 */
export function recordDeath(c: Control, what: string): void {
  const { ctrl } = c;
  if (Atomics.compareExchange(ctrl, CTRL_DEAD, 0, -1) !== 0) return;
  const bytes = new TextEncoder().encode(what);
  const length = Math.min(bytes.length, DEATH_TEXT_BYTES);
  c.deathText.set(bytes.subarray(0, length));
  ctrl[CTRL_DEAD_LENGTH] = length;
  Atomics.store(ctrl, CTRL_DEAD, 1);
  Atomics.notify(ctrl, CTRL_DONE);
}

/** What recordDeath wrote, or undefined while every thread lives. */
export function readDeath(c: Control): string | undefined {
  if (Atomics.load(c.ctrl, CTRL_DEAD) !== 1) return undefined;
  return new TextDecoder().decode(c.deathText.slice(0, c.ctrl[CTRL_DEAD_LENGTH]));
}

/** The claim word that opens job `generation` at chunk 0. */
export function claimStart(generation: number): bigint {
  return BigInt(generation >>> 0) << 32n;
}

/**
 * Claims and runs chunks of job `generation` until none are left (or the job has
 * been replaced by a newer one). `run(start, end)` computes one chunk; a throw is
 * recorded as the job's error (first one wins) and the chunk still counts as done.
 * Returns the number of chunks this thread ran.
 */
export function claimChunks(c: Control, generation: number, thread: number, run: (start: number, end: number) => void): number {
  const { ctrl, claim } = c;
  const gen = BigInt(generation >>> 0);
  let ran = 0;
  for (;;) {
    // Read the job's shape before claiming: the caller replaces the claim word
    // before it rewrites them, so a claim that succeeds below was made while
    // these still described job `generation`.
    const count = Atomics.load(ctrl, CTRL_CHUNK_COUNT);
    const size = Atomics.load(ctrl, CTRL_CHUNK_SIZE);
    const total = Atomics.load(ctrl, CTRL_TOTAL);
    const word = Atomics.load(claim, 0);
    if (word >> 32n !== gen) return ran;
    const index = Number(word & 0xffffffffn);
    if (index >= count) return ran;
    if (Atomics.compareExchange(claim, 0, word, word + 1n) !== word) continue;
    const start = index * size;
    const end = Math.min(total, start + size);
    try {
      run(start, end);
    } catch (e) {
      if (Atomics.compareExchange(ctrl, CTRL_ERROR, 0, 2) === 0) {
        const text = `${e instanceof Error ? e.message : String(e)} (thread ${thread}, indices ${start}..${end})`;
        const bytes = new TextEncoder().encode(text);
        const length = Math.min(bytes.length, ERROR_TEXT_BYTES);
        c.errorText.set(bytes.subarray(0, length));
        ctrl[CTRL_ERROR_LENGTH] = length;
        Atomics.store(ctrl, CTRL_ERROR, 1);
      }
    }
    ran++;
    if (Atomics.add(ctrl, CTRL_DONE, 1) + 1 === count) Atomics.notify(ctrl, CTRL_DONE);
  }
}

/**
 * Busy-polling before a thread sleeps in Atomics.wait, with a budget that adapts:
 * waking a sleeping thread costs tens of microseconds on a quiet machine, so a
 * short poll usually wins; but when the two threads share one busy core, polling
 * only delays the thread being waited for. A poll that succeeds grows the budget
 * (up to maxMs); one that runs out halves it (down to minMs).
 */
export class Spinner {
  private budgetMs: number;

  constructor(
    private readonly maxMs: number,
    private readonly minMs = 0.02,
  ) {
    this.budgetMs = maxMs;
  }

  /** Polls `ready` for up to the current budget; true if it became true in time. */
  spin(ready: () => boolean): boolean {
    const until = performance.now() + this.budgetMs;
    for (let i = 1; ; i++) {
      if (ready()) {
        this.budgetMs = Math.min(this.maxMs, this.budgetMs * 1.25);
        return true;
      }
      if ((i & 127) === 0 && performance.now() > until) {
        this.budgetMs = Math.max(this.minMs, this.budgetMs / 2);
        return false;
      }
    }
  }
}
