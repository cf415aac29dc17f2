// The worker pool: partitioning, coverage, error propagation, reuse after an
// error, and that an un-terminated pool does not keep the process alive.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { instantiateEngine, Arena, ThreadPool } from "../dist/internal.js";

const { chunkBounds } = ThreadPool;

const engine = await instantiateEngine({ shared: true });
const arena = new Arena(engine);
const k = engine.exports;
const pool = await ThreadPool.create(engine, 2);

/**
 * A job whose result shows which indices ran: with depth k = 1, matmulPackNN
 * copies panel t (16 floats of B) to panel t of dst for t in [start, end).
 */
const KERNEL = "matmulPackNN";
function copyJob(panels) {
  const n = panels * 16;
  const b = arena.alloc(n * 4), dst = arena.alloc(n * 4);
  arena.f32(b, n).set(Array.from({ length: n }, (_, i) => i + 1));
  arena.f32(dst, n).fill(NaN);
  return { args: [dst, b, n, 1, n], dst, n };
}
const copied = (job) => Array.from(arena.f32(job.dst, job.n));
const expected = (job) => Array.from({ length: job.n }, (_, i) => i + 1);

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

test("parallelFor runs every index exactly once on 2 threads", () => {
  assert.is(pool.size, 2);
  for (const [total, grain] of [[1, 1], [2, 1], [101, 1], [1000, 2], [1000, 64]]) {
    const job = copyJob(total);
    pool.parallelFor(KERNEL, job.args, total, grain);
    assert.equal(copied(job), expected(job), `${total} indices, grain ${grain}`);
  }
});

test("parallelFor with more chunks than threads: every index exactly once, chunks as chunkShape says", () => {
  for (const [total, grain, chunks] of [[7, 1, 7], [100, 1, 9], [1000, 16, 32], [5, 1, 64]]) {
    const shape = ThreadPool.chunkShape(total, grain, chunks);
    assert.ok(shape.count <= chunks && shape.size % grain === 0 && (shape.count - 1) * shape.size < total && shape.count * shape.size >= total);
    const job = copyJob(total);
    pool.parallelFor(KERNEL, job.args, total, grain, chunks);
    assert.equal(copied(job), expected(job), `${total} indices, grain ${grain}, ${chunks} chunks`);
  }
  assert.throws(() => pool.parallelFor(KERNEL, [], 4, 1, 0), /chunks must be an integer >= 1/);
});

test("many jobs in a row (claims never leak from one job into the next)", () => {
  for (let r = 0; r < 300; r++) {
    const total = 1 + (r % 37);
    const job = copyJob(total);
    pool.parallelFor(KERNEL, job.args, total, 1, 1 + (r % 5));
    assert.equal(copied(job), expected(job), `job ${r}`);
    arena.free(job.dst);
    arena.free(job.args[1]);
  }
});

test("an inline pool (size 1) runs the whole range on the caller", async () => {
  const one = await ThreadPool.create(engine, 1);
  assert.is(one.size, 1);
  const job = copyJob(33);
  one.parallelFor(KERNEL, job.args, 33, 4);
  assert.equal(copied(job), expected(job));
  await one.terminate();
});

test("a kernel that traps in some chunks surfaces as an Error on the caller (whichever thread claimed them), and the pool still works", () => {
  // Panels 0..1 land in memory; panels 2..3 are past its end. Threads claim
  // chunks, so either the caller or the worker may hit the trap.
  const job = copyJob(4);
  const args = [engine.memory.buffer.byteLength - 2 * 64, ...job.args.slice(1)];
  for (let r = 0; r < 20; r++) {
    assert.throws(() => pool.parallelFor(KERNEL, args, 4, 1, 4), (e) => e instanceof Error && /out of bounds/i.test(e.message));
  }
  const again = copyJob(50);
  pool.parallelFor(KERNEL, again.args, 50, 1);
  assert.equal(copied(again), expected(again));
});

test("a kernel that traps on the caller's chunk is rethrown after the workers finish", () => {
  const job = copyJob(4);
  const args = [engine.memory.buffer.byteLength, ...job.args.slice(1)];
  assert.throws(() => pool.parallelFor(KERNEL, args, 4, 1), /out of bounds/i);
  const again = copyJob(8);
  pool.parallelFor(KERNEL, again.args, 8, 1);
  assert.equal(copied(again), expected(again));
});

test("bad calls are rejected with a clear error", async () => {
  assert.throws(() => pool.parallelFor("noSuchKernel", [], 4), /unknown kernel "noSuchKernel"/);
  assert.throws(() => pool.parallelFor(KERNEL, [], -1), /total must be an integer >= 0/);
  assert.throws(() => pool.parallelFor(KERNEL, [], 4, 0), /grain must be an integer >= 1/);
  for (const threads of [0, 1.5, 65]) {
    const rejected = await ThreadPool.create(engine, threads).then(() => null, (e) => e);
    assert.ok(rejected instanceof RangeError, `threads = ${threads} rejected`);
    assert.match(rejected.message, /threads must be an integer in \[1, 64\]/);
  }
  const stopped = await ThreadPool.create(engine, 2);
  await stopped.terminate();
  assert.throws(() => stopped.parallelFor(KERNEL, [], 4), /used after terminate/);
});

test("a worker script that cannot load rejects create() instead of hanging", async () => {
  const workerUrl = new URL("./no-such-worker.js", import.meta.url);
  const rejected = await ThreadPool.create(engine, 2, { workerUrl }).then(() => null, (e) => e);
  assert.ok(rejected instanceof Error, "create() rejected");
  assert.match(String(rejected.message), /no-such-worker/);
});

test("a process that never terminates its pool still exits on its own", () => {
  const dist = new URL("../dist/internal.js", import.meta.url).href;
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
