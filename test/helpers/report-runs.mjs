// Synthetic but realistic run directories for the report tests (shaped like the
// first Brown runs in DESIGN.md: a baseline whose final-layer distance grows, and a
// JREG run whose last block becomes a near-identity), and a bundle of the report
// modules built from source with the same esbuild plugin that scripts/build-host.mjs uses.
import { build } from "esbuild";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { reportAssetsPlugin } from "../../scripts/report-assets.mjs";
import { mulberry32 as rng } from "./random.mjs";

const root = fileURLToPath(new URL("../..", import.meta.url));


const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** The metrics records of one synthetic run (eval fields merged into the training line, or as separate lines). */
export function syntheticRecords({ alpha, layers = 6, steps = 300, evalEvery = 50, seed = 1, separateEvalLines = false }) {
  const rand = rng(seed);
  const records = [];
  for (let step = 1; step <= steps; step++) {
    const t = step / steps;
    const ce = 4.3 + 4.0 * Math.exp(-step / 60) + (alpha > 0 ? 0.14 * t : 0) + (rand() - 0.5) * 0.16;
    const dLast = alpha > 0 ? 0.006 + 0.01 * Math.exp(-step / 10) : 0.08 + 0.14 * t;
    const R = 1 - Math.cos(Math.PI * dLast);
    const train = {
      step, loss: ce + alpha * R, ce, R, lr: 3e-3 * (0.1 + 0.9 * (1 - t)),
      gradNorm: 0.6 + rand() * 0.4, tokensPerSecond: 2400 + rand() * 300,
    };
    if (step % evalEvery !== 0) {
      records.push(train);
      continue;
    }
    const D_angular = Array.from({ length: layers }, (_, i) => {
      const l = i + 1;
      if (l === 1) return 0.42 - 0.05 * t;
      if (l === layers) return dLast;
      return 0.11 + 0.02 * l + 0.03 * t + (rand() - 0.5) * 0.01;
    });
    const D_cosine = D_angular.map((d) => 1 - Math.cos(Math.PI * d));
    const middle = (D) => mean(D.slice(1, layers - 1));
    const val_ce = 4.35 + 3.9 * Math.exp(-step / 60) + (alpha > 0 ? 0.14 * t : 0);
    const early_exit_ce = D_angular.map((_, i) => (i === layers - 1 ? val_ce : val_ce + (layers - 1 - i) * (alpha > 0 ? 0.5 : 0.35)));
    const evaluation = {
      step, val_ce, D_angular, D_cosine, J_angular: dLast / middle(D_angular), J_cosine: D_cosine[layers - 1] / middle(D_cosine), early_exit_ce,
    };
    if (separateEvalLines) records.push(train, evaluation);
    else records.push({ ...train, ...evaluation });
  }
  return records;
}

export function syntheticConfig(name, alpha) {
  return {
    name, model: { hidden_size: 128, num_hidden_layers: 6, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 344 },
    steps: 300, batchSize: 8, seqLen: 128, lr: 3e-3, minLr: 3e-4, warmupSteps: 20, weightDecay: 0.1, clip: 1, seed: 1234,
    jreg: { alpha, distance: "cosine", lastK: 1, normalize: "none" }, evalEvery: 50, saveEvery: 100, keepCheckpoints: 2,
    data: { corpus: "brown", tokenizer: { vocabSize: 4096 }, split: { validationFraction: 0.05 } },
    out: `runs/${name}`, backend: "wasm", threads: 2,
  };
}

/** Writes runs/baseline (eval fields merged) and runs/jreg (separate eval lines, torn last line) under a temp dir. */
export async function writeSyntheticRuns() {
  const base = await mkdtemp(join(tmpdir(), "jreg-report-"));
  const runs = [
    { name: "baseline", alpha: 0, records: syntheticRecords({ alpha: 0, seed: 1 }) },
    { name: "jreg-a3", alpha: 3, records: syntheticRecords({ alpha: 3, seed: 2, separateEvalLines: true }) },
  ];
  const dirs = [];
  for (const r of runs) {
    const dir = join(base, "runs", r.name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "config.json"), JSON.stringify(syntheticConfig(r.name, r.alpha), null, 2));
    let text = r.records.map((x) => JSON.stringify(x)).join("\n") + "\n";
    if (r.alpha > 0) text += '{"step": 301, "loss": 4.'; // a writer killed mid-line
    await writeFile(join(dir, "metrics.jsonl"), text);
    dirs.push(dir);
  }
  return { base, dirs, runs };
}

/**
 * Bundles the report modules from source (the host as a whole may not type-check
 * or build on this branch) the way scripts/build-host.mjs bundles dist/, and imports them.
 */
export async function bundleReport() {
  const outdir = await mkdtemp(join(tmpdir(), "jreg-report-bundle-"));
  await build({
    absWorkingDir: root,
    entryPoints: { html: "host/report/html.ts", load: "host/report/load.ts", table: "host/report/table.ts", "run-data": "host/report/run-data.ts", cli: "host/cli/report.ts" },
    outdir, bundle: true, splitting: true, format: "esm", platform: "neutral", target: "es2022",
    mainFields: ["module", "main"], external: ["node:*"], plugins: [reportAssetsPlugin()], logLevel: "warning",
  });
  const load = (name) => import(pathToFileURL(join(outdir, `${name}.js`)).href);
  return { outdir, html: await load("html"), load: await load("load"), table: await load("table"), runData: await load("run-data"), cli: await load("cli") };
}
