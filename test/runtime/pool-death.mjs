// Runs the wasm thread pool until one of its workers dies (test/helpers/pool-fault.mjs,
// set up by the caller through JREG_TEST_POOL_FAULT), then prints one JSON line:
// how long the first error took, the error of a later call and how long it took,
// and whether dispose() resolved. The caller also checks that the process then
// exits on its own (this script never calls exit).
//   node|deno test/runtime/pool-death.mjs THREADS pool|train
const args = globalThis.Deno ? globalThis.Deno.args : process.argv.slice(2);
const threads = Number(args[0]);
const how = args[1];
const dist = new URL("../../dist/internal.js", import.meta.url).href;
const { createEngine, instantiateEngine, Arena, ThreadPool, PRESETS } = await import(dist);
const workerUrl = new URL("../helpers/pool-fault-worker.mjs", import.meta.url);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let call, dispose;
if (how === "pool") {
  const engine = await instantiateEngine({ shared: true });
  const arena = new Arena(engine);
  const pool = await ThreadPool.create(engine, threads, { workerUrl });
  const n = 64 * 16;
  const b = arena.alloc(n * 4), dst = arena.alloc(n * 4);
  call = () => pool.parallelFor("matmulPackNN", [dst, b, n, 1, n], 64, 1, 16);
  dispose = () => pool.terminate();
} else {
  const engine = await createEngine({ backend: "wasm", threads, workerUrl });
  const config = { ...PRESETS.tiny, maxSeqLen: 64 };
  const trainer = engine.createTrainer(engine.createModel(config, { seed: 1 }), {});
  const ids = new Int32Array(8 * 65).map((_, i) => (i * 31) % config.vocabSize);
  call = () => trainer.step({ batch: 8, length: 65, ids });
  dispose = () => engine.dispose();
}

const messageOf = (e) => `${e?.constructor?.name}: ${e?.message}`;
const t0 = performance.now();
let first;
for (let r = 0; r < 2000 && first === undefined; r++) {
  try {
    await call();
  } catch (e) {
    first = e;
  }
  // Lets a worker that dies between jobs (fault "throw") reach its sleep.
  await sleep(1);
}
const firstMs = performance.now() - t0;
const t1 = performance.now();
let later;
try {
  await call();
} catch (e) {
  later = e;
}
const laterMs = performance.now() - t1;
await dispose();
console.log(JSON.stringify({ first: first && messageOf(first), firstMs, later: later && messageOf(later), laterMs, disposed: true }));
