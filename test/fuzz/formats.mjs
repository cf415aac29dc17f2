// The file formats the fuzz suite mutates. Adding a format is one entry here:
//   name      label in the counts table
//   setup()   builds the valid seed files once per worker (returns a state)
//   mutant(r, state)  -> { files: { name: bytes | {dir:true} | {symlink:target} }, what, field? }
//   load(dir, state)  reads the files from `dir` with the engine's own reader; returns a value
//   usable(value, state)  throws if an accepted value is not usable (e.g. NaN loss)
//   names     words that count as naming the field in a rejection message
// A mutant passes if load+usable succeed (accepted) or load throws an Error
// whose message names one of the mutant's files and a field (rejected).
import {
  checkpointToFiles, configToHF, createEngine, evaluate, parameterSpecs, readCheckpoint, readTokensFile, serializeSafetensors,
} from "../../dist/index.js";
import { encodeShard, readShard } from "../../dist/data/index.js";
import { fileStorage, openRunDir, readMetrics } from "../../dist/run/index.js";
import { Raw, deepArray, deepObject, mutateBytes, mutateJson, stringify } from "./mutate.mjs";
import { TOKENIZER_FORMATS } from "./tokenizer-formats.mjs";

const enc = new TextEncoder();
const dec = new TextDecoder();

export const MICRO = {
  vocabSize: 16, hiddenSize: 8, numLayers: 2, numHeads: 2, numKvHeads: 1, intermediateSize: 12,
  ropeTheta: 10000, rmsEps: 1e-5, tiedEmbeddings: false, maxSeqLen: 8,
};

function microCheckpoint(config = MICRO, seed = 7) {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 0.2;
  const tensors = new Map();
  for (const spec of parameterSpecs(config)) tensors.set(spec.name, Float32Array.from({ length: spec.size }, next));
  return { config: { ...config }, tensors };
}

/** One engine per worker: loading a mutant and evaluating a tiny batch proves it usable. */
let engine;
async function usableModel(ckpt) {
  engine ??= await createEngine({ backend: "wasm", threads: 1 });
  const model = engine.loadModel(ckpt);
  try {
    const L = Math.min(ckpt.config.maxSeqLen, 4) + 1;
    const ids = Int32Array.from({ length: 2 * L }, (_, i) => (i * 5 + 1) % ckpt.config.vocabSize);
    const e = await evaluate(model, { batch: 2, length: L, ids });
    if (!Number.isFinite(e.ce) || !Number.isFinite(e.loss)) throw new Error(`accepted checkpoint evaluates to ce ${e.ce}`);
  } finally {
    model.dispose();
  }
}

/** A safetensors file from a header object (or text) and the data section. */
function safetensorsBytes(headerText, data, lengthField) {
  const h = enc.encode(headerText);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt.asUintN(64, BigInt(lengthField ?? h.length)), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function splitSafetensors(bytes) {
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
  return { header: JSON.parse(dec.decode(bytes.subarray(8, 8 + n))), headerLen: n, data: bytes.subarray(8 + n) };
}

const DTYPES = ["F32", "F16", "BF16", "F64", "I64", "U8", "BOOL", "f32", "", 5, null, ["F32"]];

/** Targeted damage to one tensor entry: dtype, shape and offsets wrong, reversed, overlapping, duplicated, non-integer, huge. */
function mutateTensorEntry(header, r) {
  header = { ...header };
  const names = Object.keys(header).filter((k) => k !== "__metadata__");
  const name = r.pick(names);
  const other = header[r.pick(names)];
  const e = structuredClone(header[name]);
  const [b, end] = e.data_offsets;
  const choices = [
    ["dtype", () => (e.dtype = r.pick(DTYPES))],
    ["shape", () => (e.shape = e.shape.slice().reverse())],
    ["shape", () => (e.shape = [1e9, ...e.shape.slice(1)])],
    ["shape", () => (e.shape = [2 ** 31, 2 ** 31, 2 ** 31])],
    ["shape", () => (e.shape = [-1, ...e.shape.slice(1)])],
    ["shape", () => (e.shape = [e.shape[0] + 0.5, ...e.shape.slice(1)])],
    ["shape", () => (e.shape = [...e.shape, 1])],
    ["shape", () => (e.shape = [])],
    ["shape", () => (e.shape = other.shape)],
    ["data_offsets", () => (e.data_offsets = [end, b])],
    ["data_offsets", () => (e.data_offsets = other.data_offsets.slice())],
    ["data_offsets", () => (e.data_offsets = [Math.max(0, b - 4), end - 4])],
    ["data_offsets", () => (e.data_offsets = [b, end + 4])],
    ["data_offsets", () => (e.data_offsets = [b + 0.5, end])],
    ["data_offsets", () => (e.data_offsets = [b, 2 ** 53])],
    ["data_offsets", () => (e.data_offsets = [b, new Raw("1e400")])],
    ["data_offsets", () => (e.data_offsets = [-4, end])],
    ["data_offsets", () => (e.data_offsets = [b])],
    ["shape", () => (e.shape = deepArray(5000))],
    ["data_offsets", () => (e.data_offsets = [b, deepArray(5000)])],
    ["dtype", () => (e.dtype = deepArray(5000))],
    ["__metadata__", () => (header = { ...header, __metadata__: r.pick([{ format: deepArray(5000) }, deepObject(5000), { format: deepObject(5000) }]) })],
  ];
  const [field, apply] = r.pick(choices);
  apply();
  const shown = field === "__metadata__" ? "nested" : stringify(e[field]).slice(0, 60);
  return { header: { ...header, [name]: e }, what: `tensor ${name}: ${field} := ${shown}`, field };
}

function checkpointSeed() {
  const files = checkpointToFiles(microCheckpoint());
  return { config: files.get("config.json"), weights: files.get("model.safetensors") };
}

const SAFETENSORS_NAMES = ["header", "dtype", "shape", "data_offsets", "__metadata__", "tensor", "UTF-8", "JSON", "bytes", "non-finite", "8-byte"];

const safetensors = {
  name: "safetensors",
  names: SAFETENSORS_NAMES,
  setup: checkpointSeed,
  mutant(r, s) {
    const { header, headerLen, data } = splitSafetensors(s.weights);
    const files = { "config.json": s.config };
    const op = r.int(10);
    if (op < 3) {
      const m = mutateJson(header, r);
      files["model.safetensors"] = safetensorsBytes(m.text, data);
      return { files, what: `header ${m.what}`, field: m.field, mutated: "model.safetensors" };
    }
    if (op < 5) {
      const m = mutateTensorEntry(header, r);
      files["model.safetensors"] = safetensorsBytes(stringify(m.header), data);
      return { files, what: m.what, field: m.field, mutated: "model.safetensors" };
    }
    if (op === 5) {
      const len = r.pick([2n ** 64n - 1n, 2n ** 63n, 2n ** 53n, 0n, 1n, BigInt(headerLen + 1), BigInt(headerLen - 1), BigInt(s.weights.length)]);
      const out = s.weights.slice();
      new DataView(out.buffer).setBigUint64(0, len, true);
      return { files: { ...files, "model.safetensors": out }, what: `header length := ${len}`, field: "header", mutated: "model.safetensors" };
    }
    if (op === 6) {
      // NaN / Infinity / a huge value in the data section.
      const out = s.weights.slice();
      const slot = r.int(data.length / 4);
      const value = r.pick([NaN, Infinity, -Infinity, 3e38]);
      new DataView(out.buffer).setFloat32(8 + headerLen + 4 * slot, value, true);
      return { files: { ...files, "model.safetensors": out }, what: `data f32 #${slot} := ${value}`, field: "tensor", mutated: "model.safetensors" };
    }
    if (op === 7) {
      const special = r.pick([{ dir: true }, { symlink: "/dev/zero" }, { symlink: "missing-target" }]);
      return { files: { ...files, "model.safetensors": special }, what: `model.safetensors := ${JSON.stringify(special)}`, mutated: "model.safetensors" };
    }
    const boundaries = [8, 8 + headerLen];
    for (const e of Object.values(header)) if (e.data_offsets) boundaries.push(8 + headerLen + e.data_offsets[0], 8 + headerLen + e.data_offsets[1]);
    const region = r.next() < 0.5 ? [8, 8 + headerLen] : [0, s.weights.length];
    const m = mutateBytes(s.weights, r, { boundaries, region });
    return { files: { ...files, "model.safetensors": m.bytes }, what: m.what, mutated: "model.safetensors" };
  },
  load: (dir) => readCheckpoint(dir),
  usable: usableModel,
};

const CONFIG_KEYS = [
  "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "intermediate_size", "rope_theta",
  "rms_norm_eps", "tie_word_embeddings", "max_position_embeddings", "head_dim", "model_type", "hidden_act", "rope_scaling",
  "attention_bias", "mlp_bias", "attention_dropout", "sliding_window", "rope_parameters", "torch_dtype", "initializer_range", "architectures",
];

const configJson = {
  name: "config.json",
  names: [...CONFIG_KEYS, "JSON", "UTF-8", "config", "shape", "tensor"],
  setup: checkpointSeed,
  mutant(r, s) {
    const config = JSON.parse(dec.decode(s.config));
    const files = { "model.safetensors": s.weights };
    const op = r.int(10);
    if (op < 6) {
      const m = mutateJson(config, r, [new Raw("1e400")]);
      return { files: { ...files, "config.json": enc.encode(m.text) }, what: m.what, field: m.field, mutated: "config.json" };
    }
    if (op < 8) {
      // The cases of the issue, and their neighbours.
      const [key, value] = r.pick([
        ["hidden_size", 1e9], ["vocab_size", 2 ** 31], ["intermediate_size", 1e9], ["num_hidden_layers", 1e6], ["max_position_embeddings", 2 ** 40],
        ["sliding_window", 0], ["sliding_window", -5], ["sliding_window", 2.5], ["sliding_window", "4"], ["sliding_window", 4],
        ["rms_norm_eps", null], ["rope_theta", null], ["rope_theta", 1e-300], ["rope_theta", 0.5], ["rope_theta", new Raw("1e400")],
        ["rms_norm_eps", 1e-300], ["num_key_value_heads", null], ["head_dim", null], ["head_dim", 3], ["tie_word_embeddings", null],
        ["vocab_size", null], ["torch_dtype", "bfloat16"], ["rope_parameters", null], ["rope_parameters", 3],
      ]);
      const text = stringify({ ...config, [key]: value });
      return { files: { ...files, "config.json": enc.encode(text) }, what: `${key} := ${stringify(value)}`, field: key, mutated: "config.json" };
    }
    if (op === 8) {
      const special = r.pick([{ dir: true }, { symlink: "/dev/zero" }]);
      return { files: { ...files, "config.json": special }, what: `config.json := ${JSON.stringify(special)}`, mutated: "config.json" };
    }
    const m = mutateBytes(s.config, r);
    return { files: { ...files, "config.json": m.bytes }, what: m.what, mutated: "config.json" };
  },
  load: (dir) => readCheckpoint(dir),
  usable: usableModel,
};

/** A two-shard checkpoint: config.json, the index and model-0000{1,2}-of-00002.safetensors. */
function shardedSeed() {
  const ckpt = microCheckpoint();
  const specs = parameterSpecs(ckpt.config);
  const half = Math.ceil(specs.length / 2);
  const names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"];
  const weight_map = {};
  const shards = [specs.slice(0, half), specs.slice(half)].map((part, i) => {
    for (const s of part) weight_map[s.name] = names[i];
    return serializeSafetensors(part.map((s) => ({ name: s.name, shape: s.shape, data: ckpt.tensors.get(s.name) })), { format: "pt" });
  });
  const index = { metadata: { total_size: shards[0].length + shards[1].length }, weight_map };
  return { config: enc.encode(JSON.stringify(configToHF(ckpt.config))), index, names, shards };
}

const shardIndex = {
  name: "model.safetensors.index.json",
  names: ["weight_map", "shard", "tensor", "JSON", "UTF-8", "metadata", "header", "dtype", "shape", "data_offsets", "index"],
  setup: shardedSeed,
  mutant(r, s) {
    const files = { "config.json": s.config, [s.names[0]]: s.shards[0], [s.names[1]]: s.shards[1] };
    const op = r.int(10);
    if (op < 5) {
      const m = mutateJson(s.index, r, ["../config.json", "/etc/passwd", ".", "..", s.names[0], s.names[1], "model.safetensors"]);
      return { files: { ...files, "model.safetensors.index.json": enc.encode(m.text) }, what: `index ${m.what}`, field: m.field, mutated: "model.safetensors.index.json" };
    }
    files["model.safetensors.index.json"] = enc.encode(JSON.stringify(s.index));
    if (op < 7) {
      const m = mutateBytes(files["model.safetensors.index.json"], r);
      return { files: { ...files, "model.safetensors.index.json": m.bytes }, what: `index ${m.what}`, mutated: "model.safetensors.index.json" };
    }
    const i = r.int(2);
    const name = s.names[i];
    if (op === 7) {
      const special = r.pick([{ dir: true }, { symlink: "/dev/zero" }, { absent: true }, s.shards[1 - i]]);
      return { files: { ...files, [name]: special }, what: `${name} := ${special instanceof Uint8Array ? "the other shard" : JSON.stringify(special)}`, mutated: name };
    }
    const m = mutateBytes(s.shards[i], r);
    return { files: { ...files, [name]: m.bytes }, what: `${name} ${m.what}`, mutated: name };
  },
  load: (dir) => readCheckpoint(dir),
  usable: usableModel,
};

const TOKENS_SEED = [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [11, 12, 13, 14, 15]];

const tokensFile = {
  name: "tokens file",
  names: ["row", "column", "token id", "JSON", "UTF-8", "ids", "array", "rows", "sequence length", "vocab", "file", "bytes"],
  setup: () => ({ text: enc.encode(JSON.stringify(TOKENS_SEED)) }),
  mutant(r, s) {
    const op = r.int(10);
    if (op < 6) {
      const m = mutateJson(TOKENS_SEED, r, [16, 15, 2 ** 31 - 1, new Raw("1e400"), new Raw("-0")]);
      return { files: { "tokens.json": enc.encode(m.text) }, what: m.what, mutated: "tokens.json" };
    }
    if (op === 6) {
      const special = r.pick([{ dir: true }, { symlink: "/dev/zero" }, { absent: true }]);
      return { files: { "tokens.json": special }, what: `tokens.json := ${JSON.stringify(special)}`, mutated: "tokens.json" };
    }
    const m = mutateBytes(s.text, r);
    return { files: { "tokens.json": m.bytes }, what: m.what, mutated: "tokens.json" };
  },
  load: (dir) => readTokensFile(`${dir}/tokens.json`, { vocabSize: MICRO.vocabSize, maxSeqLen: MICRO.maxSeqLen }),
  usable(batch) {
    if (batch.ids.length !== batch.batch * batch.length) throw new Error("tokens: ids do not fill the rows");
    for (const id of batch.ids) if (!(id >= 0 && id < MICRO.vocabSize)) throw new Error(`tokens: accepted id ${id}`);
  },
};

const SHARD_SEED_TOKENS = Uint16Array.from({ length: 21 }, (_, i) => (i * 7) % 100);
const SHA = "ab".repeat(32);

function shardParts(bytes) {
  const h = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  return { headerLen: h, header: JSON.parse(dec.decode(bytes.subarray(12, 12 + h))), offset: Math.ceil((12 + h) / 8) * 8 };
}

function shardBytes(headerText, tokenBytes, lengthField) {
  const h = enc.encode(headerText);
  const offset = Math.ceil((12 + h.length) / 8) * 8;
  const out = new Uint8Array(offset + tokenBytes.length);
  out.set(enc.encode("JREGTOK1"));
  new DataView(out.buffer).setUint32(8, lengthField ?? h.length, true);
  out.set(h, 12);
  out.set(tokenBytes, offset);
  return out;
}

const tokenShard = {
  name: "token shard (.bin)",
  names: ["header", "magic", "truncated", "version", "dtype", "tokens", "documents", "eot", "vocab_size", "tokenizer_sha256", "token", "padding", "bytes", "corrupt", "shard"],
  setup: () => ({ bytes: encodeShard({ documents: 2, eot: 99, vocab_size: 100, tokenizer_sha256: SHA }, SHARD_SEED_TOKENS) }),
  mutant(r, s) {
    const { headerLen, header, offset } = shardParts(s.bytes);
    const tokens = s.bytes.subarray(offset);
    const op = r.int(10);
    if (op < 4) {
      const m = mutateJson(header, r, ["uint16", "uint32", "uint8", 65536, 65537, 2 ** 32, SHA.toUpperCase()]);
      return { files: { "shard.bin": shardBytes(m.text, tokens) }, what: `header ${m.what}`, field: m.field, mutated: "shard.bin" };
    }
    if (op === 4) {
      const len = r.pick([0, 1, headerLen - 1, headerLen + 1, 2 ** 16 + 1, 2 ** 32 - 1, s.bytes.length]);
      const out = s.bytes.slice();
      new DataView(out.buffer).setUint32(8, len, true);
      return { files: { "shard.bin": out }, what: `header length := ${len}`, field: "header", mutated: "shard.bin" };
    }
    if (op === 5) {
      const special = r.pick([{ dir: true }, { symlink: "/dev/zero" }, { absent: true }]);
      return { files: { "shard.bin": special }, what: `shard.bin := ${JSON.stringify(special)}`, mutated: "shard.bin" };
    }
    const m = mutateBytes(s.bytes, r, { boundaries: [8, 12, 12 + headerLen, offset, s.bytes.length - 2] });
    return { files: { "shard.bin": m.bytes }, what: m.what, mutated: "shard.bin" };
  },
  async load(dir, s, bytes) {
    const shard = await readShard(`${dir}/shard.bin`);
    return shard;
  },
  usable(shard) {
    if (shard.tokens.length !== shard.header.tokens) throw new Error("shard: token count differs from its header");
    for (const t of shard.tokens) if (t >= shard.header.vocab_size) throw new Error(`shard: accepted token ${t}`);
    if (shard.header.eot !== null && shard.header.eot >= shard.header.vocab_size) throw new Error("shard: eot outside the vocabulary");
  },
};

const RUN_CONFIG = { model: { preset: "tiny" }, train: { steps: 10, lr: 0.001 }, seed: 1 };
const TRAINER_STATE = { step: 5, sampler: { epoch: 0, position: 3 }, rng: 12345 };

const runDir = {
  name: "run dir (config.json, checkpoint-N/trainer_state.json)",
  names: ["config.json", "JSON", "object", "run directory", "checkpoint", "trainer_state.json"],
  setup: () => ({}),
  mutant(r) {
    const files = {
      "config.json": enc.encode(JSON.stringify(RUN_CONFIG)),
      "checkpoint-5": { dir: true },
      "checkpoint-5/trainer_state.json": enc.encode(JSON.stringify(TRAINER_STATE)),
    };
    const op = r.int(6);
    if (op < 2) {
      const m = mutateJson(RUN_CONFIG, r);
      return { files: { ...files, "config.json": enc.encode(m.text) }, what: `config.json ${m.what}`, mutated: "config.json" };
    }
    if (op === 2) {
      const m = mutateBytes(files["config.json"], r);
      return { files: { ...files, "config.json": m.bytes }, what: `config.json ${m.what}`, mutated: "config.json" };
    }
    if (op === 3) {
      const special = r.pick([{ dir: true }, { symlink: "/dev/zero" }, { absent: true }]);
      return { files: { ...files, "config.json": special }, what: `config.json := ${JSON.stringify(special)}`, mutated: "config.json" };
    }
    // Interrupted-write leftovers and damaged checkpoint directories.
    const extra = r.pick([
      { ".tmp-checkpoint-9-deadbeef": { dir: true }, ".tmp-checkpoint-9-deadbeef/trainer_state.json": enc.encode("{") },
      { ".old-checkpoint-5-0badf00d": { dir: true }, ".old-checkpoint-5-0badf00d/trainer_state.json": enc.encode("{}") },
      { "checkpoint-7": { dir: true } },
      { "checkpoint-8": enc.encode("not a directory") },
      { "checkpoint-99999999999999999999": { dir: true }, "checkpoint-99999999999999999999/trainer_state.json": enc.encode("{}") },
      { "checkpoint-5/trainer_state.json": { dir: true } },
      { "checkpoint-6": { symlink: "/dev/zero" } },
    ]);
    return { files: { ...files, ...extra }, what: `leftovers ${Object.keys(extra).join(", ")}`, mutated: "checkpoint" };
  },
  async load(dir) {
    return openRunDir(dir);
  },
  usable(run) {
    if (typeof run.config !== "object" || run.config === null) throw new Error("run: accepted a config that is not an object");
    if (run.latest !== null && !Number.isSafeInteger(run.latest.step)) throw new Error(`run: latest checkpoint step ${run.latest.step}`);
  },
};

function metricsSeed() {
  return { text: enc.encode([1, 2, 3, 4].map((step) => JSON.stringify({ step, loss: 3 - step / 10, lr: 0.001 })).join("\n") + "\n") };
}

const metricsJsonl = {
  name: "metrics.jsonl",
  names: ["line", "step", "JSON", "metrics"],
  setup: metricsSeed,
  mutant(r, s) {
    const op = r.int(8);
    const lines = dec.decode(s.text).split("\n").slice(0, -1).map((l) => JSON.parse(l));
    if (op < 3) {
      const i = r.int(lines.length);
      const m = mutateJson(lines[i], r);
      const text = lines.map((l, j) => (j === i ? m.text : JSON.stringify(l))).join("\n") + "\n";
      return { files: { "metrics.jsonl": enc.encode(text) }, what: `line ${i + 1} ${m.what}`, mutated: "metrics.jsonl" };
    }
    if (op === 3) {
      const special = r.pick([{ dir: true }, { symlink: "/dev/zero" }, { absent: true }]);
      return { files: { "metrics.jsonl": special }, what: `metrics.jsonl := ${JSON.stringify(special)}`, mutated: "metrics.jsonl" };
    }
    const m = mutateBytes(s.text, r, { boundaries: [...dec.decode(s.text).matchAll(/\n/g)].map((x) => x.index + 1) });
    return { files: { "metrics.jsonl": m.bytes }, what: m.what, mutated: "metrics.jsonl" };
  },
  load: (dir) => readMetrics(fileStorage, `${dir}/metrics.jsonl`),
  usable(m) {
    for (const rec of m.records) if (!Number.isInteger(rec.step)) throw new Error(`metrics: accepted a record without an integer step`);
  },
};

/** Every format, by name. To fuzz a new file format, add one entry. */
export const FORMATS = [safetensors, configJson, shardIndex, tokensFile, tokenShard, runDir, metricsJsonl, ...TOKENIZER_FORMATS];

export async function disposeFormats() {
  await engine?.dispose();
  engine = undefined;
}
