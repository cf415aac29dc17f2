import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { spawnSync } from "node:child_process";
import {
  PRESETS,
  parameterSpecs,
  configToHF,
  checkpointFromFiles,
  checkpointToFiles,
  readCheckpoint,
  writeCheckpoint,
  writeFileAtomic,
  parseSafetensors,
  serializeSafetensors,
  CheckpointError,
  ConfigError,
  SafetensorsError,
  configFromHF,
  parseTokens,
} from "../dist/index.js";

const micro = { vocabSize: 16, hiddenSize: 8, numLayers: 2, numHeads: 2, numKvHeads: 1, intermediateSize: 12, ropeTheta: 10000, rmsEps: 1e-5, tiedEmbeddings: false, maxSeqLen: 32 };

function randomCheckpoint(config, seed = 1) {
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32 - 0.5) * 0.1;
  const tensors = new Map();
  for (const spec of parameterSpecs(config)) tensors.set(spec.name, Float32Array.from({ length: spec.size }, next));
  return { config: { ...config }, tensors };
}

/** Bits of a float32 array, for bit-exact comparisons. */
const bits = (a) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

function assertSameCheckpoint(got, want) {
  assert.equal(got.config, want.config);
  assert.equal([...got.tensors.keys()], [...want.tensors.keys()]);
  for (const [name, data] of want.tensors) assert.equal(bits(got.tensors.get(name)), bits(data), name);
}

/** Files of a checkpoint whose safetensors tensors can be edited first. */
function filesWith(config, edit = (list) => list) {
  const ckpt = randomCheckpoint(config);
  const list = parameterSpecs(config).map((s) => ({ name: s.name, shape: s.shape, data: ckpt.tensors.get(s.name) }));
  return {
    ckpt,
    files: new Map([
      ["config.json", new TextEncoder().encode(JSON.stringify(configToHF(config)))],
      ["model.safetensors", serializeSafetensors(edit(list))],
    ]),
  };
}

function throwsWith(fn, cls, pattern) {
  try {
    fn();
  } catch (e) {
    assert.instance(e, cls, `expected ${cls.name}, got ${e}`);
    assert.match(e.message, pattern);
    return;
  }
  assert.unreachable(`expected ${cls.name} matching ${pattern}`);
}
async function rejectsWith(promise, cls, pattern) {
  try {
    await promise;
  } catch (e) {
    assert.instance(e, cls, `expected ${cls.name}, got ${e}`);
    assert.match(e.message, pattern);
    return;
  }
  assert.unreachable(`expected ${cls.name} matching ${pattern}`);
}

const tmp = () => mkdtempSync(join(tmpdir(), "jreg-ckpt-"));
/** Temporary files inside `dir`, and the temporary or old sibling directories of a directory swap beside it. */
const tempFiles = (dir) => [
  ...readdirSync(dir).filter((n) => n.endsWith(".tmp")),
  ...readdirSync(dirname(dir)).filter((n) => n.startsWith(`.tmp-${basename(dir)}-`) || n.startsWith(`.old-${basename(dir)}-`)),
];

// ---- in memory ----

test("checkpointToFiles -> checkpointFromFiles round trip (untied and tied)", () => {
  for (const config of [micro, { ...micro, tiedEmbeddings: true }, PRESETS.tiny]) {
    const ckpt = randomCheckpoint(config, 7);
    const files = checkpointToFiles(ckpt);
    assert.equal([...files.keys()].sort(), ["config.json", "model.safetensors"]);
    assertSameCheckpoint(checkpointFromFiles(files), ckpt);
    const stored = [...parseSafetensors(files.get("model.safetensors")).keys()];
    assert.is(stored.includes("lm_head.weight"), !config.tiedEmbeddings, "tied models store no lm_head.weight");
    for (const t of parseSafetensors(files.get("model.safetensors")).values()) assert.is(t.dtype, "F32");
  }
});

test("loaded tensors come back in parameterSpecs order regardless of file order", () => {
  const { ckpt, files } = filesWith(micro, (list) => list.reverse());
  assert.equal([...checkpointFromFiles(files).tensors.keys()], parameterSpecs(micro).map((s) => s.name));
  assertSameCheckpoint(checkpointFromFiles(files), ckpt);
});

test("missing files and bad config.json", () => {
  const { files } = filesWith(micro);
  const noConfig = new Map(files);
  noConfig.delete("config.json");
  throwsWith(() => checkpointFromFiles(noConfig), CheckpointError, /checkpoint has no config\.json/);
  const noWeights = new Map(files);
  noWeights.delete("model.safetensors");
  throwsWith(() => checkpointFromFiles(noWeights), CheckpointError, /checkpoint has neither model\.safetensors nor model\.safetensors\.index\.json/);
  const enc = (s) => new TextEncoder().encode(s);
  throwsWith(() => checkpointFromFiles(new Map([...files, ["config.json", enc("{")]])), CheckpointError, /config\.json: not valid JSON/);
  const hf = configToHF(micro);
  throwsWith(() => checkpointFromFiles(new Map([...files, ["config.json", enc(JSON.stringify({ ...hf, hidden_size: "8" }))]])), ConfigError, /config\.json: hidden_size must be a number, got "8"/);
  throwsWith(() => checkpointFromFiles(new Map([...files, ["config.json", enc(JSON.stringify({ ...hf, num_key_value_heads: 3 }))]])), ConfigError, /num_key_value_heads must be an integer in \[1, 2\]/);
});

test("missing tensors, extra tensors, wrong shapes", () => {
  let { files } = filesWith(micro, (l) => l.filter((t) => t.name !== "model.layers.1.mlp.up_proj.weight"));
  throwsWith(() => checkpointFromFiles(files), CheckpointError, /model\.safetensors: missing tensor model\.layers\.1\.mlp\.up_proj\.weight$/);
  ({ files } = filesWith(micro, (l) => l.filter((t) => !t.name.startsWith("model.layers.1."))));
  throwsWith(() => checkpointFromFiles(files), CheckpointError, /missing tensors model\.layers\.1\.input_layernorm\.weight, .* and 4 more/);
  ({ files } = filesWith(micro, (l) => [...l, { name: "model.layers.2.mlp.up_proj.weight", shape: [2], data: new Float32Array(2) }]));
  throwsWith(() => checkpointFromFiles(files), CheckpointError, /unexpected tensor model\.layers\.2\.mlp\.up_proj\.weight for this config/);
  ({ files } = filesWith(micro, (l) => l.map((t) => (t.name === "model.layers.0.self_attn.k_proj.weight" ? { ...t, shape: [8, 4] } : t))));
  throwsWith(() => checkpointFromFiles(files), CheckpointError, /tensor model\.layers\.0\.self_attn\.k_proj\.weight has shape \[8, 4\], expected \[4, 8\]/);
  ({ files } = filesWith(micro, (l) => l.map((t) => (t.name === "model.norm.weight" ? { ...t, shape: [1, 8] } : t))));
  throwsWith(() => checkpointFromFiles(files), CheckpointError, /model\.norm\.weight has shape \[1, 8\], expected \[8\]/);
  // An untied config without lm_head.weight is missing a tensor.
  ({ files } = filesWith(micro, (l) => l.filter((t) => t.name !== "lm_head.weight")));
  throwsWith(() => checkpointFromFiles(files), CheckpointError, /missing tensor lm_head\.weight/);
});

test("a dtype that does not match the byte span is a SafetensorsError naming the file", () => {
  const { files } = filesWith(micro);
  const bytes = files.get("model.safetensors");
  const len = new DataView(bytes.buffer).getUint32(0, true);
  const header = new TextDecoder().decode(bytes.subarray(8, 8 + len)).replace('"model.norm.weight":{"dtype":"F32"', '"model.norm.weight":{"dtype":"F16"');
  const patched = new Uint8Array(bytes);
  patched.set(new TextEncoder().encode(header), 8);
  files.set("model.safetensors", patched);
  throwsWith(() => checkpointFromFiles(files), SafetensorsError, /^model\.safetensors: tensor "model\.norm\.weight": data_offsets span 32 bytes but shape \[8\] of F16 needs 16 bytes/);
});

test("tied config: lm_head.weight accepted only if it equals embed_tokens; inv_freq buffers ignored", () => {
  const tied = { ...micro, tiedEmbeddings: true };
  const withHead = (same) =>
    filesWith(tied, (l) => {
      const embed = l.find((t) => t.name === "model.embed_tokens.weight");
      const head = same ? embed.data.slice() : embed.data.map((v) => v + 1e-3);
      return [...l, { name: "lm_head.weight", shape: embed.shape, data: head }];
    });
  const ok = withHead(true);
  const loaded = checkpointFromFiles(ok.files);
  assert.not.ok(loaded.tensors.has("lm_head.weight"));
  assertSameCheckpoint(loaded, ok.ckpt);
  throwsWith(() => checkpointFromFiles(withHead(false).files), CheckpointError, /tie_word_embeddings true but lm_head\.weight differs from model\.embed_tokens\.weight/);

  const inv = filesWith(micro, (l) => [...l, { name: "model.layers.0.self_attn.rotary_emb.inv_freq", shape: [2], data: new Float32Array([1, 0.01]) }]);
  assertSameCheckpoint(checkpointFromFiles(inv.files), inv.ckpt);
});

/** A safetensors file with per-tensor dtypes; values are f32 and must be exact in the target dtype. */
function mixedSafetensors(entries) {
  const header = {};
  const chunks = [];
  let offset = 0;
  for (const { name, dtype, shape, values } of entries) {
    const width = dtype === "F32" ? 4 : 2;
    const bytes = new Uint8Array(values.length * width);
    const view = new DataView(bytes.buffer);
    values.forEach((v, i) => {
      if (dtype === "F32") view.setFloat32(i * 4, v, true);
      else if (dtype === "BF16") view.setUint16(i * 2, new Uint32Array(new Float32Array([v]).buffer)[0] >>> 16, true);
      else view.setUint16(i * 2, toHalf(v), true);
    });
    header[name] = { dtype, shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const c of chunks) out.set(c, at), (at += c.length);
  return out;
}
/** f32 -> f16 bits for values exactly representable as normal halves (or zero). */
function toHalf(v) {
  if (v === 0) return Object.is(v, -0) ? 0x8000 : 0;
  const sign = v < 0 ? 0x8000 : 0;
  const a = Math.abs(v);
  const e = Math.floor(Math.log2(a));
  const m = (a / 2 ** e - 1) * 1024;
  if (!Number.isInteger(m) || e < -14 || e > 15) throw new Error(`${v} is not an exact normal half`);
  return sign | ((e + 15) << 10) | m;
}

test("F16 and BF16 (and mixed) checkpoints load as exact f32", () => {
  const specs = parameterSpecs(micro);
  // Multiples of 1/64 in (-2, 2) are exact in f16 and bf16 alike.
  const values = (n, k) => Array.from({ length: n }, (_, i) => (((i * 7 + k * 13) % 255) - 127) / 64);
  for (const pick of [() => "F16", () => "BF16", (i) => ["F32", "F16", "BF16"][i % 3]]) {
    const entries = specs.map((s, i) => ({ name: s.name, dtype: pick(i), shape: s.shape, values: values(s.size, i) }));
    const files = new Map([
      ["config.json", new TextEncoder().encode(JSON.stringify(configToHF(micro)))],
      ["model.safetensors", mixedSafetensors(entries)],
    ]);
    const ckpt = checkpointFromFiles(files);
    for (const e of entries) assert.equal(Array.from(ckpt.tensors.get(e.name)), e.values, `${e.name} (${e.dtype})`);
  }
});

/** Splits a checkpoint's tensors over shards (round-robin by spec order) with an HF index. */
function shardedFiles(ckpt, shardCount = 2, editIndex = (m) => m) {
  const names = [...ckpt.tensors.keys()];
  const specs = new Map(parameterSpecs(ckpt.config).map((s) => [s.name, s]));
  const shardName = (k) => `model-${String(k + 1).padStart(5, "0")}-of-${String(shardCount).padStart(5, "0")}.safetensors`;
  const files = new Map([["config.json", new TextEncoder().encode(JSON.stringify(configToHF(ckpt.config)))]]);
  const weightMap = {};
  for (let k = 0; k < shardCount; k++) {
    const mine = names.filter((_, i) => i % shardCount === k);
    for (const n of mine) weightMap[n] = shardName(k);
    files.set(shardName(k), serializeSafetensors(mine.map((n) => ({ name: n, shape: specs.get(n).shape, data: ckpt.tensors.get(n) }))));
  }
  const index = { metadata: { total_size: 0 }, weight_map: editIndex(weightMap) };
  files.set("model.safetensors.index.json", new TextEncoder().encode(JSON.stringify(index)));
  return files;
}

test("sharded checkpoints load; index and shards must agree", () => {
  const ckpt = randomCheckpoint(micro, 3);
  assertSameCheckpoint(checkpointFromFiles(shardedFiles(ckpt, 3)), ckpt);

  const files = shardedFiles(ckpt, 2);
  const noShard = new Map(files);
  noShard.delete("model-00002-of-00002.safetensors");
  throwsWith(() => checkpointFromFiles(noShard), CheckpointError, /names shard model-00002-of-00002\.safetensors, which is missing/);

  const moved = shardedFiles(ckpt, 2, (m) => ({ ...m, "model.norm.weight": m["model.norm.weight"] === "model-00001-of-00002.safetensors" ? "model-00002-of-00002.safetensors" : "model-00001-of-00002.safetensors" }));
  throwsWith(() => checkpointFromFiles(moved), CheckpointError, /tensor model\.norm\.weight is listed in model\.safetensors\.index\.json under shard/);

  const unlisted = shardedFiles(ckpt, 2, (m) => {
    const copy = { ...m };
    delete copy["model.norm.weight"];
    return copy;
  });
  throwsWith(() => checkpointFromFiles(unlisted), CheckpointError, /tensor model\.norm\.weight is not listed in model\.safetensors\.index\.json/);

  const phantom = shardedFiles(ckpt, 2, (m) => ({ ...m, "model.extra.weight": "model-00001-of-00002.safetensors" }));
  throwsWith(() => checkpointFromFiles(phantom), CheckpointError, /lists tensor model\.extra\.weight in model-00001-of-00002\.safetensors, but that shard does not contain it/);

  const traversal = shardedFiles(ckpt, 2, (m) => ({ ...m, "model.norm.weight": "../secret.safetensors" }));
  throwsWith(() => checkpointFromFiles(traversal), CheckpointError, /weight_map\["model\.norm\.weight"\] must be a shard file name in the same directory, got "\.\.\/secret\.safetensors"/);

  const enc = (s) => new TextEncoder().encode(s);
  throwsWith(() => checkpointFromFiles(new Map([...files, ["model.safetensors.index.json", enc('{"metadata": {}}')]])), CheckpointError, /weight_map must be an object/);
  throwsWith(() => checkpointFromFiles(new Map([...files, ["model.safetensors.index.json", enc("[")]])), CheckpointError, /index\.json: not valid JSON/);

  // A broken shard is reported by its own name.
  const broken = new Map(files);
  broken.set("model-00001-of-00002.safetensors", new Uint8Array(5));
  throwsWith(() => checkpointFromFiles(broken), SafetensorsError, /^model-00001-of-00002\.safetensors: file is 5 bytes/);
});

test("a single model.safetensors takes precedence over an index (as in transformers)", () => {
  const ckpt = randomCheckpoint(micro, 5);
  const files = new Map([...shardedFiles(randomCheckpoint(micro, 6)), ...checkpointToFiles(ckpt)]);
  assertSameCheckpoint(checkpointFromFiles(files), ckpt);
});

// ---- directories ----

test("writeCheckpoint creates the directory, leaves no temp files, and readCheckpoint reads it back", async () => {
  const root = tmp();
  try {
    for (const config of [micro, { ...micro, tiedEmbeddings: true }]) {
      const dir = join(root, config.tiedEmbeddings ? "tied" : "untied", "nested");
      const ckpt = randomCheckpoint(config, 11);
      await writeCheckpoint(dir, ckpt);
      assert.equal(readdirSync(dir).sort(), ["config.json", "model.safetensors"]);
      const hf = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
      assert.equal(hf.architectures, ["LlamaForCausalLM"]);
      assert.is(hf.tie_word_embeddings, config.tiedEmbeddings);
      const stored = parseSafetensors(new Uint8Array(readFileSync(join(dir, "model.safetensors"))));
      assert.is(stored.has("lm_head.weight"), !config.tiedEmbeddings);
      assertSameCheckpoint(await readCheckpoint(dir), ckpt);
      assertSameCheckpoint(await readCheckpoint(dir + "/"), ckpt);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("readCheckpoint: clear errors for missing directories and files", async () => {
  const root = tmp();
  try {
    await rejectsWith(readCheckpoint(join(root, "nope")), CheckpointError, /checkpoint directory .*nope does not exist/);
    writeFileSync(join(root, "file"), "x");
    await rejectsWith(readCheckpoint(join(root, "file")), CheckpointError, /checkpoint path .*file is not a directory/);
    const dir = join(root, "ckpt");
    mkdirSync(dir);
    await rejectsWith(readCheckpoint(dir), CheckpointError, /ckpt\/config\.json not found/);
    writeFileSync(join(dir, "config.json"), JSON.stringify(configToHF(micro)));
    await rejectsWith(readCheckpoint(dir), CheckpointError, /ckpt contains neither model\.safetensors nor model\.safetensors\.index\.json/);
    writeFileSync(join(dir, "model.safetensors"), new Uint8Array([1, 2, 3]));
    await rejectsWith(readCheckpoint(dir), SafetensorsError, /ckpt: model\.safetensors: file is 3 bytes/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("readCheckpoint: sharded directory reads only the shards its index names", async () => {
  const root = tmp();
  try {
    const ckpt = randomCheckpoint(micro, 9);
    for (const [name, bytes] of shardedFiles(ckpt, 2)) writeFileSync(join(root, name), bytes);
    // Garbage that a loader must not touch: an unlisted shard-like file.
    writeFileSync(join(root, "model-00003-of-00003.safetensors"), "garbage");
    assertSameCheckpoint(await readCheckpoint(root), ckpt);
    rmSync(join(root, "model-00002-of-00002.safetensors"));
    await rejectsWith(readCheckpoint(root), CheckpointError, /model-00002-of-00002\.safetensors not found \(a shard named in model\.safetensors\.index\.json\)/);
    // Writing a single-file checkpoint over a sharded one: the new file takes precedence.
    const next = randomCheckpoint(micro, 10);
    await writeCheckpoint(root, next);
    assertSameCheckpoint(await readCheckpoint(root), next);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("writeCheckpoint refuses non-finite weights (naming the tensor) and keeps the old checkpoint", async () => {
  const dir = tmp();
  try {
    const old = randomCheckpoint(micro, 21);
    await writeCheckpoint(dir, old);
    const before = readFileSync(join(dir, "model.safetensors"));
    for (const bad of [NaN, Infinity, -Infinity]) {
      const next = randomCheckpoint(micro, 22);
      next.tensors.get("model.layers.1.self_attn.v_proj.weight")[5] = bad;
      await rejectsWith(writeCheckpoint(dir, next), CheckpointError, new RegExp(`tensor model\\.layers\\.1\\.self_attn\\.v_proj\\.weight has a non-finite value \\(${bad}\\) at index 5`));
    }
    assert.ok(before.equals(readFileSync(join(dir, "model.safetensors"))));
    assert.equal(tempFiles(dir), []);
    assertSameCheckpoint(await readCheckpoint(dir), old);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("writeCheckpoint validates tensors against the config", async () => {
  const dir = tmp();
  try {
    const ckpt = randomCheckpoint(micro);
    ckpt.tensors.delete("model.norm.weight");
    await rejectsWith(writeCheckpoint(dir, ckpt), CheckpointError, /tensor model\.norm\.weight is missing/);
    const short = randomCheckpoint(micro);
    short.tensors.set("model.norm.weight", new Float32Array(3));
    await rejectsWith(writeCheckpoint(dir, short), CheckpointError, /model\.norm\.weight has 3 values, expected 8 for shape \[8\]/);
    const tiedWithHead = randomCheckpoint(micro);
    tiedWithHead.config.tiedEmbeddings = true;
    await rejectsWith(writeCheckpoint(dir, tiedWithHead), CheckpointError, /unexpected tensor lm_head\.weight/);
    const badConfig = randomCheckpoint(micro);
    badConfig.config.numKvHeads = 3;
    await rejectsWith(writeCheckpoint(dir, badConfig), CheckpointError, /cannot write checkpoint: config\.numKvHeads/);
    assert.equal(readdirSync(dir), [], "nothing written");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a checkpoint directory is replaced as a whole: a stale model.safetensors directory goes with it", async () => {
  const dir = tmp();
  try {
    writeFileSync(join(dir, "config.json"), "old config");
    // Before the directory swap this made the weights' rename fail halfway.
    mkdirSync(join(dir, "model.safetensors"));
    writeFileSync(join(dir, "model.safetensors", "x"), "x");
    const ckpt = randomCheckpoint(micro);
    await writeCheckpoint(dir, ckpt);
    assertSameCheckpoint(await readCheckpoint(dir), ckpt);
    assert.equal(tempFiles(dir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a write that fails midway (file size limit: EFBIG) leaves the previous checkpoint intact", async () => {
  const dir = tmp();
  try {
    const old = randomCheckpoint(PRESETS.tiny, 31);
    await writeCheckpoint(dir, old);
    const before = new Map(readdirSync(dir).map((n) => [n, readFileSync(join(dir, n))]));
    assert.ok(before.get("model.safetensors").length > 200 * 1024);
    // A child process with a 100 KiB file size limit writes a new checkpoint over it.
    const child = `
      import { readCheckpoint, writeCheckpoint } from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)};
      const ckpt = await readCheckpoint(process.argv[1]);
      for (const t of ckpt.tensors.values()) t.fill(0.5);
      try { await writeCheckpoint(process.argv[1], ckpt); console.log("written"); }
      catch (e) { console.log("failed: " + e.code + " " + /EFBIG/.test(e.message)); }`;
    const r = spawnSync("bash", ["-c", 'ulimit -f 100; exec "$0" --input-type=module -e "$1" "$2"', process.execPath, child, dir], { encoding: "utf8" });
    assert.is(r.stdout.trim(), "failed: EFBIG true", r.stderr);
    assert.equal(readdirSync(dir).sort(), [...before.keys()].sort(), "no temp files left");
    for (const [n, bytes] of before) assert.ok(bytes.equals(readFileSync(join(dir, n))), `${n} unchanged`);
    assertSameCheckpoint(await readCheckpoint(dir), old);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("writeFileAtomic replaces content and cleans up after a failure", async () => {
  const dir = tmp();
  try {
    const path = join(dir, "f.txt");
    await writeFileAtomic(path, "one");
    await writeFileAtomic(path, new TextEncoder().encode("two"));
    assert.is(readFileSync(path, "utf8"), "two");
    await rejectsWith(writeFileAtomic(join(dir, "missing-dir", "f.txt"), "x"), Error, /ENOENT/);
    assert.equal(readdirSync(dir), ["f.txt"]);
    assert.not.ok(existsSync(join(dir, "missing-dir")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("Deno reads and writes checkpoints with the same code (node:fs/promises imported lazily)", async () => {
  const deno = new URL("../node_modules/.bin/deno", import.meta.url).pathname;
  const root = tmp();
  try {
    const ckpt = randomCheckpoint(micro, 41);
    await writeCheckpoint(join(root, "node"), ckpt);
    const script = `
      import { readCheckpoint, writeCheckpoint } from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)};
      const [src, dst] = Deno.args;
      await writeCheckpoint(dst, await readCheckpoint(src));`;
    const r = spawnSync(deno, ["eval", "--quiet", script, join(root, "node"), join(root, "deno")], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" } });
    assert.is(r.status, 0, r.stderr);
    for (const f of ["config.json", "model.safetensors"]) {
      assert.ok(readFileSync(join(root, "deno", f)).equals(readFileSync(join(root, "node", f))), `${f} identical`);
    }
    assert.equal(tempFiles(join(root, "deno")), []);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

// ---- PyTorch fixtures (test/fixtures, written by an independent Python writer) ----

const fixtures = new URL("./fixtures/", import.meta.url).pathname;
const fixtureCases = ["tiny-untied", "tiny-tied", "tiny-l2", "tiny-l3"];

test("fixture checkpoints load and match their config.json", async () => {
  for (const name of fixtureCases) {
    const dir = join(fixtures, name);
    const ckpt = await readCheckpoint(dir);
    const hf = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    assert.equal(ckpt.config, configFromHF(hf));
    assert.is(ckpt.config.tiedEmbeddings, hf.tie_word_embeddings);
    assert.equal([...ckpt.tensors.keys()], parameterSpecs(ckpt.config).map((s) => s.name), name);
    // The tensors are exactly the file's F32 bytes.
    const raw = parseSafetensors(new Uint8Array(readFileSync(join(dir, "model.safetensors"))));
    for (const [n, data] of ckpt.tensors) assert.equal(bits(data), bits(raw.get(n).data), `${name} ${n}`);
    const tokens = parseTokens(readFileSync(join(dir, "tokens.json"), "utf8"), { vocabSize: ckpt.config.vocabSize, maxSeqLen: ckpt.config.maxSeqLen });
    const expected = JSON.parse(readFileSync(join(dir, "expected.json"), "utf8"));
    assert.equal([tokens.batch, tokens.length], [expected.batch, expected.seq + 1], name);
  }
});

test("fixture: the sharded copy loads bit-identical to the single file", async () => {
  const sharded = await readCheckpoint(join(fixtures, "tiny-untied-sharded"));
  assertSameCheckpoint(sharded, await readCheckpoint(join(fixtures, "tiny-untied")));
});

test("fixture: F16 and BF16 weights decode exactly as torch converts them to float32", () => {
  const dir = join(fixtures, "tiny-untied");
  const config = readFileSync(join(dir, "config.json"));
  for (const dtype of ["f16", "bf16"]) {
    const ckpt = checkpointFromFiles(new Map([["config.json", config], ["model.safetensors", readFileSync(join(dir, `model.${dtype}.safetensors`))]]));
    const torch = parseSafetensors(readFileSync(join(dir, `model.${dtype}-as-f32.safetensors`)), { source: `model.${dtype}-as-f32.safetensors` });
    assert.is(torch.size, ckpt.tensors.size);
    for (const [n, data] of ckpt.tensors) assert.equal(bits(data), bits(torch.get(n).data), `${dtype} ${n}`);
    const stored = parseSafetensors(readFileSync(join(dir, `model.${dtype}.safetensors`)));
    assert.is(stored.get("model.norm.weight").dtype, dtype.toUpperCase());
  }
});

test("fixture: writeCheckpoint reproduces the independent writer's model.safetensors byte for byte", async () => {
  const root = tmp();
  try {
    for (const name of fixtureCases) {
      const ckpt = await readCheckpoint(join(fixtures, name));
      await writeCheckpoint(join(root, name), ckpt);
      const ours = readFileSync(join(root, name, "model.safetensors"));
      const theirs = readFileSync(join(fixtures, name, "model.safetensors"));
      assert.ok(ours.equals(theirs), `${name}: model.safetensors differs`);
      assertSameCheckpoint(await readCheckpoint(join(root, name)), ckpt);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
