// Matmul GFLOP/s of the wasm backend in the three layouts (NT forward, NN and TN
// backward), on 1 and 2 threads. Shapes are m×k×n: C [m,n] = A [m,k] · B [k,n]
// (B stored [n,k] for NT; A stored [k,m] for TN). Each timed call includes
// packing B, as a training step does.
//
//   node bench/matmul.bench.mjs          prints a markdown table
//   import { run } from "./matmul.bench.mjs"; await run()   (returns the rows too)
import { Bench } from "tinybench";
import { pathToFileURL } from "node:url";
import { instantiateEngine, Arena, ThreadPool, WasmMatmul } from "../dist/internal.js";

export const SHAPES = [
  { m: 256, k: 256, n: 256 },
  { m: 512, k: 512, n: 512 },
  { m: 256, k: 512, n: 1536 },
];

export async function run({ threads = [1, 2], time = 400, print = true } = {}) {
  const engine = await instantiateEngine({ shared: true });
  const arena = new Arena(engine);
  const rows = [];
  for (const t of threads) {
    const pool = await ThreadPool.create(engine, t);
    const mm = new WasmMatmul(engine, arena, pool);
    const bench = new Bench({ time, warmupTime: 100 });
    const owned = [];
    for (const { m, k, n } of SHAPES) {
      const a = arena.alloc(m * k * 4), b = arena.alloc(k * n * 4), c = arena.alloc(m * n * 4);
      owned.push(a, b, c);
      for (const [ptr, len] of [[a, m * k], [b, k * n]]) {
        const v = arena.f32(ptr, len);
        for (let i = 0; i < len; i++) v[i] = Math.sin(i * 0.618) * 0.5;
      }
      mm.reserve(n, k);
      for (const op of ["nt", "nn", "tn"]) {
        bench.add(`${op} ${m}×${k}×${n} ${pool.size}t`, () => mm[op](c, a, b, m, n, k));
      }
    }
    await bench.run();
    for (const task of bench.tasks) {
      const [op, shape] = task.name.split(" ");
      const [m, k, n] = shape.split("×").map(Number);
      const flop = 2 * m * n * k;
      const r = task.result;
      if (r.state !== "completed") throw new Error(`${task.name}: ${r.state} ${r.error ?? ""}`);
      rows.push({
        op: op.toUpperCase(),
        shape,
        threads: pool.size,
        medianMs: r.latency.p50,
        gflopsMedian: flop / r.latency.p50 / 1e6,
        gflopsBest: flop / r.latency.min / 1e6,
      });
    }
    await pool.terminate();
    for (const ptr of owned) arena.free(ptr);
  }
  if (print) console.log(table(rows));
  return rows;
}

export function table(rows) {
  const one = new Map(rows.filter((r) => r.threads === 1).map((r) => [`${r.op} ${r.shape}`, r]));
  const lines = [
    "| layout | m×k×n | threads | median ms | GFLOP/s (median) | GFLOP/s (best) | speed-up vs 1 thread |",
    "|---|---|---:|---:|---:|---:|---:|",
  ];
  for (const r of rows) {
    const base = one.get(`${r.op} ${r.shape}`);
    const speedup = base && r.threads > 1 ? `${(r.gflopsMedian / base.gflopsMedian).toFixed(2)}×` : "";
    lines.push(`| ${r.op} | ${r.shape} | ${r.threads} | ${r.medianMs.toFixed(3)} | ${r.gflopsMedian.toFixed(1)} | ${r.gflopsBest.toFixed(1)} | ${speedup} |`);
  }
  return lines.join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await run();
