// Reductions of small per-token arrays (quantiles, histograms) on the CPU in
// AssemblyScript, whatever backend produced the arrays (DESIGN.md: the device
// computes per-token cosines, the CPU side reduces them).
import { Arena, instantiateEngine, type EngineModule } from "../backend/wasm/engine-module.ts";

let shared: Promise<CpuReducer> | undefined;

export class CpuReducer {
  private readonly arena: Arena;
  private readonly base: number;

  private constructor(private readonly engine: EngineModule) {
    this.arena = new Arena(engine);
    this.base = this.arena.mark();
  }

  /** One reducer per realm, created on first use. */
  static get(): Promise<CpuReducer> {
    return (shared ??= instantiateEngine({ shared: false }).then((e) => new CpuReducer(e)));
  }

  private put(data: Float32Array): number {
    const ptr = this.arena.alloc(data.length * 4);
    this.arena.f32(ptr, data.length).set(data);
    return ptr;
  }

  /** numpy-"linear" quantiles of x at each q in qs (0..1). */
  quantiles(x: Float32Array, qs: readonly number[]): number[] {
    if (x.length === 0) return qs.map(() => NaN);
    this.arena.reset(this.base);
    const xp = this.put(x);
    const sorted = this.arena.alloc(x.length * 4);
    const qp = this.put(Float32Array.from(qs));
    const out = this.arena.alloc(qs.length * 4);
    this.engine.exports.quantiles(out, sorted, xp, x.length, qp, qs.length);
    return Array.from(this.arena.f32(out, qs.length));
  }

  /** Counts of x in `bins` equal bins over [lo, hi) (out-of-range values go to the end bins). */
  histogram(x: Float32Array, lo: number, hi: number, bins: number): number[] {
    this.arena.reset(this.base);
    const xp = this.put(x);
    const counts = this.arena.alloc(bins * 4);
    this.engine.exports.histogram(counts, xp, x.length, lo, hi, bins);
    return Array.from(this.arena.i32(counts, bins));
  }

  mean(x: Float32Array): number {
    this.arena.reset(this.base);
    const xp = this.put(x);
    return this.engine.exports.mean(xp, x.length);
  }
}
