// A forward-only pass over a checkpoint that streams its weights block by block:
// the embedding (and an untied LM head) and the final norm stay on the device,
// while one block buffer is filled with block l's weights, runs block l, and is
// refilled for block l+1. After each block the driver keeps only what the jump
// profile needs: the per-token cosine distances of the transition h_l → h_{l+1}
// (read back) and final_norm(h_{l+1}) for the early-exit CE. h_l lives only until
// h_{l+1} is made (two residual buffers, swapped).
// The early-exit CE of lm_head(final_norm(h_l)) is the bulk of the work on a large
// vocabulary (the LM head is ~4× a block's flops for Llama-3.2-1B), so the normed
// states of up to `headLayers` consecutive layers are gathered into one buffer and
// run through the LM head together, in chunks of up to `headRows` rows that may
// span layers: fewer, taller matmuls, each of which passes over (and, on wasm,
// packs) the LM head's weights once. Every row's loss is computed alone, so the
// result is the same bits as one layer at a time.
// Peak device memory ≈ one block's weights + embedding/LM head + one block's
// activations + the gathered states [headLayers·tokens, hidden] + one LM-head
// chunk [headRows, vocab].
import { DistanceKind, type Backend, type Tensor } from "../backend/backend.ts";
import type { CpuModule } from "../cpu/cpu-module.ts";
import { CheckpointError } from "../io/checkpoint.ts";
import type { Architecture } from "../io/hf-architecture.ts";
import type { LazyCheckpoint } from "../io/lazy-checkpoint.ts";
import type { LayerActivations } from "../model/activations.ts";
import { headDim, type ModelConfig } from "../model/config.ts";
import { blockForward, headCrossEntropy, type BlockContext } from "../model/llama.ts";
import { parameterSpecs } from "../model/parameters.ts";
import { PARAMETER_ALIGNMENT, type LayerWeights } from "../model/weights.ts";

/** Which state ends the profile: h_L itself (DESIGN.md) or final_norm(h_L) (HF's hidden_states[-1]). */
export type FinalState = "pre-norm" | "post-norm";

/** Token windows: `batch` sequences of `seq` inputs each, with their next-token targets. */
export interface TokenWindows {
  batch: number;
  seq: number;
  inputs: Int32Array;
  targets: Int32Array;
}

export interface StreamingOptions {
  finalState?: FinalState;
  /** most LM-head rows per chunk (default: as many as fit 256 MiB of logits, a multiple of 64) */
  headRows?: number;
  /** layers whose early-exit states go through the LM head together (default: as many as fit 128 MiB of states) */
  headLayers?: number;
  /** false: skip the early-exit CE of layers 1..L−1 (the LM head runs once, for the model's CE) */
  earlyExit?: boolean;
  /** called after each block with its index (0-based), for progress */
  onLayer?: (l: number) => void;
  /**
   * Receives every hidden state, [tokens, hidden] read back: h_0 (the embedding)
   * and h_l after block l, the last one after the final norm with finalState
   * "post-norm" (the layer probe's features).
   */
  onHiddenState?: (l: number, h: Float32Array) => void;
}

export interface LayerwiseOutputs {
  tokens: number;
  /** per transition l = 1..L: per-token distance, [L][tokens] */
  angular: Float32Array[];
  cosine: Float32Array[];
  /** CE of lm_head(final_norm(h_l)), l = 1..L (pre-norm h_l; the last is the model's CE); null with earlyExit false */
  earlyExitCe: number[] | null;
  /** the model's CE (mean over tokens) */
  ce: number;
  /** per-token CE of the model (final layer) */
  losses: Float32Array;
  /** device memory held at the peak (after every buffer was allocated), bytes */
  deviceBytes: number;
}

/**
 * Logits per LM-head chunk. On wasm every chunk packs the whole LM head (1 GiB for
 * a 128k × 2048 head) and streams it from memory once per 64 rows of each thread's
 * share, so tall chunks matter: at 128 rows the 1B head ran at ~9 GFLOP/s, at 512
 * at ~25 (2 threads, bench/analyze-1b.mjs machine).
 */
const HEAD_CHUNK_BYTES = 256 * 2 ** 20;
/** Normed states gathered for the early-exit LM head (all 16 layers of 1,000 tokens at hidden 2048). */
const EXIT_STATES_BYTES = 128 * 2 ** 20;
const INV_FREQ = /^model\.layers\.\d+\.self_attn\.rotary_emb\.inv_freq$/;

/** One block's tensors: [name suffix, shape, LayerWeights key]. */
function blockSpecs(c: ModelConfig, qkvBias: boolean): Array<{ suffix: string; shape: number[]; key: keyof LayerWeights }> {
  const d = c.hiddenSize;
  const kv = c.numKvHeads * headDim(c);
  const ff = c.intermediateSize;
  const specs: Array<{ suffix: string; shape: number[]; key: keyof LayerWeights }> = [
    { suffix: "input_layernorm.weight", shape: [d], key: "inputNorm" },
    { suffix: "self_attn.q_proj.weight", shape: [d, d], key: "q" },
    { suffix: "self_attn.k_proj.weight", shape: [kv, d], key: "k" },
    { suffix: "self_attn.v_proj.weight", shape: [kv, d], key: "v" },
    { suffix: "self_attn.o_proj.weight", shape: [d, d], key: "o" },
    { suffix: "post_attention_layernorm.weight", shape: [d], key: "postAttentionNorm" },
    { suffix: "mlp.gate_proj.weight", shape: [ff, d], key: "gate" },
    { suffix: "mlp.up_proj.weight", shape: [ff, d], key: "up" },
    { suffix: "mlp.down_proj.weight", shape: [d, ff], key: "down" },
  ];
  if (qkvBias) {
    specs.push(
      { suffix: "self_attn.q_proj.bias", shape: [d], key: "qBias" },
      { suffix: "self_attn.k_proj.bias", shape: [kv], key: "kBias" },
      { suffix: "self_attn.v_proj.bias", shape: [kv], key: "vBias" },
    );
  }
  return specs;
}

/**
 * Checks the checkpoint's tensor names against the architecture before anything
 * is uploaded: every tensor present, nothing unexpected (a bias the config does not
 * declare would otherwise be silently dropped).
 */
export function checkTensorNames(ckpt: LazyCheckpoint, arch: Architecture): void {
  const c = arch.config;
  const expected = new Set(parameterSpecs(c).map((s) => s.name));
  if (arch.qkvBias) {
    for (let l = 0; l < c.numLayers; l++) for (const p of ["q", "k", "v"]) expected.add(`model.layers.${l}.self_attn.${p}_proj.bias`);
  }
  const names = new Set(ckpt.names());
  const missing = [...expected].filter((n) => !names.has(n));
  if (missing.length > 0) throw new CheckpointError(`${ckpt.dir}: missing tensor${missing.length > 1 ? "s" : ""} ${missing.slice(0, 5).join(", ")}${missing.length > 5 ? ` and ${missing.length - 5} more` : ""}`);
  const extra = [...names].filter((n) => !expected.has(n) && !INV_FREQ.test(n) && !(c.tiedEmbeddings && n === "lm_head.weight"));
  if (extra.length > 0) {
    throw new CheckpointError(
      `${ckpt.dir}: unexpected tensor${extra.length > 1 ? "s" : ""} ${extra.slice(0, 5).join(", ")}${extra.length > 5 ? ` and ${extra.length - 5} more` : ""} ` +
        `for model_type "${arch.modelType}" (the engine's block has ${arch.qkvBias ? "q/k/v biases and no other" : "no"} biases or extra tensors)`,
    );
  }
}

/** Rows per LM-head chunk: all rows if they fit, else a multiple of 64 within the byte budget and the binding limit. */
function headRowsFor(be: Backend, rows: number, vocab: number, requested?: number): number {
  const limit = Math.min(be.capabilities.maxBindingBytes, be.capabilities.maxBufferBytes, HEAD_CHUNK_BYTES);
  let r = requested ?? Math.floor(limit / (vocab * 4));
  if (r >= rows) return rows;
  r = Math.max(64, Math.floor(r / 64) * 64);
  return Math.min(r, rows);
}

/**
 * LM-head chunks over `slots` layer slots of `stride` rows, each holding `tokens`
 * real rows then padding (the stride keeps every slot's views aligned). A chunk
 * has at most `headRows` rows, starts on a slot start or `headRows` after its
 * previous chunk's start (both multiples of 64), may span slots (then it computes
 * the padding rows between them, which hold zeros), and never ends in padding.
 */
export function exitChunks(tokens: number, stride: number, slots: number, headRows: number): Array<{ start: number; rows: number }> {
  const out: Array<{ start: number; rows: number }> = [];
  const total = slots * stride;
  let s = 0;
  while (s < total) {
    const slot = Math.floor(s / stride);
    if (s >= slot * stride + tokens) {
      s = (slot + 1) * stride;
      continue;
    }
    const endSlot = Math.floor((Math.min(s + headRows, total) - 1) / stride);
    const e = Math.min(s + headRows, endSlot * stride + tokens);
    out.push({ start: s, rows: e - s });
    s = e;
  }
  return out;
}

/** Uploads a 2-D [rows, width] checkpoint tensor in slices of about 16 MiB of f32. */
async function uploadRows(be: Backend, ckpt: LazyCheckpoint, name: string, t: Tensor, shape: [number, number]): Promise<void> {
  const [rows, width] = shape;
  if (ckpt.shape(name).join(",") !== shape.join(",")) {
    throw new CheckpointError(`${ckpt.dir}: tensor ${name} has shape [${ckpt.shape(name).join(", ")}], expected [${shape.join(", ")}]`);
  }
  const step = Math.max(1, Math.floor((16 * 2 ** 20) / (width * 4)));
  for (let r = 0; r < rows; r += step) {
    const n = Math.min(step, rows - r);
    be.write(t, await ckpt.readRows(name, r, n), r * width);
  }
}

/** Runs the model over `w` block by block; returns the per-token distances and the early-exit CE of every layer. */
export async function streamingForward(be: Backend, cpu: CpuModule, ckpt: LazyCheckpoint, w: TokenWindows, opts: StreamingOptions = {}): Promise<LayerwiseOutputs> {
  const arch = ckpt.architecture;
  const c = arch.config;
  const { batch: B, seq: T } = w;
  const N = B * T;
  const C = c.hiddenSize;
  const V = c.vocabSize;
  const L = c.numLayers;
  const hd = headDim(c);
  const finalState = opts.finalState ?? "pre-norm";
  checkTensorNames(ckpt, arch);

  const owned: Tensor[] = [];
  const f = (len: number, label: string, dtype: "f32" | "i32" = "f32") => {
    const t = be.alloc(len, dtype, label);
    owned.push(t);
    return t;
  };
  try {
    // resident weights: embedding, LM head (untied), final norm
    const embed = f(V * C, "embed");
    await uploadRows(be, ckpt, "model.embed_tokens.weight", embed, [V, C]);
    let lmHead = embed;
    if (!c.tiedEmbeddings) {
      lmHead = f(V * C, "lm_head");
      await uploadRows(be, ckpt, "lm_head.weight", lmHead, [V, C]);
    }
    const finalNorm = f(C, "final norm");
    be.write(finalNorm, await ckpt.read("model.norm.weight", [C]));

    // one block buffer, views at 256-byte aligned offsets, refilled per block
    const specs = blockSpecs(c, arch.qkvBias);
    const sizes = specs.map((s) => s.shape.reduce((a, b) => a * b, 1));
    const offsets: number[] = [];
    let total = 0;
    for (const size of sizes) {
      offsets.push(total);
      total += Math.ceil(size / PARAMETER_ALIGNMENT) * PARAMETER_ALIGNMENT;
    }
    const blockBuffer = f(total, "block weights");
    const lw = {} as Record<keyof LayerWeights, Tensor>;
    specs.forEach((s, i) => (lw[s.key] = be.view(blockBuffer, offsets[i]!, sizes[i]!, `block:${s.suffix}`)));

    // one block's activations and the loss head's
    const qw = c.numHeads * hd;
    const kvw = c.numKvHeads * hd;
    const F = c.intermediateSize;
    const la: LayerActivations = {
      ln1: f(N * C, "ln1"),
      ln1Rstd: f(N, "ln1Rstd"),
      q: f(N * qw, "q"),
      k: f(N * kvw, "k"),
      v: f(N * kvw, "v"),
      attState: f(be.attentionStateLength(B, T, c.numHeads, c.numKvHeads, hd), "attState"),
      att: f(N * qw, "att"),
      hMid: f(N * C, "hMid"),
      ln2: f(N * C, "ln2"),
      ln2Rstd: f(N, "ln2Rstd"),
      gateUp: f(2 * N * F, "gateUp"),
      act: f(N * F, "act"),
    };
    // the early-exit states: `G` slots of `stride` rows (N real, the rest zeros), one per layer of a group
    const earlyExit = opts.earlyExit ?? true;
    const rowAlign = be.capabilities.viewAlignment / 4;
    const stride = Math.ceil(N / rowAlign) * rowAlign;
    const slotBytes = stride * C * 4;
    const statesLimit = Math.min(EXIT_STATES_BYTES, be.capabilities.maxBufferBytes);
    const requestedLayers = opts.headLayers;
    if (requestedLayers !== undefined && (!Number.isInteger(requestedLayers) || requestedLayers < 1)) throw new RangeError(`headLayers must be a positive integer, got ${requestedLayers}`);
    const G = earlyExit ? Math.min(L, requestedLayers ?? Math.max(1, Math.floor(statesLimit / slotBytes))) : 1;
    const headRows = headRowsFor(be, G * stride, V, opts.headRows);
    const head = {
      lnf: f(G * stride * C, "early-exit states"),
      lnfRstd: f(G * stride, "early-exit rstd"),
      logits: f(headRows * V, "logits"),
      losses: f(G * stride, "losses"),
      lse: f(G * stride, "lse"),
      targets: f(G * stride, "targets", "i32"),
    };
    be.fill(head.lnf, 0);
    const slotTargets = new Int32Array(G * stride);
    for (let j = 0; j < G; j++) slotTargets.set(w.targets, j * stride);
    const slot = (t: Tensor, j: number, width: number, label: string) => be.view(t, j * stride * width, N * width, `${label}[layer slot ${j}]`);
    const slots = Array.from({ length: G }, (_, j) => ({
      lnf: slot(head.lnf, j, C, "early-exit states"),
      rstd: slot(head.lnfRstd, j, 1, "early-exit rstd"),
      losses: slot(head.losses, j, 1, "losses"),
    }));
    const inputs = f(N, "inputs", "i32");
    const ctx: BlockContext = { batch: B, seq: T, tokens: N, ropeCos: f(T * (hd / 2), "ropeCos"), ropeSin: f(T * (hd / 2), "ropeSin") };
    const { cos: ropeCos, sin: ropeSin } = cpu.ropeTables(T, hd, c.ropeTheta, arch.ropeScaling);
    be.write(ctx.ropeCos, ropeCos);
    be.write(ctx.ropeSin, ropeSin);
    let hIn = f(N * C, "h_a");
    let hOut = f(N * C, "h_b");
    const cosT = f(N, "cos");
    const normA = f(N, "normA");
    const normB = f(N, "normB");
    const distance = f(N, "distance");
    const scalars = f(L, "early-exit CE");
    be.fill(scalars, 0);
    be.write(inputs, w.inputs);
    be.write(head.targets, slotTargets);
    const deviceBytes = be.memoryBytes();

    const angular: Promise<Float32Array>[] = [];
    const cosine: Promise<Float32Array>[] = [];
    let losses: Promise<Float32Array> | undefined;
    be.embeddingForward(hIn, inputs, embed, N, C);
    const states: Promise<void>[] = [];
    const keepState = (l: number, t: Tensor) => {
      const cb = opts.onHiddenState;
      if (cb) states.push(be.read(t).then((h) => cb(l, h)));
    };
    keepState(0, hIn);
    // the layer in slot 0 of the group being gathered (without early exit, only the last layer is)
    let first = earlyExit ? 0 : L - 1;
    for (let l = 0; l < L; l++) {
      for (let i = 0; i < specs.length; i++) {
        const s = specs[i]!;
        be.write(lw[s.key], await ckpt.read(`model.layers.${l}.${s.suffix}`, s.shape));
      }
      blockForward(be, c, lw as unknown as LayerWeights, la, ctx, hIn, hOut);
      const last = l === L - 1;
      // final_norm(h_{l+1}) into its slot; for the last block this is the model's own head input
      const j = l - first;
      if (earlyExit || last) be.rmsnormForward(slots[j]!.lnf, slots[j]!.rstd, hOut, finalNorm, N, C, c.rmsEps);
      const to = last && finalState === "post-norm" ? slots[j]!.lnf : hOut;
      keepState(l + 1, to);
      be.cosineForward(cosT, normA, normB, hIn, to, N, C);
      be.distanceFromCos(distance, cosT, N, DistanceKind.Angular);
      angular.push(be.read(distance));
      be.distanceFromCos(distance, cosT, N, DistanceKind.Cosine);
      cosine.push(be.read(distance));
      if ((earlyExit && j === G - 1) || last) {
        // the LM head over the gathered layers first..l at once
        headCrossEntropy(be, c, { lmHead }, head, exitChunks(N, stride, j + 1, headRows));
        for (let k = 0; k <= j; k++) be.meanInto(scalars, first + k, slots[k]!.losses);
        if (last) losses = be.read(slots[j]!.losses);
        first = l + 1;
      }
      [hIn, hOut] = [hOut, hIn];
      opts.onLayer?.(l);
    }
    const ces = Array.from(await be.read(scalars));
    await Promise.all(states);
    return {
      tokens: N,
      angular: await Promise.all(angular),
      cosine: await Promise.all(cosine),
      earlyExitCe: earlyExit ? ces : null,
      ce: ces[L - 1]!,
      losses: await losses!,
      deviceBytes,
    };
  } finally {
    for (let i = owned.length - 1; i >= 0; i--) be.free(owned[i]!);
  }
}
