// Token shards: round trips in both dtypes, and clear errors for damaged files.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { concatDocuments, decodeShard, encodeShard, readShard, readShardHeader, writeShard } from "../dist/data/index.js";

const dir = mkdtempSync(join(tmpdir(), "jreg-shards-"));
const sha = "ab".repeat(32);

function randomIds(n, vocab, seed) {
  const out = new Uint32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s % vocab;
  }
  return out;
}

test("concatDocuments puts the end-of-text id between documents only", () => {
  const t = concatDocuments([[1, 2], [3], [4, 5, 6]], 9, 10);
  assert.instance(t, Uint16Array);
  assert.equal(Array.from(t), [1, 2, 9, 3, 9, 4, 5, 6]);
  assert.instance(concatDocuments([[70000]], null, 70001), Uint32Array);
  assert.throws(() => concatDocuments([[1], [2]], null, 10), /end-of-text/);
  assert.throws(() => concatDocuments([[1, 10]], 0, 10), /token id 10, outside the vocabulary/);
});

for (const [dtype, vocab] of [["uint16", 4096], ["uint16", 65536], ["uint32", 100_000]]) {
  test(`round trip: ${dtype}, vocab ${vocab}`, async () => {
    const ids = randomIds(10_001, vocab, vocab);
    ids[7] = vocab - 1;
    const tokens = dtype === "uint16" ? Uint16Array.from(ids) : ids;
    const path = join(dir, `rt-${vocab}.bin`);
    await writeShard(path, { documents: 3, eot: vocab - 1, vocab_size: vocab, tokenizer_sha256: sha }, tokens);
    const bytes = readFileSync(path);
    assert.is(bytes.subarray(0, 8).toString("latin1"), "JREGTOK1");
    const headerLen = bytes.readUInt32LE(8);
    const header = JSON.parse(bytes.subarray(12, 12 + headerLen).toString("utf8"));
    assert.equal(header, { version: 1, dtype, tokens: 10_001, documents: 3, eot: vocab - 1, vocab_size: vocab, tokenizer_sha256: sha });
    const offset = Math.ceil((12 + headerLen) / 8) * 8;
    assert.is(bytes.length, offset + 10_001 * (dtype === "uint16" ? 2 : 4));
    for (let i = 12 + headerLen; i < offset; i++) assert.is(bytes[i], 0, "zero padding");
    // Little-endian tokens at the padded offset, read independently of the reader.
    const read = (i) => (dtype === "uint16" ? bytes.readUInt16LE(offset + 2 * i) : bytes.readUInt32LE(offset + 4 * i));
    for (const i of [0, 1, 7, 5000, 10_000]) assert.is(read(i), ids[i]);
    const shard = await readShard(path);
    assert.equal(shard.header, header);
    assert.instance(shard.tokens, dtype === "uint16" ? Uint16Array : Uint32Array);
    assert.equal(Array.from(shard.tokens), Array.from(ids));
    assert.equal(readdirSync(dir).filter((n) => n.endsWith(".tmp")), [], "no temporary file left");
  });
}

test("an unaligned buffer decodes (files need not land on an aligned offset)", () => {
  const bytes = encodeShard({ documents: 1, eot: null, vocab_size: 300, tokenizer_sha256: sha }, Uint16Array.from([1, 299, 2]));
  const shifted = new Uint8Array(bytes.length + 1).subarray(1);
  shifted.set(bytes);
  assert.equal(Array.from(decodeShard(shifted).tokens), [1, 299, 2]);
});

const good = encodeShard({ documents: 2, eot: 5, vocab_size: 6, tokenizer_sha256: sha }, Uint16Array.from([0, 1, 5, 2, 3, 4]));
const headerLen = new DataView(good.buffer).getUint32(8, true);
function withHeader(obj) {
  const json = new TextEncoder().encode(JSON.stringify(obj));
  const offset = Math.ceil((12 + json.length) / 8) * 8;
  const out = new Uint8Array(offset + 12);
  out.set(good.subarray(0, 8));
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  return out;
}
const base = { version: 1, dtype: "uint16", tokens: 6, documents: 2, eot: 5, vocab_size: 6, tokenizer_sha256: sha };
const damaged = {
  "empty file": [new Uint8Array(0), /truncated/],
  "wrong magic": [Object.assign(good.slice(), { 0: 0x4b }), /not a token shard/],
  "header length corrupt": [(() => { const b = good.slice(); new DataView(b.buffer).setUint32(8, 1 << 30, true); return b; })(), /corrupt header length/],
  "cut inside the header": [good.slice(0, 12 + headerLen - 3), /truncated inside the header/],
  "cut inside the tokens": [good.slice(0, good.length - 1), /truncated: \d+ bytes, but its header says 6 uint16 tokens/],
  "extra bytes": [new Uint8Array([...good, 0, 0]), /2 bytes more than its header says/],
  "header not JSON": [(() => { const b = good.slice(); b[12] = 0x7a; return b; })(), /header is not valid UTF-8 JSON/],
  "bad version": [withHeader({ ...base, version: 2 }), /unsupported shard version 2/],
  "bad dtype": [withHeader({ ...base, dtype: "int8" }), /"dtype" must be "uint16" or "uint32"/],
  "bad token count": [withHeader({ ...base, tokens: -1 }), /"tokens" must be an integer/],
  "eot out of range": [withHeader({ ...base, eot: 6 }), /"eot" must be null or a token id below vocab_size 6/],
  "vocab too big for uint16": [withHeader({ ...base, vocab_size: 70000 }), /does not fit dtype uint16/],
  "bad sha": [withHeader({ ...base, tokenizer_sha256: "xyz" }), /tokenizer_sha256/],
  "token above the vocabulary": [(() => { const b = good.slice(); new DataView(b.buffer).setUint16(b.length - 2, 9, true); return b; })(), /token 5 is 9, not below vocab_size 6/],
};

for (const [name, [bytes, message]] of Object.entries(damaged)) {
  test(`damaged shard: ${name} → an error naming the file`, async () => {
    const path = join(dir, `bad-${name.replace(/\W+/g, "-")}.bin`);
    writeFileSync(path, bytes);
    try {
      await readShard(path);
      assert.unreachable("should have thrown");
    } catch (e) {
      assert.instance(e, Error);
      assert.is(e.name, "ShardError");
      assert.match(e.message, path);
      assert.match(e.message, message);
    }
  });
}

test("the header is checked against the file size before the tokens are read", async () => {
  // A header that claims 2^40 tokens on a small file: refused from its size, no huge allocation.
  const path = join(dir, "claims-huge.bin");
  writeFileSync(path, withHeader({ ...base, tokens: 2 ** 40 }));
  await readShardHeader(path).then(() => assert.unreachable(), (e) => assert.match(e.message, /truncated: \d+ bytes, but its header says 1099511627776 uint16 tokens/));
  await readShard(join(dir, "missing.bin")).then(() => assert.unreachable(), (e) => assert.match(e.message, /missing\.bin does not exist/));
  await readShard(dir).then(() => assert.unreachable(), (e) => assert.match(e.message, /is a directory/));
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
