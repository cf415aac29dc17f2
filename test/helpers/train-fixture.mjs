// A tiny training setup for the train-*.test.mjs files: a small corpus (20 Brown
// documents, 3,000 characters each) written as a text file, and a run config of a
// 2-layer, hidden-32 model on it with a 300-token BPE, a few dozen steps.
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawnSync } from "node:child_process";
import { brownDocuments } from "../../dist/data/index.js";

export const root = fileURLToPath(new URL("../..", import.meta.url));
export const bin = join(root, "bin/jreg.mjs");
export const deno = join(root, "node_modules/.bin/deno");

export async function tinyWorkspace(prefix = "jreg-train-") {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const docs = (await brownDocuments()).filter((_, i) => i % 25 === 0).map((d) => d.text.slice(0, 3000));
  const corpus = join(dir, "corpus.txt");
  writeFileSync(corpus, docs.join("\n\n") + "\n");
  return { dir, corpus, cacheDir: join(dir, ".cache") };
}

/** The tiny run config as JSON (a plain object; resolveRunConfig fills the rest). */
export function tinyConfig(ws, over = {}) {
  return {
    name: "tiny",
    model: { hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 64 },
    steps: 24,
    batchSize: 2,
    seqLen: 16,
    warmupSteps: 3,
    evalEvery: 8,
    saveEvery: 6,
    keepCheckpoints: 2,
    logEvery: 2,
    jreg: { alpha: 1 },
    data: { corpus: ws.corpus, vocabSize: 300, evalBatches: 2, cacheDir: ws.cacheDir },
    threads: 1,
    ...over,
  };
}

export function writeConfig(ws, name, cfg) {
  const path = join(ws.dir, name);
  writeFileSync(path, JSON.stringify(cfg, null, 2));
  return path;
}

export function jreg(args, opts = {}) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", timeout: 120_000, cwd: opts.cwd ?? root, ...opts });
}

/** metrics.jsonl lines with tokensPerSecond (a timing) removed. */
export function metricsWithoutTiming(runDir) {
  return readFileSync(join(runDir, "metrics.jsonl"), "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const r = JSON.parse(l);
      delete r.tokensPerSecond;
      return JSON.stringify(r);
    });
}

export function finalWeights(runDir, step) {
  return readFileSync(join(runDir, `checkpoint-${step}`, "model.safetensors"));
}

export function checkpointSteps(runDir) {
  if (!existsSync(runDir)) return [];
  return readdirSync(runDir).filter((n) => /^checkpoint-\d+$/.test(n)).map((n) => Number(n.slice(11))).sort((a, b) => a - b);
}
