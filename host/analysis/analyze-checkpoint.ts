// `analyzeCheckpoint`: the jump profile of a Hugging Face checkpoint on a text or
// token ids, computed by the layer-streaming forward (streaming-forward.ts) so
// that a model far larger than the memory its f32 weights would need is analysable.
// The tokens are cut into windows of `seq` tokens (one batch row each, the tail
// that does not fill a window is dropped); every statistic is over all windows' tokens.
// Long texts run as several streaming passes of at most `tokensPerPass` tokens.
import type { Backend } from "../backend/backend.ts";
import { loadCpuModule } from "../cpu/cpu-module.ts";
import { createBackend, type BackendName } from "../engine.ts";
import { LazyCheckpoint } from "../io/lazy-checkpoint.ts";
import { jumpStrength } from "../model/jreg.ts";
import { loadTokenizerFile } from "../tokenizer/load-file.ts";
import type { Tokenizer } from "../tokenizer/tokenizer.ts";
import { tokenizerSummary, type TokenizerSummary } from "../tokenizer/summary.ts";
import { tokenStats, type TokenStats } from "./jump-profile.ts";
import { streamingForward, type FinalState, type LayerwiseOutputs, type TokenWindows } from "./streaming-forward.ts";

export type { FinalState } from "./streaming-forward.ts";

export interface AnalyzeOptions {
  /** text to analyse, tokenized with `tokenizer` (default: the checkpoint's tokenizer.json) */
  text?: string;
  /** token ids to analyse instead of a text */
  tokens?: ArrayLike<number>;
  tokenizer?: Tokenizer | string;
  /** wrap the text in the tokenizer's post-processor special tokens (e.g. BOS), as HF's add_special_tokens (default false) */
  addSpecialTokens?: boolean;
  /** default "pre-norm": the last transition ends at h_L; "post-norm": at final_norm(h_L), as HF's hidden_states[-1] */
  finalState?: FinalState;
  /** tokens per window (default: min(1024, max_position_embeddings, the text)) */
  seq?: number;
  /** use at most this many tokens (default: all) */
  maxTokens?: number;
  /** a backend to run on (not disposed), or a name (default "wasm") */
  backend?: Backend | BackendName;
  threads?: number;
  /** most LM-head rows per chunk */
  headRows?: number;
  /** layers whose early-exit states run through the LM head together (default: as many as fit 128 MiB) */
  headLayers?: number;
  /**
   * default true; false skips the early-exit CE of layers 1..L−1 (early_exit_ce is
   * null, ce is still computed): on a large vocabulary the LM head on every h_l is
   * most of the work, the jump profile alone needs it once
   */
  earlyExit?: boolean;
  /**
   * tokens per streaming pass (default 4,096, at least one window): more windows
   * than this run as several passes over the weights, so activation memory stays
   * bounded however long the text is
   */
  tokensPerPass?: number;
  onLayer?: (l: number, layers: number) => void;
}

export interface CheckpointAnalysis {
  checkpoint: string;
  model_type: string;
  final_state: FinalState;
  backend: string;
  /** tokens scored (windows × seq) */
  tokens: number;
  windows: number;
  seq: number;
  /** per transition l = 1..L (the last one ends at the chosen final state) */
  D_angular: number[];
  D_cosine: number[];
  J_angular: number;
  J_cosine: number;
  /** CE of lm_head(final_norm(h_l)), l = 1..L; the last is the model's CE; null when earlyExit was false */
  early_exit_ce: number[] | null;
  ce: number;
  per_token: { angular: TokenStats[]; cosine: TokenStats[] };
  /** device memory the pass held, bytes */
  device_bytes: number;
  /** what tokenized the text, and whether its post-processor's special tokens were added (null when tokens were given) */
  tokenizer: (TokenizerSummary & { add_special_tokens: boolean }) | null;
}

export class AnalyzeError extends Error {
  override name = "AnalyzeError";
}

const DEFAULT_SEQ = 1024;
const DEFAULT_TOKENS_PER_PASS = 4096;

/** Windows [first, first + count) of w. */
function sliceWindows(w: TokenWindows, first: number, count: number): TokenWindows {
  const a = first * w.seq;
  const b = (first + count) * w.seq;
  return { batch: count, seq: w.seq, inputs: w.inputs.subarray(a, b), targets: w.targets.subarray(a, b) };
}

function concat(parts: Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

async function tokensOf(ckpt: LazyCheckpoint, o: AnalyzeOptions): Promise<{ ids: ArrayLike<number>; tokenizer: CheckpointAnalysis["tokenizer"] }> {
  if ((o.text === undefined) === (o.tokens === undefined)) throw new AnalyzeError("analyze: give exactly one of text or tokens");
  if (o.addSpecialTokens !== undefined && typeof o.addSpecialTokens !== "boolean") throw new AnalyzeError(`analyze: addSpecialTokens must be true or false, got ${JSON.stringify(o.addSpecialTokens)}`);
  if (o.tokens !== undefined) return { ids: o.tokens, tokenizer: null };
  let tok = o.tokenizer;
  if (tok === undefined || typeof tok === "string") {
    const path = tok ?? ckpt.dir;
    try {
      tok = await loadTokenizerFile(path);
    } catch (e) {
      throw new AnalyzeError(`analyze: no tokenizer for ${ckpt.dir} (${(e as Error).message}); pass a tokenizer (CLI: --tokenizer PATH)`);
    }
  }
  const addSpecialTokens = o.addSpecialTokens ?? false;
  return { ids: tok.encode(o.text!, { addSpecialTokens }), tokenizer: { ...tokenizerSummary(tok), add_special_tokens: addSpecialTokens } };
}

/** Cuts ids into windows of `seq` inputs with next-token targets. */
function windowsOf(ids: ArrayLike<number>, seq: number, vocab: number): TokenWindows {
  const batch = Math.floor((ids.length - 1) / seq);
  const inputs = new Int32Array(batch * seq);
  const targets = new Int32Array(batch * seq);
  for (let b = 0; b < batch; b++) {
    for (let t = 0; t < seq; t++) {
      inputs[b * seq + t] = ids[b * seq + t]!;
      targets[b * seq + t] = ids[b * seq + t + 1]!;
    }
  }
  for (let i = 0; i < Math.min(ids.length, batch * seq + 1); i++) {
    const id = ids[i]!;
    if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new AnalyzeError(`analyze: token ${i} is ${id}, outside the model's vocabulary [0, ${vocab})`);
  }
  return { batch, seq, inputs, targets };
}

/** The jump profile and early-exit CE of the checkpoint in `dir` (streams the weights block by block). */
export async function analyzeCheckpoint(dir: string, o: AnalyzeOptions = {}): Promise<CheckpointAnalysis> {
  const finalState = o.finalState ?? "pre-norm";
  const earlyExit = o.earlyExit ?? true;
  if (typeof earlyExit !== "boolean") throw new AnalyzeError(`analyze: earlyExit must be true or false, got ${JSON.stringify(earlyExit)}`);
  if (o.headLayers !== undefined && (!Number.isInteger(o.headLayers) || o.headLayers < 1)) throw new AnalyzeError(`analyze: headLayers must be a positive integer, got ${o.headLayers}`);
  if (finalState !== "pre-norm" && finalState !== "post-norm") throw new AnalyzeError(`analyze: finalState must be "pre-norm" or "post-norm", got ${JSON.stringify(finalState)}`);
  const ckpt = await LazyCheckpoint.open(dir);
  try {
    const arch = ckpt.architecture;
    const c = arch.config;
    const tokenized = await tokensOf(ckpt, o);
    let ids = tokenized.ids;
    if (o.maxTokens !== undefined) ids = Array.prototype.slice.call(ids, 0, o.maxTokens + 1) as number[];
    if (ids.length < 2) throw new AnalyzeError(`analyze: the text has ${ids.length} token${ids.length === 1 ? "" : "s"}; at least 2 are needed (one input and its next token)`);
    const seq = o.seq ?? Math.min(DEFAULT_SEQ, c.maxSeqLen, ids.length - 1);
    if (!Number.isInteger(seq) || seq < 1) throw new AnalyzeError(`analyze: seq must be a positive integer, got ${seq}`);
    if (seq > c.maxSeqLen) throw new AnalyzeError(`analyze: seq ${seq} exceeds max_position_embeddings ${c.maxSeqLen}`);
    if (arch.slidingWindow !== null && seq > arch.slidingWindow) {
      throw new AnalyzeError(
        `analyze: the window of ${seq} tokens is longer than the model's sliding_window of ${arch.slidingWindow}; ` +
          `sliding-window attention past it is not implemented (use seq ≤ ${arch.slidingWindow}, CLI: --seq)`,
      );
    }
    if (seq > ids.length - 1) throw new AnalyzeError(`analyze: seq ${seq} needs ${seq + 1} tokens, the text has ${ids.length}`);
    const w = windowsOf(ids, seq, c.vocabSize);

    const be = typeof o.backend === "object" ? o.backend : await createBackend(o.backend ?? "wasm", { threads: o.threads });
    try {
      const cpu = await loadCpuModule();
      const perPass = Math.max(1, Math.floor((o.tokensPerPass ?? DEFAULT_TOKENS_PER_PASS) / seq));
      const passes: LayerwiseOutputs[] = [];
      for (let first = 0; first < w.batch; first += perPass) {
        const part = sliceWindows(w, first, Math.min(perPass, w.batch - first));
        passes.push(
          await streamingForward(be, cpu, ckpt, part, { finalState, headRows: o.headRows, headLayers: o.headLayers, earlyExit, onLayer: (l) => o.onLayer?.(l, c.numLayers) }),
        );
      }
      const L = c.numLayers;
      const tokens = passes.reduce((n, p) => n + p.tokens, 0);
      const layerwise = (get: (p: LayerwiseOutputs) => Float32Array[]) => Array.from({ length: L }, (_, l) => concat(passes.map((p) => get(p)[l]!)));
      // each pass's CE is its token mean; the whole text's is their token-weighted mean
      const tokenMean = (get: (p: LayerwiseOutputs) => number) => passes.reduce((s, p) => s + get(p) * p.tokens, 0) / tokens;
      const earlyExitCe = earlyExit ? Array.from({ length: L }, (_, l) => tokenMean((p) => p.earlyExitCe![l]!)) : null;
      const r = { tokens, earlyExitCe, ce: tokenMean((p) => p.ce), deviceBytes: Math.max(...passes.map((p) => p.deviceBytes)) };
      const angular = tokenStats(cpu, layerwise((p) => p.angular), "angular");
      const cosine = tokenStats(cpu, layerwise((p) => p.cosine), "cosine");
      const D_angular = angular.map((t) => t.mean);
      const D_cosine = cosine.map((t) => t.mean);
      return {
        checkpoint: dir,
        model_type: arch.modelType,
        final_state: finalState,
        backend: be.name,
        tokens: r.tokens,
        windows: w.batch,
        seq,
        D_angular,
        D_cosine,
        J_angular: jumpStrength(D_angular),
        J_cosine: jumpStrength(D_cosine),
        early_exit_ce: r.earlyExitCe,
        ce: r.ce,
        per_token: { angular, cosine },
        device_bytes: r.deviceBytes,
        tokenizer: tokenized.tokenizer,
      };
    } finally {
      if (typeof o.backend !== "object") await be.dispose();
    }
  } finally {
    await ckpt.close();
  }
}
