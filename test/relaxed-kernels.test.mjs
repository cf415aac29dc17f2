// The opt-in relaxed-SIMD kernels (engine option kernels: "relaxed", assembly/mul-add.ts):
// never the default, refused with a clear error where the runtime lacks relaxed
// SIMD, and within the PyTorch fixtures' tolerances where it has it (the whole of
// test/model-fixtures.test.mjs rerun on them in a child process that enables
// relaxed SIMD: Node 20 needs --experimental-wasm-relaxed-simd).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { createEngine } from "../dist/index.js";
import { instantiateEngine, Arena, ThreadPool, WasmMatmul } from "../dist/internal.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const RELAXED_FLAG = "--experimental-wasm-relaxed-simd";
/** A module whose one function is f32x4.relaxed_madd: valid only where relaxed SIMD is on. */
const RELAXED_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 96, 3, 123, 123, 123, 1, 123, 3, 2, 1, 0, 10, 13, 1, 11, 0, 32, 0, 32, 1, 32, 2, 253, 133, 2, 11,
]);
const relaxedHere = WebAssembly.validate(RELAXED_PROBE);

test("the probe module is well formed: valid with relaxed SIMD enabled", () => {
  const out = execFileSync(process.execPath, [RELAXED_FLAG, "-e", `process.stdout.write(String(WebAssembly.validate(new Uint8Array(${JSON.stringify([...RELAXED_PROBE])}))))`], { encoding: "utf8" });
  // String(), not console.log: under uvu FORCE_COLOR makes console.log colour a boolean
  assert.is(out, "true");
});

test("exact kernels are the default", async () => {
  const engine = await createEngine({ backend: "wasm", threads: 1 });
  assert.not.ok(engine.backend.capabilities.device.includes("relaxed"), engine.backend.capabilities.device);
  await engine.dispose();
  const e = await instantiateEngine({ shared: false });
  assert.is(e.kernels, "exact");
  assert.is(e.exports.kernelsRelaxed(), 0);
});

test("an unknown kernels value is refused, naming the option", async () => {
  try {
    await createEngine({ backend: "wasm", threads: 1, kernels: "fast" });
    assert.unreachable("accepted kernels: fast");
  } catch (e) {
    assert.instance(e, Error);
    assert.match(e.message, /kernels must be "exact" or "relaxed", got "fast"/);
  }
});

test(`kernels: "relaxed" in this process: ${relaxedHere ? "loads the relaxed build" : "refused with the flag to use"}`, async () => {
  if (relaxedHere) {
    const engine = await createEngine({ backend: "wasm", threads: 1, kernels: "relaxed" });
    assert.ok(engine.backend.capabilities.device.includes("relaxed"), engine.backend.capabilities.device);
    await engine.dispose();
  } else {
    try {
      await createEngine({ backend: "wasm", threads: 1, kernels: "relaxed" });
      assert.unreachable("relaxed kernels loaded without relaxed SIMD");
    } catch (e) {
      assert.is(e.name, "KernelVariantError");
      assert.match(e.message, RELAXED_FLAG);
    }
  }
});

/** Runs `script` (an ES module body) in a child Node with relaxed SIMD enabled; returns its stdout. */
function withRelaxed(args, env = {}) {
  const r = spawnSync(process.execPath, [RELAXED_FLAG, ...args], { cwd: root, encoding: "utf8", env: { ...process.env, ...env }, timeout: 600_000 });
  return { code: r.status, out: `${r.stdout}\n${r.stderr}` };
}

test("relaxed kernels: every PyTorch fixture of test/model-fixtures.test.mjs within its tolerance (1 and 2 threads)", () => {
  const { code, out } = withRelaxed(["test/model-fixtures.test.mjs"], { JREG_TEST_KERNELS: "relaxed" });
  assert.is(code, 0, out.slice(-4000));
  const total = Number(/Total:\s+(\d+)/.exec(out)?.[1]);
  const passed = Number(/Passed:\s+(\d+)/.exec(out)?.[1]);
  assert.ok(total >= 10 && passed === total, out.slice(-2000));
});

test("relaxed matmul: close to the exact one in every layout, bit-identical for 1 and 2 threads, and fused where the CPU has FMA", () => {
  const script = `
    import { instantiateEngine, Arena, ThreadPool, WasmMatmul } from "./dist/internal.js";
    const out = {};
    for (const kernels of ["exact", "relaxed"]) {
      const engine = await instantiateEngine({ shared: true, kernels });
      const arena = new Arena(engine);
      for (const threads of [1, 2]) {
        const pool = await ThreadPool.create(engine, threads);
        const mm = new WasmMatmul(engine, arena, pool);
        for (const [op, m, k, n] of [["nt", 67, 300, 45], ["nn", 34, 517, 50], ["tn", 81, 260, 33]]) {
          const a = arena.alloc(m * k * 4), b = arena.alloc(k * n * 4), c = arena.alloc(m * n * 4);
          const fa = arena.f32(a, m * k), fb = arena.f32(b, k * n);
          for (let i = 0; i < m * k; i++) fa[i] = Math.sin(i * 0.37 + 1) * 1.3;
          for (let i = 0; i < k * n; i++) fb[i] = Math.cos(i * 0.21) * 0.7;
          mm[op](c, a, b, m, n, k);
          out[kernels + threads + op] = Array.from(arena.f32(c, m * n));
        }
        await pool.terminate();
      }
    }
    console.log(JSON.stringify(out));`;
  const { code, out } = withRelaxed(["--input-type=module", "-e", script]);
  assert.is(code, 0, out.slice(-3000));
  const r = JSON.parse(out.trim().split("\n")[0]);
  const fma = existsSync("/proc/cpuinfo") && /^flags\s*:.*\bfma\b/m.test(readFileSync("/proc/cpuinfo", "utf8"));
  for (const op of ["nt", "nn", "tn"]) {
    const exact = r[`exact1${op}`], relaxed = r[`relaxed1${op}`];
    assert.equal(r[`relaxed2${op}`], relaxed, `${op}: relaxed 2 threads = 1 thread`);
    assert.equal(r[`exact2${op}`], exact, `${op}: exact 2 threads = 1 thread`);
    let scale = 0, worst = 0, differ = 0;
    for (let i = 0; i < exact.length; i++) {
      scale = Math.max(scale, Math.abs(exact[i]));
      worst = Math.max(worst, Math.abs(exact[i] - relaxed[i]));
      if (exact[i] !== relaxed[i]) differ++;
    }
    assert.ok(worst <= 1e-5 * scale, `${op}: relaxed differs from exact by ${worst} (scale ${scale})`);
    // with FMA the single rounding shows in some elements; without it V8 emits mul + add
    if (fma) assert.ok(differ > 0, `${op}: relaxed gave the exact bits everywhere on an FMA machine: not fused?`);
  }
});

test.run();
