// The threaded engine on a fixed-size shared memory (host/backend/wasm/fixed-memory.ts,
// used in Deno): the rewritten module declares exactly that memory, computes the same
// bits as the growable one, and the arena on it reports and refuses as it should.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { instantiateEngine, Arena, withFixedMemoryImport, FixedMemoryError, preferFixedSharedMemory } from "../dist/internal.js";
import { mulberry32 } from "./helpers/random.mjs";

const build = (name) => new Uint8Array(readFileSync(new URL(`../build/${name}.wasm`, import.meta.url)));
const PAGE = 65536;
const imports = (memory) => ({ env: { abort() { throw new Error("abort"); }, memory } });
const shared = (initial, maximum) => new WebAssembly.Memory({ initial, maximum, shared: true });

test("a rewritten threaded build declares initial = maximum = the pages asked for", async () => {
  for (const name of ["engine-threads", "engine-threads-relaxed"]) {
    for (const pages of [40, 300, 65536]) {
      const bytes = withFixedMemoryImport(build(name), pages);
      if (name.endsWith("relaxed") && !WebAssembly.validate(bytes)) continue; // Node 20 without relaxed SIMD
      assert.ok(WebAssembly.validate(bytes), `${name} ${pages}`);
      if (pages > 300) continue; // not committing 4 GiB in a test
      const module = await WebAssembly.compile(bytes);
      // linking checks the declaration: fewer pages, or a memory that may grow past it, are refused
      await assert.not.throws(async () => await WebAssembly.instantiate(module, imports(shared(pages, pages))));
      for (const [initial, maximum] of [[pages - 1, pages - 1], [pages, pages + 1], [pages, 65536]]) {
        let err;
        try {
          await WebAssembly.instantiate(module, imports(shared(initial, maximum)));
        } catch (e) {
          err = e;
        }
        assert.instance(err, WebAssembly.LinkError, `${name}: memory ${initial}..${maximum} for a declared ${pages}..${pages}`);
      }
    }
  }
});

/** Fills A and B, runs all three matmul layouts at an odd shape, returns C's bytes per layout. */
function matmuls(engine, arena, m, k, n) {
  const e = engine.exports;
  const r = mulberry32(7);
  const a = arena.alloc(4 * m * k), b = arena.alloc(4 * k * n), c = arena.alloc(4 * m * n);
  const scratch = arena.alloc(Number(e.matmulPackedBytes(Math.max(m, n), Math.max(m, k))) + Number(e.matmulScratchBytes()));
  arena.f32(a, m * k).set(Float32Array.from({ length: m * k }, () => r() - 0.5));
  arena.f32(b, k * n).set(Float32Array.from({ length: k * n }, () => r() - 0.5));
  const out = {};
  // NT: A [m,k], B [n,k] (n = k here is not needed: B is read as [n,k] with ldb k)
  e.matmulNT(c, a, b, m, n, k, k, k, n, 0, scratch, 0, m);
  out.nt = new Uint8Array(arena.f32(c, m * n).slice().buffer);
  e.matmulNN(c, a, b, m, n, k, k, n, n, 0, scratch, 0, m);
  out.nn = new Uint8Array(arena.f32(c, m * n).slice().buffer);
  // TN: A read as [k,m]
  e.matmulTN(c, a, b, m, n, k, m, n, n, 1, scratch, 0, m);
  out.tn = new Uint8Array(arena.f32(c, m * n).slice().buffer);
  return out;
}

test("fixed and growable shared memories give the same matmul bits", async () => {
  const fixed = await instantiateEngine({ shared: true, fixedPages: 256 });
  const growable = await instantiateEngine({ shared: true, fixedPages: 0 });
  assert.is(fixed.fixedPages, 256);
  assert.is(fixed.memory.buffer.byteLength, 256 * PAGE);
  assert.is(growable.fixedPages, 0);
  const [m, k, n] = [37, 301, 45];
  const x = matmuls(fixed, new Arena(fixed), m, k, n);
  const y = matmuls(growable, new Arena(growable), m, k, n);
  for (const layout of ["nt", "nn", "tn"]) {
    assert.ok(x[layout].some((v) => v !== 0), `${layout} computed something`);
    assert.equal(x[layout], y[layout], layout);
  }
});

test("an arena on a fixed memory reports what a growable one would have grown to, and refuses past its size", async () => {
  const engine = await instantiateEngine({ shared: true, fixedPages: 64 });
  const arena = new Arena(engine);
  assert.is(arena.memoryBytes, 16 * PAGE); // a growable shared memory starts with 16 pages
  const big = arena.alloc(20 * PAGE);
  assert.is(arena.memoryBytes, Math.ceil((big + 20 * PAGE) / PAGE) * PAGE);
  arena.free(big);
  assert.is(arena.memoryBytes, Math.ceil((big + 20 * PAGE) / PAGE) * PAGE, "a high-water mark, like a memory that never shrinks");
  assert.throws(() => arena.alloc(64 * PAGE), /out of memory: need .* MiB, the fixed memory's limit is 4 MiB/);
  assert.is(engine.memory.buffer.byteLength, 64 * PAGE, "nothing grew");
  // the growable default is unchanged: its size is the memory's
  const plain = await instantiateEngine({ shared: false });
  const pa = new Arena(plain);
  pa.alloc(3 * PAGE);
  assert.is(pa.memoryBytes, plain.memory.buffer.byteLength);
});

test("withFixedMemoryImport refuses what is not a threaded engine build, with a clear error", () => {
  const threads = build("engine-threads");
  assert.throws(() => withFixedMemoryImport(new Uint8Array([1, 2, 3]), 16), (e) => e instanceof FixedMemoryError && /not a wasm module/.test(e.message));
  // the plain build owns its memory: it imports only functions
  assert.throws(() => withFixedMemoryImport(build("engine"), 16), (e) => e instanceof FixedMemoryError && /imports no memory/.test(e.message));
  assert.throws(() => withFixedMemoryImport(threads.subarray(0, 40), 16), (e) => e instanceof FixedMemoryError && /truncated/.test(e.message));
  for (const pages of [0, 65537, 1.5, NaN]) {
    assert.throws(() => withFixedMemoryImport(threads, pages), (e) => e instanceof FixedMemoryError && /pages must be an integer/.test(e.message));
  }
  // the input is not modified
  assert.equal(threads, build("engine-threads"));
});

test("Node (which has the trap handler) keeps the growable memory by default", async () => {
  assert.is(preferFixedSharedMemory(), false);
  const engine = await instantiateEngine({ shared: true });
  assert.is(engine.fixedPages, 0);
});

test.run();
