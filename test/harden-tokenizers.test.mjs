// Hardening of the tokenizer loaders (issue "Hardening"): each test is a case
// that crashed the process, let a TypeError or RangeError escape, hung, or gave
// an unclear message before; found by hand or by the fuzz suite
// (test/fuzz-tokenizers.test.mjs). Every message names the file and the field.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BYTE_TO_CHAR, loadGpt2Files, loadTiktokenRanks, loadTokenizerFile, loadTokenizerJson } from "../dist/tokenizer/index.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "jreg-harden-tok-"));
let n = 0;
const fresh = () => {
  const d = join(root, `d${n++}`);
  mkdirSync(d);
  return d;
};

/** The 256 byte tokens of GPT-2's alphabet and a few merges: a byte-level tokenizer.json. */
function byteLevelJson() {
  const vocab = {};
  BYTE_TO_CHAR.forEach((c, b) => (vocab[c] = b));
  Object.assign(vocab, { he: 256, hel: 257, "Ġhe": 258 });
  return {
    added_tokens: [{ id: 259, content: "<|eot|>", special: true }],
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, use_regex: true },
    decoder: { type: "ByteLevel" },
    model: { type: "BPE", vocab, merges: ["h e", "he l", "Ġ he"] },
  };
}

/** A SentencePiece-style (Llama 2) tokenizer.json: characters, byte_fallback, unk, Metaspace-like normalizer and decoder. */
function charLevelJson() {
  const vocab = { "<unk>": 0, "<s>": 1, "</s>": 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`] = 3 + b;
  let id = 259;
  for (const t of ["▁", "h", "e", "l", "o", "he", "▁he", "ll", "llo"]) vocab[t] = id++;
  return {
    added_tokens: [
      { id: 0, content: "<unk>", special: true },
      { id: 1, content: "<s>", special: true },
      { id: 2, content: "</s>", special: true },
    ],
    normalizer: { type: "Sequence", normalizers: [{ type: "Prepend", prepend: "▁" }, { type: "Replace", pattern: { String: " " }, content: "▁" }] },
    pre_tokenizer: null,
    post_processor: { type: "TemplateProcessing", single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }], special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] } } },
    decoder: { type: "Sequence", decoders: [{ type: "Replace", pattern: { String: "▁" }, content: " " }, { type: "ByteFallback" }, { type: "Fuse" }, { type: "Strip", content: " ", start: 1, stop: 0 }] },
    model: { type: "BPE", unk_token: "<unk>", byte_fallback: true, fuse_unk: true, vocab, merges: ["h e", "▁ he", "l l", "ll o"] },
  };
}

function encoderJson() {
  const encoder = {};
  BYTE_TO_CHAR.forEach((c, b) => (encoder[c] = b));
  Object.assign(encoder, { he: 256, hel: 257, "<|endoftext|>": 258 });
  return encoder;
}
const VOCAB_BPE = "#version: 0.2\nh e\nhe l\n";

function rankFile(extra = []) {
  const lines = [];
  for (let b = 0; b < 256; b++) lines.push(`${btoa(String.fromCharCode(b))} ${b}`);
  lines.push(`${btoa("he")} 256`, ...extra);
  return lines.join("\n") + "\n";
}

const CRASH_CLASSES = ["TypeError", "RangeError", "ReferenceError", "SyntaxError", "RuntimeError", "InternalError"];

/** The error of `fn()` (sync or async): an Error that is not a TypeError, RangeError or trap, whose message matches. */
async function rejects(fn, pattern) {
  let error;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  if (!error) assert.unreachable(`expected an error matching ${pattern}`);
  assert.ok(error instanceof Error, String(error));
  assert.not.ok(CRASH_CLASSES.includes(error.constructor.name) || CRASH_CLASSES.includes(error.name), `${error.name}: ${error.message}`);
  assert.match(error.message, pattern);
  return error.message;
}

const within = (p, ms) => Promise.race([p, new Promise((_, no) => setTimeout(() => no(new Error(`took more than ${ms} ms`)), ms))]);

/** `jreg tokenize --tokenizer PATH` on a small text: status and stderr. */
function tokenizeCli(tokenizerPath) {
  const dir = fresh();
  writeFileSync(join(dir, "text.txt"), "hello hel he");
  const r = spawnSync(process.execPath, [join(repo, "bin/jreg.mjs"), "tokenize", "--tokenizer", tokenizerPath, "--file", join(dir, "text.txt")], { encoding: "utf8", timeout: 60_000 });
  return { status: r.status, signal: r.signal, stderr: r.stderr, stdout: r.stdout };
}

function assertOneLine(r, pattern) {
  assert.is(r.signal, null, `killed by ${r.signal}: ${r.stderr.slice(0, 300)}`);
  assert.is(r.status, 1, r.stderr);
  assert.not.match(r.stderr, /\n\s+at |Fatal|TypeError|RangeError/);
  assert.is(r.stderr.trim().split("\n").length, 1, r.stderr);
  assert.match(r.stderr, pattern);
}

test("the seeds of this file load and round-trip (so each case below differs from a valid file in one thing)", async () => {
  for (const json of [byteLevelJson(), charLevelJson()]) {
    const tok = await loadTokenizerJson(JSON.stringify(json));
    assert.is(tok.decodeText(tok.encode("hello hel he")), "hello hel he");
  }
  const gpt2 = await loadGpt2Files(JSON.stringify(encoderJson()), VOCAB_BPE);
  assert.is(gpt2.decodeText(gpt2.encode("hello")), "hello");
  const tik = await loadTiktokenRanks(rankFile(), { pattern: "gpt2" });
  assert.is(tik.decodeText(tik.encode("hello")), "hello");
});

test("a huge id in encoder.json or a huge rank in a .tiktoken file: one clear line, not V8's fatal 'invalid size error'", () => {
  for (const huge of [1e12, 2 ** 31, 2 ** 20 + 5]) {
    const dir = fresh();
    writeFileSync(join(dir, "encoder.json"), JSON.stringify({ ...encoderJson(), big: huge }));
    writeFileSync(join(dir, "vocab.bpe"), VOCAB_BPE);
    assertOneLine(tokenizeCli(dir), new RegExp(`encoder\\.json.*"big".*id ${huge}`));
    const tik = join(fresh(), "r.tiktoken");
    writeFileSync(tik, rankFile([`${btoa("xyz")} ${huge}`]));
    assertOneLine(tokenizeCli(tik), new RegExp(`r\\.tiktoken line 258: rank ${huge}`));
  }
});

test("ids and ranks are checked against the vocabulary before anything is sized from them (in the library too)", async () => {
  await rejects(() => loadGpt2Files(JSON.stringify({ ...encoderJson(), big: 2 ** 31 }), VOCAB_BPE), /encoder\.json: token "big" has id 2147483648, beyond/);
  await rejects(() => loadTiktokenRanks(rankFile([`${btoa("xyz")} 1000000000000`]), { pattern: "gpt2" }), /line 258: rank 1000000000000 is beyond/);
  const json = byteLevelJson();
  json.model.vocab.big = 2 ** 31;
  await rejects(() => loadTokenizerJson(JSON.stringify(json)), /tokenizer\.json: model\.vocab token "big" has id 2147483648, beyond/);
  const added = byteLevelJson();
  added.added_tokens.push({ id: 1e12, content: "<big>" });
  await rejects(() => loadTokenizerJson(JSON.stringify(added)), /tokenizer\.json: added_tokens\[1\] \("<big>"\) has id 1000000000000, beyond/);
  // 1e400 reads as Infinity and is shown so (JSON.stringify would print "null").
  await rejects(() => loadGpt2Files(JSON.stringify({ ...encoderJson(), y: 0 }).replace('"y":0', '"y":1e400'), VOCAB_BPE), /encoder\.json: token "y" has invalid id Infinity/);
  // Two tokens with one id: both are named.
  await rejects(() => loadGpt2Files(JSON.stringify({ ...encoderJson(), x: 5 }), VOCAB_BPE), /encoder\.json: duplicate id 5 \(tokens "ą" and "x"\)/);
  // A merge that makes no token: vocab.bpe and its line (the header and blank lines counted).
  await rejects(() => loadGpt2Files(JSON.stringify(encoderJson()), VOCAB_BPE + "\nh l\n"), /vocab\.bpe line 5: merge 2 \(104, 108\) produces bytes that are not a token/);
  // Ranks are whole decimal numbers: 0x10, 1e2 and 2.0 are not ranks.
  for (const rank of ["0x101", "1e3", "257.0", "-0"]) {
    await rejects(() => loadTiktokenRanks(rankFile([`${btoa("xyz")} ${rank}`]), { pattern: "gpt2" }), /line 258: invalid rank/);
  }
});

test("tokenizer.json fields of the wrong JSON type are named, not a TypeError", async () => {
  const cases = [
    [(j) => (j.added_tokens = { a: 1 }), /added_tokens must be a list/],
    [(j) => (j.added_tokens = 5), /added_tokens must be a list/],
    [(j) => (j.added_tokens = true), /added_tokens must be a list/],
    [(j) => (j.added_tokens = "abc"), /added_tokens must be a list/],
    [(j) => (j.added_tokens = [7]), /added_tokens\[0\]/],
    [(j) => (j.added_tokens[0].lstrip = "yes"), /added_tokens\[0\]\.lstrip must be true or false/],
    [(j) => (j.pre_tokenizer = { type: "Sequence", pretokenizers: { a: 1 } }), /pre_tokenizer.*pretokenizers/],
    [(j) => (j.pre_tokenizer = { type: "Sequence", pretokenizers: "ByteLevel" }), /pre_tokenizer.*pretokenizers/],
    [(j) => (j.pre_tokenizer = 5), /pre_tokenizer/],
    [(j) => (j.pre_tokenizer = [{ type: "ByteLevel" }]), /pre_tokenizer/],
    [(j) => (j.pre_tokenizer = { type: "Metaspace", replacement: 5 }), /pre_tokenizer.*replacement/],
    [(j) => (j.normalizer = { type: "Sequence", normalizers: 3 }), /normalizer.*normalizers/],
    [(j) => (j.normalizer = { type: "Replace", pattern: 5, content: "x" }), /normalizer.*pattern/],
    [(j) => (j.normalizer = "NFC"), /normalizer/],
    [(j) => (j.decoder = 5), /decoder/],
    [(j) => (j.post_processor = { type: "TemplateProcessing", single: [{ SpecialToken: { id: "<|eot|>" } }, { Sequence: { id: "A" } }], special_tokens: 5 }), /post_processor.*special_tokens/],
    [(j) => (j.post_processor = { type: "Sequence", processors: { a: 1 } }), /post_processor.*processors/],
    [(j) => (j.post_processor = { type: "BertProcessing", cls: "x", sep: ["<|eot|>", 259] }), /post_processor.*cls/],
    [(j) => (j.model.vocab = [1, 2]), /model\.vocab/],
    [(j) => (j.model.vocab = "abc"), /model\.vocab/],
    [(j) => (j.model.vocab.he = "256"), /model\.vocab token "he" has invalid id "256"/],
    [(j) => (j.model.merges = { a: 1 }), /model\.merges/],
    [(j) => (j.model.merges = [5]), /model\.merges: merge 0 5 is neither/],
    [(j) => (j.model.merges = [["h", 5]]), /model\.merges: merge 0 \["h", 5\] is neither/],
    [(j) => (j.model.merges = [["h", "e", "x"]]), /model\.merges: merge 0/],
    [(j) => (j.model.unk_token = 5), /model\.unk_token/],
    [(j) => (j.model.ignore_merges = "yes"), /model\.ignore_merges/],
    [(j) => (j.model.byte_fallback = "yes"), /model\.byte_fallback/],
    [(j) => (j.model = [1]), /"model" is not an object/],
  ];
  for (const [edit, pattern] of cases) {
    const json = byteLevelJson();
    edit(json);
    await rejects(() => loadTokenizerJson(JSON.stringify(json)), new RegExp(`tokenizer\\.json: .*${pattern.source}`));
  }
  const charCases = [
    [(j) => (j.decoder = { type: "Sequence", decoders: 5 }), /decoder.*decoders/],
    [(j) => (j.decoder = { type: "Metaspace", replacement: 5 }), /decoder.*replacement/],
    [(j) => (j.decoder = { type: "Metaspace", prepend_scheme: 5 }), /decoder.*prepend_scheme/],
    [(j) => (j.decoder = { type: "Strip", content: " ", start: "1" }), /decoder.*start/],
    [(j) => (j.model.fuse_unk = 1), /model\.fuse_unk/],
  ];
  for (const [edit, pattern] of charCases) {
    const json = charLevelJson();
    edit(json);
    await rejects(() => loadTokenizerJson(JSON.stringify(json)), new RegExp(`tokenizer\\.json: .*${pattern.source}`));
  }
});

test("token text that is not well-formed Unicode (a lone surrogate) is named, not silently encoded as U+FFFD", async () => {
  const json = byteLevelJson();
  json.added_tokens.push({ id: 260, content: "<\ud800>", special: true });
  await rejects(() => loadTokenizerJson(JSON.stringify(json)), /added_tokens\[1\] \(id 260\) "content" is not well-formed Unicode/);
  const chars = charLevelJson();
  chars.model.vocab["x\udc00"] = 280;
  await rejects(() => loadTokenizerJson(JSON.stringify(chars)), /model\.vocab token "x\\udc00" \(id 280\) is not well-formed Unicode/);
});

test("post-processor ids must be tokens: an accepted file never produces ids that decode cannot read", async () => {
  const json = charLevelJson();
  json.post_processor.special_tokens["<s>"].ids = [999999];
  await rejects(() => loadTokenizerJson(JSON.stringify(json)), /post_processor.*999999.*not a token/);
  const bert = byteLevelJson();
  bert.post_processor = { type: "BertProcessing", cls: ["<cls>", 5000], sep: ["<|eot|>", 259] };
  await rejects(() => loadTokenizerJson(JSON.stringify(bert)), /post_processor.*cls.*5000.*not a token/);
});

test("nesting 100,000 deep in any field is reported, not a stack overflow", async () => {
  const deepArray = "[".repeat(100000) + "]".repeat(100000);
  let deepSequence = '{"type":"NFC"}';
  for (let i = 0; i < 20000; i++) deepSequence = `{"type":"Sequence","normalizers":[${deepSequence}]}`;
  let deepPre = '{"type":"ByteLevel"}';
  for (let i = 0; i < 20000; i++) deepPre = `{"type":"Sequence","pretokenizers":[${deepPre}]}`;
  for (const [field, value] of [["added_tokens", `[${deepArray}]`], ["normalizer", deepArray], ["normalizer", deepSequence], ["pre_tokenizer", deepPre], ["post_processor", deepArray], ["decoder", deepArray]]) {
    const json = byteLevelJson();
    const text = JSON.stringify({ ...json, [field]: "@@" }).replace('"@@"', value);
    await rejects(() => loadTokenizerJson(text), new RegExp(`tokenizer\\.json: .*${field}`));
  }
  const text = JSON.stringify({ ...encoderJson(), deep: "@@" }).replace('"@@"', deepArray);
  await rejects(() => loadGpt2Files(text, VOCAB_BPE), /encoder\.json: token "deep" has invalid id/);
});

test("added tokens named constructor, __proto__, toString, hasOwnProperty, valueOf work; so do such vocab keys", async () => {
  const names = ["constructor", "__proto__", "toString", "hasOwnProperty", "valueOf"];
  const json = byteLevelJson();
  names.forEach((content, i) => json.added_tokens.push({ id: 260 + i, content, special: true }));
  json.model.vocab["constructor"] = 301;
  // An own key "__proto__" (as JSON.parse makes it; an assignment would set the prototype instead).
  const text = JSON.stringify(json).replace('"vocab":{', '"vocab":{"__proto__":300,');
  const tok = await loadTokenizerJson(text);
  for (const [i, name] of names.entries()) {
    assert.is(tok.specialTokens.get(name), 260 + i, name);
    assert.equal([...tok.encode(`he${name}`, { allowedSpecial: [name] })], [256, 260 + i], name);
  }
  assert.is(new TextDecoder().decode(tok.tokenToBytes(300)), "__proto__");
  assert.is(tok.vocabSize, 302);

  // Only own keys count: unk_token "toString" is not in a vocabulary that lacks it.
  const unk = charLevelJson();
  unk.model.unk_token = "toString";
  await rejects(() => loadTokenizerJson(JSON.stringify(unk)), /model\.unk_token "toString" is not in the vocabulary/);
  // An added token named __proto__ with lstrip/rstrip strips like any other name; "left" (no rules) strips nothing.
  const stripping = async (name, rules) => {
    const j = charLevelJson();
    j.added_tokens.push({ id: 271, content: name, special: true, ...(rules ? { lstrip: true, rstrip: true } : {}) });
    return [...(await loadTokenizerJson(JSON.stringify(j))).encode(`he ${name} he`, { allowedSpecial: "all" })];
  };
  assert.equal(await stripping("__proto__", true), await stripping("<x>", true));
  assert.equal(await stripping("left", false), await stripping("<y>", false));
  assert.not.equal(await stripping("<x>", true), await stripping("<y>", false));

  const gpt2 = await loadGpt2Files(JSON.stringify(encoderJson()).replace(/}$/, ',"__proto__":259,"constructor":260}'), VOCAB_BPE);
  assert.is(new TextDecoder().decode(gpt2.tokenToBytes(259)), "__proto__");
  assert.is(gpt2.vocabSize, 261);
});

test("endless input (a link to /dev/zero) and directories: refused at once, naming the file", async () => {
  const kinds = [
    ["tokenizer.json", (d) => join(d, "tokenizer.json"), (d) => d],
    ["encoder.json", (d) => (writeFileSync(join(d, "vocab.bpe"), VOCAB_BPE), join(d, "encoder.json")), (d) => d],
    ["vocab.bpe", (d) => (writeFileSync(join(d, "encoder.json"), JSON.stringify(encoderJson())), join(d, "vocab.bpe")), (d) => d],
    ["r.tiktoken", (d) => join(d, "r.tiktoken"), (d) => join(d, "r.tiktoken")],
  ];
  for (const [name, place, arg] of kinds) {
    const zero = fresh();
    symlinkSync("/dev/zero", place(zero));
    let msg = await within(rejects(() => loadTokenizerFile(arg(zero)), /not a regular file/), 5000);
    assert.ok(msg.includes(name), msg);
    assertOneLine(tokenizeCli(arg(zero)), new RegExp(`--tokenizer .*${name.replace(".", "\\.")}.*not a regular file`));
    if (name === "r.tiktoken") continue; // a directory named r.tiktoken is read as a tokenizer directory
    const dirCase = fresh();
    mkdirSync(place(dirCase));
    msg = await rejects(() => loadTokenizerFile(arg(dirCase)), /is a directory, not a file/);
    assert.ok(msg.includes(join(dirCase, name)), msg);
    assertOneLine(tokenizeCli(arg(dirCase)), new RegExp(`--tokenizer .*${name.replace(".", "\\.")}.*is a directory`));
  }
});

test("invalid UTF-8 in a tokenizer file is named (not silently replaced by U+FFFD)", async () => {
  const dir = fresh();
  const bytes = new TextEncoder().encode(JSON.stringify(byteLevelJson()));
  const bad = new Uint8Array([...bytes.subarray(0, 30), 0xff, ...bytes.subarray(30)]);
  writeFileSync(join(dir, "tokenizer.json"), bad);
  await rejects(() => loadTokenizerFile(dir), /tokenizer\.json: .*not valid UTF-8/);
});

test("errors from building the tables name the file too (duplicate bytes, a missing byte)", async () => {
  const dir = fresh();
  writeFileSync(join(dir, "r.tiktoken"), rankFile([`${btoa("he")} 257`]));
  await rejects(() => loadTokenizerFile(join(dir, "r.tiktoken")), /r\.tiktoken: .*same bytes/);
  const lacking = rankFile().split("\n").filter((l) => l !== `${btoa("A")} 65`).join("\n");
  writeFileSync(join(dir, "s.tiktoken"), lacking);
  await rejects(() => loadTokenizerFile(join(dir, "s.tiktoken")), /s\.tiktoken: .*byte 0x41 has none/);
});

test("jreg tokenize --tokenizer BAD: one line naming the flag and file, exit 1, for each kind", () => {
  const json = fresh();
  writeFileSync(join(json, "tokenizer.json"), JSON.stringify({ ...byteLevelJson(), added_tokens: 5 }));
  assertOneLine(tokenizeCli(json), /--tokenizer .*tokenizer\.json: added_tokens must be a list/);
  const gpt2 = fresh();
  writeFileSync(join(gpt2, "encoder.json"), JSON.stringify(encoderJson()));
  writeFileSync(join(gpt2, "vocab.bpe"), VOCAB_BPE + "he zz\n");
  assertOneLine(tokenizeCli(gpt2), /--tokenizer .*vocab\.bpe line 4: merge references unknown token "zz"/);
  const tik = join(fresh(), "x.tiktoken");
  writeFileSync(tik, rankFile(["@@@ 257"]));
  assertOneLine(tokenizeCli(tik), /--tokenizer .*x\.tiktoken line 258: invalid base64/);
  assertOneLine(tokenizeCli(join(root, "missing-tokenizer")), /--tokenizer .*missing-tokenizer.*does not exist/);
  const empty = fresh();
  assertOneLine(tokenizeCli(empty), /--tokenizer .*has neither tokenizer\.json nor encoder\.json \+ vocab\.bpe/);
});

test.after(() => rmSync(root, { recursive: true, force: true }));
test.run();
