// `jreg eval` and `jreg step`: the contract users check the engine against their
// own PyTorch pipelines with (README "CLI").
import { evaluateSubset } from "../analysis/evaluate-subset.ts";
import { evaluate } from "../analysis/evaluate.ts";
import { prepareCorpus } from "../data/prepare.ts";
import { validationBatches } from "../data/sampler.ts";
import type { TokenBatch } from "../model/batch.ts";
import type { ModelConfig } from "../model/config.ts";
import { DEFAULT_RUN_CONFIG } from "../train/run-config.ts";
import { createEngine } from "../engine.ts";
import { readCheckpoint, writeCheckpoint } from "../io/checkpoint.ts";
import { fileExists, joinPath } from "../io/files.ts";
import { readTokensFile } from "../io/tokens-file.ts";
import { DEFAULT_JREG, type JregLayers, type JregOptions } from "../model/jreg.ts";
import { DEFAULT_TRAIN, validateTrainConfig, type TrainConfig } from "../train/trainer.ts";
import { UsageError, withFlagNames, type FlagSpecs } from "./args.ts";
import { defineCommand } from "./command.ts";

/** The flags both commands share; JREG defaults are the library's (DEFAULT_JREG). */
const base = {
  model: { type: "string", required: true, metavar: "DIR", help: "checkpoint directory (config.json + model.safetensors)" },
  alpha: { type: "number", default: DEFAULT_JREG.alpha, metavar: "A", help: "JREG weight α in loss = CE + α·R" },
  "jreg-distance": { type: "choice", choices: ["cosine", "angular"], default: DEFAULT_JREG.distance, help: "distance R is built from" },
  "jreg-last-k": { type: "integer", default: DEFAULT_JREG.lastK, metavar: "K", help: "R averages the last K transitions (1 ≤ K ≤ layers)" },
  "jreg-normalize": { type: "choice", choices: ["none", "middle"], default: DEFAULT_JREG.normalize, help: "middle: R is divided by the middle layers' mean" },
  "jreg-layers": {
    type: "string",
    default: "last-k",
    metavar: "W",
    help: 'transitions R weighs: last-k (uses --jreg-last-k), all (equal weights) or one weight per transition, comma-separated (e.g. 0,0.5,1)',
  },
  backend: { type: "choice", choices: ["auto", "wasm", "webgpu"], default: "auto", help: "auto takes WebGPU only on a real GPU adapter, else wasm" },
  threads: { type: "integer", min: 1, metavar: "N", defaultText: "the engine's: up to 8", help: "wasm threads, the calling one included" },
  kernels: {
    type: "choice",
    choices: ["exact", "relaxed"],
    default: "exact",
    help: "wasm kernels: exact (same bits in every runtime) or relaxed (fused multiply-adds: faster, deterministic only on one machine and runtime; Node 20 needs --experimental-wasm-relaxed-simd)",
  },
} as const satisfies FlagSpecs;
const TOKENS_HELP = "JSON [[t0..tT], …]: inputs are [:, :-1], targets [:, 1:]";
const common = { ...base, tokens: { type: "string", required: true, metavar: "FILE", help: TOKENS_HELP } } as const satisfies FlagSpecs;

/** Library field → the flag that sets it, for errors raised below the CLI. */
const FLAG_OF_FIELD: Record<string, string> = {
  "jreg.alpha": "--alpha",
  "jreg.distance": "--jreg-distance",
  "jreg.lastK": "--jreg-last-k",
  "jreg.normalize": "--jreg-normalize",
  "jreg.layers": "--jreg-layers",
  "train.optimizer": "--optimizer",
  optimizer: "--optimizer",
  "train.lr": "--lr",
  "train.weightDecay": "--wd",
  "train.beta1": "--beta1",
  "train.beta2": "--beta2",
  "train.eps": "--eps",
  "train.clip": "--clip",
};

type CommonValues = {
  alpha: number;
  "jreg-distance": JregOptions["distance"];
  "jreg-last-k": number;
  "jreg-normalize": JregOptions["normalize"];
  "jreg-layers": string;
};

/** --jreg-layers: "last-k", "all" or comma-separated weights (their count and range are validateJreg's). */
export function parseJregLayers(text: string): JregLayers {
  const t = text.trim();
  if (t === "last-k" || t === "all") return t;
  const parts = t.split(",").map((p) => p.trim());
  const weights = parts.map(Number);
  const bad = parts.findIndex((p, i) => p === "" || !Number.isFinite(weights[i]));
  if (bad >= 0) throw new UsageError(`--jreg-layers must be last-k, all or comma-separated numbers (one weight per transition), got ${JSON.stringify(text)}`);
  return weights;
}

function jregOptions(v: CommonValues): JregOptions {
  return { alpha: v.alpha, distance: v["jreg-distance"], lastK: v["jreg-last-k"], normalize: v["jreg-normalize"], layers: parseJregLayers(v["jreg-layers"]) };
}

async function loadInputs(v: { model: string; tokens: string }) {
  const ckpt = await readCheckpoint(v.model, { label: "--model" });
  const batch = await readTokensFile(v.tokens, {
    vocabSize: ckpt.config.vocabSize,
    maxSeqLen: ckpt.config.maxSeqLen,
    source: `--tokens ${v.tokens}`,
    label: "--tokens",
  });
  return { ckpt, batch };
}

export const evalCommand = defineCommand(
  {
    name: "eval",
    summary: "CE, R, loss, the jump profile and early-exit CE of a checkpoint on a tokens file or a corpus",
    description:
      'Prints {"ce","R","loss","D_angular","D_cosine","J_angular","J_cosine","early_exit_ce"} with --json, a table\n' +
      "otherwise; loss = ce + α·R. Give the batch as --tokens FILE, or --data CORPUS: the corpus is split as training\n" +
      "splits it (by document, --validation-fraction) and the validation subset a run evaluates on (--windows\n" +
      "windows of --seq tokens, evenly spread) is evaluated in batches of --batch-size, every quantity averaged over\n" +
      'its tokens (then "tokens" is added to the JSON). The tokenizer is DIR/tokenizer.json (a run checkpoint has\n' +
      "one) or --tokenizer.",
    flags: {
      ...base,
      tokens: { type: "string", metavar: "FILE", help: `${TOKENS_HELP} (or --data)` },
      data: { type: "string", metavar: "CORPUS", help: '"brown", a .txt file or a directory of .txt files (or --tokens)' },
      tokenizer: { type: "string", metavar: "FILE", defaultText: "DIR/tokenizer.json", help: "tokenizer.json for --data" },
      seq: { type: "integer", min: 1, metavar: "T", defaultText: "the model's max_position_embeddings", help: "--data: tokens per window" },
      windows: { type: "integer", min: 1, default: 32, metavar: "K", help: "--data: validation windows (a run evaluates evalBatches × batchSize)" },
      "batch-size": { type: "integer", min: 1, default: 8, metavar: "B", help: "--data: windows per evaluation batch" },
      "validation-fraction": { type: "number", min: 0, max: 1, minExclusive: true, maxExclusive: true, default: DEFAULT_RUN_CONFIG.data.validationFraction, metavar: "F", help: "--data: share of documents held out" },
      "cache-dir": { type: "string", metavar: "DIR", default: "runs/.cache", help: "--data: where the token shards are cached" },
      json: { type: "boolean", help: "print one JSON object" },
    },
  },
  async ({ values: v }, { out }) => {
    if ((v.tokens === undefined) === (v.data === undefined)) throw new UsageError("give exactly one of --tokens FILE and --data CORPUS");
    const ckpt = await readCheckpoint(v.model, { label: "--model" });
    let batches: TokenBatch[];
    if (v.tokens !== undefined) {
      batches = [
        await readTokensFile(v.tokens, { vocabSize: ckpt.config.vocabSize, maxSeqLen: ckpt.config.maxSeqLen, source: `--tokens ${v.tokens}`, label: "--tokens" }),
      ];
    } else {
      batches = await corpusBatches(v as CorpusFlags, ckpt.config);
    }
    // Checked against the model's depth before any work, in the user's flag names.
    const jreg = await withFlagNames(FLAG_OF_FIELD, () => validateTrainConfig({ jreg: jregOptions(v) }, ckpt.config.numLayers).jreg);
    const engine = await createEngine({ backend: v.backend, threads: v.threads, kernels: v.kernels });
    try {
      const model = engine.loadModel(ckpt);
      // One batch: evaluate's own numbers, unscaled; a corpus subset: the token-weighted means.
      const e = batches.length === 1 && v.data === undefined ? { ...(await evaluate(model, batches[0]!, jreg)), tokens: 0 } : await evaluateSubset(model, batches, jreg);
      const result = { ce: e.ce, R: e.R, loss: e.loss, D_angular: e.D_angular, D_cosine: e.D_cosine, J_angular: e.J_angular, J_cosine: e.J_cosine, early_exit_ce: e.early_exit_ce };
      const shown = v.data !== undefined ? { ...result, tokens: e.tokens } : result;
      out(v.json ? JSON.stringify(shown) : formatEval(result));
      return 0;
    } finally {
      await engine.dispose();
    }
  },
);

interface CorpusFlags {
  model: string;
  data: string;
  tokenizer?: string;
  seq?: number;
  windows: number;
  "batch-size": number;
  "validation-fraction": number;
  "cache-dir": string;
}

/** The validation subset of --data, tokenized with the checkpoint's (or --tokenizer's) tokenizer. */
async function corpusBatches(v: CorpusFlags, config: ModelConfig): Promise<TokenBatch[]> {
  const tokenizer = v.tokenizer ?? joinPath(v.model, "tokenizer.json");
  if (!(await fileExists(tokenizer))) {
    throw new UsageError(v.tokenizer !== undefined ? `--tokenizer ${tokenizer} does not exist` : `${tokenizer} does not exist: give the model's tokenizer with --tokenizer FILE`);
  }
  const seqLen = v.seq ?? config.maxSeqLen;
  if (seqLen > config.maxSeqLen) throw new UsageError(`--seq ${seqLen} exceeds the model's max_position_embeddings ${config.maxSeqLen}`);
  const prepared = await prepareCorpus({ corpus: v.data, tokenizer: { file: tokenizer }, split: { validationFraction: v["validation-fraction"] }, cacheDir: v["cache-dir"] });
  if (prepared.tokenizer.vocabSize !== config.vocabSize) {
    throw new UsageError(`the tokenizer ${tokenizer} has ${prepared.tokenizer.vocabSize} tokens but the model's vocab_size is ${config.vocabSize}`);
  }
  return validationBatches(prepared.validation.tokens, { seqLen, windows: v.windows, batchSize: v["batch-size"] });
}

function formatEval(r: { ce: number; R: number; loss: number; D_angular: number[]; D_cosine: number[]; J_angular: number; J_cosine: number; early_exit_ce: number[] }): string {
  const lines = [`ce ${r.ce.toFixed(6)}  R ${r.R.toFixed(6)}  loss ${r.loss.toFixed(6)}`, "layer  D_angular  D_cosine  early-exit CE"];
  r.D_angular.forEach((d, i) => lines.push(`${String(i + 1).padStart(5)}  ${d.toFixed(6)}   ${r.D_cosine[i]!.toFixed(6)}  ${r.early_exit_ce[i]!.toFixed(6)}`));
  lines.push(`J_angular ${r.J_angular.toFixed(4)}  J_cosine ${r.J_cosine.toFixed(4)}`);
  return lines.join("\n");
}

export const stepCommand = defineCommand(
  {
    name: "step",
    summary: "one optimizer step on a tokens file; writes the updated checkpoint",
    description:
      "Does exactly one optimizer step on the batch (no warm-up, no schedule: the step uses --lr) and writes the\n" +
      "updated checkpoint to --out. Prints the step's {loss, ce, jreg, gradNorm, lr} as JSON.\n" +
      `This is the PyTorch-contract single step, so --wd and --clip default to 0 (plain torch.optim.AdamW / SGD),\n` +
      `unlike the trainer's defaults for whole runs (weight decay ${DEFAULT_TRAIN.weightDecay}, clip ${DEFAULT_TRAIN.clip}).`,
    flags: {
      ...common,
      lr: { type: "number", required: true, metavar: "X", help: "learning rate" },
      optimizer: { type: "choice", choices: ["sgd", "adamw"], required: true, help: "the update rule" },
      wd: { type: "number", default: 0, metavar: "W", help: "AdamW decoupled weight decay on matrices and embeddings, never norms" },
      beta1: { type: "number", default: DEFAULT_TRAIN.beta1, metavar: "B1", help: "AdamW β1" },
      beta2: { type: "number", default: DEFAULT_TRAIN.beta2, metavar: "B2", help: "AdamW β2" },
      eps: { type: "number", default: DEFAULT_TRAIN.eps, metavar: "E", help: "AdamW ε" },
      clip: { type: "number", default: 0, metavar: "C", help: "C > 0 clips the global gradient norm as torch.nn.utils.clip_grad_norm_; 0 = off" },
      out: { type: "string", required: true, metavar: "DIR2", help: "where to write the updated checkpoint" },
    },
  },
  async ({ values: v }, { out }) => {
    const train: Partial<TrainConfig> = {
      optimizer: v.optimizer,
      lr: v.lr,
      minLr: 0,
      warmupSteps: 0,
      decaySteps: 0,
      weightDecay: v.wd,
      beta1: v.beta1,
      beta2: v.beta2,
      eps: v.eps,
      clip: v.clip,
      jreg: jregOptions(v),
    };
    const { ckpt, batch } = await loadInputs(v);
    const checked = await withFlagNames(FLAG_OF_FIELD, () => validateTrainConfig(train, ckpt.config.numLayers));
    const engine = await createEngine({ backend: v.backend, threads: v.threads, kernels: v.kernels });
    try {
      const model = engine.loadModel(ckpt);
      const trainer = engine.createTrainer(model, checked);
      const r = await trainer.step(batch);
      if (r.skipped) throw new Error(`step skipped: ${r.skipped}; nothing was written to ${v.out}`);
      await writeCheckpoint(v.out, await model.toCheckpoint(), { label: "--out" });
      out(JSON.stringify({ loss: r.loss, ce: r.ce, jreg: r.jreg, gradNorm: r.gradNorm, lr: r.lr }));
      return 0;
    } finally {
      await engine.dispose();
    }
  },
);
