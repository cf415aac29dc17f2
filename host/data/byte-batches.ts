// The demo's data: a text as raw UTF-8 bytes (ids 0..255, the "tiny" preset's
// vocabulary), cut into rows of T+1 consecutive bytes that walk through the text
// and wrap around. No tokenizer, no split: for demos and smoke tests only; real
// runs use prepareCorpus and BatchSampler.
import type { TokenBatch } from "./sampler.ts";

/** Byte-level batches: rows of T+1 consecutive UTF-8 bytes, walking through the text. */
export function* byteBatches(text: string, batch: number, seq: number): Generator<TokenBatch> {
  const bytes = new TextEncoder().encode(text);
  const span = seq + 1;
  let pos = 0;
  for (;;) {
    const ids = new Int32Array(batch * span);
    for (let r = 0; r < batch; r++) {
      if (pos + span > bytes.length) pos = 0;
      ids.set(bytes.subarray(pos, pos + span), r * span);
      pos += seq;
    }
    yield { batch, length: span, ids };
  }
}
