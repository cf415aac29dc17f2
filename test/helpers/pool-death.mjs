// What every dying-worker scenario must show (test/runtime/pool-death.mjs reports
// it): the pending call fails with the pool's one clear Error, within a bound
// that only catches a hang; a later call fails at once with the same Error; and
// dispose() resolved.
import * as assert from "uvu/assert";

/** Generous: the death is reported within milliseconds; this only bounds a hang. */
export const BOUND_MS = 10_000;
const UNUSABLE = "; the engine is unusable: dispose it and create a new one";

/** `reason`: a regular expression source for how the worker died ("worker 1 of 1 exited \\(code 3\\)"). */
export function assertFailsClearly(result, reason, label = result.label) {
  assert.ok(result.first !== undefined, `${label}: no call failed`);
  assert.match(result.first, new RegExp(`^Error: wasm thread pool: ${reason} \\(noticed in \\w+\\)${UNUSABLE.replace(/[.()]/g, "\\$&")}$`), label);
  assert.ok(result.firstMs < BOUND_MS, `${label}: the error took ${result.firstMs} ms`);
  assert.is(result.later, result.first, `${label}: a later call fails with the same error`);
  assert.ok(result.laterMs < 1000, `${label}: a later call took ${result.laterMs} ms`);
  assert.is(result.disposed, true);
}
