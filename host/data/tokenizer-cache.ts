// The run's tokenizer: a byte-level BPE trained on the TRAIN split only (so no
// validation text shapes the vocabulary), cached by a hash of everything that
// decides its result. A second run on the same corpus and settings loads the
// cached tokenizer.json instead of training again.
//
// Cache key = SHA-256 of the JSON of: the train documents' hash (ids and texts,
// data/hash.ts documentsSha256), vocabSize, minFrequency, pattern, the special
// tokens, and TOKENIZER_ALGORITHM_VERSION. Bump that version whenever
// assembly/tokenizer/train.ts or host/tokenizer/train.ts change what they learn.
import { trainBpe, DEFAULT_MIN_FREQUENCY } from "../tokenizer/train.ts";
import { tokenizerJsonText } from "../tokenizer/save.ts";
import { loadTokenizerJson } from "../tokenizer/load-hf.ts";
import { MAX_TOKENIZER_FILE_BYTES } from "../tokenizer/load-file.ts";
import type { Tokenizer } from "../tokenizer/tokenizer.ts";
import type { PreTokenizerPattern } from "../tokenizer/pre-tokenizer.ts";
import { documentsSha256, sha256Hex } from "./hash.ts";
import { describeStorageError, fileStorage, joinPath, readTextChecked, type Storage } from "../run/storage.ts";

export const TOKENIZER_ALGORITHM_VERSION = "jreg-bpe-1";
export const DEFAULT_VOCAB_SIZE = 4096;
export const END_OF_TEXT = "<|endoftext|>";

export interface TokenizerTrainSettings {
  /** Default 4,096 (256 bytes + merges + special tokens). */
  vocabSize?: number;
  /** Default "gpt2". */
  pattern?: PreTokenizerPattern;
  /** Default [END_OF_TEXT]; the first is the end-of-text token between documents. */
  specialTokens?: string[];
  /** Default 2 (tokenizer/train.ts). */
  minFrequency?: number;
}

export interface CachedTokenizer {
  tokenizer: Tokenizer;
  /** The tokenizer.json text (stored in checkpoints as is). */
  json: string;
  /** SHA-256 of `json` (names the tokenizer in shard headers). */
  sha256: string;
  /** The cache key (inputs hash). */
  key: string;
  /** Where the cached tokenizer.json lies. */
  path: string;
  cacheHit: boolean;
}

export function resolveTokenizerSettings(s: TokenizerTrainSettings = {}): Required<TokenizerTrainSettings> {
  return {
    vocabSize: s.vocabSize ?? DEFAULT_VOCAB_SIZE,
    pattern: s.pattern ?? "gpt2",
    specialTokens: s.specialTokens ?? [END_OF_TEXT],
    minFrequency: s.minFrequency ?? DEFAULT_MIN_FREQUENCY,
  };
}

/** The cache key of a tokenizer trained on `docs` with `settings`. */
export async function tokenizerCacheKey(docs: ReadonlyArray<{ id: string; text: string }>, settings: TokenizerTrainSettings = {}): Promise<string> {
  const s = resolveTokenizerSettings(settings);
  return sha256Hex(JSON.stringify({
    algorithm: TOKENIZER_ALGORITHM_VERSION,
    corpus: await documentsSha256(docs),
    vocabSize: s.vocabSize,
    minFrequency: s.minFrequency,
    pattern: s.pattern,
    specialTokens: s.specialTokens,
  }));
}

/**
 * Loads the cached tokenizer for these documents and settings from `cacheDir`,
 * or trains one and stores it there (atomically). A cached file that no longer
 * parses is retrained and replaced.
 */
export async function trainOrLoadTokenizer(
  docs: ReadonlyArray<{ id: string; text: string }>,
  settings: TokenizerTrainSettings,
  cacheDir: string,
  storage: Storage = fileStorage,
): Promise<CachedTokenizer> {
  const s = resolveTokenizerSettings(settings);
  const key = await tokenizerCacheKey(docs, s);
  const path = joinPath(cacheDir, `tokenizer-${key.slice(0, 32)}.json`);
  if (await storage.exists(path)) {
    try {
      // Bounded like any tokenizer file: an entry that is a device or a runaway file counts as damaged.
      const json = await readTextChecked(storage, path, MAX_TOKENIZER_FILE_BYTES, (why) => new Error(why));
      const tokenizer = await loadTokenizerJson(json);
      return { tokenizer, json, sha256: await sha256Hex(json), key, path, cacheHit: true };
    } catch {
      // A damaged cache entry: fall through and train again.
    }
  }
  const trained = await trainBpe(docs.map((d) => d.text), {
    vocabSize: s.vocabSize,
    pattern: s.pattern,
    specialTokens: s.specialTokens,
    minFrequency: s.minFrequency,
  });
  const json = tokenizerJsonText(trained);
  try {
    await storage.mkdir(cacheDir);
    await storage.writeAtomic(path, json);
  } catch (e) {
    throw new Error(`could not write the tokenizer cache ${path}: ${describeStorageError(e)}`);
  }
  const tokenizer = await loadTokenizerJson(json);
  return { tokenizer, json, sha256: await sha256Hex(json), key, path, cacheHit: false };
}
