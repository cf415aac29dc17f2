// A 20-step training loss trace on a chosen backend, the same code in Node, Deno
// and browsers (test/webgpu-model.test.mjs, webgpu-runtimes.test.mjs,
// webgpu-browser.test.mjs). Run directly: webgpu-trace.mjs BACKEND STEPS → JSON.
import { createEngine } from "../../dist/index.js";

export const TRACE_CONFIG = {
  vocabSize: 97, hiddenSize: 48, numLayers: 4, numHeads: 4, numKvHeads: 2,
  intermediateSize: 80, ropeTheta: 10000, rmsEps: 1e-5, tiedEmbeddings: false, maxSeqLen: 64,
};

export async function backendTrace(backend, steps) {
  const engine = await createEngine({ backend, threads: 1 });
  const model = engine.createModel(TRACE_CONFIG, { seed: 42 });
  const trainer = engine.createTrainer(model, {
    lr: 3e-3, minLr: 3e-4, warmupSteps: 3, decaySteps: steps, clip: 1, jreg: { alpha: 3, distance: "angular", lastK: 2, normalize: "middle" },
  });
  let state = 12345;
  const next = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 8) % TRACE_CONFIG.vocabSize;
  const trace = [];
  for (let s = 0; s < steps; s++) {
    const B = 4, T = 32;
    const ids = new Int32Array(B * (T + 1));
    for (let i = 0; i < ids.length; i++) ids[i] = next();
    const r = await trainer.step({ batch: B, length: T + 1, ids });
    trace.push(r.loss);
  }
  const result = { backend: engine.backend.name, device: engine.backend.capabilities.device, trace };
  await engine.dispose();
  return result;
}

const deno = globalThis.Deno;
const proc = globalThis.process;
const argv = deno ? (import.meta.main ? deno.args : undefined) : proc?.argv?.[1] && import.meta.url.endsWith(proc.argv[1].split("/").pop()) ? proc.argv.slice(2) : undefined;
if (argv) {
  console.log(JSON.stringify(await backendTrace(argv[0] ?? "webgpu", Number(argv[1] ?? 20))));
  if (proc && !deno) proc.exit(0);
}
