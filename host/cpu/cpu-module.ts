// The host CPU path that every backend and the analysis share: one plain,
// single-threaded instance of the engine's kernels (build/engine.wasm), created
// once per realm. It makes what must have the same bits on every backend (the
// normal init values and the RoPE tables, DESIGN.md "Backends") and reduces small
// per-token arrays that came back from a device (quantiles, histograms, means).
// Nothing here touches a backend's memory: inputs are copied in and results out.
import { Arena, instantiateEngine, type EngineModule } from "../backend/wasm/engine-module.ts";
import { scaleInvFreq, type RopeScaling } from "../model/rope-scaling.ts";

let loading: Promise<CpuModule> | undefined;

/** The realm's CPU module, instantiated on first use. */
export function loadCpuModule(): Promise<CpuModule> {
  return (loading ??= instantiateEngine({ shared: false }).then((e) => new CpuModule(e)));
}

export class CpuModule {
  private readonly arena: Arena;
  private readonly k: EngineModule["exports"];

  /** Use loadCpuModule(): one instance per realm is enough. */
  constructor(engine: EngineModule) {
    this.arena = new Arena(engine);
    this.k = engine.exports;
  }

  /** Runs `body` with fresh scratch blocks of the given byte sizes, freed afterwards. */
  private scratch<T>(sizes: number[], body: (ptrs: number[]) => T): T {
    const ptrs = sizes.map((b) => this.arena.alloc(b));
    try {
      return body(ptrs);
    } finally {
      for (let i = ptrs.length - 1; i >= 0; i--) this.arena.free(ptrs[i]!);
    }
  }

  private put(ptr: number, data: Float32Array): void {
    this.arena.f32(ptr, data.length).set(data);
  }

  /**
   * n samples of normal(0, std) for (seed, stream): element i is a pure function of
   * (seed, stream, i) (assembly/init.ts), rounded to f32.
   */
  normal(n: number, std: number, seed: number, stream: number): Float32Array {
    return this.scratch([n * 4], ([p]) => {
      this.k.initNormal(p, n, std, seed >>> 0, stream >>> 0);
      return this.arena.f32(p!, n).slice();
    });
  }

  /**
   * RoPE cos and sin tables [t, headDim/2] (HF convention, assembly/rope.ts), with
   * the frequencies scaled by HF's rope_scaling when one is given (model/rope-scaling.ts).
   */
  ropeTables(t: number, headDim: number, theta: number, scaling: RopeScaling | null = null): { cos: Float32Array; sin: Float32Array } {
    const half = headDim / 2;
    const n = t * half;
    if (!scaling) {
      return this.scratch([n * 4, n * 4], ([c, s]) => {
        this.k.ropeTable(c, s, t, headDim, theta);
        return { cos: this.arena.f32(c!, n).slice(), sin: this.arena.f32(s!, n).slice() };
      });
    }
    return this.scratch([n * 4, n * 4, half * 4], ([c, s, f]) => {
      this.k.ropeInvFreq(f, headDim, theta);
      this.put(f!, scaleInvFreq(this.arena.f32(f!, half).slice(), scaling));
      this.k.ropeTableFromInvFreq(c, s, t, half, f);
      return { cos: this.arena.f32(c!, n).slice(), sin: this.arena.f32(s!, n).slice() };
    });
  }

  /** numpy-"linear" quantiles of x at each q in qs (0..1). */
  quantiles(x: Float32Array, qs: readonly number[]): number[] {
    if (x.length === 0) return qs.map(() => NaN);
    return this.scratch([x.length * 4, x.length * 4, qs.length * 4, qs.length * 4], ([xp, sorted, qp, out]) => {
      this.put(xp!, x);
      this.put(qp!, Float32Array.from(qs));
      this.k.quantiles(out, sorted, xp, x.length, qp, qs.length);
      return Array.from(this.arena.f32(out!, qs.length));
    });
  }

  /** Counts of x in `bins` equal bins over [lo, hi) (out-of-range values go to the end bins). */
  histogram(x: Float32Array, lo: number, hi: number, bins: number): number[] {
    return this.scratch([x.length * 4, bins * 4], ([xp, counts]) => {
      this.put(xp!, x);
      this.k.histogram(counts, xp, x.length, lo, hi, bins);
      return Array.from(this.arena.i32(counts!, bins));
    });
  }

  /** Mean in f64 (fixed summation order, assembly/reduce.ts); NaN for an empty array. */
  mean(x: Float32Array): number {
    return this.scratch([x.length * 4], ([xp]) => {
      this.put(xp!, x);
      return this.k.mean(xp, x.length) as number;
    });
  }
}
