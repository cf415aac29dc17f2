// A batch of token rows: B rows of T+1 ids; inputs are [:, :-1], targets [:, 1:].
import type { ModelConfig } from "./config.ts";

export interface TokenBatch {
  /** number of rows B */
  batch: number;
  /** ids per row, T + 1 */
  length: number;
  /** row-major B × (T + 1) */
  ids: Int32Array;
}

export class BatchError extends Error {
  override name = "BatchError";
}

/** Checks shape and ids against the model; returns T (the sequence length seen by the model). */
export function validateBatch(b: TokenBatch, c: ModelConfig): number {
  if (!Number.isInteger(b.batch) || b.batch < 1) throw new BatchError(`batch size must be an integer ≥ 1, got ${b.batch}`);
  if (!Number.isInteger(b.length) || b.length < 2) {
    throw new BatchError(`each row needs at least 2 tokens (one input, one target), got ${b.length}`);
  }
  if (!(b.ids instanceof Int32Array)) throw new BatchError("batch ids must be an Int32Array");
  if (b.ids.length !== b.batch * b.length) {
    throw new BatchError(`batch shape mismatch: ${b.batch} rows × ${b.length} tokens needs ${b.batch * b.length} ids, got ${b.ids.length}`);
  }
  const T = b.length - 1;
  if (T > c.maxSeqLen) throw new BatchError(`sequence length ${T} exceeds the model's maximum ${c.maxSeqLen}`);
  for (let i = 0; i < b.ids.length; i++) {
    const id = b.ids[i]!;
    if (id < 0 || id >= c.vocabSize) {
      throw new BatchError(
        `token id ${id} at row ${Math.floor(i / b.length)}, column ${i % b.length} is out of range [0, ${c.vocabSize})`,
      );
    }
  }
  return T;
}

/** Splits rows into model inputs and shifted targets. */
export function splitInputsTargets(b: TokenBatch): { inputs: Int32Array; targets: Int32Array } {
  const T = b.length - 1;
  const inputs = new Int32Array(b.batch * T);
  const targets = new Int32Array(b.batch * T);
  for (let r = 0; r < b.batch; r++) {
    const row = b.ids.subarray(r * b.length, (r + 1) * b.length);
    inputs.set(row.subarray(0, T), r * T);
    targets.set(row.subarray(1), r * T);
  }
  return { inputs, targets };
}
