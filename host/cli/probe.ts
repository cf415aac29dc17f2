// `jreg probe RUN_DIR|CHECKPOINT_DIR`: a linear probe per layer that predicts
// Brown's part-of-speech tags from h_l (host/analysis/probe-checkpoint.ts), with
// accuracies on training and validation words and the majority-tag baseline.
import { DEFAULT_LINEAR_PROBE } from "../analysis/linear-probe.ts";
import { probeCheckpoint, type CheckpointProbeResult } from "../analysis/probe-checkpoint.ts";
import { DEFAULT_PROBE_MAX_WORDS } from "../analysis/probe.ts";
import { UsageError } from "./args.ts";
import { defineCommand } from "./command.ts";
import { createProgress, type Progress } from "./progress.ts";

const pct = (v: number) => (Number.isFinite(v) ? (100 * v).toFixed(2) : "n/a");

/** The table: one row per h_l with train and validation accuracy, then the baseline. */
export function formatProbe(r: CheckpointProbeResult): string {
  const head = ["layer", "train acc %", "val acc %", "val − baseline"];
  const rows = r.layers.map((x) => [x.layer === 0 ? "0 (emb)" : String(x.layer), pct(x.train_accuracy), pct(x.val_accuracy), (100 * (x.val_accuracy - r.baseline.val_accuracy)).toFixed(2)]);
  rows.push([`baseline (${r.baseline.tag})`, pct(r.baseline.train_accuracy), pct(r.baseline.val_accuracy), "0.00"]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  const s = r.skipped;
  const skipped = (k: "train" | "validation") => `${s[k].shared} shared-token, ${s[k].untagged} untagged, ${s[k].beyondWindows} past the last window, ${s[k].overLimit} over --max-words`;
  return [
    `${r.checkpoint} (${r.model_type}): ${r.tags} tags (${r.classes} classes), final state ${r.final_state}, windows of ${r.seq}, ${r.split} split, ${r.backend}`,
    `words: ${r.words.train} train, ${r.words.validation} validation (${r.validation_unseen} with a tag unseen in training)`,
    line(head),
    ...rows.map(line),
    `skipped words: train ${skipped("train")}; validation ${skipped("validation")}`,
  ].join("\n");
}

export const probeCommand = defineCommand(
  {
    name: "probe",
    summary: "linear probe per layer: Brown part-of-speech accuracy of h_0..h_L, with a majority-tag baseline",
    description:
      "For every layer l = 0..L (0 = the embedding) trains a multinomial logistic regression from h_l to the Brown tag\n" +
      "of a word, on words of training documents, with the engine's own ops (matmul, cross-entropy, AdamW), and scores\n" +
      "it on words of validation documents. RUN_DIR: its newest checkpoint, its seqLen and (for a Brown run) its\n" +
      "train/validation split; CHECKPOINT_DIR: the default split (or its parent run's). Each word sits at the LAST\n" +
      "token whose bytes overlap it (the causal state has read the whole word); a word whose last token also ends\n" +
      "another word (e.g. a token `.\"`) is skipped, as are untagged words. Documents are joined by the end-of-text\n" +
      "token (the first of <|endoftext|>, <|end_of_text|>, </s>, <eos> the tokenizer has) and cut into windows of\n" +
      "--seq tokens as evaluation does; --max-words takes windows evenly spread over each split.\n" +
      "Features are standardized with the training words' mean and std; W and b start at zero; minibatches follow a\n" +
      "seeded shuffle. --tags coarse strips fw-, -tl, -hl, -nc and * and keeps the first part of a compound tag.\n" +
      "The weights stream block by block (as in jreg analyze: Llama, Mistral, Qwen2; F32/F16/BF16, sharded).",
    flags: {
      tokenizer: { type: "string", metavar: "PATH", defaultText: "the checkpoint's tokenizer.json", help: "tokenizer.json or a directory holding one" },
      tags: { type: "choice", choices: ["full", "coarse"], default: "full", help: "full: Brown's tags as written (472); coarse: about 85" },
      "max-words": { type: "integer", min: 1, metavar: "N", default: DEFAULT_PROBE_MAX_WORDS, help: "at most N words of each split (bounds the time)" },
      epochs: { type: "integer", min: 1, metavar: "E", default: DEFAULT_LINEAR_PROBE.epochs, help: "passes over the training words" },
      lr: { type: "number", min: 0, minExclusive: true, metavar: "LR", default: DEFAULT_LINEAR_PROBE.lr, help: "AdamW learning rate (constant)" },
      "weight-decay": { type: "number", min: 0, metavar: "WD", default: DEFAULT_LINEAR_PROBE.weightDecay, help: "AdamW decoupled weight decay on W" },
      "batch-size": { type: "integer", min: 1, metavar: "B", default: DEFAULT_LINEAR_PROBE.batchSize, help: "words per optimizer step" },
      seed: { type: "integer", min: 0, metavar: "S", default: DEFAULT_LINEAR_PROBE.seed, help: "seeds the minibatch order" },
      "final-state": { type: "choice", choices: ["pre-norm", "post-norm"], default: "pre-norm", help: "h_L before or after the final norm" },
      seq: { type: "integer", min: 1, metavar: "T", defaultText: "the run's seqLen, else min(1024, max_position_embeddings)", help: "tokens per window" },
      "tokens-per-pass": { type: "integer", min: 1, metavar: "N", default: 4096, help: "tokens per streaming pass over the weights (at least one window)" },
      json: { type: "boolean", help: "print one JSON object (the host API's CheckpointProbeResult)" },
      backend: { type: "choice", choices: ["auto", "wasm", "webgpu"], default: "wasm", help: "where to run; auto takes WebGPU only on a real GPU" },
      threads: { type: "integer", min: 1, metavar: "N", defaultText: "up to 8", help: "wasm threads, the calling one included" },
    },
    positionals: { name: "RUN_DIR|CHECKPOINT_DIR", help: 'a run directory of "jreg train", or a checkpoint directory (config.json + safetensors)', max: 1 },
  },
  async ({ values: v, positionals }, { out }) => {
    const dir = positionals[0];
    if (dir === undefined) throw new UsageError("probe needs a RUN_DIR or CHECKPOINT_DIR");
    let progress: Progress | undefined;
    const r = await probeCheckpoint(dir, {
      tokenizer: v.tokenizer,
      tagSet: v.tags,
      maxWords: v["max-words"],
      epochs: v.epochs,
      lr: v.lr,
      weightDecay: v["weight-decay"],
      batchSize: v["batch-size"],
      seed: v.seed,
      finalState: v["final-state"],
      seq: v.seq,
      tokensPerPass: v["tokens-per-pass"],
      backend: v.backend,
      threads: v.threads,
      onProgress: (done, total) => {
        progress ??= createProgress({ total, label: "probe: forward batches + layers" });
        progress.update(done);
        if (done === total) (progress.done(), (progress = undefined));
      },
    });
    out(v.json ? JSON.stringify(r) : formatProbe(r));
    return 0;
  },
);
