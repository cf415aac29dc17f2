// WebGPU backend benchmarks on whatever adapter is present (the output names it):
// per-kernel GFLOP/s or GB/s (matmul, rmsnorm, softmax/cross-entropy, attention),
// the same matmul, RMSNorm and softmax written as gpu.js kernels (one thread per
// output, its WebGPU mode) on the same device in the same run, and training
// tokens/s on bench-tiny (and, with --100m, the ~100 M config).
//   node bench/gpu.bench.mjs [--quick] [--100m] [--json FILE] [--peak GFLOPS]
// --quick: tiny sizes (for software adapters such as lavapipe; not a speed figure).
import { writeFileSync } from "node:fs";
import { WebGpuBackend } from "../dist/backend/webgpu/webgpu-backend.js";
import { createEngine, PRESETS } from "../dist/index.js";

process.env.XDG_RUNTIME_DIR ??= "/tmp";
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const with100m = args.includes("--100m");
const jsonOut = args.includes("--json") ? args[args.indexOf("--json") + 1] : undefined;
const peak = args.includes("--peak") ? Number(args[args.indexOf("--peak") + 1]) : undefined;

export const CONFIG_100M = {
  vocabSize: 16384, hiddenSize: 768, numLayers: 12, numHeads: 12, numKvHeads: 12,
  intermediateSize: 2048, ropeTheta: 10000, rmsEps: 1e-5, tiedEmbeddings: false, maxSeqLen: 1024,
};

const gpu = await WebGpuBackend.create();
const results = { adapter: gpu.capabilities.device, quick, kernels: [], peers: [], training: [] };
console.log(`adapter: ${gpu.capabilities.device}${quick ? "  (--quick: tiny sizes, not a speed figure)" : ""}`);

const fill = (n, seed = 1) => {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) a[i] = (((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) / 16777216) - 0.5;
  return a;
};
const upload = (data) => {
  const t = gpu.alloc(data.length, "f32", "bench");
  gpu.write(t, data);
  return t;
};

/** Median seconds of `reps` timed batches of `inner` enqueued calls (after a warm-up). */
async function time(fn, reps = quick ? 3 : 10, inner = quick ? 1 : 5) {
  fn();
  await gpu.finish();
  const samples = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    for (let i = 0; i < inner; i++) fn();
    await gpu.finish();
    samples.push((performance.now() - t0) / 1000 / inner);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

function report(name, seconds, flops, bytes) {
  const row = { name, ms: seconds * 1000, gflops: flops ? flops / seconds / 1e9 : undefined, gbps: bytes ? bytes / seconds / 1e9 : undefined };
  if (peak && row.gflops) row.percentOfPeak = (100 * row.gflops) / peak;
  results.kernels.push(row);
  const parts = [`${name.padEnd(40)} ${row.ms.toFixed(3).padStart(9)} ms`];
  if (row.gflops) parts.push(`${row.gflops.toFixed(1).padStart(8)} GFLOP/s${row.percentOfPeak ? ` (${row.percentOfPeak.toFixed(0)} % of ${peak} peak)` : ""}`);
  if (row.gbps) parts.push(`${row.gbps.toFixed(1).padStart(8)} GB/s`);
  console.log(parts.join("  "));
  return row;
}

// ---- kernels ----
const S = quick ? 128 : 4096;
const mmA = upload(fill(S * S, 1)), mmB = upload(fill(S * S, 2)), mmC = gpu.alloc(S * S, "f32", "c");
const ours = {};
for (const layout of ["nt", "nn", "tn"]) {
  const s = await time(() => gpu.matmul(mmC, mmA, mmB, S, S, S, layout, false));
  const row = report(`matmul ${layout} ${S}³`, s, 2 * S ** 3, 0);
  if (layout === "nt") ours.matmul = row;
}
const [rn, rc] = quick ? [512, 256] : [16384, 768];
const rx = upload(fill(rn * rc)), rw = upload(fill(rc)), ro = gpu.alloc(rn * rc, "f32", "o"), rr = gpu.alloc(rn, "f32", "r");
ours.rmsnorm = report(`rmsnorm forward ${rn}×${rc}`, await time(() => gpu.rmsnormForward(ro, rr, rx, rw, rn, rc, 1e-5)), 0, 2 * rn * rc * 4);
const [cn, cv] = quick ? [64, 4096] : [2048, 32000];
const logits = upload(fill(cn * cv)), targets = gpu.alloc(cn, "i32", "targets"), losses = gpu.alloc(cn, "f32", "l"), lse = gpu.alloc(cn, "f32", "lse");
gpu.write(targets, Int32Array.from({ length: cn }, (_, i) => i % cv));
ours.softmax = report(`cross-entropy forward ${cn}×${cv}`, await time(() => gpu.crossEntropyForward(losses, lse, logits, targets, cn, cv)), 0, 2 * cn * cv * 4);
report(`cross-entropy backward in place ${cn}×${cv}`, await time(() => gpu.crossEntropyBackwardInPlace(logits, lse, targets, cn, cv, 1)), 0, 2 * cn * cv * 4);
const [ab, at, ah, ad] = quick ? [1, 128, 4, 64] : [8, 1024, 12, 64];
const q = upload(fill(ab * at * ah * ad)), k = upload(fill(ab * at * ah * ad, 3)), v = upload(fill(ab * at * ah * ad, 4));
const ao = gpu.alloc(q.length, "f32", "o"), as = gpu.alloc(gpu.attentionStateLength(ab, at, ah, ah, ad), "f32", "s");
const attnFlops = 2 * 2 * ab * ah * ((at * (at + 1)) / 2) * ad;
report(`attention forward ${ab}×${at}×${ah}×${ad}`, await time(() => gpu.attentionForward(ao, as, q, k, v, ab, at, ah, ah, ad)), attnFlops, 0);
const dq = gpu.alloc(q.length, "f32", "dq"), dk = gpu.alloc(q.length, "f32", "dk"), dv = gpu.alloc(q.length, "f32", "dv");
report(`attention backward ${ab}×${at}×${ah}×${ad}`, await time(() => gpu.attentionBackward(dq, dk, dv, q, ao, as, q, k, v, ab, at, ah, ah, ad)), 2.5 * attnFlops, 0);

// ---- gpu.js peer: the same ops as one-thread-per-output kernels on the same adapter ----
try {
  const { create, globals } = await import("webgpu");
  Object.assign(globalThis, globals);
  if (!globalThis.navigator?.gpu) Object.defineProperty(globalThis, "navigator", { value: { gpu: create([]) }, configurable: true });
  const { GPU, input } = await import("gpu.js");
  const g = new GPU({ mode: "webgpu" });
  // Peer shapes: smaller than the kernel table's, because a one-thread-per-output
  // softmax recomputes the row max and sum for every output (O(v²) per row).
  const [S, rn, rc, cn, cv] = quick ? [128, 512, 256, 64, 4096] : [2048, 8192, 768, 512, 4096];
  const mmA = gpu.alloc(S * S, "f32", "a"), mmB = gpu.alloc(S * S, "f32", "b"), mmC = gpu.alloc(S * S, "f32", "c");
  const rx = gpu.alloc(rn * rc, "f32", "x"), rw = upload(fill(rc)), ro = gpu.alloc(rn * rc, "f32", "o"), rr = gpu.alloc(rn, "f32", "r");
  const logits = gpu.alloc(cn * cv, "f32", "logits"), targets = gpu.alloc(cn, "i32", "t"), losses = gpu.alloc(cn, "f32", "l"), lse = gpu.alloc(cn, "f32", "lse");
  gpu.write(targets, Int32Array.from({ length: cn }, (_, i) => i % cv));
  const mm = g.createKernel(function (a, b) {
    let s = 0;
    for (let i = 0; i < this.constants.K; i++) s += a[this.thread.y][i] * b[this.thread.x][i];
    return s;
  }).setOutput([S, S]).setConstants({ K: S });
  const rms = g.createKernel(function (x, w) {
    let ss = 0;
    for (let j = 0; j < this.constants.C; j++) ss += x[this.thread.y][j] * x[this.thread.y][j];
    return w[this.thread.x] * x[this.thread.y][this.thread.x] / Math.sqrt(ss / this.constants.C + 1e-5);
  }).setOutput([rc, rn]).setConstants({ C: rc });
  const sm = g.createKernel(function (x) {
    let m = -1e30;
    for (let j = 0; j < this.constants.V; j++) m = Math.max(m, x[this.thread.y][j]);
    let s = 0;
    for (let j = 0; j < this.constants.V; j++) s += Math.exp(x[this.thread.y][j] - m);
    return Math.exp(x[this.thread.y][this.thread.x] - m) / s;
  }).setOutput([cv, cn]).setConstants({ V: cv });
  const A = fill(S * S, 1), B = fill(S * S, 2), X = fill(rn * rc), W = await gpu.read(rw), Lg = fill(cn * cv);
  const peerTime = async (call) => {
    await call();
    const samples = [];
    for (let r = 0; r < (quick ? 3 : 5); r++) {
      const t0 = performance.now();
      await call();
      samples.push((performance.now() - t0) / 1000);
    }
    return samples.sort((x, y) => x - y)[Math.floor(samples.length / 2)];
  };
  // ours end to end (upload, op, readback), the way a gpu.js call runs
  const e2e = async (inputs, op, out) => {
    return peerTime(async () => {
      for (const [t, d] of inputs) gpu.write(t, d);
      op();
      await gpu.read(out);
    });
  };
  const pairs = [
    ["matmul nt", await peerTime(() => mm(input(A, [S, S]), input(B, [S, S]))), await e2e([[mmA, A], [mmB, B]], () => gpu.matmul(mmC, mmA, mmB, S, S, S, "nt", false), mmC)],
    ["rmsnorm", await peerTime(() => rms(input(X, [rc, rn]), W)), await e2e([[rx, X]], () => gpu.rmsnormForward(ro, rr, rx, rw, rn, rc, 1e-5), ro)],
    ["softmax", await peerTime(() => sm(input(Lg, [cv, cn]))), await e2e([[logits, Lg]], () => gpu.crossEntropyForward(losses, lse, logits, targets, cn, cv), losses)],
  ];
  console.log(`\ngpu.js (WebGPU mode, one thread per output) vs ours, end to end (upload + kernel + readback); matmul ${S}³, rmsnorm ${rn}×${rc}, softmax ${cn}×${cv}:`);
  for (const [name, theirs, mine] of pairs) {
    results.peers.push({ name, gpujsMs: theirs * 1000, oursMs: mine * 1000, speedup: theirs / mine });
    console.log(`  ${name.padEnd(12)} gpu.js ${(theirs * 1000).toFixed(2).padStart(9)} ms   ours ${(mine * 1000).toFixed(2).padStart(9)} ms   ours ${(theirs / mine).toFixed(2)}× faster`);
  }
} catch (e) {
  results.peers.push({ error: String(e.message ?? e) });
  console.log(`\ngpu.js peer not run: ${e.message ?? e}`);
}
await gpu.dispose();

// ---- training tokens/s ----
async function trainingRate(name, config, B, T, steps) {
  const engine = await createEngine({ backend: "webgpu" });
  const model = engine.createModel(config, { seed: 1 });
  const trainer = engine.createTrainer(model, { lr: 1e-3, clip: 1, jreg: { alpha: 3 } });
  let s = 7;
  const batch = () => {
    const ids = new Int32Array(B * (T + 1));
    for (let i = 0; i < ids.length; i++) ids[i] = ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) >>> 8) % config.vocabSize;
    return { batch: B, length: T + 1, ids };
  };
  await trainer.step(batch()); // warm-up: pipelines compile
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await trainer.step(batch());
  const seconds = (performance.now() - t0) / 1000 / steps;
  const row = { name, batch: B, seq: T, msPerStep: seconds * 1000, tokensPerSecond: (B * T) / seconds };
  results.training.push(row);
  console.log(`training ${name} (B=${B}, T=${T}): ${row.msPerStep.toFixed(1)} ms/step, ${row.tokensPerSecond.toFixed(0)} tokens/s`);
  await engine.dispose();
}
console.log("");
if (quick) await trainingRate("bench-tiny (2 layers, --quick)", { ...PRESETS["bench-tiny"], numLayers: 2, vocabSize: 512 }, 1, 32, 2);
else await trainingRate("bench-tiny", PRESETS["bench-tiny"], 8, 256, 10);
// --quick keeps the ~100M shapes but 2 of its 12 layers: it tests the path, not the speed
if (with100m) {
  if (quick) await trainingRate("~100M shapes (2 layers, --quick)", { ...CONFIG_100M, numLayers: 2 }, 1, 64, 1);
  else await trainingRate("~100M", CONFIG_100M, 8, 1024, 5);
}

if (jsonOut) writeFileSync(jsonOut, JSON.stringify(results, null, 2));
process.exit(0);
