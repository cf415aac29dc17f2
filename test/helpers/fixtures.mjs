// The PyTorch fixtures in test/fixtures/ (see its README) and the tolerances the
// tests compare against them with, shared by every test that reads them.
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { parseSafetensors } from "../../dist/index.js";

export const FIXTURE_CASES = ["tiny-untied", "tiny-tied", "tiny-l2", "tiny-l3"];

/** test/fixtures/<case>/ as a path (with the trailing slash). */
export const fixtureDir = (c) => new URL(`../fixtures/${c}/`, import.meta.url).pathname;

export const fixtureJson = (c, file = "expected.json") => JSON.parse(readFileSync(fixtureDir(c) + file, "utf8"));

/** A fixture's safetensors file as name → Float32Array. */
export function fixtureTensors(c, file) {
  const m = parseSafetensors(readFileSync(fixtureDir(c) + file), { source: file });
  return new Map([...m].map(([k, v]) => [k, v.data]));
}

/** Scalars: relative `tol` (1e-4). Returns the relative error. */
export function close(actual, want, what, tol = 1e-4) {
  const err = Math.abs(actual - want) / Math.max(Math.abs(want), 1e-12);
  assert.ok(err <= tol, `${what}: got ${actual}, want ${want} (rel err ${err.toExponential(2)})`);
  return err;
}

/**
 * Tensors: |a − e| ≤ tol · max|e| per element (fixtures README: cancellation makes
 * per-element relative error meaningless for tiny entries). Returns worst / scale.
 */
export function closeTensor(actual, want, what, tol = 1e-4) {
  assert.ok(actual, `${what}: missing`);
  assert.is(actual.length, want.length, `${what}: length`);
  let scale = 0;
  for (const w of want) scale = Math.max(scale, Math.abs(w));
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(actual[i] - want[i]);
    if (!(e <= worst)) [worst, at] = [Number.isNaN(e) ? Infinity : e, i];
  }
  assert.ok(worst <= tol * scale, `${what}: worst |diff| ${worst} at ${at} (got ${actual[at]}, want ${want[at]}), scale ${scale}`);
  return worst / (scale || 1);
}
