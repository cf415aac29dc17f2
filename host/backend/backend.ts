// The op set every backend implements. The model (host/model) is written once
// against this interface; kernels live in the backends (assembly/ for wasm,
// shaders/ for webgpu), never in the model.
//
// The interface is shaped for asynchronous devices (DESIGN.md "Backends"):
// - Ops only *enqueue* work on backend-owned tensors and return nothing. A training
//   step reads nothing back: data-dependent scalars (losses, D_l, R, α·dR/dD_l, the
//   gradient norm, the clip scale, the skip flag, the update count) live in a small
//   device tensor of "step scalars" (layout: `StepSlot`) that later ops consume.
// - `read` captures a tensor's contents at the moment it is called (in queue order)
//   and resolves later, so a caller can enqueue the next step before awaiting it.
//
// Conventions (shared by every backend and by assembly/*.ts and shaders/*.wgsl):
// - Tensors are flat f32 (or i32 for token ids) buffers; shapes are passed per op.
// - No op receives the same tensor (or overlapping views) in two arguments, except
//   ops named `…InPlace`, which bind one tensor read-write (WebGPU rejects a buffer
//   bound read-only and writable in one dispatch).
// - Backward ops ACCUMULATE (+=) into every gradient they produce, like llm.c, so a
//   gradient that several paths feed needs no extra add. Exceptions are documented
//   (`distanceGrad`, `swigluBackward` and `crossEntropyBackwardInPlace` write).
// - `n` counts rows (tokens), `c` is the row width.
// - View offsets are multiples of `capabilities.viewAlignment` bytes.
// - Init values and RoPE tables are made on the host (host/cpu) and uploaded with
//   `write`, so every backend starts from the same bits.

export type DType = "f32" | "i32";

/** A backend-owned buffer (or a view of one). Opaque to the model. */
export interface Tensor {
  readonly length: number;
  readonly dtype: DType;
  readonly label: string;
}

export type MatmulLayout = "nt" | "nn" | "tn";

/**
 * Where matmul operands sit inside their tensors, for products that read or write
 * a column block of a wider matrix (the fused gate|up projection's [tokens, 2·ffn]
 * output and its gradient): element offsets, and row strides (leading dimensions,
 * in elements) of A, B and C as stored. Defaults: offset 0, the dense row length.
 * Offsets need no alignment (they are not views).
 */
export interface MatmulOperands {
  aOffset?: number;
  bOffset?: number;
  cOffset?: number;
  lda?: number;
  ldb?: number;
  ldc?: number;
}

/** Per-token distance between residual states; see DESIGN.md "JREG". */
export const DistanceKind = {
  /** 1 − cos */
  Cosine: 0,
  /** arccos(clamp(cos, −1, 1)) / π, for metrics */
  Angular: 1,
  /** arccos(clamp(cos, −1+1e-7, 1−1e-7)) / π, for the loss (finite gradient) */
  AngularLoss: 2,
} as const;
export type DistanceKind = (typeof DistanceKind)[keyof typeof DistanceKind];

/** What a backend can do; the model and the trainer size their work from it. */
export interface BackendCapabilities {
  /** byte alignment that view offsets must respect (WebGPU: minStorageBufferOffsetAlignment, 256) */
  viewAlignment: number;
  /** largest tensor, in bytes, that one op may bind (WebGPU: maxStorageBufferBindingSize) */
  maxBindingBytes: number;
  /** largest single allocation, in bytes */
  maxBufferBytes: number;
  /** largest workgroup count per dimension (WebGPU: 65,535); Infinity on the CPU */
  maxWorkgroupsPerDimension: number;
  /** f16 arithmetic available (WebGPU `shader-f16`); f32 stays the default everywhere */
  f16: boolean;
  /** the adapter or CPU, in words, for benchmark output */
  device: string;
}

/**
 * Slots of the step-scalar tensor, a small f32 device tensor owned by the trainer
 * (length `stepScalarsLength(L)`). Written and read only by device ops during a
 * step; the host reads a copy asynchronously for metrics.
 */
export const StepSlot = {
  /** mean cross-entropy over the batch */
  Ce: 0,
  /** the regularizer R (before α) */
  R: 1,
  /** CE + α·R (exactly CE when α = 0) */
  Loss: 2,
  /** Σ g² over the whole gradient buffer */
  GradSumSquares: 3,
  /** √GradSumSquares */
  GradNorm: 4,
  /** min(1, clip / (GradNorm + 1e-6)), or 1 without clipping (torch's clip_grad_norm_) */
  ClipScale: 5,
  /** 0: apply the update; 1: non-finite loss; 2: non-finite gradient */
  Skip: 6,
  /** optimizer updates applied so far (AdamW bias correction counts these); persists across steps */
  Updates: 7,
  /** D_1..D_L of the loss distance start here */
  Profile: 8,
} as const;

/** Index of α·dR/dD_l (l = 0..L−1) in the step scalars: after the profile. */
export const coefSlot = (numLayers: number, l: number): number => StepSlot.Profile + numLayers + l;
export const stepScalarsLength = (numLayers: number): number => StepSlot.Profile + 2 * numLayers;

/** How R and its coefficients follow from the profile D_l (model/jreg.ts builds this). */
export interface JregScalarsSpec {
  numLayers: number;
  alpha: number;
  /**
   * R's numerator A = Σ_l numerator[l]·D_l (1/k on the last k transitions, or
   * the user's layer weights).
   */
  numerator: readonly number[];
  /**
   * normalize "middle": Mid = Σ_l denominator[l]·D_l (1/|M| on the middle layers)
   * and R = A / Mid, with the gradient through both; null: R = A.
   */
  denominator: readonly number[] | null;
}

/** Clipping and the skip decision, from the step scalars. */
export interface StepControlSpec {
  /** clip the global gradient norm to this value; 0 disables clipping */
  clip: number;
}

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /**
   * Weight decay applies to elements [0, decayLength) of the parameter buffer
   * (matrices and embeddings, laid out first) and never to the rest (norms).
   */
  decayLength: number;
}

export interface Backend {
  readonly name: "wasm" | "webgpu";
  /** Worker threads (wasm) or 1. */
  readonly threads: number;
  readonly capabilities: BackendCapabilities;

  // ---- memory ----
  alloc(length: number, dtype: DType, label: string): Tensor;
  /** A view of `length` elements of `base` from element `offset` (offset·4 a multiple of viewAlignment). */
  view(base: Tensor, offset: number, length: number, label: string): Tensor;
  /** Releases an allocation (not a view). Neither it nor its views may be used afterwards. */
  free(t: Tensor): void;
  /** Enqueues a copy of host data into `t` at element `offset`. */
  write(t: Tensor, data: Float32Array | Int32Array, offset?: number): void;
  /** A copy of `t` as it is once all work enqueued so far has run (f32 tensors). */
  read(t: Tensor): Promise<Float32Array>;
  /** Bytes of device memory held now. */
  memoryBytes(): number;
  dispose(): Promise<void>;

  // ---- elementwise ----
  fill(t: Tensor, value: number): void;
  copy(dst: Tensor, src: Tensor): void;
  /** dst += src */
  accumulate(dst: Tensor, src: Tensor): void;

  // ---- model ops, forward and backward side by side ----
  embeddingForward(out: Tensor, tokens: Tensor, table: Tensor, n: number, c: number): void;
  embeddingBackward(dtable: Tensor, tokens: Tensor, dout: Tensor, n: number, c: number): void;

  rmsnormForward(out: Tensor, rstd: Tensor, x: Tensor, w: Tensor, n: number, c: number, eps: number): void;
  rmsnormBackward(dx: Tensor, dw: Tensor, dout: Tensor, x: Tensor, w: Tensor, rstd: Tensor, n: number, c: number): void;

  /**
   * C[m,n] (+)= op(A)·op(B): "nt" A[m,k]·B[n,k]ᵀ (forward, HF [out,in] weights),
   * "nn" A[m,k]·B[k,n] (input gradient), "tn" A[k,m]ᵀ·B[k,n] (weight gradient).
   * `operands` places A, B, C inside their tensors (offsets, row strides). Every
   * element of C is the same sum in the same order whatever n, m, the strides and
   * the offsets are, so a fused wider product gives the bits of the separate ones.
   */
  matmul(c: Tensor, a: Tensor, b: Tensor, m: number, n: number, k: number, layout: MatmulLayout, accumulate: boolean, operands?: MatmulOperands): void;

  /**
   * x: [b, t, heads, headDim], rotated in place by the tables cos, sin ([t, headDim/2],
   * made on the host). inverse = false is the forward rotation; inverse = true
   * rotates by the opposite angle, which is the rotation's backward (its transpose).
   */
  ropeInPlace(x: Tensor, cos: Tensor, sin: Tensor, b: number, t: number, heads: number, headDim: number, inverse: boolean): void;

  /**
   * Length (f32 elements) of the state attentionForward saves for the backward.
   * Opaque to the model and linear in t (e.g. a log-sum-exp per query row).
   */
  attentionStateLength(b: number, t: number, heads: number, kvHeads: number, headDim: number): number;
  /** q, out: [b, t, heads, hd]; k, v: [b, t, kvHeads, hd]; causal, GQA as HF repeat_kv. */
  attentionForward(out: Tensor, state: Tensor, q: Tensor, k: Tensor, v: Tensor, b: number, t: number, heads: number, kvHeads: number, headDim: number): void;
  /** Accumulates dq, dk, dv; `out` is the forward's output (flash backward needs rowsum(dout·out)). */
  attentionBackward(dq: Tensor, dk: Tensor, dv: Tensor, dout: Tensor, out: Tensor, state: Tensor, q: Tensor, k: Tensor, v: Tensor, b: number, t: number, heads: number, kvHeads: number, headDim: number): void;

  /** x[i, j] += bias[j] over n rows of width c (Qwen2's q/k/v projection biases). */
  biasAddInPlace(x: Tensor, bias: Tensor, n: number, c: number): void;
  /** dbias[j] += Σ_i dout[i, j], rows summed in order (deterministic). */
  biasBackward(dbias: Tensor, dout: Tensor, n: number, c: number): void;

  /**
   * out[i, j] = silu(g)·u for n rows: gateUp [n, 2f] holds each row's gate (columns
   * [0, f)) then up ([f, 2f)), the fused gate|up projection's output; out [n, f].
   */
  swigluForward(out: Tensor, gateUp: Tensor, n: number, f: number): void;
  /**
   * WRITES dGateUp [n, 2f] (dgate then dup per row, no accumulation) and act [n, f]
   * = silu(g)·u recomputed with swigluForward's bits, so the forward's product need
   * not be kept for the backward.
   */
  swigluBackward(dGateUp: Tensor, act: Tensor, dout: Tensor, gateUp: Tensor, n: number, f: number): void;

  /** losses[i] = logsumexp(logits[i]) − logits[i, targets[i]]; lse saved. */
  crossEntropyForward(losses: Tensor, lse: Tensor, logits: Tensor, targets: Tensor, n: number, v: number): void;
  /** logits ← (softmax(logits) − onehot(targets))·scale, in place (WRITES). */
  crossEntropyBackwardInPlace(logits: Tensor, lse: Tensor, targets: Tensor, n: number, v: number, scale: number): void;

  /** Per-token cos(a, b) = ⟨a,b⟩ / max(‖a‖‖b‖, 1e-8), with the norms saved. */
  cosineForward(cos: Tensor, normA: Tensor, normB: Tensor, a: Tensor, b: Tensor, n: number, c: number): void;
  cosineBackward(da: Tensor, db: Tensor, dcos: Tensor, a: Tensor, b: Tensor, cos: Tensor, normA: Tensor, normB: Tensor, n: number, c: number): void;
  distanceFromCos(out: Tensor, cos: Tensor, n: number, kind: DistanceKind): void;
  /** WRITES dcos = scalars[index] · scale · dD/dcos (the coefficient comes from the device). */
  distanceGrad(dcos: Tensor, cos: Tensor, n: number, kind: DistanceKind, scalars: Tensor, index: number, scale: number): void;

  // ---- reductions into device scalars (deterministic: no float atomics) ----
  /** out[index] = mean(x) */
  meanInto(out: Tensor, index: number, x: Tensor): void;
  /** out[index] = Σ x² */
  sumSquaresInto(out: Tensor, index: number, x: Tensor): void;
  /**
   * From s[Ce] and s[Profile + l]: writes s[R], s[Loss] (= s[Ce] exactly when α = 0)
   * and s[coefSlot(L, l)] = α·dR/dD_l for every l.
   */
  jregScalars(s: Tensor, spec: JregScalarsSpec): void;
  /**
   * From s[Loss] and s[GradSumSquares]: writes s[GradNorm], s[ClipScale] and
   * s[Skip], and adds 1 to s[Updates] unless the step is skipped.
   */
  stepControl(s: Tensor, spec: StepControlSpec): void;

  // ---- optimizer: one fused pass over the whole parameter buffer ----
  /**
   * Unless s[Skip] ≠ 0: g' = g·s[ClipScale], then the AdamW update of p, m, v with
   * bias correction for step s[Updates] (already counting this one).
   */
  adamwStep(p: Tensor, g: Tensor, m: Tensor, v: Tensor, h: AdamWHyper, s: Tensor): void;
  /** Unless s[Skip] ≠ 0: p −= lr·g·s[ClipScale]. */
  sgdStep(p: Tensor, g: Tensor, lr: number, s: Tensor): void;
}
