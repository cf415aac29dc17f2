// `probeModel`: what each layer's residual state represents, measured by a
// linear probe per layer (linear-probe.ts) that predicts Brown's part-of-speech
// tag of a word from h_l at the word's token position (probe-words.ts), trained on
// words of training documents and scored on words of validation documents.
//
// For l = 0..L the feature of a word is h_l at its position (h_0 = the embedding;
// h_L before the final norm, or after it with finalState "post-norm"). Features are
// standardized with the training words' mean and std. The majority-tag baseline
// predicts the most frequent training tag for every validation word. Validation
// words whose tag never occurs in training count as errors for the probes and the
// baseline alike (`validation_unseen` says how many).
import { brownTaggedDocuments } from "../data/brown.ts";
import { splitDocuments, type SplitOptions } from "../data/split.ts";
import type { Backend } from "../backend/backend.ts";
import type { TokenBatch } from "../model/batch.ts";
import type { LlamaModel } from "../model/model.ts";
import type { Tokenizer } from "../tokenizer/tokenizer.ts";
import { accuracy, featureStats, predictLinearProbe, ProbeError, standardize, trainLinearProbe, validateLinearProbeOptions, type LinearProbeOptions } from "./linear-probe.ts";
import { probeSplit, type ProbeSplit, type ProbeTagSet, type TaggedDocument } from "./probe-words.ts";
import type { FinalState } from "./streaming-forward.ts";

export interface ProbeDataOptions {
  /** tokens per window */
  seq: number;
  /** the end-of-text id between documents */
  eot: number;
  /** default "full" (Brown's 472 tags); "coarse" (coarseTag, ~85) */
  tagSet?: ProbeTagSet;
  /** at most this many words of each split (default 20,000) */
  maxWords?: number;
  /** windows per forward batch (default 8) */
  batchRows?: number;
}

export const DEFAULT_PROBE_MAX_WORDS = 20_000;

/** A split's words, placed, with class ids (−1: a tag the training words do not have). */
export interface ProbeDataSplit extends ProbeSplit {
  labels: Int32Array;
}

export interface ProbeDataset {
  tagSet: ProbeTagSet;
  seq: number;
  /** the tag of each class id: the training words' tags, sorted */
  classes: string[];
  train: ProbeDataSplit;
  validation: ProbeDataSplit;
}

/** Places the words of both splits and numbers the training tags. */
export function probeDataset(tokenizer: Tokenizer, docs: { train: readonly TaggedDocument[]; validation: readonly TaggedDocument[] }, o: ProbeDataOptions): ProbeDataset {
  const tagSet = o.tagSet ?? "full";
  const maxWords = o.maxWords ?? DEFAULT_PROBE_MAX_WORDS;
  if (!Number.isInteger(o.seq) || o.seq < 1) throw new ProbeError(`probe: seq must be an integer ≥ 1, got ${o.seq}`);
  if (!Number.isInteger(maxWords) || maxWords < 1) throw new ProbeError(`probe: maxWords must be an integer ≥ 1, got ${maxWords}`);
  const opts = { seq: o.seq, eot: o.eot, tagSet, maxWords, batchRows: o.batchRows };
  const train = probeSplit(tokenizer, docs.train, opts);
  const validation = probeSplit(tokenizer, docs.validation, opts);
  if (train.tags.length === 0) throw new ProbeError(`probe: no training words fit a window of ${o.seq} tokens`);
  if (validation.tags.length === 0) throw new ProbeError(`probe: no validation words fit a window of ${o.seq} tokens`);
  const classes = [...new Set(train.tags)].sort();
  const id = new Map(classes.map((c, i) => [c, i]));
  const labels = (s: ProbeSplit) => Int32Array.from(s.tags, (t) => id.get(t) ?? -1);
  return { tagSet, seq: o.seq, classes, train: { ...train, labels: labels(train) }, validation: { ...validation, labels: labels(validation) } };
}

/** The Brown documents with their tags, split as the data pipeline splits them (by document, stratified by genre). */
export async function brownProbeDocuments(split: SplitOptions = {}): Promise<{ train: TaggedDocument[]; validation: TaggedDocument[] }> {
  const docs = (await brownTaggedDocuments()).map((d) => ({ ...d, group: d.genre }));
  return splitDocuments(docs, split);
}

export interface ProbeOptions extends Partial<LinearProbeOptions> {
  /** default "pre-norm": h_L before the final norm; "post-norm": final_norm(h_L) */
  finalState?: FinalState;
  /** called after each forward batch and each layer's probe */
  onProgress?: (done: number, total: number, what: string) => void;
}

export interface LayerProbeResult {
  /** l of h_l (0 = embedding) */
  layer: number;
  train_accuracy: number;
  val_accuracy: number;
}

export interface ProbeResult {
  tags: ProbeTagSet;
  classes: number;
  final_state: FinalState;
  seq: number;
  words: { train: number; validation: number };
  /** validation words whose tag the training words lack (errors for every probe) */
  validation_unseen: number;
  skipped: { train: ProbeSplit["skipped"]; validation: ProbeSplit["skipped"] };
  windows: { train: ProbeSplit["windows"]; validation: ProbeSplit["windows"] };
  /** the most frequent training tag, predicted for every word */
  baseline: { tag: string; train_accuracy: number; val_accuracy: number };
  layers: LayerProbeResult[];
  training: LinearProbeOptions;
}

/**
 * Where the features come from: the hidden states h_0..h_L of one batch of
 * windows, each [rows·T, hidden] (h_L after the final norm when the caller chose
 * "post-norm"). probeModel reads them from an in-memory model; probeCheckpoint
 * from the layer-streaming forward.
 */
export type HiddenStateSource = (batch: TokenBatch) => Promise<Float32Array[]>;

/** The hidden states of a model's forward pass on one batch (model.run, read back). */
export function modelHiddenStates(model: LlamaModel, finalState: FinalState): HiddenStateSource {
  const L = model.config.numLayers;
  return (batch) => {
    const a = model.run(batch);
    return Promise.all(a.h.map((h, l) => model.backend.read(l === L && finalState === "post-norm" ? a.lnf : h)));
  };
}

/** h_0..h_L at every word's row of the split, one n × d array per layer. */
async function layerFeatures(states: HiddenStateSource, split: ProbeDataSplit, L: number, d: number, tick: (what: string) => void): Promise<Float32Array[]> {
  const n = split.rows.length;
  const out = Array.from({ length: L + 1 }, () => new Float32Array(n * d));
  let word = 0;
  let firstRow = 0;
  for (const batch of split.batches) {
    const T = batch.length - 1;
    const h = await states(batch);
    const endRow = firstRow + batch.batch * T;
    for (; word < n && split.rows[word]! < endRow; word++) {
      const r = split.rows[word]! - firstRow;
      for (let l = 0; l <= L; l++) out[l]!.set(h[l]!.subarray(r * d, r * d + d), word * d);
    }
    firstRow = endRow;
    tick("features");
  }
  return out;
}

function majority(labels: Int32Array, classes: number): number {
  const counts = new Int32Array(classes);
  for (const c of labels) counts[c]!++;
  let best = 0;
  for (let k = 1; k < classes; k++) if (counts[k]! > counts[best]!) best = k;
  return best;
}

/** Trains and scores one linear probe per layer of `model` on `data` (see the file comment). */
export function probeModel(model: LlamaModel, data: ProbeDataset, o: ProbeOptions = {}): Promise<ProbeResult> {
  const c = model.config;
  if (data.seq > c.maxSeqLen) throw new ProbeError(`probe: windows of ${data.seq} tokens exceed the model's max_position_embeddings ${c.maxSeqLen}`);
  return probeHiddenStates(model.backend, modelHiddenStates(model, finalStateOf(o)), { numLayers: c.numLayers, hiddenSize: c.hiddenSize }, data, o);
}

function finalStateOf(o: ProbeOptions): FinalState {
  const f = o.finalState ?? "pre-norm";
  if (f !== "pre-norm" && f !== "post-norm") throw new ProbeError(`probe: finalState must be "pre-norm" or "post-norm", got ${JSON.stringify(f)}`);
  return f;
}

/**
 * The probes of hidden states that `states` gives (h_L already in the state
 * o.finalState names), trained and scored on `be`.
 */
export async function probeHiddenStates(be: Backend, states: HiddenStateSource, dims: { numLayers: number; hiddenSize: number }, data: ProbeDataset, o: ProbeOptions = {}): Promise<ProbeResult> {
  const finalState = finalStateOf(o);
  const training = validateLinearProbeOptions(o);
  const L = dims.numLayers;
  const d = dims.hiddenSize;
  const K = data.classes.length;
  const total = data.train.batches.length + data.validation.batches.length + L + 1;
  let done = 0;
  const tick = (what: string) => o.onProgress?.(++done, total, what);

  const trainX = await layerFeatures(states, data.train, L, d, tick);
  const valX = await layerFeatures(states, data.validation, L, d, tick);
  const nt = data.train.labels.length;
  const nv = data.validation.labels.length;
  const layers: LayerProbeResult[] = [];
  for (let l = 0; l <= L; l++) {
    const stats = featureStats(trainX[l]!, nt, d);
    const tr = { features: standardize(trainX[l]!, nt, d, stats), labels: data.train.labels, n: nt, d };
    const va = { features: standardize(valX[l]!, nv, d, stats), labels: data.validation.labels, n: nv, d };
    const probe = await trainLinearProbe(be, tr, K, training);
    layers.push({
      layer: l,
      train_accuracy: accuracy(await predictLinearProbe(be, probe, tr), tr.labels),
      val_accuracy: accuracy(await predictLinearProbe(be, probe, va), va.labels),
    });
    tick(`layer ${l}`);
  }
  const top = majority(data.train.labels, K);
  const constant = (n: number) => new Int32Array(n).fill(top);
  return {
    tags: data.tagSet,
    classes: K,
    final_state: finalState,
    seq: data.seq,
    words: { train: nt, validation: nv },
    validation_unseen: data.validation.labels.filter((c) => c < 0).length,
    skipped: { train: data.train.skipped, validation: data.validation.skipped },
    windows: { train: data.train.windows, validation: data.validation.windows },
    baseline: { tag: data.classes[top]!, train_accuracy: accuracy(constant(nt), data.train.labels), val_accuracy: accuracy(constant(nv), data.validation.labels) },
    layers,
    training,
  };
}
