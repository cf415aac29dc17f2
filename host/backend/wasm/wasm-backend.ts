// The CPU backend: every op is a call into the AssemblyScript kernels of
// build/engine.wasm, on tensors that live in one linear memory (the arena).
// Work runs synchronously, so `read` and the reductions resolve at once.
// Row-parallel kernels and matmuls are split over a worker pool that shares the
// memory; the splits never change a reduction order, so results are bit-identical
// for any thread count.
import type { AdamWHyper, Backend, DistanceKind, DType, MatmulLayout, Tensor } from "../backend.ts";
import { Arena, instantiateEngine, sharedMemorySupported, type EngineExports } from "./engine-module.ts";
import { ThreadPool } from "./thread-pool.ts";
import { WasmMatmul } from "./matmul.ts";

export class WasmTensor implements Tensor {
  constructor(
    /** byte offset in linear memory */
    readonly ptr: number,
    readonly length: number,
    readonly dtype: DType,
    readonly label: string,
  ) {}
}

export interface WasmBackendOptions {
  /** Threads including the calling one; default: 2 where shared memory works, else 1. */
  threads?: number;
}

export class WasmBackend implements Backend {
  readonly name = "wasm" as const;
  private readonly k: EngineExports;

  private constructor(
    readonly arena: Arena,
    private readonly pool: ThreadPool,
    private readonly mm: WasmMatmul,
  ) {
    this.k = arena.engine.exports;
  }

  static async create(opts: WasmBackendOptions = {}): Promise<WasmBackend> {
    const canShare = sharedMemorySupported();
    const wanted = opts.threads ?? (canShare ? await defaultThreads() : 1);
    if (!Number.isInteger(wanted) || wanted < 1 || wanted > 64) {
      throw new RangeError(`threads must be an integer in [1, 64], got ${opts.threads}`);
    }
    const threads = canShare ? wanted : 1;
    const engine = await instantiateEngine({ shared: threads > 1 });
    const arena = new Arena(engine);
    const pool = await ThreadPool.create(engine, threads);
    return new WasmBackend(arena, pool, new WasmMatmul(engine, arena, pool));
  }

  get threads(): number {
    return this.pool.size;
  }

  // ---- memory ----
  alloc(length: number, dtype: DType, label: string): WasmTensor {
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`alloc ${label}: invalid length ${length}`);
    try {
      return new WasmTensor(this.arena.alloc(length * 4), length, dtype, label);
    } catch (e) {
      throw new RangeError(`allocating ${label} (${length} values): ${(e as Error).message}`);
    }
  }

  view(base: Tensor, offset: number, length: number, label: string): WasmTensor {
    const b = base as WasmTensor;
    if (offset < 0 || length < 0 || offset + length > b.length) {
      throw new RangeError(`view ${label}: [${offset}, ${offset + length}) is outside ${b.label} (${b.length})`);
    }
    return new WasmTensor(b.ptr + offset * 4, length, b.dtype, label);
  }

  write(t: Tensor, data: Float32Array | Int32Array, offset = 0): void {
    const w = t as WasmTensor;
    if (offset + data.length > w.length) {
      throw new RangeError(`write ${w.label}: ${data.length} values at ${offset} exceed its length ${w.length}`);
    }
    const mem = this.arena.engine.memory.buffer;
    if (data instanceof Int32Array) new Int32Array(mem, w.ptr + offset * 4, data.length).set(data);
    else new Float32Array(mem, w.ptr + offset * 4, data.length).set(data);
  }

  async read(t: Tensor): Promise<Float32Array> {
    const w = t as WasmTensor;
    return this.arena.f32(w.ptr, w.length).slice();
  }

  async readInt(t: Tensor): Promise<Int32Array> {
    const w = t as WasmTensor;
    return this.arena.i32(w.ptr, w.length).slice();
  }

  /** Zero-copy view for host code that runs right now (valid until memory grows). */
  f32View(t: Tensor): Float32Array {
    const w = t as WasmTensor;
    return this.arena.f32(w.ptr, w.length);
  }

  async sync(): Promise<void> {}

  memoryBytes(): number {
    return this.arena.engine.memory.buffer.byteLength;
  }

  async dispose(): Promise<void> {
    await this.pool.terminate();
  }

  // ---- elementwise ----
  fill(t: Tensor, value: number): void {
    this.k.fill(p(t), t.length, value);
  }
  copy(dst: Tensor, src: Tensor): void {
    sameLength(dst, src);
    this.k.copy(p(dst), p(src), src.length);
  }
  add(out: Tensor, a: Tensor, b: Tensor): void {
    sameLength(out, a);
    sameLength(out, b);
    this.k.add(p(out), p(a), p(b), out.length);
  }
  accumulate(dst: Tensor, src: Tensor): void {
    sameLength(dst, src);
    this.k.accumulate(p(dst), p(src), dst.length);
  }
  scale(t: Tensor, s: number): void {
    this.k.scale(p(t), t.length, s);
  }
  initNormal(t: Tensor, std: number, seed: number, stream: number): void {
    this.k.initNormal(p(t), t.length, std, seed >>> 0, stream >>> 0);
  }

  // ---- model ops ----
  embeddingForward(out: Tensor, tokens: Tensor, table: Tensor, n: number, c: number): void {
    this.k.embeddingForward(p(out), p(tokens), p(table), n, c);
  }
  embeddingBackward(dtable: Tensor, tokens: Tensor, dout: Tensor, n: number, c: number): void {
    this.k.embeddingBackward(p(dtable), p(tokens), p(dout), n, c);
  }

  rmsnormForward(out: Tensor, rstd: Tensor, x: Tensor, w: Tensor, n: number, c: number, eps: number): void {
    this.rows("rmsnormForward", [p(out), p(rstd), p(x), p(w), c, eps], n, n * c);
  }
  rmsnormBackward(dx: Tensor, dw: Tensor, dout: Tensor, x: Tensor, w: Tensor, rstd: Tensor, n: number, c: number): void {
    this.k.rmsnormBackward(p(dx), p(dw), p(dout), p(x), p(w), p(rstd), n, c);
  }

  matmul(c: Tensor, a: Tensor, b: Tensor, m: number, n: number, k: number, layout: MatmulLayout, accumulate: boolean): void {
    if (c.length < m * n || a.length < m * k || b.length < n * k) {
      throw new RangeError(`matmul ${layout} ${m}×${n}×${k}: operand too small (${c.label}, ${a.label}, ${b.label})`);
    }
    const opts = { accumulate };
    if (layout === "nt") this.mm.nt(p(c), p(a), p(b), m, n, k, opts);
    else if (layout === "nn") this.mm.nn(p(c), p(a), p(b), m, n, k, opts);
    else this.mm.tn(p(c), p(a), p(b), m, n, k, opts);
  }

  ropeTable(cos: Tensor, sin: Tensor, t: number, headDim: number, theta: number): void {
    this.k.ropeTable(p(cos), p(sin), t, headDim, theta);
  }
  ropeForward(out: Tensor, x: Tensor, cos: Tensor, sin: Tensor, b: number, t: number, heads: number, headDim: number): void {
    this.k.ropeForward(p(out), p(x), p(cos), p(sin), b, t, heads, headDim);
  }
  ropeBackward(dx: Tensor, dout: Tensor, cos: Tensor, sin: Tensor, b: number, t: number, heads: number, headDim: number): void {
    this.k.ropeBackward(p(dx), p(dout), p(cos), p(sin), b, t, heads, headDim);
  }

  attentionForward(out: Tensor, probs: Tensor, q: Tensor, k: Tensor, v: Tensor, b: number, t: number, heads: number, kvHeads: number, headDim: number): void {
    const args = [p(out), p(probs), p(q), p(k), p(v), b, t, heads, kvHeads, headDim];
    this.rows("attentionForward", args, b * kvHeads, b * heads * t * t * headDim);
  }
  private attentionScratch: WasmTensor | undefined;
  attentionBackward(dq: Tensor, dk: Tensor, dv: Tensor, dout: Tensor, probs: Tensor, q: Tensor, k: Tensor, v: Tensor, b: number, t: number, heads: number, kvHeads: number, headDim: number): void {
    const need = b * kvHeads * t;
    if (!this.attentionScratch || this.attentionScratch.length < need) {
      this.attentionScratch = this.alloc(need, "f32", "attention scratch");
    }
    const args = [p(dq), p(dk), p(dv), this.attentionScratch.ptr, p(dout), p(probs), p(q), p(k), p(v), b, t, heads, kvHeads, headDim];
    this.rows("attentionBackward", args, b * kvHeads, b * heads * t * t * headDim);
  }

  swigluForward(out: Tensor, gate: Tensor, up: Tensor, n: number): void {
    this.k.swigluForward(p(out), p(gate), p(up), n);
  }
  swigluBackward(dgate: Tensor, dup: Tensor, dout: Tensor, gate: Tensor, up: Tensor, n: number): void {
    this.k.swigluBackward(p(dgate), p(dup), p(dout), p(gate), p(up), n);
  }

  crossEntropyForward(losses: Tensor, lse: Tensor, logits: Tensor, targets: Tensor, n: number, v: number): void {
    this.rows("crossEntropyForward", [p(losses), p(lse), p(logits), p(targets), v], n, n * v * 8);
  }
  crossEntropyBackward(dlogits: Tensor, logits: Tensor, lse: Tensor, targets: Tensor, n: number, v: number, scale: number): void {
    this.rows("crossEntropyBackward", [p(dlogits), p(logits), p(lse), p(targets), v, scale], n, n * v * 8);
  }

  cosineForward(cos: Tensor, normA: Tensor, normB: Tensor, a: Tensor, b: Tensor, n: number, c: number): void {
    this.rows("cosineForward", [p(cos), p(normA), p(normB), p(a), p(b), c], n, n * c);
  }
  cosineBackward(da: Tensor, db: Tensor, dcos: Tensor, a: Tensor, b: Tensor, cos: Tensor, normA: Tensor, normB: Tensor, n: number, c: number): void {
    this.rows("cosineBackward", [p(da), p(db), p(dcos), p(a), p(b), p(cos), p(normA), p(normB), c], n, n * c);
  }
  distanceFromCos(out: Tensor, cos: Tensor, n: number, kind: DistanceKind): void {
    this.k.distanceFromCos(p(out), p(cos), n, kind);
  }
  distanceGrad(dcos: Tensor, cos: Tensor, n: number, kind: DistanceKind, scale: number): void {
    this.k.distanceGrad(p(dcos), p(cos), n, kind, scale);
  }

  // ---- optimizer ----
  adamwStep(param: Tensor, g: Tensor, m: Tensor, v: Tensor, h: AdamWHyper): void {
    this.k.adamwStep(p(param), p(g), p(m), p(v), param.length, h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, h.step);
  }
  sgdStep(param: Tensor, g: Tensor, lr: number): void {
    this.k.sgdStep(p(param), p(g), param.length, lr);
  }

  // ---- reductions ----
  async sumSquares(t: Tensor): Promise<number> {
    return this.k.sumSquares(p(t), t.length);
  }
  async mean(t: Tensor): Promise<number> {
    return this.k.mean(p(t), t.length);
  }

  /**
   * Runs a kernel whose last two parameters are a [start, end) range of rows,
   * on the pool when the work is large enough to pay for the hand-off.
   */
  private rows(kernel: string, args: number[], total: number, work: number): void {
    if (this.pool.size > 1 && work >= PARALLEL_MIN_WORK && total > 1) this.pool.parallelFor(kernel, args, total, 1);
    else this.k[kernel](...args, 0, total);
  }
}

/** Below this many element-operations a worker hand-off costs more than it saves. */
const PARALLEL_MIN_WORK = 1 << 15;

function p(t: Tensor): number {
  return (t as WasmTensor).ptr;
}

function sameLength(a: Tensor, b: Tensor): void {
  if (a.length !== b.length) throw new RangeError(`length mismatch: ${a.label} (${a.length}) vs ${b.label} (${b.length})`);
}

/** Cores the runtime reports (navigator in Deno and browsers, node:os in Node 20), at most 8. */
async function defaultThreads(): Promise<number> {
  let cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency;
  if (!cores && typeof (globalThis as { process?: unknown }).process !== "undefined") {
    try {
      cores = (await import("node:os")).availableParallelism();
    } catch {
      // not Node: keep the fallback
    }
  }
  return Math.max(1, Math.min(cores ?? 2, 8));
}
