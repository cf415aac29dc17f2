// Matmul GFLOP/s of the wasm backend against the machine's 128-bit SIMD mul+add
// ceiling, measured in the same run. Layouts: NT forward, NN and TN backward.
// Shapes are m×k×n: C [m,n] = A [m,k] · B [k,n] (B stored [n,k] for NT; A stored
// [k,m] for TN). Each timed call includes packing B, as a training step does.
//
// The ceiling is assembly/simd-peak.ts (independent f32x4.mul and f32x4.add
// chains, no FMA, the same instructions as the micro-kernel). On a shared host
// the load changes from one millisecond to the next, so every shape is timed in
// rounds that alternate a ceiling burst with a matmul burst; "% of ceiling" is
// the median over rounds of (matmul rate / the ceiling measured next to it), and
// the best rates are reported beside it.
//
// Where the runtime has relaxed SIMD (Deno, Chromium, Node ≥ 22; Node 20 with
// --experimental-wasm-relaxed-simd), each round also times the opt-in relaxed
// kernels (kernels: "relaxed", fused multiply-adds) on one thread, and the table
// gains their rate, their share of the same ceiling and relaxed / exact.
//
// With --against OTHER_ROOT (another checkout with a built dist/, e.g. an older
// commit), each round also times that build's matmul on one thread, on its own
// engine, between the same two ceiling bursts: the table gains its % of the
// ceiling and this / other (median of the per-round ratios), a before/after
// measured in one run.
//
//   node bench/matmul.bench.mjs [--rounds 7] [--quick] [--against OTHER_ROOT]
//   import { run } from "./matmul.bench.mjs"; await run()   (returns the rows too)
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";
import { readFileSync } from "node:fs";
import { instantiateEngine, Arena, ThreadPool, WasmMatmul } from "../dist/internal.js";

/** A square shape and the shapes of a bench-tiny step (B·T = 2048 tokens, hidden 256, ffn 688, vocab 4096). */
export const SHAPES = [
  { op: "nt", m: 512, k: 512, n: 512, what: "square" },
  { op: "nn", m: 512, k: 512, n: 512, what: "square" },
  { op: "tn", m: 512, k: 512, n: 512, what: "square" },
  { op: "nt", m: 2048, k: 256, n: 256, what: "q, k, v, o forward" },
  { op: "nt", m: 2048, k: 256, n: 688, what: "gate, up forward (separately)" },
  { op: "nt", m: 2048, k: 256, n: 1376, what: "gate|up forward (fused)" },
  { op: "nt", m: 2048, k: 688, n: 256, what: "down forward" },
  { op: "nt", m: 2048, k: 256, n: 4096, what: "LM head forward" },
  { op: "nn", m: 2048, k: 256, n: 256, what: "q, k, v, o dx" },
  { op: "nn", m: 2048, k: 688, n: 256, what: "gate, up dx" },
  { op: "nn", m: 2048, k: 256, n: 688, what: "down dx" },
  { op: "nn", m: 2048, k: 4096, n: 256, what: "LM head dx" },
  { op: "tn", m: 256, k: 2048, n: 256, what: "q, k, v, o dW" },
  { op: "tn", m: 688, k: 2048, n: 256, what: "gate, up dW (separately)" },
  { op: "tn", m: 1376, k: 2048, n: 256, what: "gate|up dW (fused)" },
  { op: "tn", m: 256, k: 2048, n: 688, what: "down dW" },
  { op: "tn", m: 4096, k: 2048, n: 256, what: "LM head dW" },
];

/** mul+add pairs per simdMulAddPeak round, counted as 2 flops each (like 2·m·n·k). */
const PEAK_FLOPS_PER_ROUND = 48;

function cpuName() {
  try {
    const m = readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/);
    if (m) return m[1].trim();
  } catch {}
  return "unknown CPU";
}

function loadAverage() {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  } catch {
    return "n/a";
  }
}

/** GFLOP/s of `fn` (doing `flop` per call) over a burst of about `ms`. */
function rate(fn, flop, ms) {
  let calls = 0;
  const t0 = performance.now();
  let t = t0;
  do {
    fn();
    calls++;
    t = performance.now();
  } while (t - t0 < ms);
  return (calls * flop) / (t - t0) / 1e6;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** A second engine (1 thread) on another checkout's build, for before/after in the same rounds. */
async function otherBuild(root) {
  const lib = await import(pathToFileURL(resolve(root, "dist/internal.js")).href);
  const engine = await lib.instantiateEngine({ shared: true });
  const arena = new lib.Arena(engine);
  const pool = await lib.ThreadPool.create(engine, 1);
  return { root, engine, arena, pool, mm: new lib.WasmMatmul(engine, arena, pool) };
}

export async function run({ rounds = 7, burstMs = 25, shapes = SHAPES, print = true, against = null } = {}) {
  const engine = await instantiateEngine({ shared: true });
  const arena = new Arena(engine);
  const peakFn = engine.exports.simdMulAddPeak;
  const peakRounds = 200_000;
  const peak = () => peakFn(peakRounds, 1, 0);
  peak();
  const rows = [];
  const pools = { 1: await ThreadPool.create(engine, 1), 2: await ThreadPool.create(engine, 2) };
  const mms = { 1: new WasmMatmul(engine, arena, pools[1]), 2: new WasmMatmul(engine, arena, pools[2]) };
  // the relaxed build on its own memory (a second engine), when this runtime can load it
  let relaxed = null;
  try {
    const re = await instantiateEngine({ shared: true, kernels: "relaxed" });
    const ra = new Arena(re);
    relaxed = { engine: re, arena: ra, pool: await ThreadPool.create(re, 1) };
    relaxed.mm = new WasmMatmul(re, ra, relaxed.pool);
  } catch (e) {
    if (print) console.log(`(relaxed kernels not timed: ${e.message})`);
  }
  const other = against ? await otherBuild(against) : null;
  const ceilings = [];
  for (const { op, m, k, n, what } of shapes) {
    const aLen = m * k, bLen = k * n;
    const a = arena.alloc(aLen * 4), b = arena.alloc(bLen * 4), c = arena.alloc(m * n * 4);
    for (const [ptr, len] of [[a, aLen], [b, bLen]]) {
      const v = arena.f32(ptr, len);
      for (let i = 0; i < len; i++) v[i] = Math.sin(i * 0.618) * 0.5;
    }
    const flop = 2 * m * n * k;
    const call = { 1: () => mms[1][op](c, a, b, m, n, k), 2: () => mms[2][op](c, a, b, m, n, k) };
    let relaxedCall = null, rPtrs = [];
    if (relaxed) {
      const ra = relaxed.arena;
      rPtrs = [ra.alloc(aLen * 4), ra.alloc(bLen * 4), ra.alloc(m * n * 4)];
      ra.f32(rPtrs[0], aLen).set(arena.f32(a, aLen));
      ra.f32(rPtrs[1], bLen).set(arena.f32(b, bLen));
      relaxedCall = () => relaxed.mm[op](rPtrs[2], rPtrs[0], rPtrs[1], m, n, k);
      relaxedCall();
    }
    let otherCall = null, oPtrs = [];
    if (other) {
      const oa = other.arena;
      oPtrs = [oa.alloc(aLen * 4), oa.alloc(bLen * 4), oa.alloc(m * n * 4)];
      oa.f32(oPtrs[0], aLen).set(arena.f32(a, aLen));
      oa.f32(oPtrs[1], bLen).set(arena.f32(b, bLen));
      otherCall = () => other.mm[op](oPtrs[2], oPtrs[0], oPtrs[1], m, n, k);
      otherCall();
    }
    call[1]();
    call[2]();
    const one = [], two = [], ceil = [], ratios = [], fused = [], fusedRatios = [], fusedOverExact = [], others = [], otherRatios = [], overOther = [];
    for (let r = 0; r < rounds; r++) {
      const before = rate(peak, peakRounds * PEAK_FLOPS_PER_ROUND, burstMs / 2);
      // this build and the other one between the same two ceiling bursts, alternating which goes first
      let g1, go = 0;
      if (otherCall && r % 2) {
        go = rate(otherCall, flop, burstMs);
        g1 = rate(call[1], flop, burstMs);
      } else {
        g1 = rate(call[1], flop, burstMs);
        if (otherCall) go = rate(otherCall, flop, burstMs);
      }
      const after = rate(peak, peakRounds * PEAK_FLOPS_PER_ROUND, burstMs / 2);
      const g2 = rate(call[2], flop, burstMs);
      const ce = Math.max(before, after);
      one.push(g1);
      two.push(g2);
      ceil.push(ce);
      ratios.push(g1 / ce);
      if (otherCall) {
        others.push(go);
        otherRatios.push(go / ce);
        overOther.push(g1 / go);
      }
      if (relaxedCall) {
        const gf = rate(relaxedCall, flop, burstMs);
        fused.push(gf);
        fusedRatios.push(gf / ce);
        fusedOverExact.push(gf / g1);
      }
    }
    if (relaxed) for (const ptr of rPtrs) relaxed.arena.free(ptr);
    if (other) for (const ptr of oPtrs) other.arena.free(ptr);
    ceilings.push(...ceil);
    rows.push({
      op: op.toUpperCase(), shape: `${m}×${k}×${n}`, what,
      gflops1: median(one), best1: Math.max(...one), gflops2: median(two), best2: Math.max(...two),
      ceiling: median(ceil), bestCeiling: Math.max(...ceil), ofCeiling: median(ratios), bestOfBest: Math.max(...one) / Math.max(...ceil),
      scaling: median(two) / median(one),
      ...(other ? { other1: median(others), otherOfCeiling: median(otherRatios), overOther: median(overOther) } : {}),
      ...(relaxed ? { relaxed1: median(fused), relaxedOfCeiling: median(fusedRatios), relaxedOverExact: median(fusedOverExact) } : {}),
    });
    for (const ptr of [a, b, c]) arena.free(ptr);
  }
  await pools[2].terminate();
  if (relaxed) await relaxed.pool.terminate();
  if (other) await other.pool.terminate();
  const bestCeiling = Math.max(...ceilings);
  if (print) {
    console.log(`\n### Matmul vs the 128-bit SIMD mul+add ceiling — ${cpuName()}, Node ${process.version}, load average ${loadAverage()}\n`);
    console.log(`Ceiling (simd-peak loop, 1 thread): best ${bestCeiling.toFixed(1)} GFLOP/s, median ${median(ceilings).toFixed(1)}; ` +
      `that is ${(bestCeiling / 16).toFixed(2)} GHz at 4 f32x4 ops per cycle (AMD Zen: 2 FP mul + 2 FP add pipes), ` +
      `or ${(bestCeiling / 8).toFixed(2)} GHz at 2 per cycle (Intel: two FMA pipes that also do mul or add).\n`);
    if (other) console.log(`Other build (--against): ${other.root}\n`);
    console.log(table(rows));
  }
  return { rows, bestCeiling };
}

export function table(rows) {
  const fused = rows.length > 0 && rows[0].relaxed1 !== undefined;
  const vs = rows.length > 0 && rows[0].other1 !== undefined;
  const lines = [
    "| layout | m×k×n | what | 1 thread GFLOP/s (median / best) | ceiling next to it (median) | % of ceiling (median of rounds) | best / best ceiling | 2 threads GFLOP/s (median) | 2 t / 1 t |" +
      (vs ? " other build 1 thread GFLOP/s | other % of ceiling | this / other |" : "") +
      (fused ? " relaxed (FMA) 1 thread GFLOP/s | relaxed % of ceiling | relaxed / exact |" : ""),
    "|---|---|---|---:|---:|---:|---:|---:|---:|" + (vs ? "---:|---:|---:|" : "") + (fused ? "---:|---:|---:|" : ""),
  ];
  for (const r of rows) {
    lines.push(`| ${r.op} | ${r.shape} | ${r.what} | ${r.gflops1.toFixed(1)} / ${r.best1.toFixed(1)} | ${r.ceiling.toFixed(1)} | ${(r.ofCeiling * 100).toFixed(0)} % | ${(r.bestOfBest * 100).toFixed(0)} % | ${r.gflops2.toFixed(1)} | ${r.scaling.toFixed(2)}× |` +
      (vs ? ` ${r.other1.toFixed(1)} | ${(r.otherOfCeiling * 100).toFixed(0)} % | ${r.overOther.toFixed(2)}× |` : "") +
      (fused ? ` ${r.relaxed1.toFixed(1)} | ${(r.relaxedOfCeiling * 100).toFixed(0)} % | ${r.relaxedOverExact.toFixed(2)}× |` : ""));
  }
  return lines.join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf("--rounds");
  const rounds = i > 0 ? Number(process.argv[i + 1]) : 7;
  const j = process.argv.indexOf("--against");
  const against = j > 0 ? process.argv[j + 1] : null;
  await run({ rounds, against, shapes: process.argv.includes("--quick") ? SHAPES.slice(0, 3) : SHAPES });
}
