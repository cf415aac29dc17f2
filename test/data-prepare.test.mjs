// prepareCorpus: user corpora and their errors, the tokenizer cache (hit, and a
// miss whenever an input changes; trained on the train split only), shard contents.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileStorage } from "../dist/run/index.js";
import { brownDocuments, loadCorpus, prepareCorpus, splitDocuments, splitTextDocuments, tokenizerCacheKey } from "../dist/data/index.js";

const dir = mkdtempSync(join(tmpdir(), "jreg-prepare-"));
const brown = (await brownDocuments()).slice(0, 40);
const corpusDir = join(dir, "corpus");
mkdirSync(corpusDir);
for (const d of brown) writeFileSync(join(corpusDir, `${d.id}.txt`), d.text.slice(0, 4000));
const small = { vocabSize: 400 };

test("text files: documents separated by blank lines; a directory: one document per .txt", async () => {
  assert.equal(splitTextDocuments("a b\nc\n\n\n  \nd\r\n\r\ne\n  \n", "f.txt"), [
    { id: "f.txt:1", text: "a b\nc\n" },
    { id: "f.txt:2", text: "d\n" },
    { id: "f.txt:3", text: "e\n" },
  ]);
  const file = join(dir, "one.txt");
  writeFileSync(file, "First document.\nStill first.\n\nSecond one.\n");
  const c = await loadCorpus(file);
  assert.equal(c.documents.map((d) => d.text), ["First document.\nStill first.\n", "Second one.\n"]);
  const d = await loadCorpus(corpusDir);
  assert.is(d.documents.length, 40);
  assert.is(d.documents[0].id, "ca01.txt");
});

test("corpus errors name the path and the problem", async () => {
  const cases = [];
  const missing = join(dir, "nope.txt");
  cases.push([missing, /nope\.txt does not exist/]);
  writeFileSync(join(dir, "empty.txt"), " \n\n\t\n");
  cases.push([join(dir, "empty.txt"), /empty\.txt is empty/]);
  writeFileSync(join(dir, "binary.txt"), new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x00, 0x10]));
  cases.push([join(dir, "binary.txt"), /binary\.txt looks binary/]);
  writeFileSync(join(dir, "latin1.txt"), new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x0a]));
  cases.push([join(dir, "latin1.txt"), /latin1\.txt is not valid UTF-8/]);
  mkdirSync(join(dir, "no-txt"));
  writeFileSync(join(dir, "no-txt", "notes.md"), "hello");
  cases.push([join(dir, "no-txt"), /no-txt has no \.txt files/]);
  mkdirSync(join(dir, "with-empty"));
  writeFileSync(join(dir, "with-empty", "a.txt"), "text");
  writeFileSync(join(dir, "with-empty", "b.txt"), "");
  cases.push([join(dir, "with-empty"), /b\.txt is empty/]);
  for (const [path, message] of cases) {
    await loadCorpus(path).then(() => assert.unreachable(path), (e) => {
      assert.is(e.name, "CorpusError", path);
      assert.match(e.message, message);
    });
  }
});

test("tokenizer and shards: trained on first use, loaded from the cache after", async () => {
  const cacheDir = join(dir, "cache-a");
  const first = await prepareCorpus({ corpus: corpusDir, tokenizer: small, cacheDir });
  assert.is(first.stats.tokenizer, "miss");
  assert.equal(first.stats.shards, { train: "miss", validation: "miss" });
  assert.is(first.tokenizer.vocabSize, 400);
  const second = await prepareCorpus({ corpus: corpusDir, tokenizer: small, cacheDir });
  assert.is(second.stats.tokenizer, "hit");
  assert.equal(second.stats.shards, { train: "hit", validation: "hit" });
  assert.is(second.tokenizerJson, first.tokenizerJson);
  assert.equal(second.train.tokens, first.train.tokens);
  assert.equal(second.validation.tokens, first.validation.tokens);
  assert.equal(readdirSync(cacheDir).filter((n) => n.includes(".tmp")), []);

  // The cache key covers exactly the train documents and the settings.
  const corpus = await loadCorpus(corpusDir);
  const { train, validation } = splitDocuments(corpus.documents);
  assert.is(validation.length, 4);
  assert.equal(first.validationIds, validation.map((d) => d.id));
  const key = await tokenizerCacheKey(train, small);
  assert.ok(readdirSync(cacheDir).includes(`tokenizer-${key.slice(0, 32)}.json`));

  // Shards: documents joined by the end-of-text token, which the text never produces.
  const eot = first.eot;
  assert.is(eot, first.tokenizer.specialTokens.get("<|endoftext|>"));
  assert.is(first.train.header.tokenizer_sha256, first.tokenizerSha256);
  assert.is(first.train.header.documents, train.length);
  assert.is(first.train.tokens.filter((t) => t === eot).length, train.length - 1);
  assert.is(first.tokenizer.decodeText(first.train.tokens), train.map((d) => d.text).join("<|endoftext|>"));
  assert.is(first.tokenizer.decodeText(first.validation.tokens), validation.map((d) => d.text).join("<|endoftext|>"));
});

test("every input of the tokenizer changes the cache key; validation text does not", async () => {
  const cacheDir = join(dir, "cache-b");
  const base = await prepareCorpus({ corpus: corpusDir, tokenizer: small, cacheDir });
  const corpus = await loadCorpus(corpusDir);
  const { train, validation } = splitDocuments(corpus.documents);
  for (const [what, settings] of [["vocab size", { vocabSize: 401 }], ["pattern", { ...small, pattern: "cl100k" }], ["special tokens", { ...small, specialTokens: ["<|eot|>"] }], ["min frequency", { ...small, minFrequency: 3 }]]) {
    const r = await prepareCorpus({ corpus: corpusDir, tokenizer: settings, cacheDir });
    assert.is(r.stats.tokenizer, "miss", what);
  }
  // Edit a validation document: the tokenizer (train split only) and the train shard are reused.
  const valFile = join(corpusDir, validation[0].id);
  writeFileSync(valFile, validation[0].text + "An added sentence.\n");
  const v = await prepareCorpus({ corpus: corpusDir, tokenizer: small, cacheDir });
  assert.is(v.stats.tokenizer, "hit");
  assert.equal(v.stats.shards, { train: "hit", validation: "miss" });
  assert.is(v.tokenizerJson, base.tokenizerJson);
  // Edit a training document: everything is rebuilt.
  writeFileSync(join(corpusDir, train[3].id), train[3].text + "Quixotically zyzzyva. ".repeat(50) + "\n");
  const t = await prepareCorpus({ corpus: corpusDir, tokenizer: small, cacheDir });
  assert.is(t.stats.tokenizer, "miss");
  assert.is.not(t.tokenizerJson, base.tokenizerJson, "the new text changed the vocabulary");
  assert.equal(t.stats.shards, { train: "miss", validation: "miss" }, "so both shards are re-encoded");
  writeFileSync(valFile, validation[0].text);
  writeFileSync(join(corpusDir, train[3].id), train[3].text);
});

test("a damaged cache entry is rebuilt, not trusted", async () => {
  const cacheDir = join(dir, "cache-c");
  const a = await prepareCorpus({ corpus: corpusDir, tokenizer: small, cacheDir });
  writeFileSync(a.trainPath, "garbage");
  const b = await prepareCorpus({ corpus: corpusDir, tokenizer: small, cacheDir });
  assert.is(b.stats.shards.train, "miss");
  assert.equal(b.train.tokens, a.train.tokens);
  // A cached tokenizer that became a link to /dev/zero is damaged too: refused by its size check and retrained.
  const cached = join(cacheDir, readdirSync(cacheDir).find((n) => /^tokenizer-.*\.json$/.test(n)));
  rmSync(cached);
  symlinkSync("/dev/zero", cached);
  const c = await prepareCorpus({ corpus: corpusDir, tokenizer: small, cacheDir });
  assert.is(c.stats.tokenizer, "miss");
  assert.is(c.tokenizerJson, a.tokenizerJson);
});

test("the end-of-text token: the first special token; a user tokenizer.json must have <|endoftext|>", async () => {
  const cacheDir = join(dir, "cache-d");
  const pad = await prepareCorpus({ corpus: corpusDir, tokenizer: { ...small, specialTokens: ["<|pad|>"] }, cacheDir });
  assert.is(pad.eot, pad.tokenizer.specialTokens.get("<|pad|>"), "the first special token separates documents");
  const withEot = await prepareCorpus({ corpus: corpusDir, tokenizer: small, cacheDir });
  const good = join(dir, "tok-good.json");
  writeFileSync(good, withEot.tokenizerJson);
  const own = await prepareCorpus({ corpus: corpusDir, tokenizer: { file: good }, cacheDir });
  assert.is(own.stats.tokenizer, "file");
  assert.equal(own.train.tokens, withEot.train.tokens);
  const bad = join(dir, "tok.json");
  writeFileSync(bad, withEot.tokenizerJson.replace(/<\|endoftext\|>/g, "<|other|>"));
  await prepareCorpus({ corpus: corpusDir, tokenizer: { file: bad }, cacheDir }).then(() => assert.unreachable(), (e) => assert.match(e.message, /tok\.json has none of the special tokens <\|endoftext\|>, <\|end_of_text\|>, <\/s>, <eos> to put between documents/));
  await prepareCorpus({ corpus: corpusDir, tokenizer: { file: join(dir, "absent.json") }, cacheDir }).then(() => assert.unreachable(), (e) => assert.match(e.message, /cannot read .*absent\.json/));
  // An endless tokenizer file (a link to /dev/zero) is refused by its size check, not read until memory runs out.
  symlinkSync("/dev/zero", join(dir, "zero.json"));
  await prepareCorpus({ corpus: corpusDir, tokenizer: { file: join(dir, "zero.json") }, cacheDir }).then(() => assert.unreachable(), (e) => assert.match(e.message, /cannot read .*zero\.json: it is not a regular file/));
});

test("a cache that cannot be written gives the path and the cause in plain words", async () => {
  class FullDisk extends FileStorage {
    async writeAtomic(path) {
      throw Object.assign(new Error(`ENOSPC: no space left on device, open '${path}'`), { code: "ENOSPC" });
    }
  }
  const cacheDir = join(dir, "cache-full");
  await prepareCorpus({ corpus: corpusDir, tokenizer: small, cacheDir, storage: new FullDisk() }).then(() => assert.unreachable(), (e) => {
    assert.match(e.message, `could not write the tokenizer cache ${cacheDir}/tokenizer-`);
    assert.match(e.message, "the disk is full (ENOSPC)");
  });
  await prepareCorpus({ corpus: corpusDir, tokenizer: small, cacheDir }); // tokenizer now cached
  rmSync(join(cacheDir, readdirSync(cacheDir).find((n) => n.startsWith("train-"))));
  await prepareCorpus({ corpus: corpusDir, tokenizer: small, cacheDir, storage: new FullDisk() }).then(() => assert.unreachable(), (e) => {
    assert.match(e.message, /could not write the shard .*train-[0-9a-f]+\.bin: the disk is full \(ENOSPC\)/);
  });
});

test("Brown by default: 4,096 tokens, genre-stratified split, uint16 shards", async () => {
  const cacheDir = join(dir, "cache-brown");
  const t0 = performance.now();
  const p = await prepareCorpus({ cacheDir });
  const seconds = (performance.now() - t0) / 1000;
  assert.is(p.tokenizer.vocabSize, 4096);
  assert.is(p.stats.documents.train + p.stats.documents.validation, 500);
  assert.is(p.train.header.dtype, "uint16");
  assert.ok(p.stats.tokens.train > 1_000_000, `${p.stats.tokens.train}`);
  console.log(`  Brown: ${JSON.stringify(p.stats.tokens)} tokens, ${seconds.toFixed(2)} s cold (tokenizer ${p.stats.seconds.tokenizer.toFixed(2)} s)`);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
