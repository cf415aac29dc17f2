// The contract between ThreadPool (caller side) and worker.ts (worker side): the
// init message, and the layout of the shared control block through which jobs are
// dispatched without messages.

/** Int32 word indices of the control block. */
export const CTRL_GENERATION = 0; // bumped once per job; workers sleep on it
export const CTRL_PENDING = 1; // workers still running the current job; the caller sleeps on it
export const CTRL_KERNEL = 2; // index into the kernel name table sent at init
export const CTRL_ARG_COUNT = 3;
export const CTRL_QUIT = 4; // set before the final generation bump: workers exit their loop
export const CTRL_ERROR = 5; // 0, or 1 once a worker has written an error message
export const CTRL_ERROR_LENGTH = 6; // bytes of UTF-8 error text
const RANGES = 16; // [start, end) of worker w at RANGES + 2w

/** Most threads a pool may have (bounded by the range table). */
export const MAX_THREADS = 64;
/** Kernel arguments are stored as float64 so that f32 parameters survive too. */
export const MAX_ARGS = 32;
export const ARGS_OFFSET = (RANGES + 2 * MAX_THREADS) * 4;
export const ERROR_TEXT_OFFSET = ARGS_OFFSET + MAX_ARGS * 8;
export const ERROR_TEXT_BYTES = 1024;
export const CONTROL_BYTES = ERROR_TEXT_OFFSET + ERROR_TEXT_BYTES;

export function rangeSlot(worker: number): number {
  return RANGES + 2 * worker;
}

export interface WorkerInit {
  type: "init";
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  control: SharedArrayBuffer;
  /** 1-based; the caller runs chunk 0. */
  index: number;
  kernels: string[];
}

export type WorkerReply = { type: "ready" } | { type: "error"; message: string };

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
