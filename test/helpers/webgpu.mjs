// Opens the WebGPU backend for a test file, or decides what to do without one:
// in CI (CI=true) a missing adapter is a failure; elsewhere the file reports that
// it was skipped and why. Software adapters (lavapipe, SwiftShader) are fine: the
// tests are small and check correctness only.
import { WebGpuBackend } from "../../dist/backend/webgpu/webgpu-backend.js";

process.env.XDG_RUNTIME_DIR ??= "/tmp";

/** The backend, or null after printing why the file is skipped (never in CI). */
export async function openWebGpu(file) {
  try {
    return await WebGpuBackend.create();
  } catch (e) {
    const why = `${e.name}: ${e.message}`;
    if (process.env.CI === "true") {
      throw new Error(`${file}: no WebGPU adapter in CI (${why}); .ci/run installs Mesa lavapipe for this`);
    }
    console.log(`SKIPPED ${file}: no WebGPU adapter (${why})`);
    return null;
  }
}

/** Deterministic uniform values in [lo, hi). */
export function rng(seed) {
  let s = seed >>> 0 || 1;
  return (n, lo = -1, hi = 1) => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      out[i] = lo + ((s >>> 8) / 16777216) * (hi - lo);
    }
    return out;
  };
}

/** max |a − b| / max(|b|, floor) over all elements. */
export function maxRelError(actual, expected, floor = 1e-6) {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} vs ${expected.length}`);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (Number.isNaN(a) !== Number.isNaN(e)) return Infinity;
    if (Number.isNaN(a)) continue;
    const err = Math.abs(a - e) / Math.max(Math.abs(e), floor);
    if (!(err <= worst)) worst = err;
  }
  return worst;
}
