// One side of bench/train.bench.mjs: a process (Node or Deno) that holds engines
// and runs single bench-tiny training steps on request, so the bench can
// interleave it with PyTorch and with the other runtime step by step.
// Protocol on stdin/stdout, one JSON object per line:
//   {"cmd":"step","threads":2,"alpha":3,"seq":256}  → {"ms":…, "attentionMs":…}
//     (optional "kernels":"relaxed" for the opt-in FMA kernels; the process then
//     needs relaxed SIMD: node --experimental-wasm-relaxed-simd on Node 20)
//   {"cmd":"memory"}                                → {"wasmBytes":…, "peakWasmBytes":…, "rss":…}
//   {"cmd":"quit"}
// Each (threads, alpha, seq) gets its own engine and model, created on first use
// and warmed by one untimed step. Batch × seq is 2048 tokens for every seq.
import { createInterface } from "node:readline";

// Node only (train.bench --parts bounds): V8 flags for the whole process, workers
// included (a worker refuses V8 flags in execArgv), set before any wasm compiles.
if (!globalThis.Deno && process.env.STEP_SERVER_V8_FLAGS) (await import("node:v8")).setFlagsFromString(process.env.STEP_SERVER_V8_FLAGS);
const { createEngine, PRESETS } = await import("../dist/index.js");

const TOKENS = 2048;
const sessions = new Map();
let peakWasmBytes = 0;

function batches(vocab, batch, length, seed = 1) {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) >>> 8) % vocab;
  return () => {
    const ids = new Int32Array(batch * (length + 1));
    for (let i = 0; i < ids.length; i++) ids[i] = next();
    return { batch, length: length + 1, ids };
  };
}

/** Times attentionForward/Backward inside the step (the share the seq-1024 variant watches). */
function timeAttention(backend, clock) {
  for (const name of ["attentionForward", "attentionBackward"]) {
    const fn = backend[name].bind(backend);
    backend[name] = (...args) => {
      const t0 = performance.now();
      fn(...args);
      clock.ms += performance.now() - t0;
    };
  }
}

async function session(threads, alpha, seq, kernels = "exact") {
  const key = `${threads} ${alpha} ${seq} ${kernels}`;
  let s = sessions.get(key);
  if (s) return s;
  const engine = await createEngine({ backend: "wasm", threads, ...(kernels === "exact" ? {} : { kernels }) });
  const config = { ...PRESETS["bench-tiny"], maxSeqLen: seq };
  const model = engine.createModel(config, { seed: 1 });
  const trainer = engine.createTrainer(model, { lr: 1e-3, jreg: { alpha } });
  const clock = { ms: 0 };
  timeAttention(engine.backend, clock);
  s = { engine, trainer, clock, next: batches(config.vocabSize, TOKENS / seq, seq) };
  sessions.set(key, s);
  await step(s);
  return s;
}

async function step(s) {
  const r = await s.trainer.step(s.next());
  if (r.skipped) throw new Error(`step skipped: ${r.skipped}`);
  peakWasmBytes = Math.max(peakWasmBytes, s.engine.backend.memoryBytes());
}

function rss() {
  const g = globalThis;
  if (g.Deno) return g.Deno.memoryUsage().rss;
  return process.memoryUsage().rss;
}

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const msg = JSON.parse(line);
  let reply;
  if (msg.cmd === "step") {
    const s = await session(msg.threads, msg.alpha, msg.seq, msg.kernels);
    s.clock.ms = 0;
    const t0 = performance.now();
    await step(s);
    reply = { ms: performance.now() - t0, attentionMs: s.clock.ms, threads: s.engine.backend.threads };
  } else if (msg.cmd === "memory") {
    const wasmBytes = [...sessions.values()].reduce((sum, s) => sum + s.engine.backend.memoryBytes(), 0);
    reply = { wasmBytes, peakWasmBytes, rss: rss() };
  } else if (msg.cmd === "quit") {
    for (const s of sessions.values()) await s.engine.dispose();
    console.log(JSON.stringify({ ok: true }));
    break;
  } else {
    reply = { error: `unknown command ${msg.cmd}` };
  }
  console.log(JSON.stringify(reply));
}
