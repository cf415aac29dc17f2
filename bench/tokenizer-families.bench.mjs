// Encode throughput of tokenizer.json families (Llama 2, Gemma, Qwen 3, GPT-4o)
// in Node: ours vs the Hugging Face JavaScript port (@lenml/tokenizers) in the
// same run on the same Brown documents, and vs our byte-level cl100k path
// (js-tiktoken ranks, no tokenizer.json pipeline) on the same text.
//
// The reference needs ~0.2 s per document on character-level BPE, so both sides
// are timed on an even sample of documents (one call per document); ours is also
// timed on the whole corpus as one string. Piece cache on (its default) for both
// of our paths; the reference keeps its own LRU cache. Median of --iterations runs
// after one warm-up; MB/s = UTF-8 input bytes / time, 10^6 bytes.
//
//   node bench/tokenizer-families.bench.mjs [--iterations 3] [--every 20] [--deno]
import { execFileSync } from "node:child_process";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import cl100kRanks from "js-tiktoken/ranks/cl100k_base";
import { createTokenizer, parseJsTiktokenRanks } from "../dist/tokenizer/index.js";
import { brownDocuments } from "../dist/data/index.js";
import { FAMILIES, familyPair } from "../test/tokenizer-families-reference.mjs";

const { values } = parseArgs({
  options: { iterations: { type: "string", default: "3" }, every: { type: "string", default: "20" }, deno: { type: "boolean", default: false } },
});
const iterations = Number(values.iterations);
const every = Number(values.every);

function median(f, n) {
  f();
  const times = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    f();
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

/** Median over n pairs of time(base) / time(candidate): the candidate's speed as a multiple of base's. */
function pairedRatio(base, candidate, n) {
  base();
  candidate();
  const ratios = [];
  for (let i = 0; i < n; i++) {
    let t = performance.now();
    base();
    const tb = performance.now() - t;
    t = performance.now();
    candidate();
    ratios.push(tb / (performance.now() - t));
  }
  ratios.sort((a, b) => a - b);
  return ratios[ratios.length >> 1];
}

const utf8 = (s) => new TextEncoder().encode(s).length;
const docs = (await brownDocuments()).map((d) => d.text);
const sample = docs.filter((_, i) => i % every === 0);
const sampleBytes = sample.reduce((n, d) => n + utf8(d), 0);
const whole = docs.join("\n");
const wholeBytes = utf8(whole);
const mbps = (bytes, ms) => bytes / 1e6 / (ms / 1000);

const byteLevel = await createTokenizer(parseJsTiktokenRanks(cl100kRanks, "cl100k"));
// The host is shared and noisy: the byte-level path is re-measured beside each
// family, and each ratio uses the measurement taken next to it.
const byteLevelNow = () => ({
  sample: mbps(sampleBytes, median(() => sample.forEach((d) => byteLevel.encode(d)), iterations * 3)),
  whole: mbps(wholeBytes, median(() => byteLevel.encode(whole), iterations)),
});

const rows = [];
for (const name of Object.keys(FAMILIES)) {
  const { ours, ref } = await familyPair(name);
  const base = byteLevelNow();
  const oursSample = mbps(sampleBytes, median(() => sample.forEach((d) => ours.encode(d)), iterations * 3));
  const oursWhole = mbps(wholeBytes, median(() => ours.encode(whole), iterations));
  // Paired runs (byte-level, then ours, back to back): the median of the
  // per-pair ratios resists the host's drift better than a ratio of medians.
  const pairDocs = pairedRatio(() => sample.forEach((d) => byteLevel.encode(d)), () => sample.forEach((d) => ours.encode(d)), iterations * 3);
  const pairWhole = pairedRatio(() => byteLevel.encode(whole), () => ours.encode(whole), iterations);
  // One timed run of the reference after a warm-up: it is slow.
  const refSample = mbps(sampleBytes, median(() => sample.forEach((d) => ref.encode(d, { add_special_tokens: false })), 1));
  rows.push({
    family: name,
    pre: ours.info.preTokenizer.replace(/.*\[(.*)\]$/, "$1"),
    "ours MB/s (docs)": oursSample.toFixed(2),
    "ref MB/s (docs)": refSample.toFixed(3),
    "× ref": (oursSample / refSample).toFixed(1),
    "ours MB/s (whole)": oursWhole.toFixed(2),
    "byte-level MB/s (docs/whole)": `${base.sample.toFixed(1)} / ${base.whole.toFixed(1)}`,
    "× byte-level (docs, paired)": pairDocs.toFixed(2),
    "× byte-level (whole, paired)": pairWhole.toFixed(2),
  });
}
console.log(`CPU: ${cpus()[0]?.model} · Node ${process.version} · ${sample.length} docs (${(sampleBytes / 1e6).toFixed(2)} MB) / whole ${(wholeBytes / 1e6).toFixed(2)} MB`);
console.table(rows);

if (values.deno) {
  // Ours only (the reference loads from npm paths Deno resolves differently).
  const deno = fileURLToPath(new URL("../node_modules/.bin/deno", import.meta.url));
  const script = fileURLToPath(new URL("./tokenizer-families-deno.mjs", import.meta.url));
  console.log(execFileSync(deno, ["run", "--allow-read", "--allow-env", script, String(every), String(iterations)], { encoding: "utf8" }));
}
