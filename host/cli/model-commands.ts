// `jreg eval` and `jreg step`: the contract users check the engine against their
// own PyTorch pipelines with (README "CLI").
import { evaluate } from "../analysis/evaluate.ts";
import { createEngine, type BackendName } from "../engine.ts";
import { readCheckpoint, writeCheckpoint } from "../io/checkpoint.ts";
import { readText } from "../io/files.ts";
import { parseTokens } from "../io/tokens-file.ts";
import type { JregOptions } from "../model/jreg.ts";
import type { TrainConfig } from "../train/trainer.ts";
import { choiceFlag, numberFlag, parseFlags, requireString, UsageError, type OptionSpec } from "./args.ts";

const common: OptionSpec = {
  model: { type: "string" },
  tokens: { type: "string" },
  alpha: { type: "string" },
  "jreg-distance": { type: "string" },
  "jreg-last-k": { type: "string" },
  "jreg-normalize": { type: "string" },
  backend: { type: "string" },
  threads: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

export const EVAL_HELP = `usage: jreg eval --model DIR --tokens FILE [--alpha A] [--jreg-distance cosine|angular]
                 [--jreg-last-k K] [--jreg-normalize none|middle] [--backend wasm|webgpu|auto] [--threads N] --json
Prints {"ce","R","loss","D_angular","D_cosine","J_angular","J_cosine"} for the batch in FILE
(JSON [[t0..tT], ...]; inputs [:, :-1], targets [:, 1:]); loss = ce + alpha*R.`;

export const STEP_HELP = `usage: jreg step --model DIR --tokens FILE --lr X --optimizer sgd|adamw [--alpha A] [jreg options]
                 [--wd W] [--beta1 B1] [--beta2 B2] [--eps E] [--clip C] --out DIR2
Does exactly one optimizer step on the batch and writes the updated checkpoint to DIR2.
Defaults: --wd 0 (AdamW's decay applies to matrices and embeddings, never norms), --beta1 0.9,
--beta2 0.95, --eps 1e-8, --clip 0 (no clipping; C > 0 clips the global gradient norm as
torch.nn.utils.clip_grad_norm_ does). Prints the step's {loss, ce, jreg, gradNorm, lr} as JSON.`;

function jregOptions(v: Record<string, unknown>): JregOptions {
  const lastK = numberFlag(v, "jreg-last-k", 1);
  return {
    alpha: numberFlag(v, "alpha", 0),
    distance: choiceFlag(v, "jreg-distance", ["cosine", "angular"] as const, "cosine"),
    lastK,
    normalize: choiceFlag(v, "jreg-normalize", ["none", "middle"] as const, "none"),
  };
}

async function loadInputs(v: Record<string, unknown>) {
  const modelDir = requireString(v, "model");
  const tokensPath = requireString(v, "tokens");
  const backend = choiceFlag(v, "backend", ["wasm", "webgpu", "auto"] as const, "auto") as BackendName;
  const threads = numberFlag(v, "threads");
  const ckpt = await readCheckpoint(modelDir);
  const batch = parseTokens(await readText(tokensPath), {
    vocabSize: ckpt.config.vocabSize,
    maxSeqLen: ckpt.config.maxSeqLen,
    source: tokensPath,
  });
  const engine = await createEngine({ backend, threads });
  return { ckpt, batch, engine };
}

export async function evalCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const v = await parseFlags(argv, common);
  if (v.help) return out(EVAL_HELP), 0;
  const jreg = jregOptions(v);
  const { ckpt, batch, engine } = await loadInputs(v);
  try {
    const model = engine.loadModel(ckpt);
    const e = await evaluate(model, batch, jreg);
    const result = { ce: e.ce, R: e.R, loss: e.loss, D_angular: e.D_angular, D_cosine: e.D_cosine, J_angular: e.J_angular, J_cosine: e.J_cosine };
    out(v.json ? JSON.stringify(result) : formatEval(result));
    return 0;
  } finally {
    await engine.dispose();
  }
}

function formatEval(r: { ce: number; R: number; loss: number; D_angular: number[]; D_cosine: number[]; J_angular: number; J_cosine: number }): string {
  const lines = [`ce ${r.ce.toFixed(6)}  R ${r.R.toFixed(6)}  loss ${r.loss.toFixed(6)}`, "layer  D_angular  D_cosine"];
  r.D_angular.forEach((d, i) => lines.push(`${String(i + 1).padStart(5)}  ${d.toFixed(6)}   ${r.D_cosine[i]!.toFixed(6)}`));
  lines.push(`J_angular ${r.J_angular.toFixed(4)}  J_cosine ${r.J_cosine.toFixed(4)}`);
  return lines.join("\n");
}

export async function stepCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const v = await parseFlags(argv, {
    ...common,
    lr: { type: "string" },
    optimizer: { type: "string" },
    wd: { type: "string" },
    beta1: { type: "string" },
    beta2: { type: "string" },
    eps: { type: "string" },
    clip: { type: "string" },
    out: { type: "string" },
  });
  if (v.help) return out(STEP_HELP), 0;
  const outDir = requireString(v, "out");
  if (v.lr === undefined) throw new UsageError("--lr is required");
  if (v.optimizer === undefined) throw new UsageError("--optimizer is required (sgd or adamw)");
  const train: Partial<TrainConfig> = {
    optimizer: choiceFlag(v, "optimizer", ["sgd", "adamw"] as const, "adamw"),
    lr: numberFlag(v, "lr", 0),
    minLr: 0,
    warmupSteps: 0,
    decaySteps: 0,
    weightDecay: numberFlag(v, "wd", 0),
    beta1: numberFlag(v, "beta1", 0.9),
    beta2: numberFlag(v, "beta2", 0.95),
    eps: numberFlag(v, "eps", 1e-8),
    clip: numberFlag(v, "clip", 0),
    jreg: jregOptions(v),
  };
  const { ckpt, batch, engine } = await loadInputs(v);
  try {
    const model = engine.loadModel(ckpt);
    const trainer = engine.createTrainer(model, train);
    const r = await trainer.step(batch);
    if (r.skipped) throw new Error(`step skipped: ${r.skipped}; nothing was written to ${outDir}`);
    await writeCheckpoint(outDir, await model.toCheckpoint());
    out(JSON.stringify({ loss: r.loss, ce: r.ce, jreg: r.jreg, gradNorm: r.gradNorm, lr: r.lr }));
    return 0;
  } finally {
    await engine.dispose();
  }
}
