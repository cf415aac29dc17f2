// The WebGPU tests in Deno (navigator.gpu, wgpu): the op tests and the wasm
// comparison run there unchanged, and a 20-step loss trace on Deno's WebGPU
// agrees with Node's wasm backend within 1e-4.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { openWebGpu } from "./helpers/webgpu.mjs";
import { backendTrace } from "./runtime/webgpu-trace.mjs";

const probe = await openWebGpu("webgpu-runtimes");
await probe?.dispose();

const root = fileURLToPath(new URL("..", import.meta.url));
const deno = (...args) =>
  spawnSync(`${root}node_modules/.bin/deno`, ["run", "-A", "--quiet", ...args], {
    cwd: root, encoding: "utf8", timeout: 300_000, env: { ...process.env, XDG_RUNTIME_DIR: "/tmp", NO_COLOR: "1" },
  });

if (probe) {
  for (const file of ["test/webgpu-ops.test.mjs", "test/webgpu-vs-wasm.test.mjs"]) {
    test(`Deno: ${file} passes`, () => {
      const r = deno(file);
      assert.is(r.status, 0, `${r.stdout}\n${r.stderr}`);
      assert.ok(/Passed:\s+(\d+)/.test(r.stdout) && !/SKIPPED/.test(r.stdout), r.stdout);
      console.log(`  Deno ${file}: ${/Total:\s+(\d+)/.exec(r.stdout)?.[1]} tests, ${/Passed:\s+(\d+)/.exec(r.stdout)?.[1]} passed`);
    });
  }

  test("Deno WebGPU 20-step loss trace within 1e-4 of Node wasm", async () => {
    const r = deno("test/runtime/webgpu-trace.mjs", "webgpu", "20");
    assert.is(r.status, 0, r.stderr);
    const d = JSON.parse(r.stdout.trim().split("\n").pop());
    assert.is(d.backend, "webgpu");
    const w = await backendTrace("wasm", 20);
    d.trace.forEach((loss, i) => assert.ok(Math.abs(loss - w.trace[i]) <= 1e-4 * Math.abs(w.trace[i]), `step ${i}: ${loss} vs ${w.trace[i]}`));
  });
} else {
  test("webgpu in Deno (skipped: no adapter)", () => {});
}

test.run();
