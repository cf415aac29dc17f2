// A linear probe: multinomial logistic regression from feature vectors to class
// ids, trained with the engine's own ops through the Backend interface (matmul,
// bias add, cross-entropy forward and backward, AdamW), so no second ML stack.
// The host only orchestrates: it standardizes the features (f64 statistics of the
// training rows), gathers each minibatch's rows in a seeded order and uploads
// them, and takes the argmax of the read-back logits for accuracy.
//
// Model: logits = x·Wᵀ + b, W [classes, d] (HF [out, in] layout, matmul "nt"),
// b [classes]; loss = mean cross-entropy of the minibatch. W and b start at zero
// (the problem is convex; zero is an init every implementation reproduces).
// Optimizer: AdamW as the trainer's (decoupled decay on W only, never on b),
// constant learning rate, no clipping. Minibatches: each epoch visits the
// training rows in epochPermutation(n, seed, epoch) order (the data sampler's
// shuffle), in consecutive slices of batchSize (the last one may be shorter).
import { StepSlot, type AdamWHyper, type Backend, type Tensor } from "../backend/backend.ts";
import { epochPermutation } from "../data/sampler.ts";

export interface LinearProbeOptions {
  /** passes over the training rows (default 10) */
  epochs: number;
  /** AdamW learning rate, constant (default 0.01) */
  lr: number;
  /** AdamW decoupled weight decay on W (default 0.01) */
  weightDecay: number;
  /** rows per optimizer step (default 256) */
  batchSize: number;
  /** seeds the minibatch order (default 0) */
  seed: number;
  beta1: number;
  beta2: number;
  eps: number;
}

export const DEFAULT_LINEAR_PROBE: Readonly<LinearProbeOptions> = Object.freeze({
  epochs: 10,
  lr: 0.01,
  weightDecay: 0.01,
  batchSize: 256,
  seed: 0,
  beta1: 0.9,
  beta2: 0.999,
  eps: 1e-8,
});

/** Rows of features (row-major n × d) with a class id per row (−1: a class the probe never saw). */
export interface ProbeRows {
  features: Float32Array;
  labels: Int32Array;
  n: number;
  d: number;
}

export interface LinearProbe {
  /** [classes, d] */
  weights: Float32Array;
  /** [classes] */
  bias: Float32Array;
  classes: number;
  d: number;
}

export class ProbeError extends Error {
  override name = "ProbeError";
}

export function validateLinearProbeOptions(o: Partial<LinearProbeOptions>): LinearProbeOptions {
  const pick = <K extends keyof LinearProbeOptions>(k: K): LinearProbeOptions[K] => o[k] ?? DEFAULT_LINEAR_PROBE[k];
  const r: LinearProbeOptions = {
    epochs: pick("epochs"), lr: pick("lr"), weightDecay: pick("weightDecay"), batchSize: pick("batchSize"),
    seed: pick("seed"), beta1: pick("beta1"), beta2: pick("beta2"), eps: pick("eps"),
  };
  const need = (ok: boolean, field: string, what: string, v: unknown) => {
    if (!ok) throw new ProbeError(`probe: ${field} must be ${what}, got ${JSON.stringify(v)}`);
  };
  need(Number.isInteger(r.epochs) && r.epochs >= 1, "epochs", "an integer ≥ 1", r.epochs);
  need(Number.isFinite(r.lr) && r.lr > 0, "lr", "a number > 0", r.lr);
  need(Number.isFinite(r.weightDecay) && r.weightDecay >= 0, "weightDecay", "a number ≥ 0", r.weightDecay);
  need(Number.isInteger(r.batchSize) && r.batchSize >= 1, "batchSize", "an integer ≥ 1", r.batchSize);
  need(Number.isInteger(r.seed) && r.seed >= 0, "seed", "an integer ≥ 0", r.seed);
  return r;
}

/** Per-column mean and standard deviation (population, f64) of n × d rows; a constant column gets std 1. */
export function featureStats(x: Float32Array, n: number, d: number): { mean: Float64Array; std: Float64Array } {
  const mean = new Float64Array(d);
  const std = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += x[i * d + j]!;
  for (let j = 0; j < d; j++) mean[j] /= Math.max(1, n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const c = x[i * d + j]! - mean[j]!;
      std[j] += c * c;
    }
  }
  for (let j = 0; j < d; j++) {
    const s = Math.sqrt(std[j]! / Math.max(1, n));
    std[j] = s > 1e-12 ? s : 1;
  }
  return { mean, std };
}

/** (x − mean) / std, column by column, as f32. */
export function standardize(x: Float32Array, n: number, d: number, stats: { mean: Float64Array; std: Float64Array }): Float32Array {
  const out = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) out[i * d + j] = (x[i * d + j]! - stats.mean[j]!) / stats.std[j]!;
  return out;
}

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/** The device tensors of one probe: parameters [W | pad | b] and their gradient and moments share one layout. */
class ProbeTensors {
  readonly all: Tensor[] = [];
  readonly p: Tensor;
  readonly g: Tensor;
  readonly m: Tensor;
  readonly v: Tensor;
  readonly w: Tensor;
  readonly b: Tensor;
  readonly gw: Tensor;
  readonly gb: Tensor;
  readonly x: Tensor;
  readonly y: Tensor;
  readonly logits: Tensor;
  readonly losses: Tensor;
  readonly lse: Tensor;
  readonly s: Tensor;
  readonly biasOffset: number;
  private readonly lossViews = new Map<number, Tensor>();

  constructor(private readonly be: Backend, classes: number, d: number, rows: number) {
    const K = classes;
    // b starts on a view boundary (WebGPU binding offsets are 256-byte aligned)
    this.biasOffset = roundUp(K * d, be.capabilities.viewAlignment / 4);
    const P = this.biasOffset + K;
    const f = (len: number, label: string, dtype: "f32" | "i32" = "f32") => {
      const t = be.alloc(len, dtype, label);
      this.all.push(t);
      return t;
    };
    this.p = f(P, "probe params");
    this.g = f(P, "probe grads");
    this.m = f(P, "probe adam m");
    this.v = f(P, "probe adam v");
    this.w = be.view(this.p, 0, K * d, "probe W");
    this.b = be.view(this.p, this.biasOffset, K, "probe b");
    this.gw = be.view(this.g, 0, K * d, "probe dW");
    this.gb = be.view(this.g, this.biasOffset, K, "probe db");
    this.x = f(rows * d, "probe x");
    this.y = f(rows, "probe labels", "i32");
    this.logits = f(rows * K, "probe logits");
    this.losses = f(rows, "probe losses");
    this.lse = f(rows, "probe lse");
    // the step scalars' slots up to Updates (the optimizer reads ClipScale, Skip, Updates)
    this.s = f(StepSlot.Profile, "probe step scalars");
    for (const t of [this.p, this.g, this.m, this.v, this.s]) be.fill(t, 0);
  }

  /** losses[0, r): meanInto averages a whole tensor, so a short last batch needs a view of its rows. */
  lossesOf(r: number): Tensor {
    if (r === this.losses.length) return this.losses;
    let t = this.lossViews.get(r);
    if (!t) this.lossViews.set(r, (t = this.be.view(this.losses, 0, r, "probe losses (short batch)")));
    return t;
  }

  free(): void {
    for (const t of this.all) this.be.free(t);
  }
}

function gatherRows(src: Float32Array, d: number, order: ArrayLike<number>, from: number, to: number, out: Float32Array): Float32Array {
  for (let i = from; i < to; i++) out.set(src.subarray(order[i]! * d, order[i]! * d + d), (i - from) * d);
  return out.subarray(0, (to - from) * d);
}

/**
 * Trains W, b on `train` (features already standardized; every label in
 * [0, classes)) and returns them. Enqueues every step and reads back once.
 */
export async function trainLinearProbe(be: Backend, train: ProbeRows, classes: number, options: Partial<LinearProbeOptions> = {}): Promise<LinearProbe> {
  const o = validateLinearProbeOptions(options);
  const { n, d } = train;
  if (n < 1) throw new ProbeError("probe: no training rows");
  if (!Number.isInteger(classes) || classes < 1) throw new ProbeError(`probe: classes must be an integer ≥ 1, got ${classes}`);
  for (let i = 0; i < n; i++) {
    const c = train.labels[i]!;
    if (!(c >= 0 && c < classes)) throw new ProbeError(`probe: training row ${i} has class ${c}, outside [0, ${classes})`);
  }
  const K = classes;
  const B = Math.min(o.batchSize, n);
  const t = new ProbeTensors(be, K, d, B);
  try {
    const hyper: AdamWHyper = { lr: o.lr, beta1: o.beta1, beta2: o.beta2, eps: o.eps, weightDecay: o.weightDecay, decayLength: K * d };
    const xb = new Float32Array(B * d);
    const yb = new Int32Array(B);
    for (let epoch = 0; epoch < o.epochs; epoch++) {
      const order = epochPermutation(n, o.seed, epoch);
      for (let from = 0; from < n; from += B) {
        const to = Math.min(n, from + B);
        const r = to - from;
        be.write(t.x, gatherRows(train.features, d, order, from, to, xb));
        for (let i = from; i < to; i++) yb[i - from] = train.labels[order[i]!]!;
        be.write(t.y, yb.subarray(0, r));
        be.matmul(t.logits, t.x, t.w, r, K, d, "nt", false);
        be.biasAddInPlace(t.logits, t.b, r, K);
        be.crossEntropyForward(t.losses, t.lse, t.logits, t.y, r, K);
        // the loss only feeds stepControl's non-finite check (a diverging lr skips updates instead of writing NaNs)
        be.meanInto(t.s, StepSlot.Loss, t.lossesOf(r));
        be.crossEntropyBackwardInPlace(t.logits, t.lse, t.y, r, K, 1 / r);
        be.matmul(t.gw, t.logits, t.x, K, d, r, "tn", false);
        be.fill(t.gb, 0);
        be.biasBackward(t.gb, t.logits, r, K);
        be.sumSquaresInto(t.s, StepSlot.GradSumSquares, t.g);
        be.stepControl(t.s, { clip: 0 });
        be.adamwStep(t.p, t.g, t.m, t.v, hyper, t.s);
      }
    }
    const p = await be.read(t.p);
    return { weights: p.slice(0, K * d), bias: p.slice(t.biasOffset, t.biasOffset + K), classes: K, d };
  } finally {
    t.free();
  }
}

/** The argmax class of x·Wᵀ + b for every row (logits computed by the backend's matmul, ties to the lower class). */
export async function predictLinearProbe(be: Backend, probe: LinearProbe, rows: Pick<ProbeRows, "features" | "n" | "d">, chunkRows = 1024): Promise<Int32Array> {
  const { n, d } = rows;
  if (d !== probe.d) throw new ProbeError(`probe: features have width ${d}, the probe was trained on ${probe.d}`);
  const K = probe.classes;
  const out = new Int32Array(n);
  if (n === 0) return out;
  const R = Math.max(1, Math.min(chunkRows, n));
  const t = new ProbeTensors(be, K, d, R);
  try {
    const p = new Float32Array(t.biasOffset + K);
    p.set(probe.weights, 0);
    p.set(probe.bias, t.biasOffset);
    be.write(t.p, p);
    const reads: { from: number; r: number; data: Promise<Float32Array> }[] = [];
    for (let from = 0; from < n; from += R) {
      const r = Math.min(R, n - from);
      be.write(t.x, rows.features.subarray(from * d, (from + r) * d));
      be.matmul(t.logits, t.x, t.w, r, K, d, "nt", false);
      be.biasAddInPlace(t.logits, t.b, r, K);
      reads.push({ from, r, data: be.read(t.logits) });
    }
    for (const { from, r, data } of reads) {
      const logits = await data;
      for (let i = 0; i < r; i++) {
        let best = 0;
        for (let k = 1; k < K; k++) if (logits[i * K + k]! > logits[i * K + best]!) best = k;
        out[from + i] = best;
      }
    }
    return out;
  } finally {
    t.free();
  }
}

/** Share of rows whose prediction equals the label (a label of −1 is never matched). */
export function accuracy(predicted: Int32Array, labels: Int32Array): number {
  if (labels.length === 0) return NaN;
  let hit = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) hit++;
  return hit / labels.length;
}
