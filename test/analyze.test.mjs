// analyzeCheckpoint (the layer-streaming jump profile of an HF checkpoint) against
// the independent PyTorch reference in test/fixtures/analyze (make_analyze_fixtures.py):
// GQA, rope_scaling llama3 and linear, Qwen2 q/k/v biases, Mistral within its
// sliding window, BF16/F16/F32, sharded, tied/untied, both final states. Also:
// the streaming result equals the whole-model evaluation (LlamaModel), a chunked
// LM head equals an unchunked one, and every unsupported architecture or field is
// refused with an error naming it.
// Tolerances: D_l and the quantiles 2e-4 absolute (f32 forward vs the f64 reference:
// the distance of nearly parallel states amplifies f32 rounding), CE 1e-4 relative.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtemp, readFile, writeFile, copyFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { analyzeCheckpoint, createEngine, readCheckpoint, LazyCheckpoint, WasmBackend, loadCpuModule, exitChunks } from "../dist/internal.js";

const FIX = new URL("./fixtures/analyze/", import.meta.url).pathname;
const CASES = ["llama3-bf16-sharded", "llama-linear-f16-tied", "qwen2-bias", "mistral-window"];
const wasm = await WasmBackend.create({ threads: 1 });

const near = (a, b, tol, what) => {
  assert.is(a.length, b.length, `${what}: length`);
  a.forEach((x, i) => assert.ok(Math.abs(x - b[i]) <= tol, `${what}[${i}]: ${x} vs reference ${b[i]} (tol ${tol})`));
};
const nearRel = (a, b, tol, what) => near(a.map((x, i) => x / b[i]), b.map(() => 1), tol, what);

for (const name of CASES) {
  for (const finalState of ["pre-norm", "post-norm"]) {
    test(`${name}, ${finalState}: profile, quantiles and early-exit CE match PyTorch`, async () => {
      const exp = JSON.parse(await readFile(join(FIX, name, "expected.json"), "utf8"));
      const ref = exp[finalState];
      const r = await analyzeCheckpoint(join(FIX, name), { tokens: exp.ids, seq: exp.seq, finalState, backend: wasm });
      assert.is(r.final_state, finalState);
      assert.is(r.tokens, Math.floor((exp.ids.length - 1) / exp.seq) * exp.seq);
      near(r.D_angular, ref.D_angular, 2e-4, "D_angular");
      near(r.D_cosine, ref.D_cosine, 2e-4, "D_cosine");
      nearRel(r.early_exit_ce, ref.early_exit_ce, 1e-4, "early_exit_ce");
      for (const kind of ["angular", "cosine"]) {
        r.per_token[kind].forEach((s, l) => {
          near(s.quantiles, ref.per_token[kind][l].quantiles, 2e-4, `${kind} quantiles of layer ${l + 1}`);
          near([s.min, s.max], [ref.per_token[kind][l].min, ref.per_token[kind][l].max], 2e-4, `${kind} min/max of layer ${l + 1}`);
          assert.is(s.histogram.reduce((a, b) => a + b, 0), r.tokens);
        });
      }
      assert.ok(Math.abs(r.J_angular - r.D_angular.at(-1) / ((r.D_angular.length > 2 ? r.D_angular.slice(1, -1) : r.D_angular.slice(0, -1)).reduce((a, b) => a + b) / Math.max(1, r.D_angular.length - 2))) < 1e-9 || r.D_angular.length < 3);
    });
  }
}

test("the fixtures exercise rope scaling and biases: without them the reference is missed", async () => {
  for (const [name, edit] of [
    ["llama-linear-f16-tied", (c) => (c.rope_scaling = null)],
    ["llama3-bf16-sharded", (c) => (c.rope_scaling = null)],
  ]) {
    const exp = JSON.parse(await readFile(join(FIX, name, "expected.json"), "utf8"));
    const dir = await mkdtemp(join(tmpdir(), "jreg-analyze-"));
    for (const f of ["model.safetensors", "model.safetensors.index.json", "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]) {
      await copyFile(join(FIX, name, f), join(dir, f)).catch(() => {});
    }
    const cfg = JSON.parse(await readFile(join(FIX, name, "config.json"), "utf8"));
    edit(cfg);
    await writeFile(join(dir, "config.json"), JSON.stringify(cfg));
    const r = await analyzeCheckpoint(dir, { tokens: exp.ids, seq: exp.seq, backend: wasm });
    const worst = Math.max(...r.D_angular.map((d, i) => Math.abs(d - exp["pre-norm"].D_angular[i])));
    assert.ok(worst > 1e-3, `${name} without rope_scaling still matches (${worst})`);
    await rm(dir, { recursive: true });
  }
});

test("RoPE tables: the scaled path with linear factor 1 gives the plain tables' bits; llama3 keeps high frequencies and divides low ones", async () => {
  const cpu = await loadCpuModule();
  const bits = (x) => Array.from(new Uint32Array(x.buffer));
  const plain = cpu.ropeTables(17, 16, 10000);
  const one = cpu.ropeTables(17, 16, 10000, { type: "linear", factor: 1 });
  assert.equal(bits(one.cos), bits(plain.cos));
  assert.equal(bits(one.sin), bits(plain.sin));
  const s = { type: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 64 };
  const l3 = cpu.ropeTables(2, 16, 10000, s);
  // row 1 holds cos(inv_freq_i): column 0 (wavelength 2π < 64/4) is unscaled, column 7 (wavelength ≈ 2·10⁴ > 64) is divided by 8
  assert.is(l3.cos[8], plain.cos[8]);
  const f7 = Math.fround(1 / Math.pow(10000, 14 / 16));
  assert.ok(Math.abs(l3.sin[15] - Math.sin(f7 / 8)) < 1e-6, `${l3.sin[15]} vs ${Math.sin(f7 / 8)}`);
});

test("the final state changes only the last transition", async () => {
  const dir = join(FIX, "llama3-bf16-sharded");
  const exp = JSON.parse(await readFile(join(dir, "expected.json"), "utf8"));
  const pre = await analyzeCheckpoint(dir, { tokens: exp.ids, seq: exp.seq, backend: wasm });
  const post = await analyzeCheckpoint(dir, { tokens: exp.ids, seq: exp.seq, finalState: "post-norm", backend: wasm });
  assert.equal(pre.D_angular.slice(0, -1), post.D_angular.slice(0, -1));
  assert.equal(pre.early_exit_ce, post.early_exit_ce);
  assert.ok(pre.D_angular.at(-1) !== post.D_angular.at(-1));
});

test("streaming equals the whole-model evaluation (LlamaModel) on the training fixtures", async () => {
  const dir = new URL("./fixtures/tiny-untied-sharded/", import.meta.url).pathname;
  const ids = [];
  for (let i = 0; i < 3 * 11 + 1; i++) ids.push((i * 37 + 5) % 67);
  const seq = 11;
  const r = await analyzeCheckpoint(dir, { tokens: ids, seq, backend: wasm });
  const engine = await createEngine({ backend: "wasm", threads: 1 });
  const model = engine.loadModel(await readCheckpoint(dir));
  const rows = Math.floor((ids.length - 1) / seq);
  const batchIds = new Int32Array(rows * (seq + 1));
  for (let b = 0; b < rows; b++) for (let t = 0; t <= seq; t++) batchIds[b * (seq + 1) + t] = ids[b * seq + t];
  const batch = { batch: rows, length: seq + 1, ids: batchIds };
  const e = await engine.evaluate(model, batch);
  const p = await engine.jumpProfile(model, batch);
  assert.equal(r.D_angular, p.D_angular, "D_angular bit-identical");
  assert.equal(r.D_cosine, p.D_cosine, "D_cosine bit-identical");
  assert.equal(r.per_token.angular.map((s) => s.quantiles), p.perToken.angular.map((s) => s.quantiles));
  assert.equal(r.early_exit_ce, e.early_exit_ce, "early-exit CE bit-identical");
  await engine.dispose();
});

test("a chunked LM head (64 rows) gives the same early-exit CE as one chunk", async () => {
  const dir = join(FIX, "qwen2-bias");
  const ids = Array.from({ length: 150 }, (_, i) => (i * 13 + 1) % 61);
  const one = await analyzeCheckpoint(dir, { tokens: ids, seq: 49, backend: wasm });
  const chunked = await analyzeCheckpoint(dir, { tokens: ids, seq: 49, backend: wasm, headRows: 64 });
  assert.is(one.tokens, 147);
  nearRel(chunked.early_exit_ce, one.early_exit_ce, 1e-6, "chunked");
  assert.equal(chunked.D_angular, one.D_angular);
});

test("the early-exit CE of all layers in one pass over the LM head is one layer at a time's, bit for bit, and PyTorch's", async () => {
  for (const name of CASES) {
    const exp = JSON.parse(await readFile(join(FIX, name, "expected.json"), "utf8"));
    const o = { tokens: exp.ids, seq: exp.seq, backend: wasm };
    const all = await analyzeCheckpoint(join(FIX, name), o); // 3 layers of < 64 tokens: one chunk spanning the slots' padding
    const one = await analyzeCheckpoint(join(FIX, name), { ...o, headLayers: 1 });
    const pairs = await analyzeCheckpoint(join(FIX, name), { ...o, headLayers: 2, headRows: 64 });
    assert.equal(all.early_exit_ce, one.early_exit_ce, `${name}: all layers at once`);
    assert.equal(pairs.early_exit_ce, one.early_exit_ce, `${name}: two layers at a time`);
    assert.equal(all.ce, one.ce);
    nearRel(all.early_exit_ce, exp["pre-norm"].early_exit_ce, 1e-4, `${name}: early_exit_ce`);
  }
  // 147 tokens per layer slot of 192 rows: chunks start mid-slot, span slots, and end at a slot's last token
  const dir = join(FIX, "qwen2-bias");
  const ids = Array.from({ length: 150 }, (_, i) => (i * 13 + 1) % 61);
  const one = await analyzeCheckpoint(dir, { tokens: ids, seq: 49, backend: wasm, headLayers: 1, headRows: 64 });
  for (const headRows of [64, 128, 256, undefined]) {
    for (const finalState of ["pre-norm", "post-norm"]) {
      const r = await analyzeCheckpoint(dir, { tokens: ids, seq: 49, backend: wasm, headRows, finalState });
      assert.equal(r.early_exit_ce, one.early_exit_ce, `headRows ${headRows}, ${finalState}`);
    }
  }
});

test("exitChunks: every real row once, aligned starts, at most headRows, never ending in padding", () => {
  let seed = 7;
  const rnd = (n) => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) % n;
  for (let trial = 0; trial < 400; trial++) {
    const tokens = 1 + rnd(300);
    const stride = Math.ceil(tokens / 64) * 64 + 64 * rnd(2);
    const slots = 1 + rnd(6);
    const total = slots * stride;
    const headRows = rnd(4) === 0 ? total : 64 * (1 + rnd(8));
    const chunks = exitChunks(tokens, stride, slots, headRows);
    const seen = new Uint8Array(total);
    let prevEnd = 0;
    for (const { start, rows } of chunks) {
      const what = `tokens ${tokens}, stride ${stride}, slots ${slots}, headRows ${headRows}: chunk [${start}, ${start + rows})`;
      assert.ok(start % 64 === 0 && start >= prevEnd && rows >= 1 && rows <= headRows, what);
      assert.ok((start + rows - 1) % stride < tokens, `${what} ends in padding`);
      for (let r = start; r < start + rows; r++) seen[r]++;
      prevEnd = start + rows;
    }
    for (let r = 0; r < total; r++) assert.is(seen[r], r % stride < tokens ? 1 : seen[r] > 0 ? 1 : 0, `row ${r} of tokens ${tokens}, stride ${stride}: real rows once, padding at most once`);
  }
});

test("earlyExit false: the same profile, quantiles and CE without the early-exit CE", async () => {
  for (const name of CASES) {
    const exp = JSON.parse(await readFile(join(FIX, name, "expected.json"), "utf8"));
    for (const finalState of ["pre-norm", "post-norm"]) {
      const o = { tokens: exp.ids, seq: exp.seq, backend: wasm, finalState };
      const full = await analyzeCheckpoint(join(FIX, name), o);
      const quick = await analyzeCheckpoint(join(FIX, name), { ...o, earlyExit: false });
      assert.is(quick.early_exit_ce, null);
      assert.equal(quick.D_angular, full.D_angular, `${name} ${finalState}: D_angular`);
      assert.equal(quick.D_cosine, full.D_cosine, `${name} ${finalState}: D_cosine`);
      assert.equal(quick.per_token, full.per_token, `${name} ${finalState}: per-token statistics`);
      assert.is(quick.ce, full.ce, `${name} ${finalState}: ce`);
      nearRel([quick.ce], [exp[finalState].early_exit_ce.at(-1)], 1e-4, `${name}: ce against PyTorch`);
    }
  }
  const exp = JSON.parse(await readFile(join(FIX, "qwen2-bias", "expected.json"), "utf8"));
  for (const [opts, msg] of [
    [{ earlyExit: "no" }, /earlyExit must be true or false/],
    [{ headLayers: 0 }, /headLayers must be a positive integer, got 0/],
  ]) {
    try {
      await analyzeCheckpoint(join(FIX, "qwen2-bias"), { tokens: exp.ids, seq: exp.seq, backend: wasm, ...opts });
      assert.unreachable(`${JSON.stringify(opts)} accepted`);
    } catch (e) {
      assert.is(e.name, "AnalyzeError");
      assert.match(e.message, msg);
    }
  }
});

test("several streaming passes (tokensPerPass) give the one-pass result", async () => {
  const dir = join(FIX, "llama3-bf16-sharded");
  const ids = Array.from({ length: 61 }, (_, i) => (i * 7 + 3) % 61);
  const one = await analyzeCheckpoint(dir, { tokens: ids, seq: 10, backend: wasm });
  const three = await analyzeCheckpoint(dir, { tokens: ids, seq: 10, backend: wasm, tokensPerPass: 20 });
  assert.is(three.tokens, 60);
  assert.equal(three.D_angular, one.D_angular, "per-token distances are per window, so bit-identical");
  assert.equal(three.per_token.cosine.map((s) => s.quantiles), one.per_token.cosine.map((s) => s.quantiles));
  nearRel(three.early_exit_ce, one.early_exit_ce, 1e-6, "token-weighted mean of the passes");
});

test("the lazy reader reads tensors by offset, and rows of a table", async () => {
  const ck = await LazyCheckpoint.open(join(FIX, "llama3-bf16-sharded"));
  const all = await ck.read("model.embed_tokens.weight");
  const rows = await ck.readRows("model.embed_tokens.weight", 5, 3);
  assert.equal(Array.from(rows), Array.from(all.subarray(5 * 32, 8 * 32)));
  assert.equal(ck.architecture.ropeScaling.type, "llama3");
  await ck.close();
});

// ---- errors ----
async function variant(base, edit, extraTensor) {
  const dir = await mkdtemp(join(tmpdir(), "jreg-analyze-"));
  const cfg = JSON.parse(await readFile(join(FIX, base, "config.json"), "utf8"));
  edit(cfg);
  await writeFile(join(dir, "config.json"), JSON.stringify(cfg));
  if (extraTensor) {
    // add a tensor to the single-file checkpoint: rebuild with the engine's writer
    const { serializeSafetensors, parseSafetensors } = await import("../dist/internal.js");
    const found = parseSafetensors(new Uint8Array(await readFile(join(FIX, base, "model.safetensors"))));
    const list = [...found].map(([name, t]) => ({ name, shape: t.shape, data: t.data }));
    list.push(extraTensor);
    await writeFile(join(dir, "model.safetensors"), serializeSafetensors(list));
  } else await copyFile(join(FIX, base, "model.safetensors"), join(dir, "model.safetensors"));
  return dir;
}
const ERRORS = [
  ["Gemma", (c) => (c.model_type = "gemma"), /model_type "gemma" is not supported: its block has Gemma's RMSNorm offset \(weight \+ 1\) and embedding scale/],
  ["Mixtral (MoE)", (c) => (c.model_type = "mixtral"), /model_type "mixtral" is not supported: its block has a mixture-of-experts MLP/],
  ["MoE keys", (c) => (c.num_local_experts = 8), /num_local_experts 8: mixture-of-experts models are not supported/],
  ["rope_scaling yarn", (c) => (c.rope_scaling = { rope_type: "yarn", factor: 4 }), /rope_scaling type "yarn" is not supported; only "linear" and "llama3"/],
  ["rope_scaling dynamic", (c) => (c.rope_scaling = { type: "dynamic", factor: 2 }), /rope_scaling type "dynamic" is not supported/],
  ["llama3 scaling missing a field", (c) => (c.rope_scaling = { rope_type: "llama3", factor: 8, low_freq_factor: 1 }), /rope_scaling.high_freq_factor must be a number > 0/],
  ["attention_bias", (c) => (c.attention_bias = true), /attention_bias true is not supported: it adds biases to q\/k\/v and o_proj; only q\/k\/v biases \(Qwen2\) are/],
  ["mlp_bias", (c) => (c.mlp_bias = true), /mlp_bias true is not supported/],
  ["hidden_act", (c) => (c.hidden_act = "gelu"), /hidden_act "gelu" is not supported/],
  ["head_dim", (c) => (c.head_dim = 16), /head_dim 16 differs from hidden_size/],
  ["Granite's multipliers", (c) => ((c.model_type = "granite"), (c.residual_multiplier = 0.22)), /residual_multiplier 0.22 is not supported: it scales each residual branch/],
  ["logit soft-capping", (c) => (c.final_logit_softcapping = 30), /final_logit_softcapping 30 is not supported: it soft-caps the logits/],
  ["partial rotary", (c) => (c.partial_rotary_factor = 0.5), /partial_rotary_factor 0.5 is not supported/],
];
for (const [what, edit, message] of ERRORS) {
  test(`refused by name: ${what}`, async () => {
    const dir = await variant("llama-linear-f16-tied", edit);
    let error;
    await analyzeCheckpoint(dir, { tokens: [1, 2, 3], backend: wasm }).catch((e) => (error = e));
    assert.ok(error, "no error");
    assert.match(error.message, message);
    assert.match(error.message, /config\.json/);
    await rm(dir, { recursive: true });
  });
}

test("another model_type with Llama's block and tensor names is analysed as Llama", async () => {
  const exp = JSON.parse(await readFile(join(FIX, "llama-linear-f16-tied", "expected.json"), "utf8"));
  const dir = await variant("llama-linear-f16-tied", (c) => ((c.model_type = "internlm"), (c.residual_multiplier = 1)));
  const r = await analyzeCheckpoint(dir, { tokens: exp.ids, seq: exp.seq, backend: wasm });
  assert.is(r.model_type, "internlm");
  near(r.D_angular, exp["pre-norm"].D_angular, 2e-4, "D_angular");
  await rm(dir, { recursive: true });
});

test("refused by name: a tensor the architecture does not have (o_proj.bias)", async () => {
  const dir = await variant("llama-linear-f16-tied", () => {}, { name: "model.layers.0.self_attn.o_proj.bias", shape: [32], data: new Float32Array(32) });
  let error;
  await analyzeCheckpoint(dir, { tokens: [1, 2, 3], backend: wasm }).catch((e) => (error = e));
  assert.match(error?.message ?? "", /unexpected tensor model\.layers\.0\.self_attn\.o_proj\.bias for model_type "llama"/);
  await rm(dir, { recursive: true });
});

test("refused by name: a Qwen2 checkpoint without its q/k/v biases", async () => {
  const dir = await variant("llama-linear-f16-tied", (c) => (c.model_type = "qwen2"));
  let error;
  await analyzeCheckpoint(dir, { tokens: [1, 2, 3], backend: wasm }).catch((e) => (error = e));
  assert.match(error?.message ?? "", /missing tensors model\.layers\.0\.self_attn\.q_proj\.bias/);
  await rm(dir, { recursive: true });
});

test("a window past Mistral's sliding_window is refused, naming it; within it is fine", async () => {
  const dir = join(FIX, "mistral-window");
  const ids = Array.from({ length: 30 }, (_, i) => i % 61);
  let error;
  await analyzeCheckpoint(dir, { tokens: ids, seq: 9, backend: wasm }).catch((e) => (error = e));
  assert.match(error?.message ?? "", /window of 9 tokens is longer than the model's sliding_window of 8/);
  error = undefined;
  await analyzeCheckpoint(dir, { tokens: ids, backend: wasm }).catch((e) => (error = e));
  assert.match(error?.message ?? "", /window of 29 tokens is longer than the model's sliding_window of 8/, "the default window is the whole text");
  const r = await analyzeCheckpoint(dir, { tokens: ids, seq: 8, backend: wasm });
  assert.is(r.windows, 3);
});

test("tokens outside the vocabulary, too few tokens, a missing tokenizer", async () => {
  const dir = join(FIX, "qwen2-bias");
  const fails = async (o, re) => {
    let error;
    await analyzeCheckpoint(dir, { backend: wasm, ...o }).catch((e) => (error = e));
    assert.match(error?.message ?? "", re);
  };
  await fails({ tokens: [1, 99, 3] }, /token 1 is 99, outside the model's vocabulary \[0, 61\)/);
  await fails({ tokens: [1] }, /at least 2 are needed/);
  await fails({ text: "hello" }, /no tokenizer for .*qwen2-bias.*--tokenizer PATH/);
});

test.after(async () => {
  await wasm.dispose();
});
test.run();
