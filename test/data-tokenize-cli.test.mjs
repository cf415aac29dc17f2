// `jreg tokenize --rows B --seq T` (the rows eval/step read) and `--out FILE.bin` (a shard).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createHash } from "node:crypto";
import { loadTokenizerJson, tokenizerJsonText, trainBpe } from "../dist/tokenizer/index.js";
import { brownDocuments, readShard } from "../dist/data/index.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const jreg = (...args) => spawnSync(process.execPath, [join(root, "bin/jreg.mjs"), ...args], { encoding: "utf8", timeout: 60_000 });
const dir = mkdtempSync(join(tmpdir(), "jreg-tokenize-bin-"));
const docs = (await brownDocuments()).slice(0, 10).map((d) => d.text);
const json = tokenizerJsonText(await trainBpe(docs, { vocabSize: 600, specialTokens: ["<|endoftext|>"] }));
const tokPath = join(dir, "tokenizer.json");
writeFileSync(tokPath, json);
const tokenizer = await loadTokenizerJson(json);
const text = docs[3];
const textPath = join(dir, "text.txt");
writeFileSync(textPath, text);
const ids = Array.from(tokenizer.encode(text));

test("--rows B --seq T writes B rows of T+1 consecutive ids, row r starting at r·T", () => {
  const out = join(dir, "rows.json");
  const r = jreg("tokenize", "--tokenizer", tokPath, "--file", textPath, "--rows", "3", "--seq", "8", "--out", out);
  assert.is(r.status, 0, r.stderr);
  const rows = JSON.parse(readFileSync(out, "utf8"));
  assert.equal(rows, [0, 1, 2].map((i) => ids.slice(8 * i, 8 * i + 9)));
  assert.match(r.stderr, /3 rows of 9 ids/);
  const stdout = jreg("tokenize", "--tokenizer", tokPath, "--file", textPath, "--rows", "2", "--seq", "4");
  assert.is(stdout.status, 0, stdout.stderr);
  assert.equal(JSON.parse(stdout.stdout), [ids.slice(0, 5), ids.slice(4, 9)]);
});

test("--out FILE.bin writes a shard of the whole text", async () => {
  const out = join(dir, "text.bin");
  const r = jreg("tokenize", "--tokenizer", tokPath, "--file", textPath, "--out", out);
  assert.is(r.status, 0, r.stderr);
  const shard = await readShard(out);
  assert.equal(Array.from(shard.tokens), ids);
  assert.equal(shard.header, {
    version: 1, dtype: "uint16", tokens: ids.length, documents: 1, eot: tokenizer.specialTokens.get("<|endoftext|>"), vocab_size: 600,
    tokenizer_sha256: createHash("sha256").update(json).digest("hex"),
  });
});

test("flag errors name the flag and exit non-zero", () => {
  const cases = [
    [["--rows", "2"], /--rows needs --seq too/],
    [["--seq", "2"], /--seq needs --rows too/],
    [["--rows", "0", "--seq", "4"], /--rows must be an integer ≥ 1, got "0"/],
    [["--rows", "2", "--seq", "1.5"], /--seq must be an integer ≥ 1, got "1.5"/],
    [["--rows", "2", "--seq", "4", "--out", join(dir, "x.bin")], /cannot go to a \.bin shard/],
    [["--rows", "1000", "--seq", "1000"], /gives \d+ ids; --rows 1000 --seq 1000 needs 1000001/],
  ];
  for (const [args, message] of cases) {
    const r = jreg("tokenize", "--tokenizer", tokPath, "--file", textPath, ...args);
    assert.is.not(r.status, 0, args.join(" "));
    assert.match(r.stderr, message);
    assert.not.match(r.stderr, /\n\s+at /, "no stack trace");
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
