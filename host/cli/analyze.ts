// `jreg analyze CHECKPOINT_DIR`: the jump profile and early-exit CE of a Hugging
// Face checkpoint on a text file or the Brown validation documents, streaming the
// weights block by block (host/analysis/analyze-checkpoint.ts).
import { analyzeCheckpoint, type CheckpointAnalysis } from "../analysis/analyze-checkpoint.ts";
import { PROFILE_QUANTILES } from "../analysis/jump-profile.ts";
import { profileSvg } from "../analysis/profile-svg.ts";
import { loadCorpus } from "../data/corpus.ts";
import { splitDocuments } from "../data/split.ts";
import { describeOutputError, MAX_TEXT_BYTES, readBoundedFile, writeFileAtomic } from "../io/files.ts";
import { formatTokenizerSummary } from "../tokenizer/summary.ts";
import { UsageError } from "./args.ts";
import { defineCommand } from "./command.ts";
import { createProgress, type Progress } from "./progress.ts";

/** The Brown validation documents (the data pipeline's default split), joined by blank lines. */
async function corpusValidationText(corpus: string): Promise<string> {
  const c = await loadCorpus(corpus);
  const { validation } = splitDocuments(c.documents);
  if (validation.length === 0) throw new Error(`--data ${corpus}: the corpus has no validation documents`);
  return validation.map((d) => d.text).join("\n\n");
}

const f4 = (v: number) => v.toFixed(4);

/** The table: one row per transition l with D_l, per-token quantiles of both distances, and the early-exit CE (when computed). */
export function formatAnalysis(a: CheckpointAnalysis): string {
  const q = PROFILE_QUANTILES.map((p) => `p${Math.round(p * 100)}`);
  const exit = a.early_exit_ce;
  const head = ["l", "D_ang", ...q.map((s) => `ang ${s}`), "D_cos", ...q.map((s) => `cos ${s}`), ...(exit ? ["early-exit CE"] : [])];
  const rows = a.D_angular.map((_, l) => [
    String(l + 1),
    f4(a.D_angular[l]!),
    ...a.per_token.angular[l]!.quantiles.map(f4),
    f4(a.D_cosine[l]!),
    ...a.per_token.cosine[l]!.quantiles.map(f4),
    ...(exit ? [f4(exit[l]!)] : []),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padStart(widths[i]!)).join("  ");
  return [
    `${a.checkpoint} (${a.model_type}): ${a.tokens} tokens in ${a.windows} window${a.windows === 1 ? "" : "s"} of ${a.seq}, final state ${a.final_state}, ${a.backend}`,
    ...(a.tokenizer ? [`tokenizer: ${formatTokenizerSummary(a.tokenizer, a.tokenizer.add_special_tokens)}`] : []),
    line(head),
    ...rows.map(line),
    `J_angular ${f4(a.J_angular)}  J_cosine ${f4(a.J_cosine)}  CE ${f4(a.ce)}`,
  ].join("\n");
}

export const analyzeCommand = defineCommand(
  {
    name: "analyze",
    summary: "jump profile and early-exit CE of a Hugging Face checkpoint (Llama, Mistral, Qwen2), streaming its weights",
    description:
      "Runs the checkpoint on --text FILE (tokenized with the checkpoint's tokenizer.json, or --tokenizer) or on the\n" +
      "validation documents of --data CORPUS, one block's weights on the device at a time, and prints per layer\n" +
      "D_l (angular and cosine), per-token quantiles, and the early-exit CE of lm_head(final_norm(h_l)).\n" +
      "--final-state pre-norm (default) ends the last transition at h_L; post-norm at final_norm(h_L), which is\n" +
      "what Hugging Face's output_hidden_states returns as its last state.\n" +
      "--no-early-exit skips the early-exit CE of layers 1..L-1: on a large vocabulary the LM head on every h_l\n" +
      "is most of the time (about 4/5 for a Llama-3.2-1B shape), and the jump profile does not need it.",
    flags: {
      text: { type: "string", metavar: "FILE", help: "text file to analyse" },
      data: { type: "string", metavar: "CORPUS", help: 'analyse the validation documents of a corpus ("brown", a .txt file or a directory)' },
      tokenizer: { type: "string", metavar: "PATH", defaultText: "CHECKPOINT_DIR/tokenizer.json", help: "tokenizer.json, a directory, or a .tiktoken file" },
      "add-special-tokens": { type: "boolean", help: "add the tokenizer's post-processor special tokens (e.g. BOS), as HF's add_special_tokens" },
      "final-state": { type: "choice", choices: ["pre-norm", "post-norm"], default: "pre-norm", help: "the state the last transition ends at" },
      seq: { type: "integer", min: 1, metavar: "T", defaultText: "min(1024, max_position_embeddings, the text)", help: "tokens per window" },
      "max-tokens": { type: "integer", min: 1, metavar: "N", defaultText: "all", help: "analyse at most N tokens" },
      "tokens-per-pass": { type: "integer", min: 1, metavar: "N", default: 4096, help: "tokens per streaming pass over the weights (bounds activation memory)" },
      "early-exit": { type: "boolean", default: true, help: "compute the early-exit CE of every layer (--no-early-exit: only the model's CE)" },
      json: { type: "boolean", help: "print one JSON object (the host API's CheckpointAnalysis)" },
      svg: { type: "string", metavar: "FILE", help: "also write the profile (D_l for both distances, early-exit CE) as an SVG" },
      backend: { type: "choice", choices: ["auto", "wasm", "webgpu"], default: "wasm", help: "where to run; auto takes WebGPU only on a real GPU" },
      threads: { type: "integer", min: 1, metavar: "N", defaultText: "up to 8", help: "wasm threads, the calling one included" },
    },
    positionals: { name: "CHECKPOINT_DIR", help: "Hugging Face checkpoint directory (config.json + safetensors)", max: 1 },
  },
  async ({ values: v, positionals }, { out }) => {
    const dir = positionals[0];
    if (dir === undefined) throw new UsageError("analyze needs a CHECKPOINT_DIR");
    if ((v.text === undefined) === (v.data === undefined)) throw new UsageError("analyze needs exactly one of --text FILE or --data CORPUS");
    let text: string;
    if (v.text !== undefined) {
      text = new TextDecoder().decode(await readBoundedFile(v.text, MAX_TEXT_BYTES, `--text ${v.text}`));
    } else text = await corpusValidationText(v.data!);
    // a block of a large model takes seconds to minutes: show which one runs (TTY only, stdout stays the result)
    const tty = (globalThis as { process?: { stderr?: { isTTY?: boolean } } }).process?.stderr?.isTTY === true;
    let progress: Progress | undefined;
    const a = await analyzeCheckpoint(dir, {
      onLayer: tty
        ? (l, L) => {
            progress ??= createProgress({ total: L, label: "analyze: blocks" });
            progress.update(l + 1);
            if (l + 1 === L) (progress.done(), (progress = undefined));
          }
        : undefined,
      text,
      tokenizer: v.tokenizer,
      addSpecialTokens: v["add-special-tokens"] ?? false,
      finalState: v["final-state"],
      earlyExit: v["early-exit"],
      seq: v.seq,
      maxTokens: v["max-tokens"],
      tokensPerPass: v["tokens-per-pass"],
      backend: v.backend,
      threads: v.threads,
    });
    if (v.svg !== undefined) {
      try {
        await writeFileAtomic(v.svg, profileSvg(a));
      } catch (e) {
        throw new Error(`cannot write --svg ${v.svg}: ${await describeOutputError(e, v.svg)}; nothing was written`);
      }
    }
    out(v.json ? JSON.stringify(a) : formatAnalysis(a));
    return 0;
  },
);
