// Causal GQA attention GFLOP/s of the wasm kernel (assembly/attention.ts), one
// thread, forward and backward, on the bench-tiny head shape (hd 64) at t = 256
// and t = 1024, plus a GQA shape (8 query heads on 2 kv heads).
//
// Flops counted: forward 4·t²·hd/2 per query head (q·kᵀ and p·v, causal half);
// backward 2.5× that (q·kᵀ recomputed, dout·vᵀ, dq, dk, dv).
//
//   node bench/attention.bench.mjs          prints a markdown table
import { Bench } from "tinybench";
import { pathToFileURL } from "node:url";
import { instantiateEngine, Arena } from "../dist/internal.js";

export const SHAPES = [
  { b: 8, t: 256, heads: 4, kvHeads: 4, hd: 64 },
  { b: 1, t: 1024, heads: 4, kvHeads: 4, hd: 64 },
  { b: 2, t: 256, heads: 8, kvHeads: 2, hd: 64 },
];

export async function run({ time = 400, print = true } = {}) {
  const engine = await instantiateEngine({ shared: false });
  const arena = new Arena(engine);
  const k = engine.exports;
  const flash = typeof k.attentionScratchBytes === "function";
  const bench = new Bench({ time, warmupTime: 100 });
  const flops = new Map();
  for (const s of SHAPES) {
    const { b, t, heads, kvHeads, hd } = s;
    const units = b * kvHeads;
    const nq = b * t * heads * hd, nk = b * t * kvHeads * hd;
    const alloc = (n) => {
      const ptr = arena.alloc(n * 4);
      const v = arena.f32(ptr, n);
      for (let i = 0; i < n; i++) v[i] = Math.sin(i * 0.618 + ptr) * 0.5;
      return ptr;
    };
    const q = alloc(nq), kk = alloc(nk), v = alloc(nk), dout = alloc(nq), out = alloc(nq);
    const dq = alloc(nq), dk = alloc(nk), dv = alloc(nk);
    // old kernel: probs [b, heads, t, t] and t floats of scratch per unit; new: lse [b, heads, t] and one unit's scratch
    const state = alloc(flash ? b * heads * t : b * heads * t * t);
    const scratch = arena.alloc(flash ? k.attentionScratchBytes(t, hd, heads / kvHeads) : units * t * 4);
    const name = `b${b} t${t} h${heads}/${kvHeads} hd${hd}`;
    const fwd = 4 * (t * t) / 2 * hd * b * heads;
    flops.set(`fwd ${name}`, fwd);
    flops.set(`bwd ${name}`, 2.5 * fwd);
    bench.add(`fwd ${name}`, () => k.attentionForward(out, state, q, kk, v, b, t, heads, kvHeads, hd, 0, units));
    bench.add(`bwd ${name}`, () => k.attentionBackward(dq, dk, dv, scratch, dout, flash ? out : state, ...(flash ? [state] : []), q, kk, v, b, t, heads, kvHeads, hd, 0, units));
  }
  await bench.run();
  const rows = bench.tasks.map((task) => {
    const r = task.result;
    if (r.state !== "completed") throw new Error(`${task.name}: ${r.state} ${r.error ?? ""}`);
    const f = flops.get(task.name);
    return { case: task.name, medianMs: r.latency.p50, gflopsMedian: f / r.latency.p50 / 1e6, gflopsBest: f / r.latency.min / 1e6 };
  });
  if (print) {
    console.log(`kernel: ${flash ? "flash (lse saved)" : "probs saved"}, 1 thread`);
    console.log("| case | median ms | GFLOP/s median | GFLOP/s best |\n|---|---:|---:|---:|");
    for (const r of rows) console.log(`| ${r.case} | ${r.medianMs.toFixed(2)} | ${r.gflopsMedian.toFixed(1)} | ${r.gflopsBest.toFixed(1)} |`);
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await run();
