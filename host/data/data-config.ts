// The `data` section of a run config: which corpus, which tokenizer, which split.
// Defaults in one place (DEFAULT_DATA_CONFIG); validateDataConfig fills them in
// and rejects unknown keys and wrong types, naming the dotted key and the type
// it expects, e.g. `data.tokenizer.vocabSize must be an integer ≥ 257, got "4k"`.
import type { PreTokenizerPattern } from "../tokenizer/pre-tokenizer.ts";
import { DEFAULT_VALIDATION_FRACTION } from "./split.ts";
import { DEFAULT_VOCAB_SIZE, END_OF_TEXT } from "./tokenizer-cache.ts";
import { DEFAULT_MIN_FREQUENCY } from "../tokenizer/train.ts";

export interface TrainedTokenizerConfig {
  vocabSize: number;
  pattern: PreTokenizerPattern;
  minFrequency: number;
  /** The first one separates documents. */
  specialTokens: string[];
}

export interface DataConfig {
  /** "brown", a .txt file, or a directory of .txt files. */
  corpus: string;
  /** A BPE trained on the train split, or `{ "file": "tokenizer.json" }`. */
  tokenizer: TrainedTokenizerConfig | { file: string };
  split: { validationFraction: number; seed: number };
  /** Where tokenizers and shards are cached; null: RUN_DIR/../.cache. */
  cacheDir: string | null;
}

export const DEFAULT_DATA_CONFIG: DataConfig = {
  corpus: "brown",
  tokenizer: { vocabSize: DEFAULT_VOCAB_SIZE, pattern: "gpt2", minFrequency: DEFAULT_MIN_FREQUENCY, specialTokens: [END_OF_TEXT] },
  split: { validationFraction: DEFAULT_VALIDATION_FRACTION, seed: 0 },
  cacheDir: null,
};

export class DataConfigError extends Error {
  override name = "DataConfigError";
}

type Obj = Record<string, unknown>;

function fail(key: string, expected: string, got: unknown): never {
  throw new DataConfigError(`${key} must be ${expected}, got ${JSON.stringify(got) ?? String(got)}`);
}

function objectAt(v: unknown, key: string, allowed: readonly string[]): Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(key, "an object", v);
  for (const k of Object.keys(v as Obj)) {
    if (!allowed.includes(k)) throw new DataConfigError(`unknown key ${key}.${k} (known: ${allowed.map((a) => `${key}.${a}`).join(", ")})`);
  }
  return v as Obj;
}

/** `data` with defaults filled in; errors name the key (prefix `key`, default "data"). */
export function validateDataConfig(input: unknown = {}, key = "data"): DataConfig {
  const o = objectAt(input, key, ["corpus", "tokenizer", "split", "cacheDir"]);
  const d = DEFAULT_DATA_CONFIG;
  const corpus = o.corpus ?? d.corpus;
  if (typeof corpus !== "string" || corpus === "") fail(`${key}.corpus`, `"brown" or a path (a non-empty string)`, corpus);
  const cacheDir = o.cacheDir === undefined ? d.cacheDir : o.cacheDir;
  if (cacheDir !== null && (typeof cacheDir !== "string" || cacheDir === "")) fail(`${key}.cacheDir`, "a path or null", cacheDir);

  const sp = objectAt(o.split ?? {}, `${key}.split`, ["validationFraction", "seed"]);
  const validationFraction = sp.validationFraction ?? d.split.validationFraction;
  if (typeof validationFraction !== "number" || !(validationFraction >= 0 && validationFraction < 1)) {
    fail(`${key}.split.validationFraction`, "a number in [0, 1)", validationFraction);
  }
  const seed = sp.seed ?? d.split.seed;
  if (typeof seed !== "number" || !Number.isInteger(seed)) fail(`${key}.split.seed`, "an integer", seed);

  let tokenizer: DataConfig["tokenizer"];
  const t = o.tokenizer ?? {};
  if (typeof t === "object" && t !== null && "file" in t) {
    const f = objectAt(t, `${key}.tokenizer`, ["file"]).file;
    if (typeof f !== "string" || f === "") fail(`${key}.tokenizer.file`, "a path to a tokenizer.json", f);
    tokenizer = { file: f };
  } else {
    const tt = objectAt(t, `${key}.tokenizer`, ["vocabSize", "pattern", "minFrequency", "specialTokens"]);
    const dt = d.tokenizer as TrainedTokenizerConfig;
    const vocabSize = tt.vocabSize ?? dt.vocabSize;
    const pattern = tt.pattern ?? dt.pattern;
    const minFrequency = tt.minFrequency ?? dt.minFrequency;
    const specialTokens = tt.specialTokens ?? dt.specialTokens;
    if (typeof vocabSize !== "number" || !Number.isInteger(vocabSize) || vocabSize < 257) fail(`${key}.tokenizer.vocabSize`, "an integer ≥ 257", vocabSize);
    if (pattern !== "gpt2" && pattern !== "cl100k") fail(`${key}.tokenizer.pattern`, `"gpt2" or "cl100k"`, pattern);
    if (typeof minFrequency !== "number" || !Number.isInteger(minFrequency) || minFrequency < 1) fail(`${key}.tokenizer.minFrequency`, "an integer ≥ 1", minFrequency);
    if (!Array.isArray(specialTokens) || specialTokens.length === 0 || !specialTokens.every((s) => typeof s === "string" && s !== "")) {
      fail(`${key}.tokenizer.specialTokens`, "a non-empty array of non-empty strings (the first separates documents)", specialTokens);
    }
    tokenizer = { vocabSize, pattern, minFrequency, specialTokens: [...(specialTokens as string[])] };
  }
  return { corpus, tokenizer, split: { validationFraction, seed }, cacheDir: cacheDir as string | null };
}
