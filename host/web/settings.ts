// What the page's form sets, and the run config (train/run-config.ts, the one
// `jreg train` reads) made from it. Kept apart from the worker so that the page's
// own script bundles no engine code.
import type { RunBackend } from "../train/run-config.ts";

export interface ModelSize {
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  intermediate_size: number;
}

/** Model sizes the page offers (HF config fields; the vocabulary comes from the trained tokenizer). */
export const MODEL_SIZES: Record<string, ModelSize> = {
  micro: { hidden_size: 32, num_hidden_layers: 3, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 64 },
  tiny: { hidden_size: 64, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 172 },
  small: { hidden_size: 128, num_hidden_layers: 6, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 344 },
};

export interface PageSettings {
  name: string;
  /** A .txt file or a directory of .txt files in the page's storage. */
  corpus: string;
  size: string;
  vocabSize: number;
  seqLen: number;
  batchSize: number;
  steps: number;
  lr: number;
  seed: number;
  evalEvery: number;
  alpha: number;
  distance: "cosine" | "angular";
  lastK: number;
  normalize: "none" | "middle";
}

export const RUNS_DIR = "/runs";
export const CACHE_DIR = "/cache";

/**
 * The run-config JSON of a page run (resolveRunConfig validates it). Every step is
 * logged, for live charts; the run lives in /runs/<name> of the page's storage.
 */
export function runConfigJson(s: PageSettings, backend: RunBackend, threads: number): Record<string, unknown> {
  const model = MODEL_SIZES[s.size];
  if (!model) throw new Error(`model size: expected one of ${Object.keys(MODEL_SIZES).join(", ")}, got ${JSON.stringify(s.size)}`);
  return {
    name: s.name,
    out: `${RUNS_DIR}/${s.name}`,
    model: { ...model, rope_theta: 10000, rms_norm_eps: 1e-5, tie_word_embeddings: false },
    steps: s.steps,
    batchSize: s.batchSize,
    seqLen: s.seqLen,
    lr: s.lr,
    minLr: s.lr / 10,
    warmupSteps: Math.min(20, Math.floor(s.steps / 4)),
    seed: s.seed,
    jreg: { alpha: s.alpha, distance: s.distance, lastK: s.lastK, normalize: s.normalize },
    evalEvery: s.evalEvery,
    saveEvery: Math.max(s.evalEvery, 50),
    keepCheckpoints: 2,
    logEvery: 1,
    data: { corpus: s.corpus, tokenizer: null, vocabSize: s.vocabSize, evalBatches: 2, cacheDir: CACHE_DIR },
    backend,
    threads,
  };
}
