// Causal GQA attention GFLOP/s of the wasm kernel (assembly/attention.ts), one
// thread, forward and backward, on the bench-tiny head shape (hd 64) at t = 256
// and t = 1024, plus a GQA shape (8 query heads on 2 kv heads).
//
// Flops counted: forward 4·t²·hd/2 per query head (q·kᵀ and p·v, causal half);
// backward 2.5× that (q·kᵀ recomputed, dout·vᵀ, dq, dk, dv).
//
//   node bench/attention.bench.mjs                    prints a markdown table
//   node bench/attention.bench.mjs --baseline DIR [--rounds 3]
//     also runs the build in DIR/dist (e.g. an older commit, built), the two
//     builds' cases alternating within each round; prints both and the ratio.
//     Understands this kernel (tiles, scratch per thread) and the previous flash
//     kernel (lse saved, no forward scratch).
import { Bench } from "tinybench";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";

export const SHAPES = [
  { b: 8, t: 256, heads: 4, kvHeads: 4, hd: 64 },
  { b: 1, t: 1024, heads: 4, kvHeads: 4, hd: 64 },
  { b: 2, t: 256, heads: 8, kvHeads: 2, hd: 64 },
];

/** The forward and backward calls of one build's kernel for one shape, on buffers of its own. */
function cases(engine, arena, s) {
  const k = engine.exports;
  const tiles = typeof k.attentionForwardUnits === "function";
  const { b, t, heads, kvHeads, hd } = s;
  const nq = b * t * heads * hd, nk = b * t * kvHeads * hd;
  const alloc = (n) => {
    const ptr = arena.alloc(n * 4);
    const v = arena.f32(ptr, n);
    for (let i = 0; i < n; i++) v[i] = Math.sin(i * 0.618 + (n % 7)) * 0.5;
    return ptr;
  };
  const q = alloc(nq), kk = alloc(nk), v = alloc(nk), dout = alloc(nq), out = alloc(nq);
  const dq = alloc(nq), dk = alloc(nk), dv = alloc(nk), lse = alloc(b * heads * t);
  const dims = [b, t, heads, kvHeads, hd];
  if (tiles) {
    const fs = arena.alloc(Number(k.attentionForwardScratchBytes(hd)));
    const bs = arena.alloc(Number(k.attentionBackwardScratchBytes(t, hd, heads / kvHeads)));
    const fu = k.attentionForwardUnits(b, t, heads);
    return {
      kind: "tiles",
      fwd: () => k.attentionForward(out, lse, fs, q, kk, v, ...dims, 0, fu, 0),
      bwd: () => k.attentionBackward(dq, dk, dv, bs, dout, out, lse, q, kk, v, ...dims, 0, b * kvHeads, 0),
    };
  }
  const scratch = arena.alloc(Number(k.attentionScratchBytes(t, hd, heads / kvHeads)));
  return {
    kind: "flash",
    fwd: () => k.attentionForward(out, lse, q, kk, v, ...dims, 0, b * kvHeads),
    bwd: () => k.attentionBackward(dq, dk, dv, scratch, dout, out, lse, q, kk, v, ...dims, 0, b * kvHeads),
  };
}

async function load(root) {
  const { instantiateEngine, Arena } = await import(pathToFileURL(resolve(root, "dist/internal.js")).href);
  const engine = await instantiateEngine({ shared: false });
  // one arena per engine: a second Arena on the same memory would hand out the same addresses
  const arena = new Arena(engine);
  return { engine, cases: SHAPES.map((s) => cases(engine, arena, s)) };
}

export async function run({ time = 400, print = true, baseline = null, rounds = 1 } = {}) {
  const builds = [{ name: "this", ...(await load(new URL("..", import.meta.url).pathname)) }];
  if (baseline) builds.push({ name: "baseline", ...(await load(baseline)) });
  const flops = new Map();
  const perRound = new Map(); // "build|case" → GFLOP/s (median latency) per round
  const kinds = new Map();
  for (let round = 0; round < rounds; round++) {
    const bench = new Bench({ time, warmupTime: 100 });
    SHAPES.forEach((s, si) => {
      const name = `b${s.b} t${s.t} h${s.heads}/${s.kvHeads} hd${s.hd}`;
      const fwd = 4 * (s.t * s.t) / 2 * s.hd * s.b * s.heads;
      flops.set(`fwd ${name}`, fwd);
      flops.set(`bwd ${name}`, 2.5 * fwd);
      const made = builds.map((bd) => ({ bd, c: bd.cases[si] }));
      for (const dir of ["fwd", "bwd"]) {
        // alternate which build goes first from round to round
        const order = round % 2 === 0 ? made : [...made].reverse();
        for (const { bd, c } of order) {
          kinds.set(bd.name, c.kind);
          bench.add(`${bd.name}|${dir} ${name}`, c[dir]);
        }
      }
    });
    await bench.run();
    for (const task of bench.tasks) {
      const r = task.result;
      if (r.state !== "completed") throw new Error(`${task.name}: ${r.state} ${r.error ?? ""}`);
      const f = flops.get(task.name.split("|")[1]);
      const list = perRound.get(task.name) ?? [];
      list.push({ ms: r.latency.p50, gflops: f / r.latency.p50 / 1e6, best: f / r.latency.min / 1e6 });
      perRound.set(task.name, list);
    }
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
  const rows = [...flops.keys()].map((c) => {
    const mine = perRound.get(`this|${c}`);
    const row = { case: c, medianMs: median(mine.map((x) => x.ms)), gflopsMedian: median(mine.map((x) => x.gflops)), gflopsBest: Math.max(...mine.map((x) => x.best)) };
    if (baseline) {
      const base = perRound.get(`baseline|${c}`);
      row.baselineGflops = median(base.map((x) => x.gflops));
      const ratios = mine.map((x, i) => x.gflops / base[i].gflops);
      row.ratioMedian = median(ratios);
      row.ratioRange = [Math.min(...ratios), Math.max(...ratios)];
    }
    return row;
  });
  if (print) {
    console.log(`kernel: ${kinds.get("this")}${baseline ? ` vs baseline ${kinds.get("baseline")} (${baseline})` : ""}, 1 thread, ${rounds} round(s)`);
    if (baseline) {
      console.log("| case | GFLOP/s (median of rounds) | baseline GFLOP/s | this / baseline, median (range) |\n|---|---:|---:|---:|");
      for (const r of rows) console.log(`| ${r.case} | ${r.gflopsMedian.toFixed(1)} | ${r.baselineGflops.toFixed(1)} | ${r.ratioMedian.toFixed(2)}× (${r.ratioRange.map((x) => x.toFixed(2)).join("–")}) |`);
    } else {
      console.log("| case | median ms | GFLOP/s median | GFLOP/s best |\n|---|---:|---:|---:|");
      for (const r of rows) console.log(`| ${r.case} | ${r.medianMs.toFixed(2)} | ${r.gflopsMedian.toFixed(1)} | ${r.gflopsBest.toFixed(1)} |`);
    }
  }
  return rows;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name, d) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : d;
  };
  await run({ baseline: arg("baseline", null), rounds: Number(arg("rounds", 1)) });
}
