// `jreg tokenize`: ids equal to the library's, written to --out or stdout; clear errors.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BYTE_TO_CHAR, preTokenizerJson, bytesToByteLevel, parseJsTiktokenRanks } from "../dist/tokenizer/index.js";
import { LONG_INPUTS, ENCODINGS, referenceIds, adversarialStrings } from "./tokenizer-reference.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const jreg = (...args) => spawnSync(process.execPath, [join(root, "bin/jreg.mjs"), ...args], { encoding: "utf8", timeout: 60_000 });
const dir = mkdtempSync(join(tmpdir(), "jreg-tokenize-"));

// A cl100k rank file and a GPT-2 directory (encoder.json + vocab.bpe with the two-token merges).
const cl = parseJsTiktokenRanks(ENCODINGS.cl100k.data, "cl100k");
writeFileSync(join(dir, "cl100k_base.tiktoken"), cl.tokens.map((t, id) => (t ? `${btoa(String.fromCharCode(...t))} ${id}` : "")).filter(Boolean).join("\n"));
const tiny = { "<|eot|>": 259 };
BYTE_TO_CHAR.forEach((c, b) => (tiny[c] = b));
Object.assign(tiny, { he: 256, hel: 257, "Ġhe": 258 });
mkdirSync(join(dir, "tiny"));
writeFileSync(join(dir, "tiny", "tokenizer.json"), JSON.stringify({
  added_tokens: [{ id: 259, content: "<|eot|>", special: true }],
  pre_tokenizer: preTokenizerJson("gpt2"),
  model: { type: "BPE", vocab: Object.fromEntries(Object.entries(tiny).filter(([k]) => k !== "<|eot|>")), merges: ["h e", "he l", "Ġ he"] },
}));

const text = Object.entries(adversarialStrings()).filter(([k]) => !LONG_INPUTS.includes(k)).map(([, v]) => v).join("\n").toWellFormed();
writeFileSync(join(dir, "text.txt"), text.repeat(3));

test("tokenize --out writes js-tiktoken's ids for a rank file", () => {
  const out = join(dir, "ids.json");
  const r = jreg("tokenize", "--tokenizer", join(dir, "cl100k_base.tiktoken"), "--file", join(dir, "text.txt"), "--out", out);
  assert.is(r.status, 0, r.stderr);
  assert.equal(JSON.parse(readFileSync(out, "utf8")), referenceIds("cl100k", text.repeat(3)));
  assert.match(r.stderr, /wrote .*ids\.json: \d+ ids/);
});

test("tokenize to stdout with a tokenizer.json directory; --allow-special", () => {
  writeFileSync(join(dir, "small.txt"), "hel he<|eot|>");
  const plain = jreg("tokenize", "--tokenizer", join(dir, "tiny"), "--file", join(dir, "small.txt"));
  assert.is(plain.status, 0, plain.stderr);
  const ids = JSON.parse(plain.stdout);
  assert.equal(ids.slice(0, 2), [257, 258]);
  assert.not.ok(ids.includes(259));
  const special = jreg("tokenize", "--tokenizer", join(dir, "tiny"), "--file", join(dir, "small.txt"), "--allow-special");
  assert.equal(JSON.parse(special.stdout), [257, 258, 259]);
});

test("tokenize: errors name the problem and exit non-zero", () => {
  const missing = jreg("tokenize", "--file", join(dir, "text.txt"));
  assert.is(missing.status, 2);
  assert.match(missing.stderr, /--tokenizer is required/);
  const noFile = jreg("tokenize", "--tokenizer", join(dir, "tiny"), "--file", join(dir, "nope.txt"));
  assert.is(noFile.status, 1);
  assert.match(noFile.stderr, /cannot read --file/);
  writeFileSync(join(dir, "bad.json"), '{"model": {"type": "WordPiece"');
  const bad = jreg("tokenize", "--tokenizer", join(dir, "bad.json"), "--file", join(dir, "small.txt"));
  assert.is(bad.status, 1);
  assert.match(bad.stderr, /--tokenizer .*bad\.json: truncated JSON/);
});

test.after(() => rmSync(dir, { recursive: true }));
test.run();
