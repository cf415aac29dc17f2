// The layer probe (jreg probe): the engine-trained logistic regression against an
// independent float64 implementation, its accuracy on separable and on random
// data, the word → token mapping with a real trained tokenizer, and the CLI.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  accuracy, coarseTag, createBackend, featureStats, lastTokenOfWords, loadTokenizerFile, predictLinearProbe,
  probeSplit, standardize, tokenByteEnds, trainLinearProbe, utf8Offsets,
} from "../dist/index.js";
import { detokenizeTagged, epochPermutation } from "../dist/data/index.js";
import { openWebGpu, rng } from "./helpers/webgpu.mjs";
import { jreg, tinyConfig, tinyWorkspace, writeConfig } from "./helpers/train-fixture.mjs";

const wasm = await createBackend("wasm", { threads: 1 });
const webgpu = await openWebGpu("probe.test.mjs");

/** Seeded standard normals (Box–Muller on the helper's uniforms). */
function normals(seed, n) {
  const u = rng(seed)(2 * n, 1e-7, 1);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(u[2 * i])) * Math.cos(2 * Math.PI * u[2 * i + 1]);
  return out;
}

/**
 * The same probe in float64, written from the definition: zero init, minibatches
 * in epochPermutation order, mean softmax cross-entropy, AdamW (decay on W only,
 * bias-corrected, PyTorch's update form), constant lr.
 */
function referenceProbe(x, labels, n, d, K, o) {
  const P = K * d + K;
  const p = new Float64Array(P);
  const m = new Float64Array(P);
  const v = new Float64Array(P);
  let step = 0;
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    const order = epochPermutation(n, o.seed, epoch);
    for (let from = 0; from < n; from += o.batchSize) {
      const rows = Array.from(order.subarray(from, Math.min(n, from + o.batchSize)));
      const g = new Float64Array(P);
      for (const i of rows) {
        const z = new Float64Array(K);
        for (let k = 0; k < K; k++) {
          let s = p[K * d + k];
          for (let j = 0; j < d; j++) s += x[i * d + j] * p[k * d + j];
          z[k] = s;
        }
        const zmax = Math.max(...z);
        let sum = 0;
        for (let k = 0; k < K; k++) sum += Math.exp(z[k] - zmax);
        for (let k = 0; k < K; k++) {
          const dz = (Math.exp(z[k] - zmax) / sum - (k === labels[i] ? 1 : 0)) / rows.length;
          for (let j = 0; j < d; j++) g[k * d + j] += dz * x[i * d + j];
          g[K * d + k] += dz;
        }
      }
      step++;
      const bc1 = 1 - o.beta1 ** step;
      const bc2 = 1 - o.beta2 ** step;
      for (let e = 0; e < P; e++) {
        if (e < K * d) p[e] *= 1 - o.lr * o.weightDecay;
        m[e] = o.beta1 * m[e] + (1 - o.beta1) * g[e];
        v[e] = o.beta2 * v[e] + (1 - o.beta2) * g[e] * g[e];
        p[e] -= (o.lr / bc1) * (m[e] / (Math.sqrt(v[e]) / Math.sqrt(bc2) + o.eps));
      }
    }
  }
  return { weights: p.subarray(0, K * d), bias: p.subarray(K * d) };
}

function syntheticRows(seed, n, d, K, labelOf) {
  const z = normals(seed, n * d);
  const features = Float32Array.from(z);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = labelOf(features.subarray(i * d, i * d + d), i);
  return { features, labels, n, d };
}

const OPTS = { epochs: 4, lr: 0.05, weightDecay: 0.1, batchSize: 64, seed: 3, beta1: 0.9, beta2: 0.999, eps: 1e-8 };

for (const [name, be] of [["wasm", wasm], ["webgpu", webgpu]]) {
  if (!be) continue;
  test(`${name}: the engine-trained probe equals an independent float64 logistic regression (W, b and predictions)`, async () => {
    const n = 300; // 4 full minibatches and a short one of 44 rows per epoch
    const d = 7;
    const K = 5;
    const A = normals(11, K * d);
    const rows = syntheticRows(5, n, d, K, (x, i) => {
      // mostly linear labels with some noise, so no weight runs off to a trivial optimum
      if (i % 7 === 0) return i % K;
      let best = 0;
      let bestS = -Infinity;
      for (let k = 0; k < K; k++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += A[k * d + j] * x[j];
        if (s > bestS) (bestS = s), (best = k);
      }
      return best;
    });
    const probe = await trainLinearProbe(be, rows, K, OPTS);
    const ref = referenceProbe(rows.features, rows.labels, n, d, K, OPTS);
    let worst = 0;
    for (let e = 0; e < K * d; e++) worst = Math.max(worst, Math.abs(probe.weights[e] - ref.weights[e]) / Math.max(1e-2, Math.abs(ref.weights[e])));
    for (let k = 0; k < K; k++) worst = Math.max(worst, Math.abs(probe.bias[k] - ref.bias[k]) / Math.max(1e-2, Math.abs(ref.bias[k])));
    assert.ok(worst < 2e-3, `max relative difference from the float64 reference ${worst}`);
    // the weights moved far from their zero init, so the comparison means something
    assert.ok(Math.max(...probe.weights.map(Math.abs)) > 0.2);
    const predicted = await predictLinearProbe(be, probe, rows);
    let refHits = 0;
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bestS = -Infinity;
      for (let k = 0; k < K; k++) {
        let s = ref.bias[k];
        for (let j = 0; j < d; j++) s += ref.weights[k * d + j] * rows.features[i * d + j];
        if (s > bestS) (bestS = s), (best = k);
      }
      if (best === rows.labels[i]) refHits++;
    }
    assert.ok(Math.abs(accuracy(predicted, rows.labels) - refHits / n) <= 2 / n, `accuracy ${accuracy(predicted, rows.labels)} vs reference ${refHits / n}`);
  });
}

test("wasm: 1 and 2 threads train bit-identical probes", async () => {
  const two = await createBackend("wasm", { threads: 2 });
  try {
    const rows = syntheticRows(8, 700, 24, 9, (_x, i) => (i * 31) % 9);
    const opts = { epochs: 2, batchSize: 100 };
    const a = await trainLinearProbe(wasm, rows, 9, opts);
    const b = await trainLinearProbe(two, rows, 9, opts);
    assert.equal(Array.from(b.weights), Array.from(a.weights));
    assert.equal(Array.from(b.bias), Array.from(a.bias));
  } finally {
    await two.dispose();
  }
});

test("a linear function of the features is learned (accuracy ≈ 1); random features score about the majority baseline", async () => {
  const d = 12;
  const K = 6;
  const A = normals(21, K * d);
  const linear = (x) => {
    let best = 0;
    let bestS = -Infinity;
    for (let k = 0; k < K; k++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += A[k * d + j] * x[j];
      if (s > bestS) (bestS = s), (best = k);
    }
    return best;
  };
  const opts = { epochs: 30, lr: 0.05, weightDecay: 0, batchSize: 128 };
  const train = syntheticRows(1, 3000, d, K, linear);
  const val = syntheticRows(2, 1000, d, K, linear);
  // features shifted and scaled per column: standardization must undo it
  for (const r of [train, val]) for (let i = 0; i < r.n * d; i++) r.features[i] = 5 + 30 * (1 + (i % d)) * r.features[i];
  const stats = featureStats(train.features, train.n, d);
  const tr = { ...train, features: standardize(train.features, train.n, d, stats) };
  const va = { ...val, features: standardize(val.features, val.n, d, stats) };
  const probe = await trainLinearProbe(wasm, tr, K, opts);
  const acc = accuracy(await predictLinearProbe(wasm, probe, va), va.labels);
  assert.ok(acc > 0.95, `separable validation accuracy ${acc}`);

  // labels independent of the features, skewed so the majority class holds ~40 %
  const skewed = (_x, i) => [0, 0, 0, 0, 1, 1, 2, 3, 4, 5][(i * 7919) % 10];
  const rtrain = syntheticRows(3, 3000, d, K, skewed);
  const rval = syntheticRows(4, 1000, d, K, (x, i) => skewed(x, i + 1));
  const rstats = featureStats(rtrain.features, rtrain.n, d);
  const rprobe = await trainLinearProbe(wasm, { ...rtrain, features: standardize(rtrain.features, rtrain.n, d, rstats) }, K, { epochs: 5, lr: 0.01, weightDecay: 0.01, batchSize: 128 });
  const racc = accuracy(await predictLinearProbe(wasm, rprobe, { ...rval, features: standardize(rval.features, rval.n, d, rstats) }), rval.labels);
  const baseline = rval.labels.filter((c) => c === 0).length / rval.n;
  assert.ok(baseline > 0.35 && baseline < 0.45, `baseline ${baseline}`);
  assert.ok(Math.abs(racc - baseline) < 0.05, `random-feature accuracy ${racc} vs majority baseline ${baseline}`);
});

test("trainLinearProbe: bad labels and options are named errors", async () => {
  const rows = { features: new Float32Array(8), labels: Int32Array.from([0, 1, 2, 1]), n: 4, d: 2 };
  const rejects = async (fn, re) => {
    const e = await fn().then(() => null, (err) => err);
    assert.ok(e instanceof Error && e.name === "ProbeError", `a ProbeError, got ${e}`);
    assert.match(e.message, re);
  };
  await rejects(() => trainLinearProbe(wasm, rows, 2), /training row 2 has class 2, outside \[0, 2\)/);
  await rejects(() => trainLinearProbe(wasm, { ...rows, labels: Int32Array.from([0, 1, 0, 1]) }, 2, { epochs: 0 }), /epochs must be an integer ≥ 1, got 0/);
  await rejects(() => trainLinearProbe(wasm, { ...rows, labels: Int32Array.from([0, 1, 0, 1]) }, 2, { lr: -1 }), /lr must be a number > 0/);
});

test("coarseTag strips fw-, -tl/-hl/-nc and *, keeps the first part of a compound and the possessive", () => {
  const cases = { "np-tl": "np", "nn-tl-hl": "nn", "fw-nn-tl": "nn", "ppss+ber": "ppss", "fw-in+at-t": "in", "do*": "do", "*": "*", "nn$": "nn$", "pp$$": "pp$$", "NN-TL": "nn", "md*-hl": "md", "*-tl": "*", ".-hl": ".", "---hl": "--" };
  for (const [tag, want] of Object.entries(cases)) assert.is(coarseTag(tag), want, tag);
});

test("utf8Offsets: byte offsets of UTF-16 indices, surrogate pairs included", () => {
  const s = "aé€😀b";
  const at = utf8Offsets(s);
  const enc = new TextEncoder();
  for (let i = 0; i <= s.length; i++) {
    if (i > 0 && i < s.length && (s.charCodeAt(i) & 0xfc00) === 0xdc00) continue; // inside the pair
    assert.is(at[i], enc.encode(s.slice(0, i)).length, `index ${i}`);
  }
});

// a real trained tokenizer: the tiny run's 300-token byte-level BPE (trained on Brown excerpts)
const ws = await tinyWorkspace("jreg-probe-");
const runDir = join(ws.dir, "run");
const trained = jreg(["train", "--config", writeConfig(ws, "tiny.json", tinyConfig(ws, { out: runDir, steps: 6, saveEvery: 6, evalEvery: 6 }))]);
const checkpoint = join(runDir, "checkpoint-6");
const tokenizer = trained.status === 0 ? await loadTokenizerFile(join(checkpoint, "tokenizer.json")) : null;

test("the fixture run trained", () => {
  assert.is(trained.status, 0, trained.stderr);
});

test("word → token: each word sits at the last token overlapping it (checked against prefix decoding), multi-token words and punctuation included", () => {
  const tagged = [
    "The/at Fulton/np-tl County's/nn$-tl extraordinarily/rb quick-witted/jj jurors/nns said/vbd ``/`` no/at ''/'' ./.",
    "It/pps cost/vbd $/$ 1-1/2/cd million/cd (/( or/cc so/rb )/) ;/. naïve/jj café-au-lait/nn 😀/nn ?/.",
    "'/' Don't/do* ,/, '/' she/pps said/vbd ./.",
  ].join("\n");
  const { text, words } = detokenizeTagged(tagged);
  const ids = tokenizer.encode(text);
  const ends = tokenByteEnds(tokenizer, ids, text, "test text");
  const last = lastTokenOfWords(words, text, ends);
  const enc = new TextEncoder();
  // independent: the byte length of the decoded prefix ids[0..t]
  const prefixBytes = Array.from(ids, (_, t) => tokenizer.decode(ids.subarray(0, t + 1)).length);
  let multiToken = 0;
  words.forEach((w, i) => {
    const start = enc.encode(text.slice(0, w.start)).length;
    const end = enc.encode(text.slice(0, w.end)).length;
    const want = prefixBytes.findIndex((b) => b >= end);
    assert.is(last[i], want, `word ${JSON.stringify(w.word)}`);
    // the token starts inside the word, and the next one starts at or after its end
    const tokenStart = want === 0 ? 0 : prefixBytes[want - 1];
    assert.ok(tokenStart < end && (want + 1 >= ids.length || prefixBytes[want] >= end));
    if (want > 0 && prefixBytes[want - 1] > start) multiToken++;
  });
  assert.ok(multiToken >= 5, `the text has words of several tokens (${multiToken})`);
  assert.ok(words.some((w) => w.word === '"') && words.some((w) => w.word === "1-1/2"));
});

test("probeSplit: positions in the document stream and windows; words sharing their last token are skipped", () => {
  const a = detokenizeTagged("The/at jury/nn said/vbd it/pps did/dod ./.\nSo/rb it/pps went/vbd ./.");
  const b = detokenizeTagged("Another/dt document/nn here/rb ./.");
  // split one multi-byte token of b's text into two "words": both end on that token
  const ids = tokenizer.encode(b.text);
  const ends = tokenByteEnds(tokenizer, ids, b.text, "b");
  const t = Array.from(ends).findIndex((e, i) => e - (i === 0 ? 0 : ends[i - 1]) >= 2);
  assert.ok(t >= 0, "a token of 2 or more bytes");
  const s0 = t === 0 ? 0 : ends[t - 1];
  const mid = s0 + 1; // ASCII text: byte offsets are UTF-16 offsets
  const split = [...b.words.filter((w) => w.end <= s0 || w.start >= ends[t]), { word: "x", tag: "nn", start: s0, end: mid }, { word: "y", tag: "nn", start: mid, end: ends[t] }].sort((p, q) => p.start - q.start);
  const docs = [
    { id: "a", text: a.text, words: a.words },
    { id: "b", text: b.text, words: [...split, { word: "", tag: "", start: b.text.length, end: b.text.length }] },
  ];
  const eot = 299;
  const seq = 4;
  const s = probeSplit(tokenizer, docs, { seq, eot, tagSet: "full", maxWords: 1000, batchRows: 3 });
  assert.is(s.skipped.shared, 2);
  assert.is(s.skipped.untagged, 1);
  // the stream: a's ids, eot, b's ids; windows of seq inputs, row = window·seq + column
  const idsA = tokenizer.encode(a.text);
  const stream = [...idsA, eot, ...ids];
  assert.is(s.windows.total, Math.floor((stream.length - 1) / seq));
  assert.is(s.windows.used, s.windows.total);
  const flat = s.batches.flatMap((bt) => Array.from({ length: bt.batch }, (_, r) => Array.from(bt.ids.subarray(r * bt.length, r * bt.length + seq)))).flat();
  assert.equal(flat, stream.slice(0, s.windows.total * seq));
  assert.ok(s.batches.every((bt) => bt.length === seq + 1 && bt.batch <= 3));
  // every kept word's row holds the token lastTokenOfWords gave it
  const lastA = lastTokenOfWords(a.words, a.text, tokenByteEnds(tokenizer, idsA, a.text, "a"));
  const expectRows = [...Array.from(lastA), ...lastTokenOfWords(split, b.text, ends).filter((_, i) => split[i].word !== "x" && split[i].word !== "y").map((p) => p + idsA.length + 1)];
  const placed = expectRows.filter((r) => r < s.windows.total * seq);
  assert.equal(Array.from(s.rows), placed);
  assert.is(s.skipped.beyondWindows, expectRows.length - placed.length);
  assert.is(s.tags[0], "at");

  // maxWords: windows evenly spread, the first maxWords of their words
  const few = probeSplit(tokenizer, docs, { seq, eot, tagSet: "coarse", maxWords: 3 });
  assert.is(few.rows.length, 3);
  assert.is(few.skipped.overLimit, placed.length - 3);
});

test("tokenByteEnds refuses tokens that do not spell the text", () => {
  const ids = tokenizer.encode("hello there");
  assert.throws(() => tokenByteEnds(tokenizer, ids, "hello where", "doc x"), /doc x: the tokenizer's token \d+ .* does not spell the text at byte 6/);
});

const probeJson = (args) => {
  const r = jreg(["probe", ...args, "--json"]);
  assert.is(r.status, 0, r.stderr);
  return JSON.parse(r.stdout);
};

test("jreg probe RUN_DIR: a row per layer h_0..h_L, the baseline, deterministic; a checkpoint directory works too", () => {
  const a = probeJson([runDir, "--max-words", "600", "--epochs", "3"]);
  assert.is(a.checkpoint, checkpoint);
  assert.is(a.layers.length, 3); // h_0, h_1, h_2 of the 2-layer model
  assert.equal(a.layers.map((l) => l.layer), [0, 1, 2]);
  assert.is(a.seq, 16); // the run's seqLen
  assert.is(a.split, "default"); // the run trained on a text corpus
  assert.equal(a.words, { train: 600, validation: 600 });
  assert.is(a.baseline.tag, "nn");
  for (const l of a.layers) assert.ok(l.val_accuracy > a.baseline.val_accuracy && l.val_accuracy <= 1, JSON.stringify(l));
  assert.equal(a.training.epochs, 3);
  const b = probeJson([checkpoint, "--max-words", "600", "--epochs", "3"]);
  assert.equal(b.layers, a.layers);
  const coarse = probeJson([runDir, "--max-words", "600", "--epochs", "3", "--tags", "coarse", "--final-state", "post-norm"]);
  assert.ok(coarse.classes < a.classes, `coarse ${coarse.classes} < full ${a.classes}`);
  assert.is(coarse.final_state, "post-norm");
  assert.equal(coarse.layers[0], { ...coarse.layers[0], layer: 0 });
  const table = jreg(["probe", runDir, "--max-words", "300", "--epochs", "1"]);
  assert.is(table.status, 0, table.stderr);
  assert.match(table.stdout, /^0 \(emb\)\s+\d+\.\d\d\s+\d+\.\d\d/m);
  assert.match(table.stdout, /^2\s+\d+\.\d\d/m);
  assert.match(table.stdout, /^baseline \([^)]+\)\s+\d+\.\d\d/m);
});

test("jreg probe: bad input gets a named error", () => {
  const fail = (args, code, re) => {
    const r = jreg(["probe", ...args]);
    assert.is(r.status, code, r.stdout + r.stderr);
    assert.match(r.stderr, re);
    assert.not.match(r.stderr, /\n\s+at /); // no stack trace
  };
  fail([join(ws.dir, "nope")], 1, /jreg probe: probe: .*nope does not exist/);
  fail([ws.corpus], 1, /is not a directory/);
  const empty = join(ws.dir, "empty");
  mkdirSync(empty);
  fail([empty], 1, /is neither a run directory .* nor a checkpoint directory/);
  const noCkpt = join(ws.dir, "fresh");
  mkdirSync(noCkpt);
  cpSync(join(runDir, "config.json"), join(noCkpt, "config.json"));
  fail([noCkpt], 1, /run directory .*fresh has no complete checkpoint yet/);
  const bare = join(ws.dir, "bare");
  mkdirSync(bare);
  for (const f of ["config.json", "model.safetensors"]) cpSync(join(checkpoint, f), join(bare, f));
  fail([bare], 1, /bare has no tokenizer\.json; pass a tokenizer \(CLI: --tokenizer PATH\)/);
  writeFileSync(join(ws.dir, "bad-tokenizer.json"), "{");
  fail([bare, "--tokenizer", join(ws.dir, "bad-tokenizer.json")], 1, /--tokenizer .*bad-tokenizer\.json/);
  fail([runDir, "--tags", "fine"], 2, /--tags/);
  fail([runDir, "--max-word", "3"], 2, /unknown (flag|option).*--max-word/);
  fail([runDir, "--seq", "999"], 1, /seq 999 exceeds the model's max_position_embeddings 16/);
  fail([], 2, /needs a RUN_DIR or CHECKPOINT_DIR/);
  const r = jreg(["probe", bare, "--tokenizer", join(checkpoint, "tokenizer.json"), "--max-words", "200", "--epochs", "1", "--json"]);
  assert.is(r.status, 0, r.stderr);
  assert.is(JSON.parse(r.stdout).split, "default");
});

test.after(async () => {
  await wasm.dispose();
  if (webgpu) await webgpu.dispose();
  rmSync(ws.dir, { recursive: true, force: true });
});

test.run();
