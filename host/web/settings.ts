// The settings of a page run, and the model sizes the page offers. Kept apart from
// session.ts so that the page's own script imports no engine code.

export interface ModelSize {
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  intermediateSize: number;
}

/** Model sizes the page offers (the vocabulary comes from the trained tokenizer). */
export const MODEL_SIZES: Record<string, ModelSize> = {
  micro: { hiddenSize: 32, numLayers: 3, numHeads: 2, numKvHeads: 1, intermediateSize: 64 },
  tiny: { hiddenSize: 64, numLayers: 4, numHeads: 4, numKvHeads: 2, intermediateSize: 172 },
  small: { hiddenSize: 128, numLayers: 6, numHeads: 4, numKvHeads: 2, intermediateSize: 344 },
};

export interface RunSettings {
  name: string;
  /** A .txt file or a directory of .txt files in the run's Storage. */
  corpus: string;
  vocabSize: number;
  model: ModelSize;
  seqLen: number;
  batchSize: number;
  steps: number;
  seed: number;
  lr: number;
  minLr: number;
  warmupSteps: number;
  alpha: number;
  distance: "cosine" | "angular";
  lastK: number;
  normalize: "none" | "middle";
  /** Evaluate (val CE, D_l, J, early-exit CE) every this many steps and at the end. */
  evalEvery: number;
  /** Save a checkpoint every this many steps (and when stopped). */
  checkpointEvery: number;
  validationWindows: number;
}

export const DEFAULT_SETTINGS: RunSettings = {
  name: "run",
  corpus: "/corpora/brown-sample",
  vocabSize: 512,
  model: MODEL_SIZES.tiny!,
  seqLen: 64,
  batchSize: 8,
  steps: 200,
  seed: 1,
  lr: 3e-3,
  minLr: 3e-4,
  warmupSteps: 10,
  alpha: 0,
  distance: "cosine",
  lastK: 1,
  normalize: "none",
  evalEvery: 20,
  checkpointEvery: 50,
  validationWindows: 8,
};
