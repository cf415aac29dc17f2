// Loads the CPU engine's WASM module and owns its linear memory.
//
// Two builds exist: `engine.wasm` owns an ordinary memory (works everywhere), and
// `engine-threads.wasm` imports a shared memory so that workers can run kernels on
// the same arena. Both are embedded in the bundle, so loading needs neither fetch
// nor a file system and works unchanged in Node, Deno and browsers. The opt-in
// relaxed-SIMD variants of both (KernelVariant) live in engine-relaxed.ts.
import engineBytes from "../../../build/engine.wasm";
import engineThreadsBytes from "../../../build/engine-threads.wasm";
import { preferFixedSharedMemory, withFixedMemoryImport } from "./fixed-memory.ts";

const PAGE = 65536;
/** wasm32 limit; the threaded build declares this maximum too (asconfig.json). */
export const MAX_PAGES = 65536;
/** Pages a growable shared memory starts with. */
const SHARED_INITIAL_PAGES = 16;

export type EngineExports = Record<string, any> & { heapBase(): number };

export interface EngineModule {
  readonly module: WebAssembly.Module;
  readonly instance: WebAssembly.Instance;
  readonly exports: EngineExports;
  readonly memory: WebAssembly.Memory;
  readonly shared: boolean;
  /** which build of the kernels this is (see KernelVariant) */
  readonly kernels: KernelVariant;
  /** pages of a memory that cannot grow (fixed-memory.ts), or 0 for a growable one */
  readonly fixedPages: number;
}

function abort(msgPtr: number, filePtr: number, line: number, col: number): never {
  throw new Error(`engine.wasm aborted at ${line}:${col} (message @${msgPtr}, file @${filePtr})`);
}

/** True when this runtime can share a WebAssembly.Memory with workers. */
export function sharedMemorySupported(): boolean {
  if (typeof SharedArrayBuffer === "undefined") return false;
  // Browsers only expose SharedArrayBuffer to cross-origin isolated pages.
  const g = globalThis as { crossOriginIsolated?: boolean };
  if (g.crossOriginIsolated === false) return false;
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    return true;
  } catch {
    return false;
  }
}

/**
 * Which build of the kernels: "exact" (default) does every multiply-add as
 * f32x4.mul then f32x4.add, with the same bits in every runtime and on every
 * machine; "relaxed" fuses the matmul and attention micro-kernels' multiply-adds
 * with relaxed SIMD (FMA where the CPU has it): faster, but its bits hold only
 * for one machine and runtime. Relaxed SIMD is on by default in Deno 2 and
 * Chromium ≥ 114; Node 20 needs --experimental-wasm-relaxed-simd (Node 22 has it).
 */
export type KernelVariant = "exact" | "relaxed";

export const KERNEL_VARIANTS: readonly KernelVariant[] = ["exact", "relaxed"];

const compiled = new Map<string, Promise<WebAssembly.Module>>();

/** Thrown when kernels: "relaxed" cannot be loaded here; the message says why and what to do. */
export class KernelVariantError extends Error {
  override name = "KernelVariantError";
}

async function relaxedModuleBytes(shared: boolean): Promise<Uint8Array> {
  const { relaxedBytes } = await import("./engine-relaxed.ts");
  const bytes = shared ? relaxedBytes.threads : relaxedBytes.plain;
  if (bytes.length === 0) throw new KernelVariantError('kernels: "relaxed" is not part of this build (the web bundle leaves it out); use kernels: "exact"');
  if (!WebAssembly.validate(bytes as BufferSource)) {
    throw new KernelVariantError(
      'kernels: "relaxed" needs WebAssembly relaxed SIMD, which this runtime does not enable ' +
        "(Node 20: run node with --experimental-wasm-relaxed-simd; Deno 2, Chromium >= 114 and Node >= 22 have it); use kernels: \"exact\"",
    );
  }
  return bytes;
}

/**
 * Compiles (once) the plain or the threaded build of the given kernel variant; with
 * `fixedPages`, the threaded build declares a memory of exactly that many pages.
 */
export function compileEngine(shared: boolean, kernels: KernelVariant = "exact", fixedPages = 0): Promise<WebAssembly.Module> {
  if (!KERNEL_VARIANTS.includes(kernels)) {
    return Promise.reject(new KernelVariantError(`kernels must be "exact" or "relaxed", got ${JSON.stringify(kernels)}`));
  }
  const key = `${kernels}:${shared ? "threads" : "plain"}:${shared ? fixedPages : 0}`;
  let p = compiled.get(key);
  if (!p) {
    const fix = (b: Uint8Array) => (shared && fixedPages > 0 ? withFixedMemoryImport(b, fixedPages) : b);
    if (kernels === "relaxed") p = relaxedModuleBytes(shared).then((b) => WebAssembly.compile(fix(b) as BufferSource));
    else p = WebAssembly.compile(fix(shared ? engineThreadsBytes : engineBytes) as BufferSource);
    // a failed compile is not cached, so a later call reports the same error again
    p.catch(() => compiled.delete(key));
    compiled.set(key, p);
  }
  return p;
}

/**
 * A memory of `pages` pages that cannot grow, or undefined where the runtime refuses
 * to commit that much at once (then the caller uses a growable one).
 */
function fixedSharedMemory(pages: number): WebAssembly.Memory | undefined {
  try {
    return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  } catch {
    return undefined;
  }
}

/**
 * Instantiates the engine. With `shared`, a shared memory is created (or the given
 * one is used, as workers do, with the module compiled for it) and imported;
 * otherwise the module's own memory is used. A created shared memory is a fixed
 * 4 GiB one where V8 checks bounds in software (Deno: fixed-memory.ts), else a
 * growable one; `fixedPages` chooses instead (0 = growable; for tests).
 */
export async function instantiateEngine(
  opts: { shared: boolean; kernels?: KernelVariant; module?: WebAssembly.Module; memory?: WebAssembly.Memory; fixedPages?: number } = { shared: false },
): Promise<EngineModule> {
  const env: Record<string, WebAssembly.ImportValue> = { abort };
  let memory = opts.memory;
  let fixedPages = 0;
  if (opts.shared && !memory) {
    const pages = opts.fixedPages ?? (preferFixedSharedMemory() ? MAX_PAGES : 0);
    memory = pages > 0 ? fixedSharedMemory(pages) : undefined;
    if (memory) fixedPages = pages;
    else memory = new WebAssembly.Memory({ initial: SHARED_INITIAL_PAGES, maximum: MAX_PAGES, shared: true });
  }
  const module = opts.module ?? (await compileEngine(opts.shared, opts.kernels, fixedPages));
  if (opts.shared) env.memory = memory!;
  const instance = await WebAssembly.instantiate(module, { env });
  const exports = instance.exports as unknown as EngineExports;
  if (!opts.shared) memory = exports.memory as unknown as WebAssembly.Memory;
  const kernels: KernelVariant = exports.kernelsRelaxed() ? "relaxed" : "exact";
  return { module, instance, exports, memory: memory!, shared: opts.shared, kernels, fixedPages };
}

/**
 * Allocator over the engine's linear memory. Offsets are byte addresses that
 * kernels receive directly. Memory grows on demand and never shrinks (wasm cannot
 * shrink a memory), but freed blocks are reused: a first-fit free list with
 * coalescing of neighbours, and a freed block at the top lowers the top. So a
 * program that frees what it no longer needs (e.g. activations of a previous
 * batch shape) reaches a steady memory size instead of growing without bound.
 */
export class Arena {
  private top: number;
  /** free blocks [start, end), sorted by start, never adjacent (they coalesce) */
  private readonly holes: { start: number; end: number }[] = [];
  /** size of every live allocation by its start offset */
  private readonly live = new Map<number, number>();
  /** the highest top so far */
  private highWater = 0;

  constructor(readonly engine: EngineModule) {
    this.top = align(engine.exports.heapBase(), ARENA_ALIGNMENT);
  }

  /** Bytes below the top (live allocations plus holes). */
  get bytesUsed(): number {
    return this.top;
  }

  /**
   * Bytes of linear memory in use: the memory's size, which grows with the arena
   * and never shrinks; for a fixed-size memory, what a growable one would have
   * grown to (its initial pages, or the highest top so far in whole pages).
   */
  get memoryBytes(): number {
    if (this.engine.fixedPages === 0) return this.engine.memory.buffer.byteLength;
    return Math.max(SHARED_INITIAL_PAGES * PAGE, align(this.highWater, PAGE));
  }

  /** Bytes held by live allocations. */
  get bytesLive(): number {
    let n = 0;
    for (const b of this.live.values()) n += b;
    return n;
  }

  /**
   * Reserves `bytes` bytes (rounded up to the alignment) at an offset aligned to
   * `alignment` (a divisor of 256; default 256, WebGPU's binding offset rule, so
   * that the wasm backend keeps the same layout discipline as the GPU).
   */
  alloc(bytes: number, alignment = ARENA_ALIGNMENT): number {
    if (!Number.isFinite(bytes) || bytes < 0) throw new RangeError(`arena: invalid allocation size ${bytes}`);
    if (ARENA_ALIGNMENT % alignment !== 0) throw new RangeError(`arena: alignment ${alignment} must divide ${ARENA_ALIGNMENT}`);
    const size = Math.max(ARENA_ALIGNMENT, align(bytes, ARENA_ALIGNMENT));
    for (let i = 0; i < this.holes.length; i++) {
      const b = this.holes[i]!;
      if (b.end - b.start < size) continue;
      const start = b.start;
      if (b.end - b.start === size) this.holes.splice(i, 1);
      else b.start += size;
      this.live.set(start, size);
      return start;
    }
    const start = this.top;
    const end = start + size;
    const memory = this.engine.memory;
    const have = memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      // a fixed-size memory (fixed-memory.ts) cannot grow: its size is the limit
      const limit = this.engine.fixedPages || MAX_PAGES;
      if (have / PAGE + pages > limit) {
        throw new RangeError(
          `arena: out of memory: need ${(end / 2 ** 20).toFixed(1)} MiB, the ${limit === MAX_PAGES ? "WASM32 " : "fixed memory's "}limit is ${(limit * PAGE) / 2 ** 20} MiB`,
        );
      }
      memory.grow(pages);
    }
    this.top = end;
    this.highWater = Math.max(this.highWater, end);
    this.live.set(start, size);
    return start;
  }

  /** Returns a block that alloc gave out; it must not be used afterwards. */
  free(offset: number): void {
    const size = this.live.get(offset);
    if (size === undefined) throw new RangeError(`arena: free of ${offset}, which is not a live allocation`);
    this.live.delete(offset);
    let start = offset;
    let end = offset + size;
    // index of the first free block after this one
    let i = 0;
    while (i < this.holes.length && this.holes[i]!.start < start) i++;
    const prev = this.holes[i - 1];
    const next = this.holes[i];
    if (next && next.start === end) {
      end = next.end;
      this.holes.splice(i, 1);
    }
    if (prev && prev.end === start) {
      start = prev.start;
      this.holes.splice(i - 1, 1);
      i--;
    }
    if (end === this.top) this.top = start;
    else this.holes.splice(i, 0, { start, end });
  }

  f32(offset: number, length: number): Float32Array {
    return new Float32Array(this.engine.memory.buffer, offset, length);
  }

  i32(offset: number, length: number): Int32Array {
    return new Int32Array(this.engine.memory.buffer, offset, length);
  }

  f64(offset: number, length: number): Float64Array {
    return new Float64Array(this.engine.memory.buffer, offset, length);
  }
}

/** Every allocation starts on a 256-byte boundary (WebGPU's binding offset rule). */
export const ARENA_ALIGNMENT = 256;

export function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
