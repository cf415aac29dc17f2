// Runs the wasm thread pool until one of its workers dies (test/helpers/pool-fault.mjs,
// set up by the caller: JREG_TEST_POOL_FAULT, or the worker URL's ?fault= in a
// browser), then reports how long the first error took, the error of a later call
// and how long it took, and whether dispose() resolved.
// As a script it prints that as one JSON line, and the caller also checks that the
// process then exits on its own (this script never calls exit):
//   node|deno test/runtime/pool-death.mjs THREADS pool|train
// In a browser, pool-death-worker.mjs calls poolDeath() in a module worker.
const dist = new URL("../../dist/internal.js", import.meta.url).href;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const messageOf = (e) => `${e?.constructor?.name}: ${e?.message}`;

/** how: "pool" (parallelFor on a packing kernel) or "train" (trainer.step on a tiny model). */
export async function poolDeath(threads, how, workerUrl = new URL("../helpers/pool-fault-worker.mjs", import.meta.url)) {
  const { createEngine, instantiateEngine, Arena, ThreadPool, PRESETS } = await import(dist);
  let call, dispose, poolThreads;
  if (how === "pool") {
    const engine = await instantiateEngine({ shared: true });
    const arena = new Arena(engine);
    const pool = await ThreadPool.create(engine, threads, { workerUrl });
    const n = 64 * 16;
    const b = arena.alloc(n * 4), dst = arena.alloc(n * 4);
    call = () => pool.parallelFor("matmulPackNN", [dst, b, n, 1, n], 64, 1, 16);
    dispose = () => pool.terminate();
    poolThreads = pool.size;
  } else {
    const engine = await createEngine({ backend: "wasm", threads, workerUrl });
    const config = { ...PRESETS.tiny, maxSeqLen: 64 };
    const trainer = engine.createTrainer(engine.createModel(config, { seed: 1 }), {});
    const ids = new Int32Array(8 * 65).map((_, i) => (i * 31) % config.vocabSize);
    call = () => trainer.step({ batch: 8, length: 65, ids });
    dispose = () => engine.dispose();
    poolThreads = engine.backend.threads;
  }

  const t0 = performance.now();
  let first;
  let calls = 0;
  for (; calls < 2000 && first === undefined; calls++) {
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
  return { threads: poolThreads, calls, first: first && messageOf(first), firstMs, later: later && messageOf(later), laterMs, disposed: true };
}

const deno = globalThis.Deno;
const proc = globalThis.process;
const argv = deno ? (import.meta.main ? deno.args : undefined) : proc?.argv?.[1] && import.meta.url.endsWith(proc.argv[1].split("/").pop()) ? proc.argv.slice(2) : undefined;
if (argv) console.log(JSON.stringify(await poolDeath(Number(argv[0]), argv[1])));
