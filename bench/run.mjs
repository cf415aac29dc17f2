// `npm run bench` and `jreg bench`: every benchmark suite in bench/, one after
// another (each prints a markdown table). Pass suite names to run only some:
//   node bench/run.mjs train matmul
import { pathToFileURL } from "node:url";

/** name → module (exporting run()) and what it measures. */
export const SUITES = {
  matmul: { path: "./matmul.bench.mjs", about: "matmul GFLOP/s on 1 and 2 threads" },
  train: { path: "./train.bench.mjs", about: "training-step tokens/s (bench-tiny, α = 0 and 3), memory, PyTorch comparison" },
  tokenizer: { path: "./tokenizer.bench.mjs", about: "encode/decode MB/s against js-tiktoken, tiktoken and gpt-tokenizer" },
  "tokenizer-train": { path: "./tokenizer-train.bench.mjs", about: "BPE training time and memory on the Brown corpus" },
};

/** Runs the named suites (all when `names` is empty), in SUITES order. */
export async function runSuites(names = []) {
  const unknown = names.filter((n) => !(n in SUITES));
  if (unknown.length) throw new Error(`unknown benchmark suite ${unknown.join(", ")}; suites: ${Object.keys(SUITES).join(", ")}`);
  for (const [name, { path }] of Object.entries(SUITES)) {
    if (names.length && !names.includes(name)) continue;
    let mod;
    try {
      mod = await import(path);
    } catch (e) {
      if (e.code === "ERR_MODULE_NOT_FOUND" && e.message.includes(path.slice(2))) continue;
      throw e;
    }
    console.log(`\n## ${name}`);
    await mod.run();
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await runSuites(process.argv.slice(2));
