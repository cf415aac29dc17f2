// A wasm-backend command (and "auto" on a machine without a GPU device node)
// must not load Dawn: its limit warnings on stderr were noise on every such run.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const jreg = fileURLToPath(new URL("../bin/jreg.mjs", import.meta.url));

test("jreg demo (wasm) writes nothing to stderr", () => {
  const r = spawnSync(process.execPath, [jreg, "demo", "--steps", "1", "--threads", "1"], { encoding: "utf8" });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stderr, "");
  assert.match(r.stdout, /wasm backend/);
});

test('backend "auto" without a GPU device node never loads the webgpu module', () => {
  const gpuNode = existsSync("/dev/dri") || existsSync("/dev/nvidia0");
  const code = `import { createEngine } from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)};
    const e = await createEngine({ backend: "auto", threads: 1 }); console.log(e.backend.name); await e.dispose();`;
  const out = spawnSync(process.execPath, ["--input-type=module", "-e", code], { encoding: "utf8" });
  assert.is(out.status, 0, out.stderr);
  if (process.platform === "linux" && !gpuNode) {
    assert.is(out.stdout.trim(), "wasm");
    assert.not.match(out.stderr, /artificially reduced|Warning/);
  } else {
    assert.match(out.stdout.trim(), /^(wasm|webgpu)$/);
  }
});

test.run();
