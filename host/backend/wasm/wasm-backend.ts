// The CPU backend: every op is a call into the AssemblyScript kernels of
// build/engine.wasm, on tensors that live in one linear memory (the arena).
// Work runs synchronously when an op is called, so "enqueued" work is already done
// and `read` resolves with a copy taken at call time.
// Row-parallel kernels and matmuls are split over a worker pool that shares the
// memory; the splits never change a reduction order, so results are bit-identical
// for any thread count.
import {
  stepScalarsLength,
  type AdamWHyper,
  type Backend,
  type BackendCapabilities,
  type DistanceKind,
  type DType,
  type JregScalarsSpec,
  type MatmulLayout,
  type MatmulOperands,
  type StepControlSpec,
  type Tensor,
} from "../backend.ts";
import { resolveMatmulOperands } from "../matmul-operands.ts";
import { ARENA_ALIGNMENT, Arena, instantiateEngine, sharedMemorySupported, type EngineExports, type KernelVariant } from "./engine-module.ts";
import { ThreadPool } from "./thread-pool.ts";
import { WasmMatmul } from "./wasm-matmul.ts";

export class WasmTensor implements Tensor {
  constructor(
    /** byte offset in linear memory */
    readonly ptr: number,
    readonly length: number,
    readonly dtype: DType,
    readonly label: string,
    /** the allocation this is a view of (itself for an allocation) */
    readonly base: WasmTensor | null,
  ) {}
}

export interface WasmBackendOptions {
  /** Threads including the calling one; default: 2 where shared memory works, else 1. */
  threads?: number;
  /**
   * Lowers capabilities.maxBindingBytes (default 2 GiB), e.g. to make the model
   * chunk its LM head and cross-entropy the way a GPU's binding limit would.
   */
  maxBindingBytes?: number;
  /** The thread-pool worker script (dist/backend/wasm/worker.js or a bundler's copy); default: found beside the bundle. */
  workerUrl?: URL | string;
  /**
   * "exact" (default): bit-identical in every runtime. "relaxed": FMA micro-kernels,
   * faster, deterministic only on one machine and runtime (engine-module.ts).
   */
  kernels?: KernelVariant;
}

/** wasm32 addresses 4 GiB; one op binds at most half of it. */
const DEFAULT_MAX_BINDING_BYTES = 2 ** 31;

export class WasmBackend implements Backend {
  readonly name = "wasm" as const;
  readonly capabilities: BackendCapabilities;
  private readonly k: EngineExports;
  /** scratch blocks kept across calls, by label (attention backward, jregScalars' weights) */
  private readonly scratch = new Map<string, WasmTensor>();

  private constructor(
    readonly arena: Arena,
    private readonly pool: ThreadPool,
    private readonly mm: WasmMatmul,
    maxBindingBytes: number,
  ) {
    this.k = arena.engine.exports;
    this.capabilities = {
      viewAlignment: ARENA_ALIGNMENT,
      maxBindingBytes,
      maxBufferBytes: DEFAULT_MAX_BINDING_BYTES,
      maxWorkgroupsPerDimension: Infinity,
      f16: false,
      device: `CPU (WebAssembly SIMD${arena.engine.kernels === "relaxed" ? ", relaxed FMA kernels" : ""}, ${pool.size} thread${pool.size === 1 ? "" : "s"})`,
    };
  }

  static async create(opts: WasmBackendOptions = {}): Promise<WasmBackend> {
    const canShare = sharedMemorySupported();
    const wanted = opts.threads ?? (canShare ? await defaultThreads() : 1);
    if (!Number.isInteger(wanted) || wanted < 1 || wanted > 64) {
      throw new RangeError(`threads must be an integer in [1, 64], got ${opts.threads}`);
    }
    const maxBinding = opts.maxBindingBytes ?? DEFAULT_MAX_BINDING_BYTES;
    if (!Number.isInteger(maxBinding) || maxBinding < 1024 || maxBinding > DEFAULT_MAX_BINDING_BYTES) {
      throw new RangeError(`maxBindingBytes must be an integer in [1024, 2^31], got ${opts.maxBindingBytes}`);
    }
    const threads = canShare ? wanted : 1;
    const engine = await instantiateEngine({ shared: threads > 1, kernels: opts.kernels ?? "exact" });
    const arena = new Arena(engine);
    const pool = await ThreadPool.create(engine, threads, { workerUrl: opts.workerUrl });
    return new WasmBackend(arena, pool, new WasmMatmul(engine, arena, pool), maxBinding);
  }

  get threads(): number {
    return this.pool.size;
  }

  // ---- memory ----
  alloc(length: number, dtype: DType, label: string): WasmTensor {
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`alloc ${label}: invalid length ${length}`);
    try {
      return new WasmTensor(this.arena.alloc(length * 4), length, dtype, label, null);
    } catch (e) {
      throw new RangeError(`allocating ${label} (${length} values): ${(e as Error).message}`);
    }
  }

  view(base: Tensor, offset: number, length: number, label: string): WasmTensor {
    const b = base as WasmTensor;
    if (offset < 0 || length < 0 || offset + length > b.length) {
      throw new RangeError(`view ${label}: [${offset}, ${offset + length}) is outside ${b.label} (${b.length})`);
    }
    if ((offset * 4) % ARENA_ALIGNMENT !== 0) {
      throw new RangeError(`view ${label}: offset ${offset} of ${b.label} is not a multiple of ${ARENA_ALIGNMENT} bytes`);
    }
    return new WasmTensor(b.ptr + offset * 4, length, b.dtype, label, b.base ?? b);
  }

  free(t: Tensor): void {
    const w = t as WasmTensor;
    if (w.base) throw new RangeError(`free ${w.label}: a view cannot be freed (free ${w.base.label})`);
    this.arena.free(w.ptr);
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

  read(t: Tensor): Promise<Float32Array> {
    const w = t as WasmTensor;
    // The copy is taken now, so later ops cannot change what this resolves with.
    return Promise.resolve(this.arena.f32(w.ptr, w.length).slice());
  }

  memoryBytes(): number {
    return this.arena.memoryBytes;
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
  accumulate(dst: Tensor, src: Tensor): void {
    sameLength(dst, src);
    this.k.accumulate(p(dst), p(src), dst.length);
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

  matmul(c: Tensor, a: Tensor, b: Tensor, m: number, n: number, k: number, layout: MatmulLayout, accumulate: boolean, operands?: MatmulOperands): void {
    const o = resolveMatmulOperands(c, a, b, m, n, k, layout, operands);
    const opts = { accumulate, lda: o.a.ld, ldb: o.b.ld, ldc: o.c.ld };
    const [pc, pa, pb] = [p(c) + 4 * o.c.offset, p(a) + 4 * o.a.offset, p(b) + 4 * o.b.offset];
    if (layout === "nt") this.mm.nt(pc, pa, pb, m, n, k, opts);
    else if (layout === "nn") this.mm.nn(pc, pa, pb, m, n, k, opts);
    else this.mm.tn(pc, pa, pb, m, n, k, opts);
  }

  ropeInPlace(x: Tensor, cos: Tensor, sin: Tensor, b: number, t: number, heads: number, headDim: number, inverse: boolean): void {
    this.k.ropeInPlace(p(x), p(cos), p(sin), b, t, heads, headDim, inverse ? 1 : 0);
  }

  /** One log-sum-exp per query row: the flash kernel (assembly/attention.ts) recomputes the probabilities. */
  attentionStateLength(b: number, t: number, heads: number, _kvHeads: number, _headDim: number): number {
    return b * heads * t;
  }
  attentionForward(out: Tensor, state: Tensor, q: Tensor, k: Tensor, v: Tensor, b: number, t: number, heads: number, kvHeads: number, headDim: number): void {
    if (state.length < this.attentionStateLength(b, t, heads, kvHeads, headDim)) {
      throw new RangeError(`attentionForward: state ${state.label} is smaller than attentionStateLength`);
    }
    // units: (batch row, query head, query tile), heaviest tiles first (assembly/attention.ts)
    const units = this.k.attentionForwardUnits(b, t, heads);
    const threads = this.attentionThreads(units, b * heads * t * t * headDim);
    const scratch = this.scratchFor("attention forward scratch", threads * Number(this.k.attentionForwardScratchBytes(headDim)));
    const args = [p(out), p(state), scratch, p(q), p(k), p(v), b, t, heads, kvHeads, headDim];
    if (threads > 1) this.pool.parallelFor("attentionForward", args, units, 1, Math.min(units, threads * ATTENTION_CHUNKS_PER_THREAD));
    else this.k.attentionForward(...args, 0, units, 0);
  }
  attentionBackward(dq: Tensor, dk: Tensor, dv: Tensor, dout: Tensor, out: Tensor, state: Tensor, q: Tensor, k: Tensor, v: Tensor, b: number, t: number, heads: number, kvHeads: number, headDim: number): void {
    // units: (batch row, kv head), each claimed on its own; one scratch region per thread
    const units = b * kvHeads;
    const threads = this.attentionThreads(units, b * heads * t * t * headDim);
    const scratch = this.scratchFor("attention backward scratch", threads * Number(this.k.attentionBackwardScratchBytes(t, headDim, heads / kvHeads)));
    const args = [p(dq), p(dk), p(dv), scratch, p(dout), p(out), p(state), p(q), p(k), p(v), b, t, heads, kvHeads, headDim];
    if (threads > 1) this.pool.parallelFor("attentionBackward", args, units, 1, units);
    else this.k.attentionBackward(...args, 0, units, 0);
  }

  /** Threads an attention call runs on: the pool's when there are several units and enough work to pay for the hand-off. */
  private attentionThreads(units: number, work: number): number {
    return this.pool.size > 1 && units > 1 && work >= PARALLEL_MIN_WORK ? this.pool.size : 1;
  }

  /** A scratch block of at least `bytes`, kept across calls (grown by freeing the smaller one). */
  private scratchFor(label: string, bytes: number): number {
    const have = this.scratch.get(label);
    if (have && have.length * 4 >= bytes) return have.ptr;
    if (have) this.free(have);
    this.scratch.delete(label);
    const t = this.alloc(Math.ceil(bytes / 4), "f32", label);
    this.scratch.set(label, t);
    return t.ptr;
  }

  biasAddInPlace(x: Tensor, bias: Tensor, n: number, c: number): void {
    this.k.biasAddInPlace(p(x), p(bias), n, c);
  }
  biasBackward(dbias: Tensor, dout: Tensor, n: number, c: number): void {
    this.k.biasBackward(p(dbias), p(dout), n, c);
  }
  swigluForward(out: Tensor, gateUp: Tensor, n: number, f: number): void {
    swigluShapes("swigluForward", [[out, n * f, "out"], [gateUp, 2 * n * f, "gateUp"]]);
    this.rows("swigluForwardRows", [p(out), p(gateUp), f], n, n * f * 8);
  }
  swigluBackward(dGateUp: Tensor, act: Tensor, dout: Tensor, gateUp: Tensor, n: number, f: number): void {
    swigluShapes("swigluBackward", [[dGateUp, 2 * n * f, "dGateUp"], [act, n * f, "act"], [dout, n * f, "dout"], [gateUp, 2 * n * f, "gateUp"]]);
    this.rows("swigluBackwardRows", [p(dGateUp), p(act), p(dout), p(gateUp), f], n, n * f * 8);
  }

  crossEntropyForward(losses: Tensor, lse: Tensor, logits: Tensor, targets: Tensor, n: number, v: number): void {
    this.rows("crossEntropyForward", [p(losses), p(lse), p(logits), p(targets), v], n, n * v * 8);
  }
  crossEntropyBackwardInPlace(logits: Tensor, lse: Tensor, targets: Tensor, n: number, v: number, scale: number): void {
    // the kernel reads each element before writing it, so source and destination may be one buffer
    this.rows("crossEntropyBackward", [p(logits), p(logits), p(lse), p(targets), v, scale], n, n * v * 8);
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
  distanceGrad(dcos: Tensor, cos: Tensor, n: number, kind: DistanceKind, scalars: Tensor, index: number, scale: number): void {
    slotIndex("distanceGrad", scalars, index);
    this.k.distanceGrad(p(dcos), p(cos), n, kind, p(scalars), index, scale);
  }

  // ---- reductions into device scalars ----
  meanInto(out: Tensor, index: number, x: Tensor): void {
    slotIndex("meanInto", out, index);
    this.k.meanInto(p(out), index, p(x), x.length);
  }
  sumSquaresInto(out: Tensor, index: number, x: Tensor): void {
    slotIndex("sumSquaresInto", out, index);
    this.k.sumSquaresInto(p(out), index, p(x), x.length);
  }
  jregScalars(s: Tensor, spec: JregScalarsSpec): void {
    const L = spec.numLayers;
    if (s.length < stepScalarsLength(L)) throw new RangeError(`jregScalars: ${s.label} is shorter than stepScalarsLength(${L})`);
    if (spec.numerator.length !== L || (spec.denominator && spec.denominator.length !== L)) {
      throw new RangeError(`jregScalars: numerator and denominator need ${L} weights`);
    }
    // numerator and denominator weights as f64[2L]
    const ptr = this.scratchFor("jreg weights", 16 * L);
    const w = this.arena.f64(ptr, 2 * L);
    w.set(spec.numerator);
    w.fill(0, L);
    if (spec.denominator) w.set(spec.denominator, L);
    this.k.jregScalars(p(s), L, spec.alpha, ptr, ptr + 8 * L, spec.denominator ? 1 : 0);
  }
  stepControl(s: Tensor, spec: StepControlSpec): void {
    if (s.length < stepScalarsLength(0)) throw new RangeError(`stepControl: ${s.label} is too short`);
    this.k.stepControl(p(s), spec.clip);
  }

  // ---- optimizer ----
  adamwStep(param: Tensor, g: Tensor, m: Tensor, v: Tensor, h: AdamWHyper, s: Tensor): void {
    sameLength(param, g);
    sameLength(param, m);
    sameLength(param, v);
    if (!(h.decayLength >= 0 && h.decayLength <= param.length)) {
      throw new RangeError(`adamwStep: decayLength ${h.decayLength} outside [0, ${param.length}]`);
    }
    const args = [p(param), p(g), p(m), p(v), h.lr, h.beta1, h.beta2, h.eps, h.weightDecay, h.decayLength, p(s)];
    this.elements("adamwStep", args, param.length);
  }
  sgdStep(param: Tensor, g: Tensor, lr: number, s: Tensor): void {
    sameLength(param, g);
    this.elements("sgdStep", [p(param), p(g), lr, p(s)], param.length);
  }

  /**
   * Runs a kernel whose last two parameters are a [start, end) range of rows,
   * on the pool when the work is large enough to pay for the hand-off.
   */
  private rows(kernel: string, args: number[], total: number, work: number): void {
    if (this.pool.size > 1 && work >= PARALLEL_MIN_WORK && total > 1) this.pool.parallelFor(kernel, args, total, 1, this.pool.size * CHUNKS_PER_THREAD);
    else this.k[kernel](...args, 0, total);
  }

  /** An elementwise kernel over [start, end) of n elements, split on SIMD-group boundaries. */
  private elements(kernel: string, args: number[], n: number): void {
    if (this.pool.size > 1 && n >= PARALLEL_MIN_WORK) this.pool.parallelFor(kernel, args, n, ELEMENT_GRAIN, this.pool.size * CHUNKS_PER_THREAD);
    else this.k[kernel](...args, 0, n);
  }
}

/** Below this many element-operations a worker hand-off costs more than it saves. */
const PARALLEL_MIN_WORK = 1 << 15;
/**
 * Chunks per thread for row and elementwise kernels: the threads claim them, so
 * a descheduled thread leaves the rest of its share to the others.
 */
const CHUNKS_PER_THREAD = 4;
/**
 * Chunks per thread for the attention forward: its units (query tiles) differ in
 * cost, heaviest first, so many small claims let the threads finish together.
 */
const ATTENTION_CHUNKS_PER_THREAD = 16;
/** Elementwise splits fall on multiples of this (whole cache lines of f32x4 groups). */
const ELEMENT_GRAIN = 1024;

function p(t: Tensor): number {
  return (t as WasmTensor).ptr;
}

function sameLength(a: Tensor, b: Tensor): void {
  if (a.length !== b.length) throw new RangeError(`length mismatch: ${a.label} (${a.length}) vs ${b.label} (${b.length})`);
}

function swigluShapes(op: string, tensors: Array<[Tensor, number, string]>): void {
  for (const [t, need, name] of tensors) {
    if (t.length < need) throw new RangeError(`${op}: ${name} ${t.label} has ${t.length} values, needs ${need}`);
  }
}

function slotIndex(op: string, t: Tensor, index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= t.length) throw new RangeError(`${op}: slot ${index} is outside ${t.label} (${t.length})`);
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
