// Hardening of the readers (issue "Hardening"): each test is a case that
// crashed, hung or gave an unclear message before, found by hand or by the fuzz
// suite (test/fuzz-*.test.mjs).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import {
  CheckpointError, ConfigError, TokensError, checkpointToFiles, configFromHF, configToHF, parameterSpecs, readCheckpoint, readTokensFile,
  serializeSafetensors, parseSafetensors, SafetensorsError, parseShardIndex,
} from "../dist/index.js";
import { ShardError, decodeShard, encodeShard } from "../dist/data/index.js";
import { fileStorage, latestCheckpoint, openRunDir, readMetrics } from "../dist/run/index.js";
import { tinyWorkspace, tinyConfig, writeConfig } from "./helpers/train-fixture.mjs";

const root = mkdtempSync(join(tmpdir(), "jreg-harden-"));
let n = 0;
const fresh = () => {
  const d = join(root, `d${n++}`);
  mkdirSync(d);
  return d;
};

const micro = { vocabSize: 16, hiddenSize: 8, numLayers: 1, numHeads: 2, numKvHeads: 1, intermediateSize: 12, ropeTheta: 10000, rmsEps: 1e-5, tiedEmbeddings: false, maxSeqLen: 8 };

function microCheckpoint() {
  const tensors = new Map();
  let s = 3;
  for (const spec of parameterSpecs(micro)) tensors.set(spec.name, Float32Array.from({ length: spec.size }, () => ((s = (s * 69069 + 1) >>> 0) / 2 ** 32 - 0.5) * 0.1));
  return { config: { ...micro }, tensors };
}

function writeFiles(dir, files) {
  for (const [name, bytes] of files) writeFileSync(join(dir, name), bytes);
}

async function rejects(promise, cls, pattern) {
  try {
    await promise;
  } catch (e) {
    assert.instance(e, cls, `${e?.name}: ${e?.message}`);
    assert.match(e.message, pattern);
    return e.message;
  }
  assert.unreachable(`expected ${cls.name} matching ${pattern}`);
}

/** A promise that fails if `p` takes longer than `ms` (a read of /dev/zero used to run until memory ran out). */
const within = (p, ms) => Promise.race([p, new Promise((_, no) => setTimeout(() => no(new Error(`took more than ${ms} ms`)), ms))]);

test("a directory where config.json or model.safetensors should be: the path is named, not a bare EISDIR", async () => {
  for (const name of ["config.json", "model.safetensors"]) {
    const dir = fresh();
    writeFiles(dir, checkpointToFiles(microCheckpoint()));
    rmSync(join(dir, name));
    mkdirSync(join(dir, name));
    const msg = await rejects(readCheckpoint(dir, { label: "--model" }), CheckpointError, /is a directory, not a file/);
    assert.ok(msg.includes(join(dir, name)), msg);
  }
});

test("an endless weights file (/dev/zero) is refused at once instead of read until memory runs out", async () => {
  const dir = fresh();
  writeFiles(dir, checkpointToFiles(microCheckpoint()));
  rmSync(join(dir, "model.safetensors"));
  symlinkSync("/dev/zero", join(dir, "model.safetensors"));
  await within(rejects(readCheckpoint(dir), CheckpointError, /model\.safetensors.*not a regular file/), 5000);
});

test("a weights file larger than the config's model can be is refused before it is read", async () => {
  const dir = fresh();
  const files = checkpointToFiles(microCheckpoint());
  const big = new Uint8Array(20 * 1024 * 1024);
  big.set(files.get("model.safetensors"));
  files.set("model.safetensors", big);
  writeFiles(dir, files);
  await rejects(readCheckpoint(dir), CheckpointError, /model\.safetensors.*bytes, more than/);
});

test("NaN, Infinity and overflowing weights are refused, naming the tensor, the index and the file", async () => {
  for (const [value, pattern] of [[NaN, /non-finite value \(NaN\)/], [Infinity, /non-finite value \(Infinity\)/], [2.2e32, /beyond ±1000000000/]]) {
    const ckpt = microCheckpoint();
    const dir = fresh();
    const files = checkpointToFiles(ckpt);
    // Patch the value into the file: the writer itself refuses such weights.
    const name = "model.layers.0.input_layernorm.weight";
    const list = parameterSpecs(micro).map((s) => ({ name: s.name, shape: s.shape, data: ckpt.tensors.get(s.name).slice() }));
    list.find((t) => t.name === name).data[3] = value;
    files.set("model.safetensors", serializeSafetensors(list));
    writeFiles(dir, files);
    const msg = await rejects(readCheckpoint(dir), CheckpointError, pattern);
    assert.match(msg, /model\.safetensors: tensor model\.layers\.0\.input_layernorm\.weight has .* at index 3/);
  }
});

test("a NaN in a shard names that shard, not 'sharded checkpoint'", async () => {
  const ckpt = microCheckpoint();
  const specs = parameterSpecs(micro);
  const dir = fresh();
  const shard = "model-00001-of-00001.safetensors";
  const list = specs.map((s) => ({ name: s.name, shape: s.shape, data: ckpt.tensors.get(s.name).slice() }));
  list[1].data[0] = NaN;
  writeFiles(dir, [
    ["config.json", new TextEncoder().encode(JSON.stringify(configToHF(micro)))],
    ["model.safetensors.index.json", new TextEncoder().encode(JSON.stringify({ weight_map: Object.fromEntries(specs.map((s) => [s.name, shard])) }))],
    [shard, serializeSafetensors(list)],
  ]);
  await rejects(readCheckpoint(dir), CheckpointError, new RegExp(`${shard}: tensor ${list[1].name.replace(/\./g, "\\.")} has a non-finite value`));
});

const hf = (extra) => ({ ...configToHF(micro), ...extra });

test("config.json: sliding_window 0, -5, 2.5 are reported as sliding_window (not max_position_embeddings)", () => {
  for (const w of [0, -5, 2.5]) {
    assert.throws(() => configFromHF(hf({ sliding_window: w })), (e) => e instanceof ConfigError && /sliding_window must be an integer ≥ 1/.test(e.message) && !/max_position/.test(e.message));
  }
  assert.is(configFromHF(hf({ sliding_window: 4 })).maxSeqLen, 4, "a window below the positions caps the sequence length");
  assert.is(configFromHF(hf({ sliding_window: null })).maxSeqLen, micro.maxSeqLen, "null: no window");
});

test('config.json: "rms_norm_eps": null is an error; null where transformers derives the value is the default', () => {
  assert.throws(() => configFromHF(hf({ rms_norm_eps: null })), /rms_norm_eps must be a number, got null/);
  assert.throws(() => configFromHF(hf({ rope_theta: null })), /rope_theta must be a number, got null/);
  assert.throws(() => configFromHF(hf({ hidden_size: null })), /hidden_size must be a number, got null/);
  assert.is(configFromHF(hf({ num_key_value_heads: null })).numKvHeads, micro.numHeads);
  assert.is(configFromHF(hf({ head_dim: null })).hiddenSize, micro.hiddenSize);
});

test("config.json: rope_theta 1e-300 (NaN angles) is refused by name", () => {
  assert.throws(() => configFromHF(hf({ rope_theta: 1e-300 })), /rope_theta must be ≥ 1/);
  assert.throws(() => configFromHF(hf({ rope_theta: undefined, rope_parameters: { rope_type: "default", rope_theta: 0.5 } })), /rope_parameters\.rope_theta must be ≥ 1/);
});

test("tokens files: missing, a directory, endless: each named with the flag and path", async () => {
  const dir = fresh();
  const opts = { vocabSize: 16, label: "--tokens" };
  await rejects(readTokensFile(join(dir, "missing.json"), opts), TokensError, /cannot read --tokens .*missing\.json: it does not exist \(ENOENT\)/);
  await rejects(readTokensFile(dir, opts), TokensError, new RegExp(`cannot read --tokens ${dir}: it is a directory`));
  symlinkSync("/dev/zero", join(dir, "zero.json"));
  await within(rejects(readTokensFile(join(dir, "zero.json"), opts), TokensError, /--tokens .*zero\.json: it is not a regular file/), 5000);
  writeFileSync(join(dir, "bad.json"), new Uint8Array([0x5b, 0x5b, 0xff, 0x5d, 0x5d]));
  await rejects(readTokensFile(join(dir, "bad.json"), opts), TokensError, /bad\.json: not valid UTF-8/);
  writeFileSync(join(dir, "ok.json"), "[[1,2,3]]");
  assert.equal(Array.from((await readTokensFile(join(dir, "ok.json"), opts)).ids), [1, 2, 3]);
});

test("run directory: an endless config.json, a metrics log that is a directory, a checkpoint step beyond 2^53", async () => {
  const dir = fresh();
  symlinkSync("/dev/zero", join(dir, "config.json"));
  await within(rejects(openRunDir(dir), Error, /config\.json: it is not a regular file/), 5000);
  mkdirSync(join(dir, "metrics.jsonl"));
  await rejects(readMetrics(fileStorage, join(dir, "metrics.jsonl")), Error, /metrics log .*metrics\.jsonl: it is a directory/);
  const big = join(dir, "checkpoint-99999999999999999999");
  mkdirSync(big);
  writeFileSync(join(big, "trainer_state.json"), "{}");
  assert.is(await latestCheckpoint(fileStorage, dir), null, "a step that is not a safe integer is not one of this engine's checkpoints");
});

const repo = fileURLToPath(new URL("..", import.meta.url));
const cli = (...args) => spawnSync(process.execPath, [join(repo, "bin/jreg.mjs"), ...args], { encoding: "utf8", timeout: 30_000 });
const fixture = join(repo, "test/fixtures/tiny-untied");

test("CLI inputs that are endless (/dev/zero), a directory or missing: one line naming the flag and the path, at once", () => {
  const dir = fresh();
  const zero = join(dir, "zero.txt");
  symlinkSync("/dev/zero", zero);
  writeFileSync(join(dir, "tok.json"), "{}");
  const cases = [
    [["analyze", fixture, "--data", zero], /^jreg analyze: corpus: .*zero\.txt is not a regular file \(a device, pipe or socket\)/m],
    [["train", "--config", zero], /^jreg train: cannot read config file .*zero\.txt: it is not a regular file \(a device, pipe or socket\)$/m],
    [["train", "--config", dir], new RegExp(`^jreg train: cannot read config file ${dir}: it is a directory, not a file$`, "m")],
    [["tokenizer", "train", "--file", zero, "--vocab-size", "300", "--out", join(dir, "t.json")], /^jreg tokenizer train: cannot read --file .*zero\.txt: it is not a regular file/m],
    [["analyze", fixture, "--text", zero], /^jreg analyze: cannot read --text .*zero\.txt: it is not a regular file/m],
    [["analyze", fixture, "--text", dir], new RegExp(`^jreg analyze: cannot read --text ${dir}: it is a directory, not a file$`, "m")],
    [["analyze", fixture, "--text", join(dir, "nope.txt")], /^jreg analyze: cannot read --text .*nope\.txt: it does not exist \(ENOENT\)$/m],
  ];
  for (const [args, re] of cases) {
    const r = cli(...args);
    assert.is(r.error, undefined, `${args.join(" ")}: did not end (${r.error?.message})`);
    assert.ok(r.status === 1 || r.status === 2, `${args.join(" ")}: exit ${r.status}`);
    assert.match(r.stderr, re, args.join(" "));
    assert.not.match(r.stderr, /Invalid string length|illegal operation|\n\s+at /, args.join(" "));
  }
});

test("CLI outputs: report --out, analyze --svg, sweep --out at a directory, a missing directory or a file: named with the flag", async () => {
  const ws = await tinyWorkspace("jreg-harden-out-");
  const runDir = join(ws.dir, "run");
  const trained = cli("train", "--config", writeConfig(ws, "run.json", { ...tinyConfig(ws, { steps: 2, saveEvery: 2, evalEvery: 2 }), out: runDir }));
  assert.is(trained.status, 0, trained.stderr);
  const dir = fresh();
  writeFileSync(join(dir, "file"), "x");
  const outputs = [
    [dir, `${dir} is a directory; give a file name`],
    [join(dir, "missing", "x.out"), `its directory ${join(dir, "missing")} does not exist`],
    [join(dir, "file", "x.out"), "a part of the path is a file, not a directory \\(ENOTDIR\\)"],
  ];
  for (const [out, cause] of outputs) {
    const esc = (p) => p.replace(/[.]/g, "\\.");
    let r = cli("report", runDir, "--out", out);
    assert.is(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^jreg report: cannot write --out ${esc(out)}: ${cause}; nothing was written$`, "m"));
    r = cli("analyze", join(runDir, "checkpoint-2"), "--text", ws.corpus, "--max-tokens", "64", "--svg", out);
    assert.is(r.status, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^jreg analyze: cannot write --svg ${esc(out)}: ${cause}; nothing was written$`, "m"));
  }
  const r = cli("sweep", "--grid", "jreg.alpha=0", "--seeds", "1", "--out", join(dir, "file"));
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, /^jreg sweep: --out .*file is a file, not a directory$/m);
  assert.not.match(r.stderr, /EEXIST/);
  assert.equal(readdirSync(dir), ["file"], "nothing written, no temp file");
});

test("values nested 5,000 deep are reported, not a stack overflow in the error message", async () => {
  const deep = "[".repeat(5000) + "]".repeat(5000);
  const st = (header) => {
    const h = new TextEncoder().encode(header);
    const out = new Uint8Array(8 + h.length);
    new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
    out.set(h, 8);
    return out;
  };
  for (const header of [`{"t":{"dtype":"F32","shape":${deep},"data_offsets":[0,0]}}`, `{"t":{"dtype":"F32","shape":[0],"data_offsets":[0,${deep}]}}`, `{"__metadata__":{"format":${deep}}}`]) {
    assert.throws(() => parseSafetensors(st(header), { source: "w.safetensors" }), (e) => e instanceof SafetensorsError && /^w\.safetensors: /.test(e.message));
  }
  assert.throws(() => configFromHF(JSON.parse(JSON.stringify(hf({})).replace('"rope_scaling":null', `"rope_scaling":${deep}`))), (e) => e instanceof ConfigError && /rope_scaling \[\[\[/.test(e.message));
  assert.throws(() => parseShardIndex(new TextEncoder().encode(`{"weight_map":{"a":${deep}}}`)), (e) => e instanceof CheckpointError && /weight_map\["a"\]/.test(e.message));
  const shard = encodeShard({ documents: 1, eot: null, vocab_size: 10, tokenizer_sha256: "ab".repeat(32) }, new Uint16Array([1, 2]));
  const text = new TextDecoder().decode(shard.subarray(12, 12 + new DataView(shard.buffer).getUint32(8, true))).replace('"version":1', `"version":${deep}`);
  const h = new TextEncoder().encode(text);
  const bytes = new Uint8Array(Math.ceil((12 + h.length) / 8) * 8 + 4);
  bytes.set(shard.subarray(0, 8));
  new DataView(bytes.buffer).setUint32(8, h.length, true);
  bytes.set(h, 12);
  assert.throws(() => decodeShard(bytes, "s.bin"), (e) => e instanceof ShardError && /s\.bin: unsupported shard version \[\[\[/.test(e.message));
});

test.after(() => rmSync(root, { recursive: true, force: true }));
test.run();
