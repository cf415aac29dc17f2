// Matmul kernels in the three layouts against a float64 reference: odd shapes,
// strided leading dimensions, accumulate on/off, row ranges, thread counts, and
// the same bits in Deno as in Node.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { instantiateEngine, Arena, ThreadPool, WasmMatmul } from "../dist/internal.js";
import { rng } from "./helpers/engine.mjs";

const engine = await instantiateEngine({ shared: true });
const arena = new Arena(engine);
const k = engine.exports;
const pool1 = await ThreadPool.create(engine, 1);
const pool2 = await ThreadPool.create(engine, 2);
const mm1 = new WasmMatmul(engine, arena, pool1);
const mm2 = new WasmMatmul(engine, arena, pool2);

function put(data) {
  const ptr = arena.alloc(data.length * 4);
  arena.f32(ptr, data.length).set(data);
  return ptr;
}
const read = (ptr, n) => arena.f32(ptr, n).slice();

/** Storage sizes and element accessors of each layout (A [m,k] or [k,m]; B [n,k] or [k,n]). */
const LAYOUTS = {
  nt: { aRows: (m, n, kk) => m, aCols: (m, n, kk) => kk, bRows: (m, n, kk) => n, bCols: (m, n, kk) => kk,
    A: (a, lda, i, p) => a[i * lda + p], B: (b, ldb, p, j) => b[j * ldb + p] },
  nn: { aRows: (m, n, kk) => m, aCols: (m, n, kk) => kk, bRows: (m, n, kk) => kk, bCols: (m, n, kk) => n,
    A: (a, lda, i, p) => a[i * lda + p], B: (b, ldb, p, j) => b[p * ldb + j] },
  tn: { aRows: (m, n, kk) => kk, aCols: (m, n, kk) => m, bRows: (m, n, kk) => kk, bCols: (m, n, kk) => n,
    A: (a, lda, i, p) => a[p * lda + i], B: (b, ldb, p, j) => b[p * ldb + j] },
};

/** A problem in arena memory with random A, B and C (C may be NaN-filled to prove it is overwritten). */
function problem(layout, m, n, kk, { padA = 0, padB = 0, padC = 0, seed = 1, cFill } = {}) {
  const L = LAYOUTS[layout];
  const r = rng(seed);
  const lda = L.aCols(m, n, kk) + padA, ldb = L.bCols(m, n, kk) + padB, ldc = n + padC;
  const a = r.array(Math.max(1, L.aRows(m, n, kk) * lda));
  const b = r.array(Math.max(1, L.bRows(m, n, kk) * ldb));
  const c0 = cFill === undefined ? r.array(Math.max(1, m * ldc)) : new Float32Array(Math.max(1, m * ldc)).fill(cFill);
  return { layout, m, n, kk, lda, ldb, ldc, a, b, c0, pa: put(a), pb: put(b), pc: put(c0) };
}

/** float64 reference and the bound on float32 rounding error of each element. */
function reference(P, accumulate) {
  const L = LAYOUTS[P.layout];
  const want = new Float64Array(P.m * P.n), bound = new Float64Array(P.m * P.n);
  for (let i = 0; i < P.m; i++) {
    for (let j = 0; j < P.n; j++) {
      let s = accumulate ? P.c0[i * P.ldc + j] : 0, mag = Math.abs(s);
      for (let p = 0; p < P.kk; p++) {
        const t = L.A(P.a, P.lda, i, p) * L.B(P.b, P.ldb, p, j);
        s += t;
        mag += Math.abs(t);
      }
      want[i * P.n + j] = s;
      bound[i * P.n + j] = (P.kk + 2) * 1.2e-7 * mag + 1e-30;
    }
  }
  return { want, bound };
}

function check(P, accumulate, label, rows = [0, P.m]) {
  const { want, bound } = reference(P, accumulate);
  const c = read(P.pc, P.m * P.ldc);
  for (let i = 0; i < P.m; i++) {
    for (let j = 0; j < P.ldc; j++) {
      const got = c[i * P.ldc + j];
      const inside = j < P.n && i >= rows[0] && i < rows[1];
      if (!inside) {
        // Padding columns and rows outside the range are never written.
        if (!Object.is(got, P.c0[i * P.ldc + j])) assert.unreachable(`${label}: wrote C[${i},${j}] outside its range`);
        continue;
      }
      const err = Math.abs(got - want[i * P.n + j]);
      if (!(err <= bound[i * P.n + j])) {
        assert.unreachable(`${label}: C[${i},${j}] = ${got}, want ${want[i * P.n + j]} (|err| ${err} > ${bound[i * P.n + j]})`);
      }
    }
  }
}

const SHAPES = [
  [1, 1, 1], [1, 13, 67], [67, 1, 13], [13, 67, 1], [2, 16, 16], [3, 17, 5], [67, 13, 67],
  [16, 32, 256], [5, 33, 257], [9, 40, 513], [130, 20, 30], [257, 18, 3], [64, 64, 64],
  // n > 1024: B's depth block exceeds 1 MiB and rows go in 256-row blocks
  [261, 1029, 7], [70, 1030, 300],
];

for (const layout of ["nt", "nn", "tn"]) {
  test(`${layout}: matches float64 over odd shapes, strided leading dims, accumulate on/off`, () => {
    let seed = 1;
    for (const [m, n, kk] of SHAPES) {
      for (const pads of [{}, { padA: 3, padB: 5, padC: 7 }]) {
        for (const accumulate of [false, true]) {
          // NaN in C proves that overwrite mode never reads C.
          const P = problem(layout, m, n, kk, { ...pads, seed: seed++, cFill: accumulate ? undefined : NaN });
          if (accumulate) P.c0 = read(P.pc, P.c0.length);
          mm1[layout](P.pc, P.pa, P.pb, m, n, kk, { lda: P.lda, ldb: P.ldb, ldc: P.ldc, accumulate });
          check(P, accumulate, `${layout} ${m}x${n}x${kk} ${JSON.stringify(pads)} acc=${accumulate}`);
        }
      }
    }
  });

  test(`${layout}: k = 0 zeroes C or leaves it, m or n = 0 is a no-op`, () => {
    const P = problem(layout, 5, 7, 0, { seed: 99 });
    mm1[layout](P.pc, P.pa, P.pb, 5, 7, 0, { accumulate: true });
    assert.equal(read(P.pc, 35), P.c0.slice(0, 35));
    mm1[layout](P.pc, P.pa, P.pb, 5, 7, 0);
    assert.equal(Array.from(read(P.pc, 35)), new Array(35).fill(0));
    mm1[layout](P.pc, P.pa, P.pb, 0, 7, 3);
    mm1[layout](P.pc, P.pa, P.pb, 5, 0, 3);
  });

  test(`${layout}: one-call kernel computes exactly the requested rows, the same bits for any split`, () => {
    const [m, n, kk] = [37, 21, 300];
    const P = problem(layout, m, n, kk, { padA: 1, padB: 2, padC: 3, seed: 5 });
    const name = { nt: "matmulNT", nn: "matmulNN", tn: "matmulTN" }[layout];
    const scratch = arena.alloc(Number(k.matmulPackedBytes(n, kk)) + Number(k.matmulScratchBytes()));
    const run = (from, to) => k[name](P.pc, P.pa, P.pb, m, n, kk, P.lda, P.ldb, P.ldc, 1, scratch, from, to);
    run(11, 24);
    check(P, true, `${name} rows 11..24`, [11, 24]);
    const whole = problem(layout, m, n, kk, { padA: 1, padB: 2, padC: 3, seed: 5 });
    k[name](whole.pc, whole.pa, whole.pb, m, n, kk, whole.lda, whole.ldb, whole.ldc, 1, scratch, 0, m);
    // Odd split points (not multiples of the 2-row tile) give the same bits as one range.
    const split = problem(layout, m, n, kk, { padA: 1, padB: 2, padC: 3, seed: 5 });
    for (const [from, to] of [[0, 1], [1, 12], [12, 13], [13, 36], [36, 37]]) {
      k[name](split.pc, split.pa, split.pb, m, n, kk, split.lda, split.ldb, split.ldc, 1, scratch, from, to);
    }
    assert.equal(read(split.pc, m * split.ldc), read(whole.pc, m * whole.ldc));
  });

  test(`${layout}: 2 threads give the same bits as 1 thread`, () => {
    for (const [m, n, kk, acc] of [[256, 256, 256, false], [67, 130, 301, true], [131, 47, 513, false], [8, 512, 300, true], [300, 1030, 260, true]]) {
      const one = problem(layout, m, n, kk, { padA: 1, padC: 2, seed: m });
      const two = problem(layout, m, n, kk, { padA: 1, padC: 2, seed: m });
      mm1[layout](one.pc, one.pa, one.pb, m, n, kk, { lda: one.lda, ldc: one.ldc, accumulate: acc });
      mm2[layout](two.pc, two.pa, two.pb, m, n, kk, { lda: two.lda, ldc: two.ldc, accumulate: acc });
      assert.equal(read(two.pc, m * two.ldc), read(one.pc, m * one.ldc), `${layout} ${m}x${n}x${kk}`);
      check(two, acc, `${layout} ${m}x${n}x${kk} on 2 threads`);
    }
  });
}

test("matmulPackedTasks: the same bits whichever thread slot runs which task, in any order", () => {
  // What work claiming does: tasks land on any thread (its own A scratch slot)
  // in any order. Compare with one matmulPackedRows call over all rows.
  for (const [layout, m, n, kk, acc] of [["nt", 70, 40, 300, false], ["nn", 45, 33, 513, true], ["tn", 64, 17, 260, true]]) {
    const whole = problem(layout, m, n, kk, { padA: 1, padC: 2, seed: 7 });
    const tasks = problem(layout, m, n, kk, { padA: 1, padC: 2, seed: 7 });
    const packedBytes = Number(k.matmulPackedBytes(n, kk)), slot = Number(k.matmulScratchBytes());
    const packed = arena.alloc(packedBytes), slots = arena.alloc(3 * slot);
    const pack = layout === "nt" ? k.matmulPackNT : k.matmulPackNN;
    pack(packed, whole.pb, n, kk, whole.ldb, 0, Number(k.matmulPanelCount(n)));
    const tA = layout === "tn" ? 1 : 0;
    k.matmulPackedRows(whole.pc, whole.pa, packed, m, n, kk, whole.lda, whole.ldc, acc ? 1 : 0, tA, slots, 0, m);
    const rowsPerTask = 10, count = Math.ceil(m / rowsPerTask);
    for (let t = count - 1; t >= 0; t--) {
      k.matmulPackedTasks(tasks.pc, tasks.pa, packed, m, n, kk, tasks.lda, tasks.ldc, acc ? 1 : 0, tA, slots, rowsPerTask, t, t + 1, t % 3);
    }
    assert.equal(read(tasks.pc, m * tasks.ldc), read(whole.pc, m * whole.ldc), `${layout} ${m}x${n}x${kk}`);
    arena.free(packed);
    arena.free(slots);
  }
});

test("bad arguments get errors that name the problem", () => {
  const P = problem("nt", 4, 4, 4);
  assert.throws(() => mm1.nt(P.pc, P.pa, P.pb, 4, 4, 4, { lda: 3 }), /leading dimension of A/);
  assert.throws(() => mm1.nn(P.pc, P.pa, P.pb, 4, 4, 4, { ldc: 2 }), /leading dimension of C/);
  assert.throws(() => mm1.tn(P.pc, P.pa, P.pb, -1, 4, 4), /m must be a non-negative integer/);
  assert.throws(() => mm1.nt(P.pc, P.pa, P.pb, 4, 2.5, 4), /n must be a non-negative integer/);
  const end = engine.memory.buffer.byteLength;
  assert.throws(() => mm1.nt(end - 8, P.pa, P.pb, 4, 4, 4), /C \[4x4, ld 4\] at \d+ ends at byte \d+, past the memory/);
});

test("works on the plain (unshared) build with an inline pool", async () => {
  const plain = await instantiateEngine({ shared: false });
  const plainArena = new Arena(plain);
  const pool = await ThreadPool.create(plain, 4);
  assert.is(pool.size, 1);
  const mm = new WasmMatmul(plain, plainArena, pool);
  const a = plainArena.alloc(6 * 4), b = plainArena.alloc(6 * 4), c = plainArena.alloc(4 * 4);
  plainArena.f32(a, 6).set([1, 2, 3, 4, 5, 6]); // A [2,3]
  plainArena.f32(b, 6).set([1, 0, -1, 2, 1, 0]); // B [2,3] (nt)
  mm.nt(c, a, b, 2, 2, 3);
  assert.equal(Array.from(plainArena.f32(c, 4)), [1 - 3, 2 + 2, 4 - 6, 8 + 5]);
});

/** A fixed problem whose bits are hashed; Node and Deno must agree. */
const CROSS_RUNTIME_CHECK = `
  const { instantiateEngine, Arena, ThreadPool, WasmMatmul } = await import(DIST);
  const engine = await instantiateEngine({ shared: true });
  const arena = new Arena(engine);
  const pool = await ThreadPool.create(engine, 2);
  const mm = new WasmMatmul(engine, arena, pool);
  const [m, n, k] = [96, 80, 300];
  const fill = (ptr, len, seed) => { const v = arena.f32(ptr, len); for (let i = 0; i < len; i++) v[i] = Math.sin(seed * 1000 + i * 0.37); };
  const a = arena.alloc(m * k * 4), b = arena.alloc(n * k * 4), c = arena.alloc(m * n * 4);
  fill(a, m * k, 1); fill(b, n * k, 2);
  const bits = [];
  for (const op of ["nt", "nn", "tn"]) {
    mm[op](c, a, b, m, n, k, { lda: op === "tn" ? m : k, ldb: op === "nt" ? k : n });
    bits.push(...new Uint32Array(arena.f32(c, m * n).slice().buffer));
  }
  await pool.terminate();
  const RESULT = { size: pool.size, bits };
`;

async function runCheckHere() {
  const DIST = new URL("../dist/internal.js", import.meta.url).href;
  const fn = new Function("DIST", `return (async () => { ${CROSS_RUNTIME_CHECK} return RESULT; })();`);
  return fn(DIST);
}

test("Deno runs the same matmul on 2 threads with identical bits", async () => {
  const here = await runCheckHere();
  assert.is(here.size, 2);
  const deno = fileURLToPath(new URL("../node_modules/.bin/deno", import.meta.url));
  const DIST = new URL("../dist/internal.js", import.meta.url).href;
  const script = `const DIST = ${JSON.stringify(DIST)};\n${CROSS_RUNTIME_CHECK}\n` +
    `const h = new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint32Array(RESULT.bits))); ` +
    `console.log(JSON.stringify({ size: RESULT.size, hash: Array.from(h, (x) => x.toString(16).padStart(2, "0")).join("") }));`;
  const out = execFileSync(deno, ["eval", "--quiet", script], { encoding: "utf8", timeout: 60_000 });
  const result = JSON.parse(out.trim().split("\n").pop());
  assert.is(result.size, 2, "Deno pool has 2 threads");
  const hash = createHash("sha256").update(new Uint8Array(new Uint32Array(here.bits).buffer)).digest("hex");
  assert.is(result.hash, hash);
});

test.after(async () => {
  await pool1.terminate();
  await pool2.terminate();
});

test.run();
