// The general mechanisms behind tokenizer.json families, on edited real files
// (against @lenml/tokenizers where it implements a component as `tokenizers`
// does) and on the pre-tokenizer alone (Rust `tokenizers` semantics by hand).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadTokenizerJson, readPreTokenizer } from "../dist/tokenizer/index.js";
import { familyFiles, familyPair, firstDifference, generalCategorySamples } from "./tokenizer-families-reference.mjs";

const texts = [
  "Hello, World! It's 2024 — café ÅNGSTRÖM ﬁ ① ½ x²",
  "  spaced   out\ttabs\nnew lines\r\n end ",
  "e\u0301 a\u0300 Ä\u0308 ﬀ ℌ Ⅻ ㌀",
  ...Object.values(generalCategorySamples()).slice(0, 12),
];

function same(got, want, label) {
  const at = firstDifference(got, want);
  if (at >= 0) assert.unreachable(`${label}: differ at ${at}: got ${[...got.slice(at, at + 6)]} want ${want.slice(at, at + 6)}`);
}

async function compare(family, edit, label, sample = texts) {
  const { ours, ref } = await familyPair(family, edit);
  for (const t of sample) same(ours.encode(t), ref.encode(t, { add_special_tokens: false }), `${label} ${JSON.stringify(t.slice(0, 20))}`);
  return ours;
}

test("normalizers NFC/NFD/NFKC/NFKD/Lowercase/Strip/Sequence match the reference (Qwen 3 vocabulary)", async () => {
  for (const normalizer of [
    { type: "NFD" },
    { type: "Sequence", normalizers: [{ type: "Strip", strip_left: true, strip_right: true }, { type: "NFKC" }] },
    { type: "Sequence", normalizers: [{ type: "NFKD" }, { type: "Lowercase" }, { type: "Replace", pattern: { String: "a" }, content: "b" }] },
  ]) {
    const tok = await compare("qwen3", (j) => ({ ...j, normalizer }), JSON.stringify(normalizer));
    assert.is(tok.regexFallback, false);
  }
});

test("pre-tokenizers against the reference: ByteLevel with regex and prefix space, Split Isolated on a regex the native splitter lacks", async () => {
  const gptish = await compare("qwen3", (j) => ({ ...j, pre_tokenizer: { type: "ByteLevel", add_prefix_space: true, use_regex: true } }), "ByteLevel prefix");
  assert.match(gptish.info.preTokenizer, /native gpt2/);
  const split = await compare("qwen3", (j) => {
    j.pre_tokenizer.pretokenizers[0].pattern.Regex = "\\p{L}+|\\p{N}{1,2}|[^\\p{L}\\p{N}]";
    return j;
  }, "Split custom regex");
  assert.is(split.regexFallback, true);
  await compare("qwen3", (j) => {
    j.pre_tokenizer.pretokenizers[0] = { type: "Split", pattern: { Regex: "\\s+" }, behavior: "Removed", invert: false };
    return j;
  }, "Split Removed");
});

test("SentencePiece word cuts (native, with the normalizer as a byte substitution or before it) match the reference on every shape of text", async () => {
  // Texts whose lengths and special bytes fall everywhere in 8-byte windows
  // (the cutter reads eight bytes at a time), ▁ and blocked pairs (▁▁), spaces
  // runs, leading spaces, non-ASCII between ASCII, and every general category.
  const shapes = [...texts];
  for (let n = 0; n < 20; n++) shapes.push(" ".repeat(n % 5) + "ab cdefghij klmnopqrstu v".slice(0, n + 3) + "▁".repeat(n % 3) + "x ▁y");
  shapes.push("word ".repeat(40), "a  b   c    d", "▁▁▁ x▁▁y ▁", "é ñ 中文 e\u0301 x\ty\nz", "1234567 89 0123456789012345 ", "\t\tx \r\n y");
  const llama = (normalizers) => (j) => ({ ...j, normalizer: { type: "Sequence", normalizers } });
  const prepend = { type: "Prepend", prepend: "▁" };
  const spaces = { type: "Replace", pattern: { String: " " }, content: "▁" };
  // The file's own normalizer (one substituted byte: " ").
  await compare("llama2", (j) => j, "Llama 2 as shipped", shapes);
  // Two substituted bytes (" " and "\t" → ▁): the cutter's byte-at-a-time path.
  await compare("llama2", llama([prepend, spaces, { type: "Replace", pattern: { String: "\t" }, content: "▁" }]), "two substitutions", shapes);
  // No normalizer: the text's own ▁ cut it, nothing is substituted.
  await compare("llama2", (j) => ({ ...j, normalizer: null }), "no normalizer", shapes);
  // A normalizer that is not a substitution runs first; then the text is cut in place.
  await compare("llama2", llama([{ type: "NFKC" }, prepend, spaces]), "NFKC then substitution", shapes);
  await compare("gemma", (j) => j, "Gemma as shipped", shapes);
});

test("a native regex under Split Removed + invert (matches only) runs natively and matches the reference", async () => {
  const tok = await compare("qwen3", (j) => {
    j.pre_tokenizer.pretokenizers[0].behavior = "Removed";
    j.pre_tokenizer.pretokenizers[0].invert = true;
    return j;
  }, "Qwen regex, Removed + invert");
  assert.match(tok.info.preTokenizer, /native qwen/);
  assert.is(tok.regexFallback, false);
});

test("Metaspace (always / first, no split) over the Llama 2 vocabulary matches the reference", async () => {
  for (const prepend_scheme of ["always", "first"]) {
    await compare("llama2", (j) => ({
      ...j,
      normalizer: null,
      pre_tokenizer: { type: "Metaspace", replacement: "\u2581", add_prefix_space: true, prepend_scheme, split: false },
    }), `Metaspace ${prepend_scheme}`);
  }
});

test("Split behaviors and invert follow tokenizers (Rust) semantics", () => {
  const run = (config, text) => readPreTokenizer(config).split(text, 0);
  const split = (behavior, invert = false) => ({ type: "Split", pattern: { String: "-" }, behavior, invert });
  const text = "a-b--c-";
  assert.equal(run(split("Removed"), text), ["a", "b", "c"]);
  assert.equal(run(split("Isolated"), text), ["a", "-", "b", "-", "-", "c", "-"]);
  assert.equal(run(split("MergedWithPrevious"), text), ["a-", "b-", "-", "c-"]);
  assert.equal(run(split("MergedWithNext"), text), ["a", "-b", "-", "-c", "-"]);
  assert.equal(run(split("Contiguous"), text), ["a", "-", "b", "--", "c", "-"]);
  assert.equal(run(split("Removed", true), text), ["-", "-", "-", "-"]);
  assert.equal(run({ type: "Digits", individual_digits: true }, "ab12c3"), ["ab", "1", "2", "c", "3"]);
  assert.equal(run({ type: "Digits", individual_digits: false }, "ab12c3"), ["ab", "12", "c", "3"]);
  assert.equal(run({ type: "Punctuation" }, "hi!? you."), ["hi", "!", "?", " you", "."]);
  assert.equal(run({ type: "Whitespace" }, "Hey  man!! ça"), ["Hey", "man", "!!", "ça"]);
  assert.equal(run({ type: "WhitespaceSplit" }, " a\u00a0b\u2003c\n"), ["a", "b", "c"]);
  assert.equal(run({ type: "Metaspace", replacement: "\u2581", prepend_scheme: "always", split: true }, "hey you"), ["\u2581hey", "\u2581you"]);
  assert.equal(
    run({ type: "Sequence", pretokenizers: [{ type: "WhitespaceSplit" }, { type: "Digits", individual_digits: true }] }, "a1 22"),
    ["a", "1", "2", "2"],
  );
});

test("post-processors wrap ids only with addSpecialTokens: Bert (as the reference), Roberta, Sequence", async () => {
  const bert = { type: "BertProcessing", cls: ["<s>", 1], sep: ["</s>", 2] };
  const { ours, ref } = await familyPair("llama2", (j) => ({ ...j, post_processor: bert }));
  const text = "Hello there, 42!";
  same(ours.encode(text, { addSpecialTokens: true }), ref.encode(text, { add_special_tokens: true }), "BertProcessing");
  const plain = [...ours.encode(text)];
  assert.equal([...ours.encode(text, { addSpecialTokens: true })], [1, ...plain, 2]);
  const { json } = familyFiles("llama2");
  const roberta = await loadTokenizerJson({ ...json, post_processor: { ...bert, type: "RobertaProcessing" } });
  assert.equal([...roberta.encode(text, { addSpecialTokens: true })], [1, ...plain, 2]);
  const sequence = await loadTokenizerJson({
    ...json,
    post_processor: { type: "Sequence", processors: [{ type: "ByteLevel" }, { type: "TemplateProcessing", single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "</s>", type_id: 0 } }], special_tokens: { "<s>": { id: "<s>", ids: [1], tokens: ["<s>"] }, "</s>": { id: "</s>", ids: [2], tokens: ["</s>"] } } }] },
  });
  assert.equal([...sequence.encode(text, { addSpecialTokens: true })], [1, ...plain, 2]);
  assert.equal([...sequence.encode(text)], plain);
  assert.is(sequence.info.postProcessor, "Sequence(ByteLevel, TemplateProcessing)");
});

test("unsupported components are errors that name them", async () => {
  const { json } = familyFiles("qwen3");
  const cases = [
    [{ ...json, normalizer: { type: "BertNormalizer" } }, /unsupported normalizer "BertNormalizer"/],
    [{ ...json, pre_tokenizer: { type: "BertPreTokenizer" } }, /unsupported pre-tokenizer type "BertPreTokenizer"/],
    [{ ...json, post_processor: { type: "Fancy" } }, /unsupported post_processor "Fancy"/],
    [{ ...json, pre_tokenizer: { type: "Split", pattern: { Regex: "(?<=a" }, behavior: "Isolated" } }, /Split regex .* is not supported/],
    [{ ...json, pre_tokenizer: { type: "Split", pattern: { String: "x" }, behavior: "Sideways" } }, /behavior "Sideways"/],
  ];
  for (const [j, re] of cases) {
    let error;
    await loadTokenizerJson(j).catch((e) => (error = e));
    assert.ok(error, `${re} should fail`);
    assert.match(error.message, re);
  }
  const { json: llama } = familyFiles("llama2");
  let error;
  await loadTokenizerJson({ ...llama, decoder: { type: "CTC" } }).catch((e) => (error = e));
  assert.match(error.message, /unsupported decoder "CTC"/);
});

test.run();
