// The batch sampler: deterministic from (seed, cursor), every window once per
// epoch, and a restored cursor continues exactly where an uninterrupted run would.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { BatchSampler, SplitMix32, epochPermutation, validationBatches, windowCount } from "../dist/data/index.js";

// Token i has value i mod 65536 plus a marker, so a window's start is readable from its first id.
const N = 5000;
const tokens = new Uint32Array(N);
for (let i = 0; i < N; i++) tokens[i] = i;
const T = 16;
const W = Math.floor((N - 1) / T);

// SplitMix32 reference in BigInt arithmetic (an independent implementation).
function referenceSplitMix32(seed, count) {
  const M = (1n << 32n) - 1n;
  let s = BigInt(seed >>> 0);
  const out = [];
  for (let i = 0; i < count; i++) {
    s = (s + 0x9e3779b9n) & M;
    let z = s;
    z = ((z ^ (z >> 16n)) * 0x85ebca6bn) & M;
    z = ((z ^ (z >> 13n)) * 0xc2b2ae35n) & M;
    out.push(Number(z ^ (z >> 16n)));
  }
  return out;
}

test("SplitMix32 matches a BigInt reference; nextBelow stays in range", () => {
  for (const seed of [0, 1, 42, 0xffffffff]) {
    const g = new SplitMix32(seed);
    assert.equal(Array.from({ length: 20 }, () => g.nextU32()), referenceSplitMix32(seed, 20));
  }
  const g = new SplitMix32(7);
  const counts = new Array(6).fill(0);
  for (let i = 0; i < 6000; i++) counts[g.nextBelow(6)]++;
  assert.ok(counts.every((c) => c > 850 && c < 1150), counts.join());
});

test("windows: W = floor((N−1)/T) of T+1 tokens, consecutive windows share their end token", () => {
  assert.is(windowCount(N, T), W);
  assert.is(windowCount(T, T), 0);
  assert.is(windowCount(T + 1, T), 1);
  const s = new BatchSampler(tokens, { batchSize: 4, seqLen: T, seed: 1 });
  const b = s.next();
  assert.is(b.batch, 4);
  assert.is(b.length, T + 1);
  assert.instance(b.ids, Int32Array);
  for (let r = 0; r < 4; r++) {
    const row = b.ids.subarray(r * (T + 1), (r + 1) * (T + 1));
    assert.is(row[0] % T, 0, "starts at a multiple of T");
    for (let j = 1; j <= T; j++) assert.is(row[j], row[0] + j, "consecutive tokens");
  }
});

test("every epoch visits each window exactly once, in a seed- and epoch-dependent order", () => {
  const p0 = epochPermutation(W, 3, 0);
  assert.equal(Array.from(p0).sort((a, b) => a - b), Array.from({ length: W }, (_, i) => i));
  assert.is.not(Array.from(p0).join(), Array.from(epochPermutation(W, 3, 1)).join(), "epochs differ");
  assert.is.not(Array.from(p0).join(), Array.from(epochPermutation(W, 4, 0)).join(), "seeds differ");
  assert.is.not(Array.from(p0).join(), Array.from({ length: W }, (_, i) => i).join(), "shuffled");
  // B = 7 does not divide W: batches run across the epoch boundary.
  const s = new BatchSampler(tokens, { batchSize: 7, seqLen: T, seed: 3 });
  const seen = [];
  const batches = Math.ceil((2 * W) / 7);
  for (let i = 0; i < batches; i++) {
    const b = s.next();
    for (let r = 0; r < b.batch; r++) seen.push(b.ids[r * (T + 1)] / T);
  }
  assert.equal(seen.slice(0, W), Array.from(p0), "epoch 0 in permutation order");
  assert.equal(seen.slice(W, 2 * W), Array.from(epochPermutation(W, 3, 1)), "then epoch 1");
  assert.is(s.cursor().epoch, 2);
});

test("same seed, same batches; a different seed, different batches", () => {
  const a = new BatchSampler(tokens, { batchSize: 5, seqLen: T, seed: 9 });
  const b = new BatchSampler(tokens, { batchSize: 5, seqLen: T, seed: 9 });
  const c = new BatchSampler(tokens, { batchSize: 5, seqLen: T, seed: 10 });
  for (let i = 0; i < 50; i++) {
    const x = a.next().ids;
    assert.equal(x, b.next().ids);
    if (i === 0) assert.not.equal(x, c.next().ids);
  }
});

test("resume: a saved cursor (through JSON) continues exactly like an uninterrupted sampler", () => {
  const opts = { batchSize: 6, seqLen: T, seed: 123 };
  const uninterrupted = new BatchSampler(tokens, opts);
  const all = Array.from({ length: 120 }, () => uninterrupted.next().ids); // crosses two epoch boundaries
  for (const stop of [0, 1, 51, 52, 53, 119]) {
    const first = new BatchSampler(tokens, opts);
    for (let i = 0; i < stop; i++) assert.equal(first.next().ids, all[i]);
    const saved = JSON.parse(JSON.stringify(first.cursor()));
    const resumed = new BatchSampler(tokens, opts, saved);
    for (let i = stop; i < 120; i++) assert.equal(resumed.next().ids, all[i], `batch ${i} after a stop at ${stop}`);
  }
});

test("a cursor from another shard or seqLen is refused", () => {
  const s = new BatchSampler(tokens, { batchSize: 2, seqLen: T, seed: 1 });
  s.next();
  const c = s.cursor();
  assert.throws(() => new BatchSampler(tokens, { batchSize: 2, seqLen: T * 2, seed: 1 }, c), /made for 312 windows per epoch, but this shard and seqLen give 156/);
  assert.throws(() => new BatchSampler(tokens, { batchSize: 2, seqLen: T, seed: 1 }, { ...c, position: W }), /position 312 is not below 312/);
  assert.throws(() => new BatchSampler(tokens, { batchSize: 2, seqLen: T, seed: 1 }, { epoch: -1, position: 0, windows: W }), /"epoch" must be an integer/);
  assert.throws(() => new BatchSampler(tokens.subarray(0, T), { batchSize: 2, seqLen: T, seed: 1 }), /fewer than seqLen \+ 1 = 17/);
  assert.throws(() => new BatchSampler(tokens, { batchSize: 0, seqLen: T, seed: 1 }), /batchSize must be an integer ≥ 1/);
});

test("validation subset: K windows spread evenly, identical every time, in batches", () => {
  const batches = validationBatches(tokens, { seqLen: T, windows: 10, batchSize: 4 });
  assert.equal(batches.map((b) => b.batch), [4, 4, 2]);
  const starts = batches.flatMap((b) => Array.from({ length: b.batch }, (_, r) => b.ids[r * (T + 1)] / T));
  assert.equal(starts, Array.from({ length: 10 }, (_, i) => Math.floor((i * W) / 10)));
  assert.equal(validationBatches(tokens, { seqLen: T, windows: 10, batchSize: 4 }), batches);
  const one = validationBatches(tokens, { seqLen: T, windows: 10_000 });
  assert.is(one.length, 1);
  assert.is(one[0].batch, W, "capped at the windows there are");
  assert.throws(() => validationBatches(tokens.subarray(0, 5), { seqLen: T, windows: 3 }), /validation shard has 5 tokens/);
});

test.run();
