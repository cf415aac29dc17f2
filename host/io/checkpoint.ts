// Hugging Face compatible checkpoints: a directory with config.json
// (LlamaForCausalLM keys) and either model.safetensors or a sharded
// model.safetensors.index.json plus the shards it names. Like transformers, a
// single model.safetensors takes precedence over an index in the same directory.
//
// Loading checks the tensors against parameterSpecs(config): every parameter
// present with its exact shape, nothing unexpected. Two extras found in real HF
// checkpoints are tolerated:
//   - `*.rotary_emb.inv_freq` buffers (saved by transformers < 4.31): derived
//     from rope_theta, ignored;
//   - `lm_head.weight` in a tied model: accepted only if it equals
//     model.embed_tokens.weight exactly (then dropped); a different lm_head would
//     mean the file is not really tied, which is an error rather than a guess.
// Writing stores float32, no lm_head.weight for tied models, and refuses
// non-finite weights.
import { ConfigError, parameterCount, validateConfig, type ModelConfig } from "../model/config.ts";
import { parameterSpecs } from "../model/parameters.ts";
import { configFromHF, configToHF } from "./hf-config.ts";
import { fileExists, joinPath, readBoundedFile } from "./files.ts";
import { describeValue } from "./describe-value.ts";
import { DirectoryWriteError, recoverDirectory, writeDirectory } from "../run/directory-swap.ts";
import { describeStorageError, fileStorage, parentDir, type Storage } from "../run/storage.ts";
import { parseSafetensors, serializeSafetensors, type SafetensorsTensor } from "./safetensors.ts";

export interface Checkpoint {
  config: ModelConfig;
  /** Parameters by HF name, in parameterSpecs order. */
  tensors: Map<string, Float32Array>;
}

/** A checkpoint directory or file set that does not form a valid model. */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CheckpointError";
  }
}

export const CONFIG_FILE = "config.json";
export const WEIGHTS_FILE = "model.safetensors";
export const INDEX_FILE = "model.safetensors.index.json";

const INV_FREQ = /^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/;

function listNames(names: string[], max = 5): string {
  const shown = names.slice(0, max).join(", ");
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

function parseJson(bytes: Uint8Array, source: string): unknown {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new CheckpointError(`${source}: not valid UTF-8`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`${source}: not valid JSON (${(e as Error).message})`);
  }
}

/**
 * Reads an index's weight_map (tensor name -> shard file name). Shard names
 * must be plain file names in the same directory: no paths, so a crafted index
 * cannot make readCheckpoint open files elsewhere.
 */
export function parseShardIndex(bytes: Uint8Array, source = INDEX_FILE): Map<string, string> {
  const index = parseJson(bytes, source) as Record<string, unknown>;
  if (typeof index !== "object" || index === null || Array.isArray(index)) throw new CheckpointError(`${source}: must be a JSON object with a weight_map`);
  const map = index.weight_map as Record<string, unknown>;
  if (typeof map !== "object" || map === null || Array.isArray(map)) {
    throw new CheckpointError(`${source}: weight_map must be an object mapping tensor names to shard files`);
  }
  const out = new Map<string, string>();
  for (const [name, shard] of Object.entries(map)) {
    if (typeof shard !== "string" || shard === "" || /[/\\]/.test(shard) || shard === "." || shard === "..") {
      throw new CheckpointError(`${source}: weight_map["${name}"] must be a shard file name in the same directory, got ${describeValue(shard)}`);
    }
    out.set(name, shard);
  }
  if (out.size === 0) throw new CheckpointError(`${source}: weight_map is empty`);
  return out;
}

/** All tensors of a sharded checkpoint; each must sit in the shard the index names. */
function loadShards(files: Map<string, Uint8Array>, weightMap: Map<string, string>): Map<string, SafetensorsTensor> {
  const all = new Map<string, SafetensorsTensor>();
  for (const shard of new Set(weightMap.values())) {
    const bytes = files.get(shard);
    if (bytes === undefined) throw new CheckpointError(`${INDEX_FILE} names shard ${shard}, which is missing`);
    for (const [name, t] of parseSafetensors(bytes, { source: shard })) {
      const expected = weightMap.get(name);
      if (expected === undefined) throw new CheckpointError(`${shard}: tensor ${name} is not listed in ${INDEX_FILE}`);
      if (expected !== shard) throw new CheckpointError(`${shard}: tensor ${name} is listed in ${INDEX_FILE} under shard ${expected}`);
      all.set(name, t);
    }
  }
  for (const [name, shard] of weightMap) {
    if (!all.has(name)) throw new CheckpointError(`${INDEX_FILE} lists tensor ${name} in ${shard}, but that shard does not contain it`);
  }
  return all;
}

function arraysEqual(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const y = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

/**
 * The largest weight magnitude a checkpoint may hold. Trained Llama weights stay
 * below ~1e4; a weight of 1e10 or more makes float32 attention scores and norms
 * overflow to Inf and then NaN, so such a checkpoint is corruption, not a model.
 */
export const MAX_ABS_WEIGHT = 1e9;

/** Index of the first value that is NaN, infinite or larger than MAX_ABS_WEIGHT in magnitude, or -1. */
function firstUnusable(a: Float32Array): number {
  for (let i = 0; i < a.length; i++) if (!(Math.abs(a[i]!) <= MAX_ABS_WEIGHT)) return i;
  return -1;
}

function unusableReason(v: number): string {
  return Number.isFinite(v) ? `${v}, beyond ±${MAX_ABS_WEIGHT}` : `a non-finite value (${v})`;
}

/** Checks file tensors against the config's parameter list and returns them in canonical order. */
function matchParameters(
  config: ModelConfig,
  found: Map<string, SafetensorsTensor>,
  source: string,
  sourceOf: (tensor: string) => string = () => source,
): Map<string, Float32Array> {
  const specs = parameterSpecs(config);
  const missing = specs.filter((s) => !found.has(s.name)).map((s) => s.name);
  if (missing.length > 0) throw new CheckpointError(`${source}: missing tensor${missing.length > 1 ? "s" : ""} ${listNames(missing)}`);
  const expected = new Set(specs.map((s) => s.name));
  const extra = [...found.keys()].filter((n) => !expected.has(n) && !INV_FREQ.test(n) && !(config.tiedEmbeddings && n === "lm_head.weight"));
  if (extra.length > 0) throw new CheckpointError(`${source}: unexpected tensor${extra.length > 1 ? "s" : ""} ${listNames(extra)} for this config`);

  const tensors = new Map<string, Float32Array>();
  for (const s of specs) {
    const t = found.get(s.name)!;
    if (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape[i])) {
      throw new CheckpointError(`${sourceOf(s.name)}: tensor ${s.name} has shape [${t.shape.join(", ")}], expected [${s.shape.join(", ")}]`);
    }
    const bad = firstUnusable(t.data);
    if (bad >= 0) {
      throw new CheckpointError(
        `${sourceOf(s.name)}: tensor ${s.name} has ${unusableReason(t.data[bad]!)} at index ${bad}; ` +
          `weights like that make the model compute NaN, so the checkpoint is refused (the engine never writes one)`,
      );
    }
    tensors.set(s.name, t.data);
  }
  const head = found.get("lm_head.weight");
  if (config.tiedEmbeddings && head !== undefined) {
    const embed = tensors.get("model.embed_tokens.weight")!;
    if (!arraysEqual(head.data, embed)) {
      throw new CheckpointError(
        `${source}: config has tie_word_embeddings true but lm_head.weight differs from model.embed_tokens.weight; ` +
          `set tie_word_embeddings to false to load it as an untied model`,
      );
    }
  }
  return tensors;
}

/**
 * Builds a checkpoint from file contents keyed by file name (runtime-neutral:
 * the caller got the bytes however its runtime allows).
 */
export function checkpointFromFiles(files: Map<string, Uint8Array>): Checkpoint {
  const configBytes = files.get(CONFIG_FILE);
  if (configBytes === undefined) throw new CheckpointError(`checkpoint has no ${CONFIG_FILE}`);
  const config = configFromHF(parseJson(configBytes, CONFIG_FILE), CONFIG_FILE);

  const single = files.get(WEIGHTS_FILE);
  if (single !== undefined) {
    return { config, tensors: matchParameters(config, parseSafetensors(single, { source: WEIGHTS_FILE }), WEIGHTS_FILE) };
  }
  const indexBytes = files.get(INDEX_FILE);
  if (indexBytes === undefined) throw new CheckpointError(`checkpoint has neither ${WEIGHTS_FILE} nor ${INDEX_FILE}`);
  const weightMap = parseShardIndex(indexBytes);
  const found = loadShards(files, weightMap);
  return { config, tensors: matchParameters(config, found, `sharded checkpoint (${INDEX_FILE})`, (name) => weightMap.get(name) ?? INDEX_FILE) };
}

/** config.json and the index are a few kilobytes; anything this big is not one. */
const MAX_JSON_BYTES = 64 * 1024 * 1024;

/**
 * The most bytes the weights of `config` can take in safetensors files: every
 * parameter as F32, a tied lm_head copy, inv_freq buffers, and room for the
 * headers. A weights file or shard set larger than this is refused before it is
 * read, so the read is sized by the config (itself bounded by CONFIG_LIMITS),
 * never by a file that is endless (/dev/zero) or far too big.
 */
export function maxWeightsBytes(config: ModelConfig): number {
  const head = config.tiedEmbeddings ? config.vocabSize * config.hiddenSize : 0;
  const invFreq = config.numLayers * (config.hiddenSize / config.numHeads);
  return 4 * (parameterCount(config) + head + invFreq) + 16 * 1024 * 1024;
}

/**
 * Reads a checkpoint directory: config.json, then model.safetensors if present,
 * else the index followed by only the shards it names. Every file is read with
 * a bound (readBoundedFile): directories, devices and oversized files are
 * refused with a CheckpointError naming the path. `label` names where the
 * directory came from in messages (e.g. "--model").
 */
export async function readCheckpoint(dir: string, opts: { label?: string } = {}): Promise<Checkpoint> {
  const { stat } = await import("node:fs/promises");
  const named = opts.label ? `${opts.label} ${dir}` : `checkpoint directory ${dir}`;
  // A write killed between its two renames leaves the previous checkpoint under a hidden name: put it back.
  await recoverDirectory(fileStorage, await absoluteDir(dir), isCheckpointComplete(fileStorage)).catch(() => {});
  const info = await stat(dir).catch(() => undefined);
  if (info === undefined) throw new CheckpointError(`${named} does not exist`);
  if (!info.isDirectory()) throw new CheckpointError(`${opts.label ? named : `checkpoint path ${dir}`} is not a directory (a checkpoint is a directory with ${CONFIG_FILE} and ${WEIGHTS_FILE})`);

  const files = new Map<string, Uint8Array>();
  let budget = MAX_JSON_BYTES;
  const read = async (name: string, why: string) => {
    const path = joinPath(dir, name);
    if (!(await fileExists(path))) throw new CheckpointError(`${path} not found (${why})`);
    const bytes = await readBoundedFile(path, budget, `${path} (${why})`, (m) => new CheckpointError(m));
    files.set(name, bytes);
    return bytes;
  };
  const configBytes = await read(CONFIG_FILE, "a checkpoint needs the model config");
  let config: ModelConfig;
  try {
    config = configFromHF(parseJson(configBytes, CONFIG_FILE), CONFIG_FILE);
  } catch (e) {
    if (e instanceof Error) e.message = `${dir}: ${e.message}`;
    throw e;
  }
  budget = maxWeightsBytes(config);
  if (await fileExists(joinPath(dir, WEIGHTS_FILE))) {
    await read(WEIGHTS_FILE, "weights");
  } else if (await fileExists(joinPath(dir, INDEX_FILE))) {
    budget = MAX_JSON_BYTES;
    await read(INDEX_FILE, "shard index");
    budget = maxWeightsBytes(config);
    for (const shard of new Set(parseShardIndex(files.get(INDEX_FILE)!, joinPath(dir, INDEX_FILE)).values())) {
      // The shards share the budget: together they hold one model.
      budget -= (await read(shard, `a shard named in ${INDEX_FILE}`)).length;
    }
  } else {
    throw new CheckpointError(`${dir} contains neither ${WEIGHTS_FILE} nor ${INDEX_FILE}`);
  }
  try {
    return checkpointFromFiles(files);
  } catch (e) {
    if (e instanceof Error && !e.message.startsWith(dir)) e.message = `${dir}: ${e.message}`;
    throw e;
  }
}

/** The files of a checkpoint as bytes: config.json and a single F32 model.safetensors. */
export function checkpointToFiles(ckpt: Checkpoint): Map<string, Uint8Array> {
  let config: ModelConfig;
  try {
    config = validateConfig(ckpt.config);
  } catch (e) {
    if (e instanceof ConfigError) throw new CheckpointError(`cannot write checkpoint: ${e.message}`);
    throw e;
  }
  const specs = parameterSpecs(config);
  const known = new Set(specs.map((s) => s.name));
  for (const name of ckpt.tensors.keys()) {
    if (!known.has(name)) throw new CheckpointError(`cannot write checkpoint: unexpected tensor ${name} for this config`);
  }
  const tensors = specs.map((s) => {
    const data = ckpt.tensors.get(s.name);
    if (data === undefined) throw new CheckpointError(`cannot write checkpoint: tensor ${s.name} is missing`);
    if (!(data instanceof Float32Array) || data.length !== s.size) {
      throw new CheckpointError(`cannot write checkpoint: tensor ${s.name} has ${data?.length} values, expected ${s.size} for shape [${s.shape.join(", ")}]`);
    }
    const bad = firstUnusable(data);
    if (bad >= 0) throw new CheckpointError(`cannot write checkpoint: tensor ${s.name} has ${unusableReason(data[bad]!)} at index ${bad}`);
    return { name: s.name, shape: s.shape, data };
  });
  // transformers refuses safetensors files whose metadata lacks format "pt".
  const weights = serializeSafetensors(tensors, { format: "pt" });
  const configJson = new TextEncoder().encode(JSON.stringify(configToHF(config), null, 2) + "\n");
  return new Map([
    [WEIGHTS_FILE, weights],
    [CONFIG_FILE, configJson],
  ]);
}

/** Files a checkpoint write owns in its directory: replaced, never carried over. */
const SHARD_FILE = /^model-\d+-of-\d+\.safetensors$/;
const OLD_TEMP_FILE = /^\.(model\.safetensors|config\.json|model\.safetensors\.index\.json)\..*\.tmp$/;
function ownedByCheckpoint(name: string, staleShards: Set<string>): boolean {
  return name === CONFIG_FILE || name === WEIGHTS_FILE || name === INDEX_FILE || SHARD_FILE.test(name) || staleShards.has(name) || OLD_TEMP_FILE.test(name);
}

/** `dir` as an absolute path without a trailing separator: "." and "out/" need a real parent and name for the swap. */
async function absoluteDir(dir: string): Promise<string> {
  const { resolve } = await import("node:path");
  return resolve(dir);
}

const isCheckpointComplete = (storage: Storage) => async (dir: string) => storage.exists(joinPath(dir, CONFIG_FILE));

/**
 * Writes config.json and model.safetensors as the directory `dir`, complete or
 * absent (run/directory-swap.ts): everything is validated and serialized in
 * memory, written fsync'd into a hidden sibling directory, and renamed into
 * place in one step, so a crash or a full disk at any moment leaves the previous
 * checkpoint or the new one, never new weights beside an old config.
 * The files of a previous checkpoint in `dir` (config.json, weights, an index
 * and its shards, temporary files of older writers) are replaced; any other
 * plain file there (a tokenizer, a README) is carried over. A directory that
 * holds subdirectories is refused: it is not a checkpoint directory.
 * `label` names where `dir` came from in messages (e.g. "--out").
 */
export async function writeCheckpoint(dir: string, ckpt: Checkpoint, opts: { label?: string; storage?: Storage } = {}): Promise<void> {
  const storage = opts.storage ?? fileStorage;
  const named = opts.label ? `${opts.label} ${dir}` : dir;
  const files = checkpointToFiles(ckpt);
  const final = await absoluteDir(dir);
  try {
    await storage.mkdir(parentDir(final));
    await recoverDirectory(storage, final, isCheckpointComplete(storage));
    const info = await storage.stat(final);
    if (info && !info.isDirectory) throw new CheckpointError(`cannot write the checkpoint: ${named} is a file, not a directory`);
    if (info) {
      const entries = await storage.list(final);
      let staleShards = new Set<string>();
      if (entries.includes(INDEX_FILE)) {
        try {
          staleShards = new Set(parseShardIndex(await storage.readBytes(joinPath(final, INDEX_FILE))).values());
        } catch {
          /* a broken index names no shards; it is replaced anyway */
        }
      }
      for (const name of entries) {
        if (ownedByCheckpoint(name, staleShards)) continue;
        const path = joinPath(final, name);
        const entry = await storage.stat(path);
        if (entry?.isDirectory) {
          throw new CheckpointError(`cannot write the checkpoint: ${named} holds the directory ${name}, so it is not a checkpoint directory; choose another path`);
        }
        files.set(name, await storage.readBytes(path));
      }
    }
    await writeDirectory(storage, final, files, CONFIG_FILE);
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    const cause = e instanceof DirectoryWriteError ? e.message : describeStorageError(e);
    const code = ((e instanceof DirectoryWriteError ? e.reason : e) as { code?: unknown })?.code;
    throw Object.assign(new CheckpointError(`could not write the checkpoint ${named}: ${cause}; ${(await storage.exists(joinPath(final, CONFIG_FILE)).catch(() => false)) ? "the previous checkpoint there is intact" : "nothing was written"}`), { code });
  }
}
