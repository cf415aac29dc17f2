// `probeCheckpoint`: the layer probe (probe.ts) of a run directory's newest
// checkpoint, or of a checkpoint directory, on the Brown corpus.
//
// - A run directory (config.json is a run config): its newest complete checkpoint,
//   the run's seqLen as the window, and the run's train/validation split when it
//   trained on "brown" (data.validationFraction); another corpus gets Brown's
//   default split (`split: "default"`).
// - A checkpoint directory (config.json + safetensors): when its parent directory
//   is a run, that run's settings as above; else the default split and windows of
//   min(1024, max_position_embeddings) tokens.
// The tokenizer is the checkpoint's tokenizer.json (a run's checkpoints carry the
// run's) unless one is given. The hidden states come from the layer-streaming
// forward (streaming-forward.ts), so every architecture `jreg analyze` reads
// (Llama with rope scaling, Mistral within its window, Qwen2; F32/F16/BF16,
// sharded) is probed with about one block's weights on the device; windows run
// in passes of at most `tokensPerPass` tokens.
import { documentSeparator, noSeparatorMessage } from "../data/document-separator.ts";
import { DEFAULT_VALIDATION_FRACTION } from "../data/split.ts";
import { createEngine, type BackendName } from "../engine.ts";
import { loadCpuModule } from "../cpu/cpu-module.ts";
import { CONFIG_FILE, INDEX_FILE, WEIGHTS_FILE } from "../io/checkpoint.ts";
import { LazyCheckpoint } from "../io/lazy-checkpoint.ts";
import { splitInputsTargets } from "../model/batch.ts";
import { fileExists, readText } from "../io/files.ts";
import { listCheckpoints } from "../run/checkpoint-dir.ts";
import { fileStorage, joinPath, parentDir } from "../run/storage.ts";
import { loadTokenizerFile } from "../tokenizer/load-file.ts";
import type { Tokenizer } from "../tokenizer/tokenizer.ts";
import { resolveRunConfig, type RunConfig } from "../train/run-config.ts";
import { ProbeError } from "./linear-probe.ts";
import { brownProbeDocuments, probeDataset, probeHiddenStates, type HiddenStateSource, type ProbeDataOptions, type ProbeOptions, type ProbeResult } from "./probe.ts";
import { streamingForward, type FinalState } from "./streaming-forward.ts";

export interface ProbeCheckpointOptions extends ProbeOptions, Omit<ProbeDataOptions, "seq" | "eot"> {
  /** tokenizer file or directory (default: the checkpoint's tokenizer.json) */
  tokenizer?: string | Tokenizer;
  /** tokens per window (default: the run's seqLen, else min(1024, max_position_embeddings)) */
  seq?: number;
  backend?: BackendName;
  threads?: number;
  /** tokens per streaming pass over the weights (default 4,096, at least one window) */
  tokensPerPass?: number;
  /** called once the data is placed, before any forward */
  onData?: (info: { train: number; validation: number; batches: number }) => void;
}

export interface CheckpointProbeResult extends ProbeResult {
  source: string;
  checkpoint: string;
  model_type: string;
  /** "run": the run's document split; "default": the data pipeline's default split */
  split: "run" | "default";
  validation_fraction: number;
  backend: string;
}

const DEFAULT_SEQ = 1024;
const DEFAULT_TOKENS_PER_PASS = 4096;

async function isDirectory(path: string): Promise<boolean> {
  return (await fileStorage.stat(path))?.isDirectory === true;
}

async function hasWeights(dir: string): Promise<boolean> {
  return (await fileExists(joinPath(dir, WEIGHTS_FILE))) || (await fileExists(joinPath(dir, INDEX_FILE)));
}

/** The run config in dir/config.json, or null when it is not one (an HF config, or none). */
async function runConfigIn(dir: string): Promise<RunConfig | null> {
  const path = joinPath(dir, CONFIG_FILE);
  if (!(await fileExists(path))) return null;
  let json: unknown;
  try {
    json = JSON.parse(await readText(path));
  } catch (e) {
    throw new ProbeError(`probe: ${path} is not valid JSON (${(e as Error).message})`);
  }
  // a run config has the run's keys; an HF model config has hidden_size and friends at the top
  if (typeof json !== "object" || json === null || !("data" in json || "jreg" in json || "steps" in json)) return null;
  try {
    return resolveRunConfig(json, [], { source: path });
  } catch (e) {
    throw new ProbeError(`probe: ${(e as Error).message}`);
  }
}

async function locate(source: string): Promise<{ checkpoint: string; run: RunConfig | null }> {
  if (!(await fileStorage.stat(source))) throw new ProbeError(`probe: ${source} does not exist`);
  if (!(await isDirectory(source))) throw new ProbeError(`probe: ${source} is not a directory (give a run directory or a checkpoint directory)`);
  if (await hasWeights(source)) return { checkpoint: source, run: await runConfigIn(parentDir(source)).catch(() => null) };
  const run = await runConfigIn(source);
  if (!run) {
    throw new ProbeError(`probe: ${source} is neither a run directory (config.json of a run) nor a checkpoint directory (${CONFIG_FILE} + ${WEIGHTS_FILE})`);
  }
  const all = await listCheckpoints(fileStorage, source);
  if (all.length === 0) throw new ProbeError(`probe: run directory ${source} has no complete checkpoint yet`);
  return { checkpoint: all[all.length - 1]!.path, run };
}

async function tokenizerFor(checkpoint: string, given: ProbeCheckpointOptions["tokenizer"]): Promise<Tokenizer> {
  if (given !== undefined && typeof given !== "string") return given;
  const path = given ?? joinPath(checkpoint, "tokenizer.json");
  if (given === undefined && !(await fileExists(path))) throw new ProbeError(`probe: ${checkpoint} has no tokenizer.json; pass a tokenizer (CLI: --tokenizer PATH)`);
  try {
    return await loadTokenizerFile(path);
  } catch (e) {
    throw new ProbeError(`probe: ${given !== undefined ? `--tokenizer ${path}` : path}: ${(e as Error).message}`);
  }
}

/** The layer probe of a run directory's newest checkpoint or of a checkpoint directory (see the file comment). */
export async function probeCheckpoint(source: string, o: ProbeCheckpointOptions = {}): Promise<CheckpointProbeResult> {
  const { checkpoint, run } = await locate(source);
  const tokenizer = await tokenizerFor(checkpoint, o.tokenizer);
  const eot = documentSeparator(tokenizer)?.id;
  if (eot === undefined) throw new ProbeError(`probe: ${noSeparatorMessage("the tokenizer")}`);
  const ckpt = await LazyCheckpoint.open(checkpoint);
  try {
    const arch = ckpt.architecture;
    const c = arch.config;
    if (c.vocabSize < tokenizer.vocabSize) throw new ProbeError(`probe: the tokenizer has ${tokenizer.vocabSize} ids, more than the model's vocab_size ${c.vocabSize}`);
    const seq = o.seq ?? run?.seqLen ?? Math.min(DEFAULT_SEQ, c.maxSeqLen);
    if (seq > c.maxSeqLen) throw new ProbeError(`probe: seq ${seq} exceeds the model's max_position_embeddings ${c.maxSeqLen}`);
    if (arch.slidingWindow !== null && seq > arch.slidingWindow) {
      throw new ProbeError(`probe: windows of ${seq} tokens are longer than the model's sliding_window of ${arch.slidingWindow} (use seq ≤ ${arch.slidingWindow}, CLI: --seq)`);
    }
    const split: CheckpointProbeResult["split"] = run !== null && run.data.corpus === "brown" ? "run" : "default";
    const validationFraction = split === "run" ? run!.data.validationFraction : DEFAULT_VALIDATION_FRACTION;
    const docs = await brownProbeDocuments({ validationFraction });
    const batchRows = o.batchRows ?? Math.max(1, Math.floor((o.tokensPerPass ?? DEFAULT_TOKENS_PER_PASS) / seq));
    const data = probeDataset(tokenizer, docs, { seq, eot, tagSet: o.tagSet, maxWords: o.maxWords, batchRows });
    o.onData?.({ train: data.train.rows.length, validation: data.validation.rows.length, batches: data.train.batches.length + data.validation.batches.length });
    const engine = await createEngine({ backend: o.backend ?? "wasm", threads: o.threads });
    try {
      const cpu = await loadCpuModule();
      const finalState: FinalState = o.finalState ?? "pre-norm";
      const states: HiddenStateSource = async (batch) => {
        const { inputs, targets } = splitInputsTargets(batch);
        const h: Float32Array[] = [];
        const windows = { batch: batch.batch, seq: batch.length - 1, inputs, targets };
        await streamingForward(engine.backend, cpu, ckpt, windows, { finalState, earlyExit: false, onHiddenState: (l, x) => (h[l] = x) });
        return h;
      };
      const r = await probeHiddenStates(engine.backend, states, { numLayers: c.numLayers, hiddenSize: c.hiddenSize }, data, o);
      return { source, checkpoint, model_type: arch.modelType, split, validation_fraction: validationFraction, backend: engine.backend.name, ...r };
    } finally {
      await engine.dispose();
    }
  } finally {
    await ckpt.close();
  }
}
