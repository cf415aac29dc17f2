// Loads the CPU engine's WASM module and owns its linear memory.
//
// Two builds exist: `engine.wasm` owns an ordinary memory (works everywhere), and
// `engine-threads.wasm` imports a shared memory so that workers can run kernels on
// the same arena. Both are embedded in the bundle, so loading needs neither fetch
// nor a file system and works unchanged in Node, Deno and browsers.
import engineBytes from "../../../build/engine.wasm";
import engineThreadsBytes from "../../../build/engine-threads.wasm";

const PAGE = 65536;
/** wasm32 limit; the threaded build declares this maximum too (asconfig.json). */
export const MAX_PAGES = 65536;

export type EngineExports = Record<string, any> & { heapBase(): number };

export interface EngineModule {
  readonly module: WebAssembly.Module;
  readonly instance: WebAssembly.Instance;
  readonly exports: EngineExports;
  readonly memory: WebAssembly.Memory;
  readonly shared: boolean;
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

let compiled: { plain?: Promise<WebAssembly.Module>; threads?: Promise<WebAssembly.Module> } = {};

/** Compiles (once) the plain or the threaded build. */
export function compileEngine(shared: boolean): Promise<WebAssembly.Module> {
  if (shared) return (compiled.threads ??= WebAssembly.compile(engineThreadsBytes as BufferSource));
  return (compiled.plain ??= WebAssembly.compile(engineBytes as BufferSource));
}

/**
 * Instantiates the engine. With `shared`, a shared memory is created (or the given
 * one is used, as workers do) and imported; otherwise the module's own memory is used.
 */
export async function instantiateEngine(
  opts: { shared: boolean; module?: WebAssembly.Module; memory?: WebAssembly.Memory } = { shared: false },
): Promise<EngineModule> {
  const module = opts.module ?? (await compileEngine(opts.shared));
  const env: Record<string, WebAssembly.ImportValue> = { abort };
  let memory = opts.memory;
  if (opts.shared) {
    memory ??= new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES, shared: true });
    env.memory = memory;
  }
  const instance = await WebAssembly.instantiate(module, { env });
  const exports = instance.exports as unknown as EngineExports;
  if (!opts.shared) memory = exports.memory as unknown as WebAssembly.Memory;
  return { module, instance, exports, memory: memory!, shared: opts.shared };
}

/**
 * Bump allocator over the engine's linear memory. Offsets are byte addresses that
 * kernels receive directly. Memory grows on demand and never shrinks; `reset`
 * rewinds to a mark so per-call scratch can be reused without growth.
 */
export class Arena {
  private top: number;

  constructor(readonly engine: EngineModule) {
    this.top = align(engine.exports.heapBase(), 64);
  }

  /** Current top, for `reset`. */
  mark(): number {
    return this.top;
  }

  reset(mark: number): void {
    this.top = mark;
  }

  get bytesUsed(): number {
    return this.top;
  }

  /** Reserves `bytes` bytes aligned to `alignment` (default 64) and returns the offset. */
  alloc(bytes: number, alignment = 64): number {
    if (!Number.isFinite(bytes) || bytes < 0) throw new RangeError(`arena: invalid allocation size ${bytes}`);
    const start = align(this.top, alignment);
    const end = start + bytes;
    const memory = this.engine.memory;
    const have = memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      if (have / PAGE + pages > MAX_PAGES) {
        throw new RangeError(
          `arena: out of memory: need ${(end / 2 ** 20).toFixed(1)} MiB, the WASM32 limit is 4096 MiB`,
        );
      }
      memory.grow(pages);
    }
    this.top = end;
    return start;
  }

  f32(offset: number, length: number): Float32Array {
    return new Float32Array(this.engine.memory.buffer, offset, length);
  }

  i32(offset: number, length: number): Int32Array {
    return new Int32Array(this.engine.memory.buffer, offset, length);
  }
}

export function align(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}
