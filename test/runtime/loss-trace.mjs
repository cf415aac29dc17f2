// Trains a small model for a fixed number of steps and returns the loss trace, with
// each number also as its exact float64 bit pattern. The same code runs in Node,
// Deno and Chromium (test/cross-runtime.test.mjs, test/browser.test.mjs); the traces
// must be identical. Run directly, it prints the trace as JSON: loss-trace.mjs THREADS STEPS
import { createEngine } from "../../dist/index.js";

export async function lossTrace(threads, steps) {
  const config = {
    vocabSize: 97, hiddenSize: 48, numLayers: 4, numHeads: 4, numKvHeads: 2,
    intermediateSize: 80, ropeTheta: 10000, rmsEps: 1e-5, tiedEmbeddings: false, maxSeqLen: 64,
  };
  const engine = await createEngine({ backend: "wasm", threads });
  const model = engine.createModel(config, { seed: 42 });
  const trainer = engine.createTrainer(model, {
    lr: 3e-3, minLr: 3e-4, warmupSteps: 3, decaySteps: steps, clip: 1, jreg: { alpha: 3, distance: "angular", lastK: 2, normalize: "middle" },
  });

  // Deterministic token stream (an LCG), the same in every runtime.
  let state = 12345;
  const next = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 8) % config.vocabSize;
  const bits = (x) => {
    const v = new DataView(new ArrayBuffer(8));
    v.setFloat64(0, x);
    return v.getBigUint64(0).toString(16);
  };
  const trace = [];
  for (let s = 0; s < steps; s++) {
    const B = 4, T = 32;
    const ids = new Int32Array(B * (T + 1));
    for (let i = 0; i < ids.length; i++) ids[i] = next();
    const r = await trainer.step({ batch: B, length: T + 1, ids });
    trace.push({ loss: r.loss, bits: bits(r.loss), gradNorm: bits(r.gradNorm) });
  }
  const weights = (await model.toCheckpoint()).tensors.get("model.layers.3.mlp.down_proj.weight");
  let h = 0;
  for (const x of new Uint32Array(weights.buffer, weights.byteOffset, weights.length)) h = (Math.imul(h, 31) + x) >>> 0;
  // fixedMemory: pages of the fixed-size shared memory (0 = growable; see host/backend/wasm/fixed-memory.ts)
  const result = { threads: engine.backend.threads, fixedMemory: engine.backend.arena.engine.fixedPages, trace, weightsHash: h };
  await engine.dispose();
  return result;
}

const deno = globalThis.Deno;
const proc = globalThis.process;
const argv = deno ? (import.meta.main ? deno.args : undefined) : proc?.argv?.[1] && import.meta.url.endsWith(proc.argv[1].split("/").pop()) ? proc.argv.slice(2) : undefined;
if (argv) console.log(JSON.stringify(await lossTrace(Number(argv[0] ?? 2), Number(argv[1] ?? 20))));
