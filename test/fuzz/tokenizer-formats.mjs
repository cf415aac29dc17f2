// The tokenizer file formats of the fuzz suite (see formats.mjs for the
// contract of an entry): Hugging Face tokenizer.json in every kind the engine
// loads, GPT-2's encoder.json + vocab.bpe, and .tiktoken rank files.
//
// The tokenizer.json seeds are small (256 byte tokens or 256 <0xXX> tokens and
// a few merges) but carry the components of the real families' files:
// GPT-2 (ByteLevel), Llama 3 (cl100k Split + ByteLevel, ignore_merges,
// TemplateProcessing), Qwen3 (NFC, qwen Split), GPT-4o (o200k Split
// Removed+invert: RegExp fallback), a JavaScript pre-tokenizer chain (Digits,
// Punctuation, ByteLevel), Llama 2 / Mistral (Prepend+Replace, byte_fallback,
// unk, Replace/ByteFallback/Fuse/Strip decoder), Gemma (Replace, <bos>) and the
// newer Metaspace form (Metaspace pre-tokenizer and decoder).
//
// An accepted mutant must be a usable tokenizer: it encodes a sample (with its
// special tokens allowed and added) to ids below its vocabulary size, decodes
// them without an error, and a byte-level tokenizer whose text nothing rewrites
// (no normalizer, the native splitter, no prefix space) gives the sample back exactly.
import { BYTE_TO_CHAR, loadTokenizerFile } from "../../dist/tokenizer/index.js";
import { DuplicateKeys, Raw, deepArray, deepObject, mutateBytes, mutateJson, stringify } from "./mutate.mjs";

const enc = new TextEncoder();
const dec = new TextDecoder();

const SAMPLE = "Hello world, the hell of it: 123 4567 — ünïcödé 😀\t\n  end <|endoftext|><s> __proto__ constructor";
const PROTO_NAMES = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"];

const CL100K = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const O200K =
  "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/** Merges in the byte-level alphabet (Ġ is the space), each making a new token. */
const BYTE_MERGES = [["Ġ", "t"], ["h", "e"], ["Ġt", "he"], ["l", "l"], ["he", "ll"], ["Ġ", "w"], ["o", "r"], ["Ġw", "or"], ["l", "d"], ["Ġwor", "ld"], ["1", "2"], ["12", "3"], ["H", "e"], ["He", "ll"], ["Hell", "o"]];
/** Merges over characters (▁ is the space) for the SentencePiece-style seeds. */
const CHAR_MERGES = [["▁", "t"], ["h", "e"], ["▁t", "he"], ["l", "l"], ["he", "ll"], ["▁", "w"], ["o", "r"], ["▁w", "or"], ["l", "d"], ["▁wor", "ld"], ["H", "e"], ["▁", "He"], ["▁He", "ll"], ["▁Hell", "o"]];
const CHARS = [..."▁abcdefghijklmnopqrstuvwxyzHW,.:!1234567"];

function added(list) {
  return list.map(([content, id]) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }));
}

function byteLevelModel({ pairs = false, ignoreMerges } = {}) {
  const vocab = {};
  BYTE_TO_CHAR.forEach((c, b) => (vocab[c] = b));
  for (const [a, b] of BYTE_MERGES) vocab[a + b] ??= Object.keys(vocab).length;
  const merges = BYTE_MERGES.map(([a, b]) => (pairs ? [a, b] : `${a} ${b}`));
  return { type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ...(ignoreMerges === undefined ? {} : { ignore_merges: ignoreMerges }), vocab, merges };
}

/** Specials first (as Llama 2 and Gemma number them), then the 256 <0xXX> tokens, the characters and the merges' tokens. */
function charLevelModel(specials, unk) {
  const vocab = {};
  for (const s of specials) vocab[s] = Object.keys(vocab).length;
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`] = Object.keys(vocab).length;
  for (const c of CHARS) vocab[c] ??= Object.keys(vocab).length;
  for (const [a, b] of CHAR_MERGES) vocab[a + b] ??= Object.keys(vocab).length;
  return { type: "BPE", dropout: null, unk_token: unk, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, vocab, merges: CHAR_MERGES.map(([a, b]) => `${a} ${b}`) };
}

const byteLevelPre = (regex, extra = {}) => ({
  type: "Sequence",
  pretokenizers: [
    { type: "Split", pattern: { Regex: regex }, behavior: "Isolated", invert: false, ...extra },
    { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false },
  ],
});
const BYTE_DECODER = { type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false };
const template = (name, id) => ({
  type: "TemplateProcessing",
  single: [{ SpecialToken: { id: name, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
  pair: [{ SpecialToken: { id: name, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: name, type_id: 1 } }, { Sequence: { id: "B", type_id: 1 } }],
  special_tokens: { [name]: { id: name, ids: [id], tokens: [name] } },
});
const SP_DECODER = { type: "Sequence", decoders: [{ type: "Replace", pattern: { String: "▁" }, content: " " }, { type: "ByteFallback" }, { type: "Fuse" }, { type: "Strip", content: " ", start: 1, stop: 0 }] };

/** The tokenizer.json seeds, by family. */
export function tokenizerJsonSeeds() {
  const base = { version: "1.0", truncation: null, padding: null };
  const withIds = (model, names) => {
    const next = Math.max(...Object.values(model.vocab)) + 1;
    return names.map((n, i) => [n, next + i]);
  };
  const gpt2Model = byteLevelModel();
  const llama3Model = byteLevelModel({ pairs: true, ignoreMerges: true });
  const llama3Added = withIds(llama3Model, ["<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>"]);
  const qwenModel = byteLevelModel({ pairs: true, ignoreMerges: false });
  const gpt4oModel = byteLevelModel();
  const jsModel = byteLevelModel();
  const llama2 = charLevelModel(["<unk>", "<s>", "</s>"], "<unk>");
  const gemma = charLevelModel(["<pad>", "<eos>", "<bos>", "<unk>"], "<unk>");
  const metaspace = charLevelModel(["<unk>", "<s>", "</s>"], "<unk>");
  return {
    gpt2: {
      ...base, added_tokens: added(withIds(gpt2Model, ["<|endoftext|>"])), normalizer: null,
      pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
      post_processor: { type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true },
      decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true }, model: gpt2Model,
    },
    llama3: {
      ...base, added_tokens: added(llama3Added), normalizer: null, pre_tokenizer: byteLevelPre(CL100K),
      post_processor: { type: "Sequence", processors: [{ type: "ByteLevel", add_prefix_space: true, trim_offsets: false, use_regex: true }, template("<|begin_of_text|>", llama3Added[0][1])] },
      decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true }, model: llama3Model,
    },
    qwen3: {
      ...base, added_tokens: added(withIds(qwenModel, ["<|endoftext|>", "<|im_start|>", "<|im_end|>"])), normalizer: { type: "NFC" },
      pre_tokenizer: byteLevelPre(QWEN), post_processor: BYTE_DECODER, decoder: BYTE_DECODER, model: { ...qwenModel, continuing_subword_prefix: "", end_of_word_suffix: "" },
    },
    gpt4o: {
      ...base, added_tokens: added(withIds(gpt4oModel, ["<|endoftext|>", "<|endofprompt|>"]).map(([n, id], i) => [n, id + 7 * i])), normalizer: null,
      pre_tokenizer: byteLevelPre(O200K, { behavior: "Removed", invert: true }), post_processor: null,
      decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true }, model: gpt4oModel,
    },
    "js pre-tokenizers": {
      ...base, added_tokens: added(withIds(jsModel, ["<|endoftext|>"])), normalizer: { type: "Sequence", normalizers: [{ type: "NFKC" }, { type: "Strip", strip_left: false, strip_right: true }] },
      pre_tokenizer: { type: "Sequence", pretokenizers: [{ type: "Digits", individual_digits: true }, { type: "Punctuation", behavior: "Isolated" }, { type: "ByteLevel", add_prefix_space: true, use_regex: true }] },
      post_processor: null, decoder: BYTE_DECODER, model: jsModel,
    },
    llama2: {
      ...base, added_tokens: added([["<unk>", 0], ["<s>", 1], ["</s>", 2]]),
      normalizer: { type: "Sequence", normalizers: [{ type: "Prepend", prepend: "▁" }, { type: "Replace", pattern: { String: " " }, content: "▁" }] },
      pre_tokenizer: null, post_processor: template("<s>", 1), decoder: SP_DECODER, model: llama2,
    },
    gemma: {
      ...base, added_tokens: added([["<pad>", 0], ["<eos>", 1], ["<bos>", 2], ["<unk>", 3]]),
      normalizer: { type: "Replace", pattern: { String: " " }, content: "▁" }, pre_tokenizer: null, post_processor: template("<bos>", 2),
      decoder: { type: "Sequence", decoders: [{ type: "Replace", pattern: { String: "▁" }, content: " " }, { type: "ByteFallback" }, { type: "Fuse" }] }, model: gemma,
    },
    metaspace: {
      ...base, added_tokens: added([["<unk>", 0], ["<s>", 1], ["</s>", 2]]), normalizer: null,
      pre_tokenizer: { type: "Metaspace", replacement: "▁", prepend_scheme: "first", split: false }, post_processor: template("<s>", 1),
      decoder: { type: "Metaspace", replacement: "▁", prepend_scheme: "first", split: false }, model: metaspace,
    },
  };
}

/** Encodes the sample (special tokens allowed and added) and decodes it: throws if the tokenizer is not usable. */
function usableTokenizer(tok) {
  const text = SAMPLE + [...tok.specialTokens.keys()].join(" ");
  for (const options of [{}, { allowedSpecial: "all", addSpecialTokens: true }]) {
    const ids = tok.encode(text, options);
    for (const id of ids) if (!(Number.isInteger(id) && id >= 0 && id < tok.vocabSize)) throw new Error(`tokenizer: accepted, but encode gave id ${id} (vocabulary ${tok.vocabSize})`);
    const back = tok.decodeText(ids);
    // Byte-level BPE gives its input back exactly when nothing rewrites the text first: no normalizer, and
    // the native splitter without a prefix space (JavaScript pre-tokenizers may add spaces or remove matches).
    const info = tok.info;
    const exact = info === undefined || (info.model === "byte-level BPE" && info.normalizer === null && /\[(native|none)/.test(info.preTokenizer) && !/prefix space/.test(info.preTokenizer));
    if (exact && !options.allowedSpecial && back !== text) throw new Error(`tokenizer: accepted, but decode(encode(text)) differs: ${JSON.stringify(back.slice(0, 80))}`);
  }
  const batch = tok.encodeBatch(["", " ", "a", SAMPLE]);
  if (batch.length !== 4) throw new Error("tokenizer: encodeBatch lost documents");
}

/** The byte offsets of JSON structure ({ } [ ] , :) in `text`, at most `max` of them: where truncation means most. */
function structuralOffsets(bytes, max = 400) {
  const out = [];
  for (let i = 0; i < bytes.length; i++) if ("{}[],:".includes(String.fromCharCode(bytes[i]))) out.push(i, i + 1);
  const step = Math.max(1, Math.floor(out.length / max));
  return out.filter((_, i) => i % step === 0);
}

const lineStarts = (bytes) => {
  const out = [];
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 10) out.push(i, i + 1);
  return out;
};

const SPECIAL_FILES = [{ dir: true }, { symlink: "/dev/zero" }, { absent: true }, { symlink: "missing-target" }];
const HUGE_IDS = [1e12, 2 ** 31, 2 ** 32, 2 ** 20, 2 ** 20 - 1, 2 ** 53 + 2, -1, 1.5, new Raw("1e400"), new Raw("NaN"), new Raw("Infinity"), new Raw("-0"), 999, "5"];
const WRONG_TYPES = [{}, [], { a: 1 }, [5], [{}], 5, -1, 0, true, false, "x", "", null, deepArray(5000), deepObject(5000)];

const isVocabOrMergeEntry = (p) => p[0] === "model" && (p[1] === "vocab" || p[1] === "merges") && p.length > 2;

/** A Sequence of `kind` nested `depth` deep around `leaf`, as JSON text (a recursive stringify would overflow). */
function nestedSequence(kind, depth, leaf) {
  return new Raw(`{"type":"Sequence","${kind}":[`.repeat(depth) + JSON.stringify(leaf) + "]}".repeat(depth));
}

function jsonMutant(r, seeds) {
  const family = r.pick(Object.keys(seeds));
  const json = seeds[family];
  const model = json.model;
  const vocabKeys = Object.keys(model.vocab);
  const nextId = Math.max(...Object.values(model.vocab), ...json.added_tokens.map((t) => t.id)) + 1;
  const op = r.int(16);
  const out = (text, what, field) => ({ files: { "tokenizer.json": enc.encode(text) }, what: `${family}: ${what}`, field, mutated: "tokenizer.json" });
  const edit = (f, what, field) => {
    const copy = structuredClone(json);
    f(copy);
    return out(stringify(copy), what, field);
  };
  if (op < 3) {
    // Any component, any model setting, vocab or merges as a whole.
    const m = mutateJson(json, r, [nextId, 2 ** 31, "<0x41>", "Ġ", "▁", ...PROTO_NAMES], { pathFilter: (p) => !isVocabOrMergeEntry(p) });
    return out(m.text, m.what, m.field);
  }
  if (op === 3) {
    const m = mutateJson(json, r, [nextId, 2 ** 31, 1e12, "h e", ["h", "e"], "Ġ Ġ"], { pathFilter: (p) => isVocabOrMergeEntry(p) && p.length === 3 });
    return out(m.text, m.what, m.field);
  }
  if (op === 4) {
    // A field of the wrong JSON type.
    const paths = [];
    const walk = (v, path) => {
      if (path.length && !isVocabOrMergeEntry(path)) paths.push(path);
      if (v && typeof v === "object" && !(path[0] === "model" && (path[1] === "vocab" || path[1] === "merges"))) for (const [k, x] of Object.entries(v)) walk(x, [...path, Array.isArray(v) ? Number(k) : k]);
    };
    walk(json, []);
    const path = r.pick(paths);
    const value = r.pick(WRONG_TYPES);
    return edit((c) => {
      let o = c;
      for (const k of path.slice(0, -1)) o = o[k];
      o[path.at(-1)] = value;
    }, `${path.join(".")} := ${stringify(value).slice(0, 40)}`, String(path.at(-1)));
  }
  if (op === 5) {
    // Huge, negative, fractional or non-finite ids: in the vocabulary, the added tokens or the post-processor.
    const id = r.pick(HUGE_IDS);
    const where = r.int(3);
    if (where === 0) {
      const key = r.pick(vocabKeys);
      return edit((c) => (c.model.vocab[key] = id), `model.vocab[${JSON.stringify(key)}] := ${stringify(id)}`, "vocab");
    }
    if (where === 1) {
      const i = r.int(json.added_tokens.length);
      return edit((c) => (c.added_tokens[i].id = id), `added_tokens[${i}].id := ${stringify(id)}`, "added_tokens");
    }
    return edit((c) => {
      c.post_processor = { type: "TemplateProcessing", single: [{ SpecialToken: { id: "<x>" } }, { Sequence: { id: "A" } }], special_tokens: { "<x>": { id: "<x>", ids: [id] } } };
    }, `post_processor ids := [${stringify(id)}]`, "post_processor");
  }
  if (op === 6) {
    // Duplicates: tokens, ids, keys, merges.
    const a = r.pick(vocabKeys);
    const b = r.pick(vocabKeys);
    const t = json.added_tokens[0];
    const choice = r.int(6);
    if (choice === 0) return edit((c) => (c.model.vocab[a] = c.model.vocab[b]), `model.vocab[${JSON.stringify(a)}] := id of ${JSON.stringify(b)}`, "vocab");
    if (choice === 1) return edit((c) => c.added_tokens.push({ ...t, id: nextId + 3 }), `added_tokens: ${JSON.stringify(t.content)} twice, another id`, "added_tokens");
    if (choice === 2) return edit((c) => c.added_tokens.push({ ...t, content: "<dup>" }), `added_tokens: id ${t.id} twice`, "added_tokens");
    if (choice === 3) return edit((c) => c.added_tokens.push({ ...t }), `added_tokens: ${JSON.stringify(t.content)} listed twice`, "added_tokens");
    if (choice === 4) return edit((c) => (c.model.merges = [...c.model.merges, ...c.model.merges]), "model.merges listed twice", "merges");
    const entries = Object.entries(model.vocab);
    const vocab = new DuplicateKeys([...entries, [a, nextId]]);
    return out(stringify({ ...json, model: { ...model, vocab } }), `model.vocab key ${JSON.stringify(a)} twice`, "vocab");
  }
  if (op === 7) {
    // Token text that is an Object.prototype name.
    const name = r.pick(PROTO_NAMES);
    const choice = r.int(4);
    if (choice === 0) return edit((c) => c.added_tokens.push({ id: nextId, content: name, special: true, lstrip: r.next() < 0.5, rstrip: false }), `added token ${name}`, "added_tokens");
    if (choice === 1) {
      const vocab = new DuplicateKeys([...Object.entries(model.vocab), [name, nextId]]);
      return out(stringify({ ...json, model: { ...model, vocab } }), `model.vocab key ${name}`, "vocab");
    }
    if (choice === 2) return edit((c) => (c.model.unk_token = name), `model.unk_token := ${name}`, "unk_token");
    return edit((c) => {
      c.added_tokens.push({ id: nextId, content: name, special: true });
      c.post_processor = template(name, nextId);
    }, `post_processor special token ${name}`, "post_processor");
  }
  if (op === 8) {
    // Merges: the other spelling, three parts, unknown tokens, a merge that makes no token.
    const choice = r.int(4);
    if (choice === 0) return edit((c) => (c.model.merges = c.model.merges.map((m) => (typeof m === "string" ? m.split(" ") : m.join(" ")))), "merges in the other spelling", "merges");
    if (choice === 1) return edit((c) => c.model.merges.push(r.pick(["a b c", "ab", " a", "a  b", ["a"], ["a", "b", "c"], [1, 2]])), "a malformed merge", "merges");
    if (choice === 2) return edit((c) => c.model.merges.push(r.pick(["zz qq", ["he", "zz"], "Ġ ĠĠĠ"])), "a merge of unknown tokens", "merges");
    return edit((c) => c.model.merges.push(typeof c.model.merges[0] === "string" ? "h l" : ["h", "l"]), "a merge whose result is not a token", "merges");
  }
  if (op === 9) {
    // Sequences nested deep (16 is allowed, 17 and 5,000 are not).
    const depth = r.pick([1, 16, 17, 5000]);
    const field = r.pick(["normalizer", "pre_tokenizer", "decoder", "post_processor"]);
    const leaf = { normalizer: { type: "NFC" }, pre_tokenizer: json.pre_tokenizer ?? { type: "Metaspace" }, decoder: json.decoder ?? { type: "Fuse" }, post_processor: { type: "ByteLevel" } }[field];
    const kind = { normalizer: "normalizers", pre_tokenizer: "pretokenizers", decoder: "decoders", post_processor: "processors" }[field];
    return out(stringify({ ...json, [field]: nestedSequence(kind, depth, leaf) }), `${field}: Sequence nested ${depth} deep`, field);
  }
  if (op < 13) {
    const bytes = enc.encode(stringify(json));
    const m = mutateBytes(bytes, r, { boundaries: structuralOffsets(bytes) });
    return { files: { "tokenizer.json": m.bytes }, what: `${family}: ${m.what}`, mutated: "tokenizer.json" };
  }
  if (op === 13) {
    const special = r.pick(SPECIAL_FILES);
    return { files: { "tokenizer.json": special }, what: `tokenizer.json := ${JSON.stringify(special)}`, mutated: "tokenizer.json" };
  }
  // The seed itself, in a neighbour's form: valid files must load.
  return edit((c) => {
    const k = r.pick(["normalizer", "pre_tokenizer", "post_processor", "decoder"]);
    c[k] = structuredClone(seeds[r.pick(Object.keys(seeds))][k]);
  }, "a component swapped with another family's", "model");
}

export const tokenizerJsonFormat = {
  name: "tokenizer.json",
  names: ["added_tokens", "normalizer", "pre_tokenizer", "post_processor", "decoder", "model", "JSON", "UTF-8", "regular file", "directory", "does not exist"],
  setup: () => ({ seeds: tokenizerJsonSeeds() }),
  mutant: (r, s) => jsonMutant(r, s.seeds),
  load: (dir) => loadTokenizerFile(dir),
  usable: usableTokenizer,
};

/** GPT-2's files for the byte-level vocabulary and merges above. */
function gpt2Seed() {
  const encoder = byteLevelModel().vocab;
  encoder["<|endoftext|>"] = Object.keys(encoder).length;
  return { encoder, merges: BYTE_MERGES.map(([a, b]) => `${a} ${b}`) };
}

const vocabBpe = (merges, header = "#version: 0.2") => enc.encode([header, ...merges].join("\n") + "\n");

export const gpt2Format = {
  name: "encoder.json + vocab.bpe",
  names: ["token", "line", "merge", "JSON", "UTF-8", "regular file", "directory", "does not exist", "has neither", "byte"],
  setup: gpt2Seed,
  mutant(r, s) {
    const encoderBytes = enc.encode(JSON.stringify(s.encoder));
    const files = { "encoder.json": encoderBytes, "vocab.bpe": vocabBpe(s.merges) };
    const keys = Object.keys(s.encoder);
    const next = keys.length;
    const op = r.int(12);
    const withEncoder = (text, what, field) => ({ files: { ...files, "encoder.json": enc.encode(text) }, what, field, mutated: "encoder.json" });
    const withMerges = (lines, what, header) => ({ files: { ...files, "vocab.bpe": vocabBpe(lines, header) }, what, field: "line", mutated: "vocab.bpe" });
    if (op < 2) {
      const m = mutateJson(s.encoder, r, [next, 2 ** 31, 1e12, ...HUGE_IDS]);
      return withEncoder(m.text, `encoder.json ${m.what}`, m.field);
    }
    if (op === 2) {
      const key = r.pick(keys);
      const id = r.pick(HUGE_IDS);
      return withEncoder(stringify({ ...s.encoder, [key]: id }), `encoder.json[${JSON.stringify(key)}] := ${stringify(id)}`, "id");
    }
    if (op === 3) {
      // Duplicate ids and keys; Object.prototype names as keys.
      const choice = r.int(3);
      const key = r.pick(keys);
      if (choice === 0) return withEncoder(stringify({ ...s.encoder, [key]: s.encoder[r.pick(keys)] }), `encoder.json: ${JSON.stringify(key)} takes another token's id`, "id");
      if (choice === 1) return withEncoder(stringify(new DuplicateKeys([...Object.entries(s.encoder), [key, next]])), `encoder.json: key ${JSON.stringify(key)} twice`, "token");
      const name = r.pick(PROTO_NAMES);
      return withEncoder(stringify(new DuplicateKeys([...Object.entries(s.encoder), [name, next]])), `encoder.json: key ${name}`, "token");
    }
    if (op < 6) {
      // vocab.bpe lines: deleted, swapped, malformed, unknown, duplicated, making no token; the header; CRLF.
      const lines = s.merges.slice();
      const i = r.int(lines.length);
      const choice = r.int(8);
      if (choice === 0) return withMerges(lines.filter((_, j) => j !== i), `vocab.bpe: line ${i + 2} deleted`);
      if (choice === 1) return withMerges(lines.map((l, j) => (j === i ? l.split(" ").reverse().join(" ") : l)), `vocab.bpe: line ${i + 2} reversed`);
      if (choice === 2) return withMerges([...lines, r.pick(["a b c", "ab", " a", "a  b", "a\tb", "#version: 0.2"])], "vocab.bpe: a malformed line");
      if (choice === 3) return withMerges([...lines, r.pick(["zz qq", "he zz", "<|endoftext|> h", "__proto__ h"])], "vocab.bpe: a merge of unknown tokens");
      if (choice === 4) return withMerges([...lines, lines[i]], `vocab.bpe: line ${i + 2} twice`);
      if (choice === 5) return withMerges([...lines, "h l"], "vocab.bpe: a merge whose result is not a token");
      if (choice === 6) return withMerges(lines, "vocab.bpe: no header", r.pick(["", "h e", "#version"]));
      return { files: { ...files, "vocab.bpe": enc.encode(["#version: 0.2", ...lines].join("\r\n")) }, what: "vocab.bpe: CRLF", field: "line", mutated: "vocab.bpe" };
    }
    if (op < 8) {
      const m = mutateBytes(encoderBytes, r, { boundaries: structuralOffsets(encoderBytes) });
      return { files: { ...files, "encoder.json": m.bytes }, what: `encoder.json ${m.what}`, mutated: "encoder.json" };
    }
    if (op < 10) {
      const m = mutateBytes(files["vocab.bpe"], r, { boundaries: lineStarts(files["vocab.bpe"]) });
      return { files: { ...files, "vocab.bpe": m.bytes }, what: `vocab.bpe ${m.what}`, mutated: "vocab.bpe" };
    }
    if (op === 10) {
      const name = r.pick(["encoder.json", "vocab.bpe"]);
      const special = r.pick(SPECIAL_FILES);
      return { files: { ...files, [name]: special }, what: `${name} := ${JSON.stringify(special)}`, mutated: name };
    }
    return { files, what: "the seed", mutated: "encoder.json" };
  },
  load: (dir) => loadTokenizerFile(dir),
  usable: usableTokenizer,
};

/** A rank file: the 256 bytes, then multi-byte tokens that merges of lower ranks can make. */
function tiktokenSeed() {
  const tokens = Array.from({ length: 256 }, (_, b) => Uint8Array.of(b));
  for (const t of ["he", "ll", "hell", "hello", " t", " th", " the", " w", "or", " wor", " world", "12", "123", "He", "Hell", "Hello"]) tokens.push(enc.encode(t));
  const line = (t, rank) => `${btoa(String.fromCharCode(...t))} ${rank}`;
  return { lines: tokens.map((t, i) => line(t, i)), line };
}

export const tiktokenFormat = {
  name: ".tiktoken ranks",
  names: ["line", "rank", "base64", "ranks", "UTF-8", "regular file", "directory", "does not exist", "has neither"],
  setup: tiktokenSeed,
  mutant(r, s) {
    const name = r.pick(["r.tiktoken", "cl100k_base.tiktoken"]);
    const put = (lines, what, sep = "\n") => ({ files: { [name]: enc.encode(lines.join(sep) + "\n") }, what, field: "line", mutated: name });
    const lines = s.lines.slice();
    const i = r.int(lines.length);
    const [b64, rank] = lines[i].split(" ");
    const op = r.int(10);
    if (op < 2) {
      const v = r.pick(["1000000000000", String(2 ** 31), String(2 ** 20), String(2 ** 20 - 1), "-1", "1.5", "0x10", "1e3", "NaN", "Infinity", "", "007", String(lines.length + 100), String(lines.length), r.pick(lines).split(" ")[1]]);
      lines[i] = `${b64} ${v}`;
      return put(lines, `line ${i + 1}: rank ${rank} := ${JSON.stringify(v)}`);
    }
    if (op < 4) {
      const v = r.pick(["", "=", "@@@", "YQ", "YQ=", "YQ==", "Y", "!!!!", "aGVsbG8gd29ybGQ=", b64 + b64, b64.toLowerCase(), "X19wcm90b19f"]);
      lines[i] = `${v} ${rank}`;
      return put(lines, `line ${i + 1}: base64 ${b64} := ${JSON.stringify(v)}`);
    }
    if (op === 4) {
      const choice = r.int(6);
      if (choice === 0) return put(lines.filter((_, j) => j !== i), `line ${i + 1} deleted`);
      if (choice === 1) return put([...lines, `${b64} ${lines.length}`], `line ${i + 1}'s bytes again with a new rank`);
      if (choice === 2) return put([...lines, lines[i]], `line ${i + 1} twice`);
      if (choice === 3) return put([...lines.slice(i), ...lines.slice(0, i)], "lines rotated");
      if (choice === 4) return put(lines.map((l) => l.replace(" ", r.pick(["\t", "  ", " x "]))), "other separators");
      return put(lines, "CRLF line ends", "\r\n");
    }
    const bytes = enc.encode(lines.join("\n") + "\n");
    if (op < 8) {
      const m = mutateBytes(bytes, r, { boundaries: lineStarts(bytes) });
      return { files: { [name]: m.bytes }, what: m.what, mutated: name };
    }
    if (op === 8) {
      const special = r.pick(SPECIAL_FILES);
      // An absent file is looked for as r.tiktoken (load has no other name to go by).
      const at = special.absent ? "r.tiktoken" : name;
      return { files: { [at]: special }, what: `${at} := ${JSON.stringify(special)}`, mutated: at };
    }
    return put(lines, "the seed");
  },
  load: async (dir) => {
    const { readdirSync } = await import("node:fs");
    const name = readdirSync(dir).find((n) => n.endsWith(".tiktoken")) ?? "r.tiktoken";
    return loadTokenizerFile(`${dir}/${name}`);
  },
  usable: usableTokenizer,
};

export const TOKENIZER_FORMATS = [tokenizerJsonFormat, gpt2Format, tiktokenFormat];
