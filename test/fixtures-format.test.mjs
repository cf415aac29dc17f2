// Self-consistency of the PyTorch fixtures in test/fixtures/ (see its README),
// checked with plain Node and no engine code: a broken or stale fixture must
// fail here rather than show up as a confusing engine mismatch.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join, dirname } from "node:path";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "fixtures");
const CASES = ["tiny-untied", "tiny-tied", "tiny-l2", "tiny-l3"];
const CONFIG_KEYS = [
  "architectures", "model_type", "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
  "num_key_value_heads", "head_dim", "intermediate_size", "rope_theta", "rms_norm_eps", "tie_word_embeddings",
  "max_position_embeddings", "hidden_act", "attention_bias", "mlp_bias", "torch_dtype",
];
const EXPECTED_KEYS = [
  "batch", "seq", "logits", "ce", "early_exit_ce", "cos", "D_angular", "D_cosine", "J_angular", "J_cosine", "R", "alpha",
  "loss", "gradNorm", "adamw", "sgd",
];
const WEIGHT_FILES = ["model.safetensors", "grads.safetensors", "grads-angular-k2-middle.safetensors",
  "grads-ce.safetensors", "adamw-step.safetensors", "sgd-step.safetensors"];
const DTYPE_BYTES = { F32: 4, F16: 2, BF16: 2 };

const readJson = (...p) => JSON.parse(readFileSync(join(FIXTURES, ...p), "utf8"));

// A deliberately small, strict safetensors reader, separate from the engine's.
function readSafetensors(...p) {
  const buf = readFileSync(join(FIXTURES, ...p));
  const name = p.join("/");
  assert.ok(buf.length >= 8, `${name}: shorter than the 8-byte header length`);
  const headerLen = Number(buf.readBigUInt64LE(0));
  assert.ok(8 + headerLen <= buf.length, `${name}: header length past the end of the file`);
  assert.is(headerLen % 8, 0, `${name}: header length is not a multiple of 8`);
  const headerText = buf.subarray(8, 8 + headerLen).toString("utf8");
  assert.ok(!/ +\S/.test(headerText.slice(headerText.trimEnd().length)), `${name}: header padding is not trailing spaces`);
  const header = JSON.parse(headerText);
  const dataStart = 8 + headerLen;
  const names = Object.keys(header).filter((n) => n !== "__metadata__");
  assert.equal(names, [...names].sort(), `${name}: tensors are not sorted by name`);
  const tensors = new Map();
  let expectedOffset = 0;
  for (const n of names) {
    const { dtype, shape, data_offsets: [begin, end] } = header[n];
    assert.ok(dtype in DTYPE_BYTES, `${name}: ${n} has dtype ${dtype}`);
    const count = shape.reduce((a, b) => a * b, 1);
    assert.is(begin, expectedOffset, `${name}: ${n} leaves a hole or overlaps`);
    assert.is(end - begin, count * DTYPE_BYTES[dtype], `${name}: ${n} byte size does not match its shape`);
    expectedOffset = end;
    const bytes = buf.subarray(dataStart + begin, dataStart + end);
    tensors.set(n, { dtype, shape, bytes, values: decode(dtype, bytes) });
  }
  assert.is(dataStart + expectedOffset, buf.length, `${name}: data does not end at the end of the file`);
  return tensors;
}

function decode(dtype, bytes) {
  const out = new Float64Array(bytes.length / DTYPE_BYTES[dtype]);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) {
    if (dtype === "F32") out[i] = view.getFloat32(4 * i, true);
    else if (dtype === "BF16") out[i] = bf16ToNumber(view.getUint16(2 * i, true));
    else out[i] = f16ToNumber(view.getUint16(2 * i, true));
  }
  return out;
}

function bf16ToNumber(bits) {
  const v = new DataView(new ArrayBuffer(4));
  v.setUint32(0, bits << 16);
  return v.getFloat32(0);
}

function f16ToNumber(bits) {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function expectedParamShapes(cfg) {
  const d = cfg.hidden_size, hd = cfg.head_dim, I = cfg.intermediate_size;
  const shapes = { "model.embed_tokens.weight": [cfg.vocab_size, d], "model.norm.weight": [d] };
  for (let i = 0; i < cfg.num_hidden_layers; i++) {
    const p = `model.layers.${i}.`;
    Object.assign(shapes, {
      [p + "input_layernorm.weight"]: [d],
      [p + "post_attention_layernorm.weight"]: [d],
      [p + "self_attn.q_proj.weight"]: [cfg.num_attention_heads * hd, d],
      [p + "self_attn.k_proj.weight"]: [cfg.num_key_value_heads * hd, d],
      [p + "self_attn.v_proj.weight"]: [cfg.num_key_value_heads * hd, d],
      [p + "self_attn.o_proj.weight"]: [d, cfg.num_attention_heads * hd],
      [p + "mlp.gate_proj.weight"]: [I, d],
      [p + "mlp.up_proj.weight"]: [I, d],
      [p + "mlp.down_proj.weight"]: [d, I],
    });
  }
  if (!cfg.tie_word_embeddings) shapes["lm_head.weight"] = [cfg.vocab_size, d];
  return shapes;
}

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
const middleLayers = (L) => (L >= 3 ? Array.from({ length: L - 2 }, (_, i) => i + 2) : [1]);
const middleMean = (D) => mean(middleLayers(D.length).map((l) => D[l - 1]));
const close = (actual, expected, rel, what) =>
  assert.ok(Math.abs(actual - expected) <= rel * Math.max(Math.abs(expected), 1e-300),
    `${what}: ${actual} vs ${expected} (rel tol ${rel})`);

for (const name of CASES) {
  test(`${name}: config, tokens and tensor names/shapes agree`, () => {
    const cfg = readJson(name, "config.json");
    assert.equal(Object.keys(cfg).sort(), [...CONFIG_KEYS].sort());
    assert.equal(cfg.architectures, ["LlamaForCausalLM"]);
    assert.is(cfg.model_type, "llama");
    assert.is(cfg.hidden_act, "silu");
    assert.is(cfg.torch_dtype, "float32");
    assert.is(cfg.num_attention_heads % cfg.num_key_value_heads, 0);
    assert.is(cfg.num_attention_heads * cfg.head_dim, cfg.hidden_size);
    const exp = readJson(name, "expected.json");
    const tokens = readJson(name, "tokens.json");
    assert.is(tokens.length, exp.batch);
    for (const row of tokens) {
      assert.is(row.length, exp.seq + 1);
      for (const t of row) assert.ok(Number.isInteger(t) && t >= 0 && t < cfg.vocab_size, `token ${t} out of range`);
    }
    assert.ok(exp.seq <= cfg.max_position_embeddings);
    const shapes = expectedParamShapes(cfg);
    for (const file of WEIGHT_FILES) {
      const tensors = readSafetensors(name, file);
      assert.equal([...tensors.keys()], Object.keys(shapes).sort(), `${file}: tensor names`);
      for (const [n, t] of tensors) {
        assert.is(t.dtype, "F32", `${file}: ${n}`);
        assert.equal(t.shape, shapes[n], `${file}: ${n} shape`);
        assert.ok(t.values.every(Number.isFinite), `${file}: ${n} has non-finite values`);
      }
    }
  });

  test(`${name}: expected.json is internally consistent`, () => {
    const cfg = readJson(name, "config.json");
    const exp = readJson(name, "expected.json");
    const tokens = readJson(name, "tokens.json");
    assert.equal(Object.keys(exp).sort(), [...EXPECTED_KEYS].sort());
    const B = exp.batch, T = exp.seq, V = cfg.vocab_size, L = cfg.num_hidden_layers;
    assert.is(exp.logits.length, B * T * V);
    assert.ok(exp.logits.every(Number.isFinite));

    // CE from the stored logits and the targets tokens[:, 1:]
    let ce = 0;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const row = exp.logits.slice((b * T + t) * V, (b * T + t + 1) * V);
        const max = Math.max(...row);
        const lse = max + Math.log(row.reduce((s, x) => s + Math.exp(x - max), 0));
        ce += lse - row[tokens[b][t + 1]];
      }
    }
    close(ce / (B * T), exp.ce, 1e-12, "ce from logits");
    // the early-exit CE of h_L is the model's own CE
    assert.is(exp.early_exit_ce.length, L);
    assert.ok(exp.early_exit_ce.every(Number.isFinite));
    close(exp.early_exit_ce[L - 1], exp.ce, 1e-12, "early_exit_ce[L-1] = ce");

    // layer profiles, J and R from the per-token cosines
    assert.is(exp.cos.length, L);
    for (const c of exp.cos) {
      assert.is(c.length, B * T);
      assert.ok(c.every((x) => x >= -1 && x <= 1));
    }
    const angular = (c, lim) => Math.acos(Math.min(1 - lim, Math.max(-1 + lim, c))) / Math.PI;
    const D = {
      cosine: exp.cos.map((c) => mean(c.map((x) => 1 - x))),
      angular: exp.cos.map((c) => mean(c.map((x) => angular(x, 0)))),
    };
    const Dloss = { cosine: D.cosine, angular: exp.cos.map((c) => mean(c.map((x) => angular(x, 1e-7)))) };
    for (let l = 0; l < L; l++) {
      close(D.cosine[l], exp.D_cosine[l], 1e-12, `D_cosine[${l}]`);
      close(D.angular[l], exp.D_angular[l], 1e-12, `D_angular[${l}]`);
    }
    close(exp.D_cosine[L - 1] / middleMean(exp.D_cosine), exp.J_cosine, 1e-12, "J_cosine");
    close(exp.D_angular[L - 1] / middleMean(exp.D_angular), exp.J_angular, 1e-12, "J_angular");
    assert.ok(exp.J_cosine > 1.5 && exp.J_angular > 1.5, "the fixture model should show a final-layer jump");
    const keys = [];
    for (const dist of ["cosine", "angular"]) {
      for (const k of [1, 2]) {
        for (const normalize of ["none", "middle"]) {
          const key = `${dist}/${k}/${normalize}`;
          keys.push(key);
          let R = mean(Dloss[dist].slice(L - k));
          if (normalize === "middle") R /= middleMean(Dloss[dist]);
          close(exp.R[key], R, 1e-12, `R ${key}`);
        }
      }
    }
    assert.equal(Object.keys(exp.R).sort(), keys.sort());
    assert.is(exp.alpha, 3);
    close(exp.loss, exp.ce + exp.alpha * exp.R["cosine/1/none"], 1e-15, "loss");
  });

  test(`${name}: gradients and one-step weights agree with the recorded optimizer settings`, () => {
    const exp = readJson(name, "expected.json");
    const weights = readSafetensors(name, "model.safetensors");
    const grads = readSafetensors(name, "grads.safetensors");
    const gradsCe = readSafetensors(name, "grads-ce.safetensors");
    const gradsAm = readSafetensors(name, "grads-angular-k2-middle.safetensors");
    const sgd = readSafetensors(name, "sgd-step.safetensors");
    const adamw = readSafetensors(name, "adamw-step.safetensors");

    let sq = 0;
    for (const g of grads.values()) for (const x of g.values) sq += x * x;
    const gradNorm = Math.sqrt(sq);
    close(gradNorm, exp.gradNorm, 1e-6, "gradNorm from grads.safetensors");
    assert.ok(exp.gradNorm > exp.adamw.clip, "clipping must be active in the AdamW fixture");
    assert.equal(exp.adamw, { lr: 1e-2, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, clip: 1 });
    assert.equal(exp.sgd, { lr: 0.1 });

    // the regularizer must matter: the three gradient files differ
    const differs = (a, b) => [...a.keys()].some((n) => a.get(n).values.some((x, i) => x !== b.get(n).values[i]));
    assert.ok(differs(grads, gradsCe), "grads.safetensors equals grads-ce.safetensors");
    assert.ok(differs(grads, gradsAm), "grads.safetensors equals grads-angular-k2-middle.safetensors");

    // torch.nn.utils.clip_grad_norm_: g * clip / (norm + 1e-6)
    const scale = Math.min(1, exp.adamw.clip / (exp.gradNorm + 1e-6));
    const { lr, beta1, beta2, eps, weightDecay } = exp.adamw;
    for (const [n, w] of weights) {
      const g = grads.get(n).values;
      const decays = w.shape.length >= 2; // matrices and embeddings; never norms
      for (let i = 0; i < w.values.length; i++) {
        const wSgd = w.values[i] - exp.sgd.lr * g[i];
        assert.ok(Math.abs(sgd.get(n).values[i] - wSgd) <= 1e-6 * (Math.abs(w.values[i]) + Math.abs(exp.sgd.lr * g[i])),
          `sgd-step ${n}[${i}]`);
        // first AdamW step: m̂ = g, v̂ = g², decoupled decay before the update
        const gc = g[i] * scale;
        const m = (1 - beta1) * gc / (1 - beta1);
        const v = (1 - beta2) * gc * gc / (1 - beta2);
        const wAdam = w.values[i] * (1 - (decays ? lr * weightDecay : 0)) - lr * m / (Math.sqrt(v) + eps);
        assert.ok(Math.abs(adamw.get(n).values[i] - wAdam) <= 1e-6 * (Math.abs(w.values[i]) + lr),
          `adamw-step ${n}[${i}]: ${adamw.get(n).values[i]} vs ${wAdam}`);
      }
    }
  });
}

test("tiny-untied: F16/BF16 copies decode to the stored as-f32 files, bit for bit", () => {
  const f32 = readSafetensors("tiny-untied", "model.safetensors");
  for (const [tag, dtype, rel] of [["f16", "F16", 2 ** -10], ["bf16", "BF16", 2 ** -7]]) {
    const low = readSafetensors("tiny-untied", `model.${tag}.safetensors`);
    const back = readSafetensors("tiny-untied", `model.${tag}-as-f32.safetensors`);
    assert.equal([...low.keys()], [...f32.keys()]);
    assert.equal([...back.keys()], [...f32.keys()]);
    for (const [n, t] of low) {
      assert.is(t.dtype, dtype);
      assert.equal(t.shape, f32.get(n).shape);
      assert.equal(Array.from(t.values), Array.from(back.get(n).values), `${tag} ${n}: decoded values`);
      f32.get(n).values.forEach((x, i) => {
        // round to nearest: within half an ulp of the format (subnormal f16 gets an absolute bound)
        assert.ok(Math.abs(t.values[i] - x) <= rel * Math.abs(x) / 2 + 2 ** -25, `${tag} ${n}[${i}] rounding`);
      });
    }
  }
});

test("tiny-untied-sharded: index and shards reproduce model.safetensors", () => {
  const dir = "tiny-untied-sharded";
  assert.equal(readJson(dir, "config.json"), readJson("tiny-untied", "config.json"));
  const index = readJson(dir, "model.safetensors.index.json");
  assert.equal(Object.keys(index).sort(), ["metadata", "weight_map"]);
  const whole = readSafetensors("tiny-untied", "model.safetensors");
  assert.equal(Object.keys(index.weight_map).sort(), [...whole.keys()]);
  const files = [...new Set(Object.values(index.weight_map))].sort();
  assert.equal(files, ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]);
  let total = 0;
  const seen = new Set();
  for (const file of files) {
    assert.ok(existsSync(join(FIXTURES, dir, file)));
    for (const [n, t] of readSafetensors(dir, file)) {
      assert.is(index.weight_map[n], file, `${n} is in ${file} but the index says ${index.weight_map[n]}`);
      assert.ok(whole.get(n).bytes.equals(t.bytes), `${n}: shard bytes differ`);
      total += t.bytes.length;
      seen.add(n);
    }
  }
  assert.is(seen.size, whole.size);
  assert.is(index.metadata.total_size, total);
});

test.run();
