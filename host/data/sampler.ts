// Training batches from a token shard, reproducible from (seed, cursor).
//
// The shard is cut into W = floor((N − 1) / T) non-overlapping windows: window w
// is the T + 1 tokens starting at w·T (consecutive windows share one token, so
// every token is a target exactly once per epoch). Each epoch visits every window
// once, in the order of a Fisher–Yates permutation drawn from SplitMix32 seeded
// with (seed, epoch). A batch is the next B windows of that order; it continues
// into the next epoch when one runs out. The cursor {epoch, position} says where
// the next batch starts, so saving it with a checkpoint and restoring it makes a
// resumed run draw exactly the batches an uninterrupted run would.
//
// Validation uses a fixed subset instead: `count` windows spread evenly over the
// validation shard (window floor(i·W / count) for i < count), the same in every
// run and every runtime, so numbers are comparable across runs.
import { SplitMix32, mixSeed } from "./prng.ts";

/** The engine's batch shape (host/model/batch.ts TokenBatch): B rows of T + 1 ids. */
export interface TokenBatch {
  batch: number;
  length: number;
  ids: Int32Array;
}

/** Where the next batch starts; JSON-serializable (stored in trainer_state.json). */
export interface SamplerCursor {
  epoch: number;
  /** Windows of `epoch` already used. */
  position: number;
  /** W when the cursor was made; a different shard or seqLen is refused on restore. */
  windows: number;
}

export interface BatchSamplerOptions {
  batchSize: number;
  seqLen: number;
  seed: number;
}

export class SamplerError extends Error {
  override name = "SamplerError";
}

type Tokens = Uint16Array | Uint32Array | Int32Array;

function positiveInt(v: unknown, name: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw new SamplerError(`sampler: ${name} must be an integer ≥ 1, got ${JSON.stringify(v)}`);
  return v;
}

/** Number of non-overlapping windows of T + 1 tokens (sharing their end token) in n tokens. */
export function windowCount(tokens: number, seqLen: number): number {
  return tokens < seqLen + 1 ? 0 : Math.floor((tokens - 1) / seqLen);
}

function copyWindow(tokens: Tokens, window: number, seqLen: number, ids: Int32Array, row: number): void {
  const start = window * seqLen;
  const out = row * (seqLen + 1);
  for (let j = 0; j <= seqLen; j++) ids[out + j] = tokens[start + j]!;
}

/** The order of an epoch's windows (deterministic in seed and epoch). */
export function epochPermutation(windows: number, seed: number, epoch: number): Uint32Array {
  const order = new Uint32Array(windows);
  for (let i = 0; i < windows; i++) order[i] = i;
  const rng = new SplitMix32(mixSeed(seed, epoch, 0x5a3c));
  for (let i = windows - 1; i > 0; i--) {
    const j = rng.nextBelow(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

export class BatchSampler {
  readonly batchSize: number;
  readonly seqLen: number;
  readonly seed: number;
  /** W: windows per epoch. */
  readonly windows: number;
  private epoch = 0;
  private position = 0;
  private order: Uint32Array | undefined;
  private orderEpoch = -1;

  constructor(private readonly tokens: Tokens, options: BatchSamplerOptions, cursor?: SamplerCursor) {
    this.batchSize = positiveInt(options.batchSize, "batchSize");
    this.seqLen = positiveInt(options.seqLen, "seqLen");
    if (!Number.isInteger(options.seed)) throw new SamplerError(`sampler: seed must be an integer, got ${JSON.stringify(options.seed)}`);
    this.seed = options.seed;
    this.windows = windowCount(tokens.length, this.seqLen);
    if (this.windows === 0) {
      throw new SamplerError(`sampler: the training shard has ${tokens.length} tokens, fewer than seqLen + 1 = ${this.seqLen + 1}; use a larger corpus or a shorter seqLen`);
    }
    if (cursor !== undefined) this.restore(cursor);
  }

  /** The position of the next batch (a copy). */
  cursor(): SamplerCursor {
    return { epoch: this.epoch, position: this.position, windows: this.windows };
  }

  /** Continues from a saved cursor. */
  restore(cursor: SamplerCursor): void {
    const c = cursor as unknown as Record<string, unknown>;
    if (typeof c !== "object" || c === null) throw new SamplerError("sampler: the saved data cursor is not an object");
    const int = (name: string) => {
      const v = c[name];
      if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new SamplerError(`sampler: the saved data cursor's "${name}" must be an integer ≥ 0, got ${JSON.stringify(v)}`);
      return v;
    };
    const epoch = int("epoch");
    const position = int("position");
    const windows = int("windows");
    if (windows !== this.windows) {
      throw new SamplerError(`sampler: the saved data cursor was made for ${windows} windows per epoch, but this shard and seqLen give ${this.windows}; the corpus, tokenizer or seqLen changed since the checkpoint`);
    }
    if (position >= windows) throw new SamplerError(`sampler: the saved data cursor's position ${position} is not below ${windows}`);
    this.epoch = epoch;
    this.position = position;
  }

  /** The next batch: B rows of T + 1 consecutive tokens. */
  next(): TokenBatch {
    const length = this.seqLen + 1;
    const ids = new Int32Array(this.batchSize * length);
    for (let row = 0; row < this.batchSize; row++) {
      if (this.orderEpoch !== this.epoch) {
        this.order = epochPermutation(this.windows, this.seed, this.epoch);
        this.orderEpoch = this.epoch;
      }
      copyWindow(this.tokens, this.order![this.position]!, this.seqLen, ids, row);
      if (++this.position === this.windows) {
        this.position = 0;
        this.epoch++;
      }
    }
    return { batch: this.batchSize, length, ids };
  }
}

export interface ValidationSubsetOptions {
  seqLen: number;
  /** Windows in the subset (K); fewer when the shard has fewer. */
  windows: number;
  /** Rows per batch (default: all K in one batch). */
  batchSize?: number;
}

/** The fixed validation subset as batches of at most batchSize rows (K rows in all). */
export function validationBatches(tokens: Tokens, options: ValidationSubsetOptions): TokenBatch[] {
  const seqLen = positiveInt(options.seqLen, "seqLen");
  const wanted = positiveInt(options.windows, "validation windows");
  const total = windowCount(tokens.length, seqLen);
  if (total === 0) {
    throw new SamplerError(`sampler: the validation shard has ${tokens.length} tokens, fewer than seqLen + 1 = ${seqLen + 1}; use a larger validation fraction or a shorter seqLen`);
  }
  const count = Math.min(wanted, total);
  const batchSize = options.batchSize === undefined ? count : positiveInt(options.batchSize, "batchSize");
  const batches: TokenBatch[] = [];
  for (let first = 0; first < count; first += batchSize) {
    const rows = Math.min(batchSize, count - first);
    const ids = new Int32Array(rows * (seqLen + 1));
    for (let r = 0; r < rows; r++) copyWindow(tokens, Math.floor(((first + r) * total) / count), seqLen, ids, r);
    batches.push({ batch: rows, length: seqLen + 1, ids });
  }
  return batches;
}
