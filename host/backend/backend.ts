// The op set every backend implements. The model (host/model) is written once
// against this interface; kernels live in the backends (assembly/ for wasm,
// shaders/ for webgpu), never in the model.
//
// The interface is shaped for asynchronous devices: ops only *enqueue* work on
// backend-owned tensors and return nothing; results come back through an explicit,
// awaited `read` or reduction. The wasm backend simply runs each op at once.
//
// Conventions (shared by every backend and by assembly/*.ts):
// - Tensors are flat f32 (or i32 for token ids) buffers; shapes are passed per op.
// - Backward ops ACCUMULATE (+=) into every gradient they produce, like llm.c, so a
//   gradient that several paths feed needs no extra add. Exceptions are named
//   `…Write` or documented: crossEntropyBackward and distanceGrad write.
// - `n` counts rows (tokens), `c` is the row width.

export type DType = "f32" | "i32";

/** A backend-owned buffer (or a view of one). Opaque to the model. */
export interface Tensor {
  readonly length: number;
  readonly dtype: DType;
  readonly label: string;
}

export type MatmulLayout = "nt" | "nn" | "tn";

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

export interface AdamWHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** 1-based step count for bias correction */
  step: number;
}

export interface Backend {
  readonly name: "wasm" | "webgpu";
  /** Worker threads (wasm) or 1. */
  readonly threads: number;

  // ---- memory ----
  alloc(length: number, dtype: DType, label: string): Tensor;
  /** A view of `length` elements of `base` starting at element `offset`. */
  view(base: Tensor, offset: number, length: number, label: string): Tensor;
  /** Enqueues a copy of host data into `t` at element `offset`. */
  write(t: Tensor, data: Float32Array | Int32Array, offset?: number): void;
  /** Waits for all enqueued work and returns a copy of `t`. */
  read(t: Tensor): Promise<Float32Array>;
  readInt(t: Tensor): Promise<Int32Array>;
  /** Waits for all enqueued work. */
  sync(): Promise<void>;
  /** Bytes of device memory reserved so far. */
  memoryBytes(): number;
  dispose(): Promise<void>;

  // ---- elementwise ----
  fill(t: Tensor, value: number): void;
  copy(dst: Tensor, src: Tensor): void;
  add(out: Tensor, a: Tensor, b: Tensor): void;
  /** dst += src */
  accumulate(dst: Tensor, src: Tensor): void;
  scale(t: Tensor, s: number): void;
  initNormal(t: Tensor, std: number, seed: number, stream: number): void;

  // ---- model ops, forward and backward side by side ----
  embeddingForward(out: Tensor, tokens: Tensor, table: Tensor, n: number, c: number): void;
  embeddingBackward(dtable: Tensor, tokens: Tensor, dout: Tensor, n: number, c: number): void;

  rmsnormForward(out: Tensor, rstd: Tensor, x: Tensor, w: Tensor, n: number, c: number, eps: number): void;
  rmsnormBackward(dx: Tensor, dw: Tensor, dout: Tensor, x: Tensor, w: Tensor, rstd: Tensor, n: number, c: number): void;

  /**
   * C[m,n] (+)= op(A)·op(B): "nt" A[m,k]·B[n,k]ᵀ (forward, HF [out,in] weights),
   * "nn" A[m,k]·B[k,n] (input gradient), "tn" A[k,m]ᵀ·B[k,n] (weight gradient).
   */
  matmul(c: Tensor, a: Tensor, b: Tensor, m: number, n: number, k: number, layout: MatmulLayout, accumulate: boolean): void;

  ropeTable(cos: Tensor, sin: Tensor, t: number, headDim: number, theta: number): void;
  /** x, out: [b, t, heads, headDim]; out may be x. */
  ropeForward(out: Tensor, x: Tensor, cos: Tensor, sin: Tensor, b: number, t: number, heads: number, headDim: number): void;
  ropeBackward(dx: Tensor, dout: Tensor, cos: Tensor, sin: Tensor, b: number, t: number, heads: number, headDim: number): void;

  /** q, out: [b, t, heads, hd]; k, v: [b, t, kvHeads, hd]; probs: [b, heads, t, t]. */
  attentionForward(out: Tensor, probs: Tensor, q: Tensor, k: Tensor, v: Tensor, b: number, t: number, heads: number, kvHeads: number, headDim: number): void;
  attentionBackward(dq: Tensor, dk: Tensor, dv: Tensor, dout: Tensor, probs: Tensor, q: Tensor, k: Tensor, v: Tensor, b: number, t: number, heads: number, kvHeads: number, headDim: number): void;

  swigluForward(out: Tensor, gate: Tensor, up: Tensor, n: number): void;
  swigluBackward(dgate: Tensor, dup: Tensor, dout: Tensor, gate: Tensor, up: Tensor, n: number): void;

  /** losses[i] = logsumexp(logits[i]) − logits[i, targets[i]]; lse saved. */
  crossEntropyForward(losses: Tensor, lse: Tensor, logits: Tensor, targets: Tensor, n: number, v: number): void;
  /** WRITES dlogits = (softmax − onehot)·scale; dlogits may be logits. */
  crossEntropyBackward(dlogits: Tensor, logits: Tensor, lse: Tensor, targets: Tensor, n: number, v: number, scale: number): void;

  /** Per-token cos(a, b) = ⟨a,b⟩ / max(‖a‖‖b‖, 1e-8), with the norms saved. */
  cosineForward(cos: Tensor, normA: Tensor, normB: Tensor, a: Tensor, b: Tensor, n: number, c: number): void;
  cosineBackward(da: Tensor, db: Tensor, dcos: Tensor, a: Tensor, b: Tensor, cos: Tensor, normA: Tensor, normB: Tensor, n: number, c: number): void;
  distanceFromCos(out: Tensor, cos: Tensor, n: number, kind: DistanceKind): void;
  /** WRITES dcos = scale · dD/dcos. */
  distanceGrad(dcos: Tensor, cos: Tensor, n: number, kind: DistanceKind, scale: number): void;

  // ---- optimizer ----
  adamwStep(p: Tensor, g: Tensor, m: Tensor, v: Tensor, h: AdamWHyper): void;
  sgdStep(p: Tensor, g: Tensor, lr: number): void;

  // ---- reductions (awaited: they read back one number) ----
  sumSquares(t: Tensor): Promise<number>;
  mean(t: Tensor): Promise<number>;
}
