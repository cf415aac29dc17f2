// Shared helpers for kernel tests: an engine instance with an arena, typed views,
// seeded random data, and a finite-difference gradient check.
import { instantiateEngine, Arena } from "../../dist/internal.js";
import { mulberry32 } from "./random.mjs";

export async function createHarness({ shared = false } = {}) {
  const engine = await instantiateEngine({ shared });
  const arena = new Arena(engine);
  const k = engine.exports;
  return {
    engine,
    arena,
    k,
    /** Copies a Float32Array (or number[]) into fresh arena memory; returns its byte offset. */
    f32(data) {
      const arr = data instanceof Float32Array ? data : Float32Array.from(data);
      const ptr = arena.alloc(arr.length * 4);
      arena.f32(ptr, arr.length).set(arr);
      return ptr;
    },
    i32(data) {
      const arr = data instanceof Int32Array ? data : Int32Array.from(data);
      const ptr = arena.alloc(arr.length * 4);
      arena.i32(ptr, arr.length).set(arr);
      return ptr;
    },
    zeros(n) {
      const ptr = arena.alloc(n * 4);
      arena.f32(ptr, n).fill(0);
      return ptr;
    },
    /** A copy (not a view) of n floats at ptr. */
    read(ptr, n) {
      return arena.f32(ptr, n).slice();
    },
    write(ptr, data) {
      arena.f32(ptr, data.length).set(data);
    },
  };
}

/** Deterministic pseudo-random numbers (mulberry32) so failures reproduce. */
export function rng(seed = 1) {
  const next = mulberry32(seed);
  return {
    uniform: next,
    normal() {
      const u = Math.max(next(), 1e-12);
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
    },
    array(n, scale = 1) {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = this.normal() * scale;
      return out;
    },
    ints(n, max) {
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) out[i] = Math.floor(next() * max);
      return out;
    },
  };
}

/**
 * Central finite differences of a scalar function `loss()` with respect to the
 * float32 values at `ptr`, for `count` randomly chosen indices (or all when
 * count >= n). Returns [{index, numeric}] computed in float64 from float32 evaluations.
 */
export function finiteDifferences(h, ptr, n, loss, { eps = 1e-2, count = 16, seed = 7 } = {}) {
  const r = rng(seed);
  const view = () => h.arena.f32(ptr, n);
  const indices = count >= n ? [...Array(n).keys()] : Array.from({ length: count }, () => Math.floor(r.uniform() * n));
  return indices.map((index) => {
    const orig = view()[index];
    view()[index] = orig + eps;
    const plus = loss();
    view()[index] = orig - eps;
    const minus = loss();
    view()[index] = orig;
    return { index, numeric: (plus - minus) / (2 * eps) };
  });
}

/** max |a-b| / max(|b|, floor) over all elements, with a readable failure message. */
export function maxRelError(actual, expected, floor = 1e-6) {
  let worst = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.abs(actual[i] - expected[i]) / Math.max(Math.abs(expected[i]), floor);
    if (!(e <= worst)) worst = Number.isNaN(e) ? Infinity : Math.max(worst, e);
  }
  return worst;
}
