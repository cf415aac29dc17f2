// The host side of the matmul kernels (assembly/matmul.ts): checks arguments,
// owns the packed-B scratch, and splits the work over the thread pool.
//
//   nt: C (+)= A · Bᵀ   A [m,k], B [n,k]   forward   y  = x · Wᵀ
//   nn: C (+)= A · B    A [m,k], B [k,n]   backward  dx = dy · W
//   tn: C (+)= Aᵀ · B   A [k,m], B [k,n]   backward  dW += dyᵀ · x
//
// Pointers are byte offsets into the engine's memory; leading dimensions are in
// elements and default to the dense row length. Each call packs B once (panels
// split across threads), then cuts the rows of C into tasks that the threads claim. Every output
// element is computed in the same order whatever the split, so results are
// bit-identical for any thread count.
import type { Arena, EngineModule } from "./engine-module.ts";
import type { ThreadPool } from "./thread-pool.ts";

export interface MatmulOptions {
  lda?: number;
  ldb?: number;
  ldc?: number;
  /** Add into C instead of overwriting it. */
  accumulate?: boolean;
}

type Layout = "nt" | "nn" | "tn";

/** Below this many flops a dispatch to the workers costs more than it saves. */
const MIN_PARALLEL_FLOPS = 1 << 20;
/**
 * Packing B in parallel pays off only for large B: packing is a copy (a 256×688
 * weight takes ~0.2 ms on one thread, against ~30 ms for its product with 2048
 * rows), while each parallel job is one more barrier, and on a busy host a barrier
 * can wait a whole scheduling quantum for a preempted worker.
 */
const MIN_PARALLEL_PACK = 1 << 20;
/** Rows per micro-kernel tile: chunks of C rows start on a tile boundary. */
const ROW_GRAIN = 2;
/**
 * Row tasks per thread: more lets a stalled thread's share move to the other;
 * fewer keeps each task's pass over packed B long.
 */
const TASKS_PER_THREAD = 4;
/** Fewest rows in a task (below this a task re-streams B for too little work). */
const MIN_TASK_ROWS = 16;

export class WasmMatmul {
  private packed = 0;
  private packedBytes = 0;

  constructor(
    private readonly engine: EngineModule,
    private readonly arena: Arena,
    private readonly pool: ThreadPool,
  ) {}

  /** C[i,j] (+)= Σ_p A[i,p]·B[j,p]. */
  nt(c: number, a: number, b: number, m: number, n: number, k: number, opts: MatmulOptions = {}): void {
    this.run("nt", c, a, b, m, n, k, opts);
  }

  /** C[i,j] (+)= Σ_p A[i,p]·B[p,j]. */
  nn(c: number, a: number, b: number, m: number, n: number, k: number, opts: MatmulOptions = {}): void {
    this.run("nn", c, a, b, m, n, k, opts);
  }

  /** C[i,j] (+)= Σ_p A[p,i]·B[p,j]. */
  tn(c: number, a: number, b: number, m: number, n: number, k: number, opts: MatmulOptions = {}): void {
    this.run("tn", c, a, b, m, n, k, opts);
  }

  /**
   * Allocates the packing scratch for the largest B (n columns, depth k) up front,
   * so that later calls never allocate.
   */
  reserve(n: number, k: number): void {
    this.scratch(n, k);
  }

  /** Packed B followed by one A-packing slot per thread. */
  private scratch(n: number, k: number): { packed: number; aSlots: number } {
    const exports = this.engine.exports;
    const bBytes = Number(exports.matmulPackedBytes(n, k));
    const slotBytes = Number(exports.matmulScratchBytes());
    const bytes = bBytes + slotBytes * this.pool.size;
    if (bytes > this.packedBytes) {
      if (this.packedBytes > 0) this.arena.free(this.packed);
      this.packedBytes = 0;
      this.packed = this.arena.alloc(bytes);
      this.packedBytes = bytes;
    }
    return { packed: this.packed, aSlots: this.packed + this.packedBytes - slotBytes * this.pool.size };
  }

  private run(layout: Layout, c: number, a: number, b: number, m: number, n: number, k: number, opts: MatmulOptions): void {
    const name = `matmul.${layout}`;
    dim(name, "m", m);
    dim(name, "n", n);
    dim(name, "k", k);
    const lda = opts.lda ?? (layout === "tn" ? m : k);
    const ldb = opts.ldb ?? (layout === "nt" ? k : n);
    const ldc = opts.ldc ?? n;
    const memoryBytes = this.engine.memory.buffer.byteLength;
    // A and B as stored: [rows, cols] with a leading dimension.
    if (layout === "tn") matrix(name, "A", a, k, m, lda, memoryBytes);
    else matrix(name, "A", a, m, k, lda, memoryBytes);
    if (layout === "nt") matrix(name, "B", b, n, k, ldb, memoryBytes);
    else matrix(name, "B", b, k, n, ldb, memoryBytes);
    matrix(name, "C", c, m, n, ldc, memoryBytes);
    if (m === 0 || n === 0) return;

    const exports = this.engine.exports;
    const accumulate = opts.accumulate ? 1 : 0;
    const { packed, aSlots } = this.scratch(n, k);
    const pack = layout === "nt" ? "matmulPackNT" : "matmulPackNN";
    const panels = exports.matmulPanelCount(n) as number;
    const parallel = this.pool.size > 1 && m >= 2 * ROW_GRAIN && 2 * m * n * k >= MIN_PARALLEL_FLOPS;

    if (parallel && panels > 1 && n * k >= MIN_PARALLEL_PACK) this.pool.parallelFor(pack, [packed, b, n, k, ldb], panels, 1, this.pool.size * TASKS_PER_THREAD);
    else exports[pack](packed, b, n, k, ldb, 0, panels);

    // Rows of C are cut into TASKS_PER_THREAD tasks per thread that the threads
    // claim one by one (each with its own A scratch slot), so a thread the OS
    // deschedules leaves its remaining tasks to the other.
    const transposedA = layout === "tn" ? 1 : 0;
    if (parallel) {
      const rowsPerTask = Math.max(MIN_TASK_ROWS, Math.ceil(m / (this.pool.size * TASKS_PER_THREAD) / ROW_GRAIN) * ROW_GRAIN);
      const tasks = Math.ceil(m / rowsPerTask);
      const args = [c, a, packed, m, n, k, lda, ldc, accumulate, transposedA, aSlots, rowsPerTask];
      this.pool.parallelFor("matmulPackedTasks", args, tasks, 1, tasks);
    } else {
      exports.matmulPackedRows(c, a, packed, m, n, k, lda, ldc, accumulate, transposedA, aSlots, 0, m);
    }
  }
}

function dim(op: string, what: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) {
    throw new RangeError(`${op}: ${what} must be a non-negative integer, got ${value}`);
  }
}

/** Checks that a [rows, cols] matrix with leading dimension ld lies inside memory. */
function matrix(op: string, what: string, ptr: number, rows: number, cols: number, ld: number, memoryBytes: number): void {
  if (!Number.isInteger(ld) || ld < cols || ld > 0x7fffffff) {
    throw new RangeError(`${op}: leading dimension of ${what} must be an integer >= ${cols}, got ${ld}`);
  }
  if (!Number.isInteger(ptr) || ptr < 0) throw new RangeError(`${op}: ${what} pointer must be a non-negative integer, got ${ptr}`);
  if (rows === 0 || cols === 0) return;
  const end = ptr + ((rows - 1) * ld + cols) * 4;
  if (end > memoryBytes) {
    throw new RangeError(`${op}: ${what} [${rows}x${cols}, ld ${ld}] at ${ptr} ends at byte ${end}, past the memory (${memoryBytes} bytes)`);
  }
}
