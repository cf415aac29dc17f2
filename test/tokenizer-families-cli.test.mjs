// The commands with the tokenizer.json of real model families (Llama 2 and
// Gemma: character-level BPE; Qwen 3 and GPT-4o: byte-level with their own
// regexes): `jreg tokenize` gives the Hugging Face reference's ids (with and
// without add_special_tokens) and shards with the family's end-of-document
// token; `jreg train` with data.tokenizer = the file builds its shards from the
// reference's ids joined by that token, trains and checkpoints the tokenizer;
// `jreg analyze --text` on that checkpoint tokenizes as the reference does and
// says which pipeline and post-processor it used.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readShard, loadCorpus, splitDocuments } from "../dist/data/index.js";
import { familyPair, FAMILIES } from "./tokenizer-families-reference.mjs";
import { jreg, tinyWorkspace, tinyConfig, writeConfig } from "./helpers/train-fixture.mjs";

const ws = await tinyWorkspace("jreg-families-");
const tmp = mkdtempSync(join(tmpdir(), "jreg-families-cli-"));
const TEXT = "  Leading spaces, tabs\tand 12345 digits; ünïcödé, 日本語 and 🙂.\nA second line\n";
const textFile = join(tmp, "text.txt");
writeFileSync(textFile, TEXT);
// Special tokens in the text are tokens only with --allow-special (the reference always matches them).
const SPECIAL_TEXT = "end </s> <eos> <|endoftext|> <s>\n";
const specialFile = join(tmp, "special.txt");
writeFileSync(specialFile, SPECIAL_TEXT);
const fileOf = (name) => fileURLToPath(new URL(`../node_modules/${FAMILIES[name].pkg}/models/tokenizer.json`, import.meta.url));
/** The end-of-document token each family's file should give (host/data/document-separator.ts). */
const SEPARATOR = { llama2: "</s>", gemma: "<eos>", qwen3: "<|endoftext|>", gpt4o: "<|endoftext|>" };

function ok(r, what) {
  assert.is(r.status, 0, `${what}: exit ${r.status}\n${r.stderr}`);
  return r;
}

for (const name of Object.keys(FAMILIES)) {
  test(`${name}: jreg tokenize, train (data.tokenizer) and analyze --text agree with the reference`, async () => {
    const { ours, ref } = await familyPair(name);
    const file = fileOf(name);
    const eot = ours.specialTokens.get(SEPARATOR[name]);
    assert.ok(eot !== undefined, `${name} has ${SEPARATOR[name]}`);

    // tokenize: stdout JSON with and without the post-processor's special tokens
    const plain = JSON.parse(ok(jreg(["tokenize", "--tokenizer", file, "--file", textFile]), "tokenize").stdout);
    assert.equal(plain, ref.encode(TEXT, { add_special_tokens: false }), "tokenize ids");
    const wrapped = JSON.parse(ok(jreg(["tokenize", "--tokenizer", file, "--file", textFile, "--add-special-tokens"]), "tokenize --add-special-tokens").stdout);
    assert.equal(wrapped, ref.encode(TEXT, { add_special_tokens: true }), "tokenize --add-special-tokens ids");
    const special = JSON.parse(ok(jreg(["tokenize", "--tokenizer", file, "--file", specialFile, "--allow-special"]), "tokenize --allow-special").stdout);
    assert.equal(special, ref.encode(SPECIAL_TEXT, { add_special_tokens: false }), "tokenize --allow-special ids");
    assert.ok(special.includes(eot), "the end-of-document token is matched");
    // a shard names the family's end-of-document token
    const bin = join(tmp, `${name}.bin`);
    ok(jreg(["tokenize", "--tokenizer", file, "--file", textFile, "--out", bin]), "tokenize --out");
    const shard = await readShard(bin);
    assert.is(shard.header.eot, eot);
    assert.is(shard.header.vocab_size, ours.vocabSize);
    assert.equal([...shard.tokens], plain);

    // train: 2 steps on a small corpus with the family's tokenizer
    const out = join(ws.dir, `run-${name}`);
    const cfg = tinyConfig(ws, { name, out, steps: 2, evalEvery: 2, saveEvery: 2, logEvery: 1, data: { corpus: ws.corpus, tokenizer: file, evalBatches: 1, cacheDir: join(ws.dir, `cache-${name}`) } });
    ok(jreg(["train", "--config", writeConfig(ws, `${name}.json`, cfg)]), "train");
    const ck = join(out, "checkpoint-2");
    assert.is(readFileSync(join(ck, "tokenizer.json"), "utf8"), readFileSync(file, "utf8"), "the checkpoint carries the file as is");
    assert.is(JSON.parse(readFileSync(join(ck, "config.json"), "utf8")).vocab_size, ours.vocabSize);
    // the train shard: the reference's ids of each train document, joined by the end-of-document token
    const { train } = splitDocuments((await loadCorpus(ws.corpus)).documents);
    const want = [];
    train.forEach((d, i) => {
      if (i > 0) want.push(eot);
      want.push(...ref.encode(d.text, { add_special_tokens: false }));
    });
    const trainShard = readdirSync(join(ws.dir, `cache-${name}`)).find((f) => f.startsWith("train-"));
    const got = await readShard(join(ws.dir, `cache-${name}`, trainShard));
    assert.is(got.header.eot, eot);
    assert.equal([...got.tokens], want, "train shard");

    // analyze --text on the trained checkpoint: the reference's tokens, and the pipeline named
    const a = JSON.parse(ok(jreg(["analyze", ck, "--text", textFile, "--json", "--seq", "8"]), "analyze --json").stdout);
    const n = ref.encode(TEXT, { add_special_tokens: false }).length;
    assert.is(a.windows, Math.floor((n - 1) / 8), `analyze windows (${n} tokens)`);
    assert.equal(a.tokenizer, {
      model: ours.info.model,
      normalizer: ours.info.normalizer,
      pre_tokenizer: ours.info.preTokenizer,
      post_processor: ours.info.postProcessor,
      decoder: ours.info.decoder,
      regex_fallback: false,
      add_special_tokens: false,
    });
    // with --add-special-tokens: the reference's add_special_tokens count, and the table says it
    const lines = ok(jreg(["analyze", ck, "--text", textFile, "--seq", "1", "--add-special-tokens"]), "analyze --add-special-tokens").stdout.split("\n");
    const nAdded = ref.encode(TEXT, { add_special_tokens: true }).length;
    assert.match(lines[0], new RegExp(`: ${nAdded - 1} tokens in ${nAdded - 1} windows of 1,`));
    assert.match(lines[1], new RegExp(`^tokenizer: ${ours.info.model}; normalizer .*; pre-tokenizer .*; post-processor `));
    if (ours.info.postProcessor) assert.match(lines[1], /post-processor \S+ \(special tokens added\)$/);
  });
}

test("jreg tokenize says on stderr when a pre-tokenizer regex runs as a JavaScript RegExp, and the ids stay the reference's", async () => {
  // A regex the native splitter does not implement (letters split by case class in ASCII only).
  const edit = (j) => ((j.pre_tokenizer.pretokenizers[0].pattern.Regex = "\\s+|[a-z]+|[^a-z\\s]+"), j);
  const { ours, ref, json } = await familyPair("qwen3", edit);
  assert.is(ours.regexFallback, true);
  const file = join(tmp, "fallback.json");
  writeFileSync(file, JSON.stringify(json));
  const r = ok(jreg(["tokenize", "--tokenizer", file, "--file", textFile]), "tokenize with a fallback regex");
  assert.equal(JSON.parse(r.stdout), ref.encode(TEXT, { add_special_tokens: false }));
  assert.match(r.stderr, /^jreg tokenize: byte-level BPE; .*pre-tokenizer .*\(exact, slower than the native splitter\)/);
  const native = ok(jreg(["tokenize", "--tokenizer", fileOf("qwen3"), "--file", textFile]), "tokenize, native regex");
  assert.is(native.stderr, "", "nothing on stderr when the regex runs natively");
});

test("a tokenizer.json without any end-of-document token is refused by train, naming the file", async () => {
  const json = JSON.parse(readFileSync(fileOf("llama2"), "utf8"));
  json.added_tokens = json.added_tokens.filter((t) => t.content !== "</s>");
  const file = join(tmp, "no-eos.json");
  writeFileSync(file, JSON.stringify(json));
  const cfg = tinyConfig(ws, { name: "noeos", out: join(ws.dir, "run-noeos"), steps: 1, data: { corpus: ws.corpus, tokenizer: file, cacheDir: join(ws.dir, "cache-noeos") } });
  const r = jreg(["train", "--config", writeConfig(ws, "noeos.json", cfg)]);
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, /no-eos\.json has none of the special tokens <\|endoftext\|>, <\|end_of_text\|>, <\/s>, <eos> to put between documents/);
  assert.not.match(r.stderr, /\n\s+at /, "no stack trace");
});

test.after(() => {
  rmSync(tmp, { recursive: true, force: true });
  rmSync(ws.dir, { recursive: true, force: true });
});

test.run();
