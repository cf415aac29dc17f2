// The worker pool: partitioning, coverage, error propagation, reuse after an
// error, and that an un-terminated pool does not keep the process alive.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { instantiateEngine, Arena, ThreadPool } from "../dist/index.js";

const { chunkBounds } = ThreadPool;

const engine = await instantiateEngine({ shared: true });
const arena = new Arena(engine);
const k = engine.exports;
const pool = await ThreadPool.create(engine, 2);

/**
 * A kernel job whose result shows which rows ran: with n = k = 1, matmulPackedA
 * computes c[i] = a[i] · b for rows [start, end) (b packed as one 16-wide panel).
 */
function rowJob(rows) {
  const a = arena.alloc(rows * 4), c = arena.alloc(rows * 4), packed = arena.alloc(64);
  arena.f32(a, rows).set(Array.from({ length: rows }, (_, i) => i + 1));
  arena.f32(c, rows).fill(NaN);
  arena.f32(packed, 16).fill(0)[0] = 2;
  return { args: [c, a, packed, rows, 1, 1, 1, 1, 0], c, rows };
}

test("ThreadPool.chunkBounds: contiguous, disjoint, cover [0,total), boundaries on the grain", () => {
  for (const total of [1, 2, 7, 64, 67, 1000]) {
    for (const grain of [1, 2, 16]) {
      for (const parts of [1, 2, 3, 8]) {
        const chunks = chunkBounds(total, grain, parts);
        assert.ok(chunks.length >= 1 && chunks.length <= parts);
        assert.is(chunks[0][0], 0);
        assert.is(chunks[chunks.length - 1][1], total);
        for (let i = 0; i < chunks.length; i++) {
          const [s, e] = chunks[i];
          assert.ok(s < e, `non-empty chunk ${s}..${e}`);
          if (i > 0) assert.is(s, chunks[i - 1][1]);
          if (e !== total) assert.is(e % grain, 0, `boundary ${e} on grain ${grain}`);
        }
      }
    }
  }
  assert.equal(chunkBounds(10, 2, 2), [[0, 6], [6, 10]]);
});

test("parallelFor runs every row exactly once on 2 threads", () => {
  assert.is(pool.size, 2);
  for (const [rows, grain] of [[1, 1], [2, 1], [101, 1], [1000, 2], [1000, 64]]) {
    const job = rowJob(rows);
    pool.parallelFor("matmulPackedA", job.args, rows, grain);
    const c = arena.f32(job.c, rows);
    for (let i = 0; i < rows; i++) assert.is(c[i], 2 * (i + 1), `row ${i} of ${rows}`);
  }
});

test("an inline pool (size 1) runs the whole range on the caller", async () => {
  const one = await ThreadPool.create(engine, 1);
  assert.is(one.size, 1);
  const job = rowJob(33);
  one.parallelFor("matmulPackedA", job.args, 33, 4);
  assert.equal(Array.from(arena.f32(job.c, 33)), Array.from({ length: 33 }, (_, i) => 2 * (i + 1)));
  await one.terminate();
});

test("a kernel that traps on a worker surfaces as an Error on the caller, and the pool still works", () => {
  // Rows 0..1 (the caller's chunk) are in bounds; row 2 onwards (the worker's) is past the memory.
  const bytes = engine.memory.buffer.byteLength;
  const ldc = Math.ceil((bytes / 4) * 0.6);
  const job = rowJob(4);
  const args = [16, job.args[1], job.args[2], 4, 1, 1, 1, ldc, 0];
  assert.throws(() => pool.parallelFor("matmulPackedA", args, 4, 1), (e) => e instanceof Error && /failed on a worker: .*out of bounds/i.test(e.message));
  const again = rowJob(50);
  pool.parallelFor("matmulPackedA", again.args, 50, 1);
  assert.is(arena.f32(again.c, 50)[49], 100);
});

test("a kernel that traps on the caller's chunk is rethrown after the workers finish", () => {
  const job = rowJob(4);
  const args = [engine.memory.buffer.byteLength, ...job.args.slice(1)];
  assert.throws(() => pool.parallelFor("matmulPackedA", args, 4, 1), /out of bounds/i);
  const again = rowJob(8);
  pool.parallelFor("matmulPackedA", again.args, 8, 1);
  assert.is(arena.f32(again.c, 8)[7], 16);
});

test("bad calls are rejected with a clear error", async () => {
  assert.throws(() => pool.parallelFor("noSuchKernel", [], 4), /unknown kernel "noSuchKernel"/);
  assert.throws(() => pool.parallelFor("matmulPackedA", [], -1), /total must be an integer >= 0/);
  assert.throws(() => pool.parallelFor("matmulPackedA", [], 4, 0), /grain must be an integer >= 1/);
  for (const threads of [0, 1.5, 65]) {
    const rejected = await ThreadPool.create(engine, threads).then(() => null, (e) => e);
    assert.ok(rejected instanceof RangeError, `threads = ${threads} rejected`);
    assert.match(rejected.message, /threads must be an integer in \[1, 64\]/);
  }
  const stopped = await ThreadPool.create(engine, 2);
  await stopped.terminate();
  assert.throws(() => stopped.parallelFor("matmulPackedA", [], 4), /used after terminate/);
});

test("a process that never terminates its pool still exits on its own", () => {
  const dist = new URL("../dist/index.js", import.meta.url).href;
  const code = `
    const { instantiateEngine, ThreadPool } = await import(${JSON.stringify(dist)});
    const engine = await instantiateEngine({ shared: true });
    const pool = await ThreadPool.create(engine, 3);
    pool.parallelFor("matmulPanelCount", [], 10, 1);
    console.log("size " + pool.size);
  `;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", code], { encoding: "utf8", timeout: 20_000 });
  assert.is(out.trim(), "size 3");
});

test.after(() => pool.terminate());

test.run();
