// Peak memory and time of `analyzeCheckpoint` on a 1B-class checkpoint (make one
// with bench/make_1b_checkpoint.py DIR). Usage:
//   node bench/analyze-1b.mjs DIR [TOKENS=1000] [THREADS=2] [BLOCKS=all]
// Prints the wasm32 linear memory size at the end (it never shrinks, so this is
// its peak), the process's peak RSS (VmHWM), and the seconds per 1,000 tokens.
// BLOCKS=k stops after k blocks (on a small shared machine): every block does the
// same work and reuses the same buffers (the first one already grows every
// scratch, the LM head's included), so the memory is the full run's and the time
// is extrapolated as setup + L × (mean block time), printed as such.
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { analyzeCheckpoint, WasmBackend } from "../dist/internal.js";

const [dir, tokensArg = "1000", threadsArg = "2", blocksArg] = process.argv.slice(2);
if (!dir) {
  console.error("usage: node bench/analyze-1b.mjs DIR [TOKENS] [THREADS]");
  process.exit(2);
}
const n = Number(tokensArg);
const vocab = JSON.parse(readFileSync(`${dir}/config.json`, "utf8")).vocab_size;
let s = 12345;
const ids = Array.from({ length: n + 1 }, () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 8) % vocab);
const be = await WasmBackend.create({ threads: Number(threadsArg) });
const STOP = new Error("stop");
const blockSeconds = [];
let layers = 0;
const t0 = performance.now();
let last = t0;
let setup = 0;
const r = await analyzeCheckpoint(dir, {
  tokens: ids,
  backend: be,
  onLayer: (l, L) => {
    const now = performance.now();
    if (l === 0) setup = (now - t0) / 1000; // includes block 1; corrected below
    blockSeconds.push((now - last) / 1000);
    console.error(`block ${l + 1}/${L}: ${((now - last) / 1000).toFixed(1)} s`);
    last = now;
    layers = L;
    if (blocksArg && l + 1 >= Number(blocksArg)) throw STOP;
  },
}).catch((e) => {
  if (e !== STOP) throw e;
  return null;
});
const measured = (performance.now() - t0) / 1000;
// the first "block" interval also holds opening, the embedding upload and the embedding lookup
const meanBlock = blockSeconds.length > 1 ? blockSeconds.slice(1).reduce((a, b) => a + b) / (blockSeconds.length - 1) : blockSeconds[0];
const seconds = r ? measured : setup + (layers - 1) * meanBlock;
const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
const mib = (b) => (b / 2 ** 20).toFixed(0);
console.log(
  JSON.stringify({
    cpu: cpus()[0]?.model,
    threads: be.threads,
    tokens: r ? r.tokens : n,
    blocks_run: blockSeconds.length,
    extrapolated: !r,
    block_seconds: blockSeconds,
    seconds,
    seconds_per_1000_tokens: (seconds * 1000) / (r ? r.tokens : n),

    wasm_memory_mib: mib(be.memoryBytes()),
    peak_rss_mib: hwm ? (Number(hwm[1]) / 1024).toFixed(0) : null,
    J_angular: r?.J_angular,
    ce: r?.ce,
  }),
);
await be.dispose();
