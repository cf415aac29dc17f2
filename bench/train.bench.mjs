// End-to-end training throughput on `bench-tiny` (vocab 4096, hidden 256, 6 layers,
// 4 heads, 4 kv heads, ffn 688, seq 256, batch 8, untied): tokens/s of a full step
// (forward, CE + α·R, backward, clipping, AdamW) for α = 0 and α = 3 on 1 and 2
// threads, the JREG overhead, peak memory, memory over 50 steps, and the same step
// in PyTorch (float32, OpenBLAS) when /usr/bin/python3 has torch.
//
//   node bench/train.bench.mjs [--steps N] [--memory-steps 50] [--no-torch]
import { Bench } from "tinybench";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { pathToFileURL, fileURLToPath } from "node:url";
import { createEngine, PRESETS } from "../dist/index.js";

const B = 8;
const T = 256;

function batches(vocab, seed = 1) {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 8) % vocab;
  return () => {
    const ids = new Int32Array(B * (T + 1));
    for (let i = 0; i < ids.length; i++) ids[i] = next();
    return { batch: B, length: T + 1, ids };
  };
}

async function trainingRate(threads, alpha, steps) {
  const engine = await createEngine({ backend: "wasm", threads });
  const config = PRESETS["bench-tiny"];
  const model = engine.createModel(config, { seed: 1 });
  const trainer = engine.createTrainer(model, { lr: 1e-3, jreg: { alpha } });
  const next = batches(config.vocabSize);
  const bench = new Bench({ time: 0, iterations: steps, warmupTime: 0, warmupIterations: 1 });
  bench.add(`train step ${threads}t α=${alpha}`, async () => {
    const r = await trainer.step(next());
    if (r.skipped) throw new Error(`step skipped: ${r.skipped}`);
  });
  await bench.run();
  const task = bench.tasks[0];
  if (task.result.error) throw task.result.error;
  const ms = task.result.latency.mean;
  const rate = { threads: engine.backend.threads, alpha, msPerStep: ms, tokensPerSecond: (B * T * 1000) / ms, rme: task.result.latency.rme };
  await engine.dispose();
  return rate;
}

async function memoryOverSteps(steps) {
  const engine = await createEngine({ backend: "wasm", threads: 2 });
  const config = PRESETS["bench-tiny"];
  const model = engine.createModel(config, { seed: 1 });
  const trainer = engine.createTrainer(model, { jreg: { alpha: 3 } });
  const next = batches(config.vocabSize, 7);
  const wasm = [];
  const rss = [];
  let peakRss = 0;
  for (let s = 0; s < steps; s++) {
    await trainer.step(next());
    wasm.push(engine.backend.memoryBytes());
    const r = process.memoryUsage().rss;
    rss.push(r);
    peakRss = Math.max(peakRss, r);
  }
  await engine.dispose();
  return { steps, wasmAfterFirst: wasm[0], wasmAfterLast: wasm[steps - 1], rssAfterFirst: rss[0], rssAfterLast: rss[steps - 1], peakRss };
}

function memoryInChild(steps) {
  const self = fileURLToPath(import.meta.url);
  const r = spawnSync(process.execPath, [self, "--memory-child", String(steps)], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`memory run failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

function torchRate(threads, alpha, steps) {
  const script = fileURLToPath(new URL("./torch_step.py", import.meta.url));
  if (!existsSync("/usr/bin/python3")) return undefined;
  const r = spawnSync("/usr/bin/python3", [script, "--threads", String(threads), "--alpha", String(alpha), "--steps", String(steps)], { encoding: "utf8" });
  if (r.status !== 0) return undefined;
  return JSON.parse(r.stdout.trim().split("\n").pop());
}

const mib = (b) => (b / 2 ** 20).toFixed(0);

export async function run({ steps = 4, memorySteps = 50, torch = true, print = true } = {}) {
  const rates = [];
  for (const threads of [1, 2]) for (const alpha of [0, 3]) rates.push(await trainingRate(threads, alpha, steps));
  const torchRates = torch ? [1, 2].map((t) => torchRate(t, 3, steps)) : [];
  // In a fresh process, so the peak RSS is this training run's alone.
  const memory = memorySteps > 0 ? memoryInChild(memorySteps) : undefined;
  if (print) {
    console.log(`\n### Training step, bench-tiny (B=${B}, T=${T}), wasm backend, Node ${process.version}\n`);
    console.log("| threads | α | ms/step | tokens/s | JREG overhead | PyTorch tokens/s (α=3) | engine / PyTorch |");
    console.log("|---|---|---|---|---|---|---|");
    for (const r of rates) {
      const base = rates.find((x) => x.threads === r.threads && x.alpha === 0);
      const overhead = r.alpha === 0 ? "" : `${(((r.msPerStep - base.msPerStep) / base.msPerStep) * 100).toFixed(1)} %`;
      const t = r.alpha === 3 ? torchRates[r.threads - 1] : undefined;
      console.log(`| ${r.threads} | ${r.alpha} | ${r.msPerStep.toFixed(0)} ± ${r.rme.toFixed(1)} % | ${r.tokensPerSecond.toFixed(0)} | ${overhead} | ${t ? t.tokens_per_second.toFixed(0) : r.alpha === 3 ? "n/a" : ""} | ${t ? (r.tokensPerSecond / t.tokens_per_second).toFixed(2) + "×" : ""} |`);
    }
    if (memory) {
      console.log(`\nMemory over ${memory.steps} steps (2 threads, α=3): wasm linear memory ${mib(memory.wasmAfterFirst)} MiB after step 1, ${mib(memory.wasmAfterLast)} MiB after step ${memory.steps}; process RSS ${mib(memory.rssAfterFirst)} → ${mib(memory.rssAfterLast)} MiB, peak ${mib(memory.peakRss)} MiB (a fresh process: Node itself, the worker, the model and its activations).`);
    }
  }
  return { rates, torchRates, memory };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href && process.argv[2] === "--memory-child") {
  console.log(JSON.stringify(await memoryOverSteps(Number(process.argv[3]))));
} else if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name, d) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : d;
  };
  await run({ steps: arg("steps", 4), memorySteps: arg("memory-steps", 50), torch: !process.argv.includes("--no-torch") });
}
