// One uvu test per group of formats, shared by test/fuzz-*.test.mjs: every
// mutant is accepted and then usable, or rejected with an Error that names the
// file and the field; nothing else (a TypeError, RangeError or wasm trap, a
// hang, running out of the worker heap) is allowed. npm run fuzz runs it longer.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { fuzzFormats } from "./run.mjs";

/** Mutants per format in npm test; scripts/fuzz.mjs takes --mutants N. */
export const MUTANTS = 400;

export function fuzzTest(title, names) {
  test(title, async () => {
    const results = await fuzzFormats({ names, mutants: MUTANTS, seed: 1, log: (line) => console.log(line) });
    for (const [name, c] of Object.entries(results)) {
      assert.is(c.accepted + c.rejected + c.unclear + c.crashes, MUTANTS, name);
      const shown = c.failures.slice(0, 5).map((f) => `#${f.i} [${f.kind}] ${f.what}: ${f.why}`).join("\n");
      assert.is(c.crashes, 0, `${name}: crashes\n${shown}`);
      assert.is(c.unclear, 0, `${name}: rejections that name no file or field\n${shown}`);
      assert.ok(c.accepted > 0 && c.rejected > 0, `${name}: the mutants exercise both outcomes`);
    }
  });
  test.run();
}
