// tokenizer.json, GPT-2 encoder.json + vocab.bpe and tiktoken rank files load
// to the same ids as js-tiktoken; malformed files get errors naming the problem.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtemp, writeFile, mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  BYTE_TO_CHAR, bytesToByteLevel, loadGpt2Files, loadTiktokenRanks, loadTokenizerFile,
  loadTokenizerJson, parseJsTiktokenRanks, preTokenizerJson,
} from "../dist/tokenizer/index.js";
import { brownDocuments } from "../dist/data/index.js";
import { LONG_INPUTS, ENCODINGS, adversarialStrings, firstDifference, referenceIds } from "./tokenizer-reference.mjs";

const docs = await brownDocuments();
const sample = docs.slice(0, 8).map((d) => d.text).join("\n"); // ~0.1 MB
const adversarial = Object.entries(adversarialStrings()).filter(([k]) => !LONG_INPUTS.includes(k)).map(([, v]) => v).join("\n");

/**
 * Vocabulary (byte-level text -> id) and merge list derived from tiktoken ranks.
 * allSplits: every split of a token into two earlier tokens (what tiktoken's
 * semantics allow; paired with ignore_merges). Otherwise one merge per token,
 * recovered as Hugging Face's converter does: merge the token's bytes with the
 * ranks below it; the two parts left are the merge that made it.
 */
const derived = new Map();
function derive(name, { allSplits }) {
  const key = `${name} ${allSplits}`;
  if (!derived.has(key)) derived.set(key, deriveUncached(name, allSplits));
  return derived.get(key);
}

function deriveUncached(name, allSplits) {
  const def = parseJsTiktokenRanks(ENCODINGS[name].data, ENCODINGS[name].pattern);
  const vocab = {};
  const idOf = new Map();
  def.tokens.forEach((t, id) => {
    if (!t) return;
    const s = bytesToByteLevel(t);
    vocab[s] = id;
    idOf.set(s, id);
  });
  const merges = [];
  def.tokens.forEach((t, id) => {
    if (!t || t.length < 2) return;
    const s = bytesToByteLevel(t);
    if (allSplits) {
      for (let cut = 1; cut < s.length; cut++) {
        const a = idOf.get(s.slice(0, cut)), b = idOf.get(s.slice(cut));
        if (a !== undefined && b !== undefined && a < id && b < id) merges.push([s.slice(0, cut), s.slice(cut)]);
      }
      return;
    }
    let parts = [...s];
    while (parts.length > 2) {
      let best = Infinity, at = -1;
      for (let i = 0; i + 1 < parts.length; i++) {
        const r = idOf.get(parts[i] + parts[i + 1]);
        if (r !== undefined && r < id && r < best) (best = r), (at = i);
      }
      if (at < 0) break;
      parts.splice(at, 2, parts[at] + parts[at + 1]);
    }
    if (parts.length === 2) merges.push(parts);
  });
  return { vocab, merges, specials: ENCODINGS[name].data.special_tokens };
}

function tokenizerJson(name, { mergesAsPairs = false, ignoreMerges = false } = {}) {
  const { vocab, merges, specials } = derive(name, { allSplits: ignoreMerges });
  const added = Object.entries(specials).map(([content, id]) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
  for (const [content, id] of Object.entries(specials)) vocab[content] = id;
  return {
    version: "1.0",
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: preTokenizerJson(ENCODINGS[name].pattern),
    decoder: { type: "ByteLevel" },
    model: {
      type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: ignoreMerges, vocab,
      merges: mergesAsPairs ? merges : merges.map((m) => m.join(" ")),
    },
  };
}

function assertLikeReference(tok, name, text, label) {
  const got = tok.encode(text);
  const want = referenceIds(name, text);
  assert.is(firstDifference(got, want), -1, label);
}

test("gpt2 tokenizer.json (merges as strings, then as pairs) gives js-tiktoken's ids", async () => {
  const strings = await loadTokenizerJson(JSON.stringify(tokenizerJson("gpt2")));
  assertLikeReference(strings, "gpt2", sample, "strings: Brown sample");
  assertLikeReference(strings, "gpt2", adversarial, "strings: adversarial");
  const pairs = await loadTokenizerJson(tokenizerJson("gpt2", { mergesAsPairs: true }));
  assertLikeReference(pairs, "gpt2", sample, "pairs: Brown sample");
  assert.equal([...pairs.encode("<|endoftext|>", { allowedSpecial: "all" })], [50256]);
});

test("cl100k tokenizer.json in Llama-3 form (Split regex + ByteLevel, ignore_merges) gives js-tiktoken's ids", async () => {
  const tok = await loadTokenizerJson(JSON.stringify(tokenizerJson("cl100k", { ignoreMerges: true })));
  assert.is(tok.pattern, "cl100k");
  assertLikeReference(tok, "cl100k", sample, "Brown sample");
  assertLikeReference(tok, "cl100k", adversarial, "adversarial");
});

test("GPT-2 encoder.json + vocab.bpe, and a tiktoken rank file, give js-tiktoken's ids", async () => {
  const { vocab, merges } = derive("gpt2", { allSplits: false });
  const encoder = { ...vocab, "<|endoftext|>": 50256 };
  const vocabBpe = "#version: 0.2\n" + merges.map((m) => m.join(" ")).join("\n") + "\n";
  const gpt2 = await loadGpt2Files(JSON.stringify(encoder), vocabBpe);
  assertLikeReference(gpt2, "gpt2", sample, "GPT-2 files");

  const def = parseJsTiktokenRanks(ENCODINGS.cl100k.data, "cl100k");
  const rankFile = def.tokens.map((t, id) => (t ? `${btoa(String.fromCharCode(...t))} ${id}` : "")).filter(Boolean).join("\n");
  const cl = await loadTiktokenRanks(rankFile, { pattern: "cl100k" });
  assertLikeReference(cl, "cl100k", sample, "rank file");

  // From paths, as the CLI loads them.
  const dir = await mkdtemp(join(tmpdir(), "jreg-tok-"));
  try {
    await mkdir(join(dir, "gpt2"));
    await writeFile(join(dir, "gpt2", "encoder.json"), JSON.stringify(encoder));
    await writeFile(join(dir, "gpt2", "vocab.bpe"), vocabBpe);
    await writeFile(join(dir, "cl100k_base.tiktoken"), rankFile);
    await writeFile(join(dir, "tokenizer.json"), JSON.stringify(tokenizerJson("gpt2")));
    assertLikeReference(await loadTokenizerFile(join(dir, "gpt2")), "gpt2", adversarial, "directory with encoder.json");
    assertLikeReference(await loadTokenizerFile(join(dir, "cl100k_base.tiktoken")), "cl100k", adversarial, "rank file path");
    assertLikeReference(await loadTokenizerFile(join(dir, "tokenizer.json")), "gpt2", adversarial, "tokenizer.json path");
    assertLikeReference(await loadTokenizerFile(dir), "gpt2", adversarial, "directory with tokenizer.json");
    let error;
    await loadTokenizerFile(join(dir, "missing.json")).catch((e) => (error = e));
    assert.match(String(error), /does not exist/);
  } finally {
    await rm(dir, { recursive: true });
  }
});

/** A small valid tokenizer.json: the 256 byte tokens and a few merges. */
function tinyJson() {
  const vocab = {};
  BYTE_TO_CHAR.forEach((c, b) => (vocab[c] = b));
  vocab["he"] = 256;
  vocab["hel"] = 257;
  vocab["Ġhe"] = 258;
  return {
    added_tokens: [{ id: 259, content: "<|eot|>", special: true }],
    pre_tokenizer: preTokenizerJson("gpt2"),
    model: { type: "BPE", vocab, merges: ["h e", "he l", "Ġ he"] },
  };
}

async function loadError(json) {
  try {
    await loadTokenizerJson(typeof json === "string" ? json : JSON.stringify(json));
  } catch (e) {
    return String(e.message);
  }
  assert.unreachable("expected an error");
}

test("a tiny tokenizer.json works: merges, ranks, specials", async () => {
  const tok = await loadTokenizerJson(tinyJson());
  assert.equal([...tok.encode("hel he")], [257, 258]);
  assert.equal([...tok.encode("<|eot|>", { allowedSpecial: "all" })], [259]);
  assert.is(tok.decodeText(tok.encode("hello <|eot|>")), "hello <|eot|>");
});

test("malformed tokenizer.json: errors name the problem", async () => {
  const full = JSON.stringify(tinyJson());
  assert.match(await loadError(full.slice(0, full.length / 2)), /tokenizer\.json: truncated JSON/);
  assert.match(await loadError("{ nope"), /tokenizer\.json: (invalid|truncated) JSON/);
  assert.match(await loadError({ ...tinyJson(), model: undefined }), /missing "model"/);
  assert.match(await loadError({ ...tinyJson(), model: { ...tinyJson().model, type: "WordPiece" } }), /unsupported model type "WordPiece"/);
  assert.match(await loadError({ ...tinyJson(), model: { ...tinyJson().model, type: "Unigram" } }), /unsupported model type "Unigram"/);

  const unknown = tinyJson();
  unknown.model.merges.push("he zz");
  assert.match(await loadError(unknown), /merge 3 \("he zz"\) references unknown token "zz"/);
  const unknownPair = tinyJson();
  unknownPair.model.merges = [["h", "e"], ["he", "qq"]];
  assert.match(await loadError(unknownPair), /merge 1 .* references unknown token "qq"/);

  const dupVocab = tinyJson();
  dupVocab.model.vocab["hel"] = 256;
  assert.match(await loadError(dupVocab), /duplicate id 256 \(tokens "he" and "hel"\)/);
  const dupAdded = tinyJson();
  dupAdded.added_tokens.push({ id: 259, content: "<|other|>", special: true });
  assert.match(await loadError(dupAdded), /duplicate id 259/);
  const dupAddedVsVocab = tinyJson();
  dupAddedVsVocab.added_tokens[0].id = 256;
  assert.match(await loadError(dupAddedVsVocab), /duplicate id 256/);

  const notToken = tinyJson();
  notToken.model.merges.push("hel he");
  assert.match(await loadError(notToken), /merge 3 .* not a token/);
  const regex = tinyJson();
  regex.pre_tokenizer = { type: "Sequence", pretokenizers: [{ type: "Split", pattern: { Regex: "\\w+" }, behavior: "Isolated" }, { type: "ByteLevel", use_regex: false }] };
  // A regex the native splitter lacks runs as a JavaScript RegExp, and says so.
  const fallback = await loadTokenizerJson(regex);
  assert.is(fallback.regexFallback, true);
  assert.equal([...fallback.encode("hel he")], [257, 32, 256]); // \w+ leaves the space a piece of its own
  regex.pre_tokenizer.pretokenizers[0].pattern.Regex = "(?<=x";
  assert.match(await loadError(regex), /Split regex "\(\?<=x" is not supported/);
  const missingByte = tinyJson();
  delete missingByte.model.vocab[BYTE_TO_CHAR[0x41]];
  missingByte.model.vocab["A_"] = 0x41;
  assert.match(await loadError(missingByte), /not in the byte-level alphabet|byte 0x41 has none/);
  const noVocab = tinyJson();
  delete noVocab.model.vocab;
  assert.match(await loadError(noVocab), /missing "model.vocab"/);
  assert.match(await loadError({ ...tinyJson(), normalizer: { type: "BertNormalizer" } }), /unsupported normalizer "BertNormalizer"/);
});

test.run();
