// corpus → split → tokenizer → shards, each step cached by content hash, so a
// second run with the same inputs only reads two .bin files and a tokenizer.json.
//
// Shards are cached as CACHE/<split>-<key>.bin where key = SHA-256 of
// {shard format version, tokenizer.json's SHA-256, the split's documents hash}.
import { loadCorpus, type CorpusDocument } from "./corpus.ts";
import { splitDocuments, type SplitOptions } from "./split.ts";
import { documentSeparator, noSeparatorMessage } from "./document-separator.ts";
import { END_OF_TEXT, trainOrLoadTokenizer, type TokenizerTrainSettings } from "./tokenizer-cache.ts";
import { concatDocuments, readShard, SHARD_VERSION, ShardError, writeShard, type TokenShard } from "./shards.ts";
import { documentsSha256, sha256Hex } from "./hash.ts";
import { loadTokenizerJson } from "../tokenizer/load-hf.ts";
import { MAX_TOKENIZER_FILE_BYTES } from "../tokenizer/load-file.ts";
import type { Tokenizer } from "../tokenizer/tokenizer.ts";
import { describeStorageError, fileStorage, joinPath, readTextChecked, type Storage } from "../run/storage.ts";

export interface PrepareCorpusOptions {
  /** "brown" (default), a .txt file or a directory of .txt files (data/corpus.ts). */
  corpus?: string;
  /** Settings of the BPE trained on the train split (default 4,096 tokens), or an existing tokenizer.json file. */
  tokenizer?: TokenizerTrainSettings | { file: string };
  split?: SplitOptions;
  /** Where tokenizers and shards are cached (e.g. runs/.cache; see run/run-dir.ts defaultCacheDir). */
  cacheDir: string;
  storage?: Storage;
}

export interface PreparedCorpus {
  tokenizer: Tokenizer;
  /** The tokenizer.json text, to store in checkpoints. */
  tokenizerJson: string;
  tokenizerSha256: string;
  /** The end-of-text id between documents. */
  eot: number;
  train: TokenShard;
  validation: TokenShard;
  trainPath: string;
  validationPath: string;
  /** Ids of the held-out documents (for the run config / report). */
  validationIds: string[];
  stats: CorpusStats;
}

export interface CorpusStats {
  corpus: string;
  documents: { train: number; validation: number };
  characters: { train: number; validation: number };
  tokens: { train: number; validation: number };
  vocabSize: number;
  /** "hit": loaded from the cache; "miss": trained now; "file": the user's tokenizer.json. */
  tokenizer: "hit" | "miss" | "file";
  shards: { train: "hit" | "miss"; validation: "hit" | "miss" };
  seconds: { total: number; tokenizer: number; shards: number };
}

const now = () => performance.now();

async function userTokenizer(file: string, storage: Storage): Promise<{ tokenizer: Tokenizer; json: string }> {
  // Bounded: a link to /dev/zero or a directory is refused instead of read until memory runs out.
  const json = await readTextChecked(storage, file, MAX_TOKENIZER_FILE_BYTES, (why) => new Error(`tokenizer: cannot read ${file}: ${why}`));
  try {
    return { tokenizer: await loadTokenizerJson(json), json };
  } catch (e) {
    throw new Error(`tokenizer: ${file} is not a usable tokenizer.json: ${(e as Error).message}`);
  }
}

async function shardFor(
  kind: "train" | "validation",
  docs: CorpusDocument[],
  tok: { tokenizer: Tokenizer; sha256: string; eot: number },
  cacheDir: string,
  storage: Storage,
): Promise<{ shard: TokenShard; path: string; hit: boolean }> {
  const key = await sha256Hex(JSON.stringify({ format: SHARD_VERSION, tokenizer: tok.sha256, documents: await documentsSha256(docs) }));
  const path = joinPath(cacheDir, `${kind}-${key.slice(0, 32)}.bin`);
  if (await storage.exists(path)) {
    try {
      const shard = await readShard(path, storage);
      if (shard.header.tokenizer_sha256 === tok.sha256 && shard.header.documents === docs.length) return { shard, path, hit: true };
    } catch (e) {
      if (!(e instanceof ShardError)) throw e;
      // A damaged cache entry: rebuild it below.
    }
  }
  const vocabSize = tok.tokenizer.vocabSize;
  const ids = tok.tokenizer.encodeBatch(docs.map((d) => d.text));
  const tokens = concatDocuments(ids, tok.eot, vocabSize);
  const header = { documents: docs.length, eot: tok.eot, vocab_size: vocabSize, tokenizer_sha256: tok.sha256 };
  try {
    await storage.mkdir(cacheDir);
  } catch (e) {
    throw new Error(`could not create the cache directory ${cacheDir}: ${describeStorageError(e)}`);
  }
  await writeShard(path, header, tokens, storage);
  return { shard: { header: { version: SHARD_VERSION, dtype: tokens instanceof Uint16Array ? "uint16" : "uint32", tokens: tokens.length, ...header }, tokens }, path, hit: false };
}

/** Builds (or loads from the cache) the tokenizer and the train/validation shards. */
export async function prepareCorpus(options: PrepareCorpusOptions): Promise<PreparedCorpus> {
  const storage = options.storage ?? fileStorage;
  if (typeof options.cacheDir !== "string" || !options.cacheDir) throw new Error("prepareCorpus: cacheDir is required");
  const t0 = now();
  const corpus = await loadCorpus(options.corpus ?? "brown", storage);
  const split = splitDocuments(corpus.documents, options.split);
  if (split.train.length === 0) throw new Error(`corpus ${corpus.name}: no documents left for training`);

  const t1 = now();
  const spec = options.tokenizer ?? {};
  let tokenizer: Tokenizer;
  let json: string;
  let source: CorpusStats["tokenizer"];
  let eot: number | undefined;
  if ("file" in spec) {
    ({ tokenizer, json } = await userTokenizer(spec.file, storage));
    source = "file";
    eot = documentSeparator(tokenizer)?.id;
    if (eot === undefined) throw new Error(`tokenizer: ${noSeparatorMessage(spec.file)}`);
  } else {
    const cached = await trainOrLoadTokenizer(split.train, spec, options.cacheDir, storage);
    ({ tokenizer, json } = cached);
    source = cached.cacheHit ? "hit" : "miss";
    // A trained tokenizer's first special token is its end-of-text token (tokenizer-cache.ts).
    const eotText = (spec.specialTokens ?? [END_OF_TEXT])[0] ?? END_OF_TEXT;
    eot = tokenizer.specialTokens.get(eotText);
    if (eot === undefined) throw new Error(`tokenizer: the tokenizer has no special token ${eotText} to put between documents`);
  }
  const sha256 = await sha256Hex(json);

  const t2 = now();
  const tok = { tokenizer, sha256, eot };
  const train = await shardFor("train", split.train, tok, options.cacheDir, storage);
  const validation = await shardFor("validation", split.validation, tok, options.cacheDir, storage);
  const t3 = now();
  const chars = (docs: CorpusDocument[]) => docs.reduce((s, d) => s + d.text.length, 0);
  return {
    tokenizer,
    tokenizerJson: json,
    tokenizerSha256: sha256,
    eot,
    train: train.shard,
    validation: validation.shard,
    trainPath: train.path,
    validationPath: validation.path,
    validationIds: split.validation.map((d) => d.id),
    stats: {
      corpus: corpus.name,
      documents: { train: split.train.length, validation: split.validation.length },
      characters: { train: chars(split.train), validation: chars(split.validation) },
      tokens: { train: train.shard.tokens.length, validation: validation.shard.tokens.length },
      vocabSize: tokenizer.vocabSize,
      tokenizer: source,
      shards: { train: train.hit ? "hit" : "miss", validation: validation.hit ? "hit" : "miss" },
      seconds: { total: (t3 - t0) / 1000, tokenizer: (t2 - t1) / 1000, shards: (t3 - t2) / 1000 },
    },
  };
}
