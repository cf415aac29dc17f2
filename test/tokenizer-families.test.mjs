// tokenizer.json of real model families (Llama 2, Gemma: SentencePiece-style
// character-level BPE with byte_fallback; Qwen 3: NFC + native single-digit
// regex; GPT-4o: Split Removed+invert on the o200k regex, native) give the
// same ids as the Hugging Face JavaScript port (@lenml/tokenizers) on Brown
// documents and adversarial inputs, and decode back where HF round-trips.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { brownDocuments } from "../dist/data/index.js";
import { adversarialStrings } from "./tokenizer-reference.mjs";
import { familyFiles, familyPair, firstDifference, generalCategorySamples } from "./tokenizer-families-reference.mjs";
import { createTokenizer, loadTokenizerJson, parseTokenizerJson } from "../dist/tokenizer/index.js";

const docs = (await brownDocuments()).map((d) => d.text);
// The reference is slow on character-level BPE (~0.2 s per document), so the
// documents are sampled evenly over the corpus; our side encodes all of them.
const SAMPLE_EVERY = { llama2: 25, gemma: 50, qwen3: 8, gpt4o: 8 };
const adversarial = { ...adversarialStrings(), ...generalCategorySamples() };
delete adversarial.oneMegabyteLine; // a 1 MB word: ~minutes in the reference; covered by the stream of Brown text below
delete adversarial.specialText;
delete adversarial["byte token text"];

function assertSame(got, want, label) {
  const at = firstDifference(got, want);
  if (at >= 0) assert.unreachable(`${label}: ids differ at ${at} of ${want.length}/${got.length}: got ${[...got.slice(at, at + 6)]} want ${want.slice(at, at + 6)}`);
}

/**
 * What decode(encode(text)) must give: lone surrogates become U+FFFD,
 * SentencePiece's ▁ reads as a space, an NFC normalizer's output stays NFC.
 */
function expectedRoundTrip(text, tok) {
  let s = text.toWellFormed();
  if (tok.info.normalizer === "NFC") s = s.normalize("NFC");
  return tok.info.model.startsWith("character") ? s.replaceAll("\u2581", " ") : s;
}

for (const name of ["llama2", "gemma", "qwen3", "gpt4o"]) {
  test(`${name}: Brown documents and adversarial inputs give the reference's ids; decode round-trips`, async () => {
    const { ours, ref } = await familyPair(name);
    for (let i = 0; i < docs.length; i += SAMPLE_EVERY[name]) {
      assertSame(ours.encode(docs[i]), ref.encode(docs[i], { add_special_tokens: false }), `${name} Brown doc ${i}`);
    }
    for (const [label, text] of Object.entries(adversarial)) {
      const got = ours.encode(text);
      assertSame(got, ref.encode(text, { add_special_tokens: false }), `${name} ${label}`);
      assert.is(ours.decodeText(got), expectedRoundTrip(text, ours), `${name} ${label} round trip`);
    }
    // Every document decodes back (our side only: the whole corpus).
    for (const d of docs) {
      if (ours.decodeText(ours.encode(d)) !== expectedRoundTrip(d, ours)) assert.unreachable(`${name}: a Brown document does not round-trip`);
    }
  });
}

for (const name of ["llama2", "gemma"]) {
  test(`${name}: the 6 MB corpus as one string: the same ids with the piece cache on and off, and with the merge list read in JavaScript or in WebAssembly`, async () => {
    const { json } = familyFiles(name);
    const whole = docs.join("\n");
    const lazy = await loadTokenizerJson(json); // merges resolved in WebAssembly
    const eager = await createTokenizer(parseTokenizerJson(json)); // merges resolved in JavaScript
    const want = eager.encode(whole);
    assert.ok(want.length > 1_000_000);
    assertSame(lazy.encode(whole), want, `${name} whole corpus, WebAssembly merge list`);
    lazy.setPieceCache(false);
    assertSame(lazy.encode(whole), want, `${name} whole corpus without the piece cache`);
    assert.is(lazy.decodeText(want), expectedRoundTrip(whole, lazy));
  });
}

/** A random character-level tokenizer.json in the Llama 2 layout: `alphabet` characters, merges joining random tokens. */
function randomCharLevel(seed, alphabet, mergeCount) {
  const rand = (n) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
  const { json } = familyFiles("llama2");
  const vocab = {};
  const add = (t) => (t in vocab ? false : ((vocab[t] = Object.keys(vocab).length), true));
  for (const t of ["<unk>", "<s>", "</s>"]) add(t);
  for (let b = 0; b < 256; b++) add(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
  const tokens = [...alphabet];
  for (const c of tokens) add(c);
  const merges = [];
  for (let tries = 0; merges.length < mergeCount && tries < 20 * mergeCount; tries++) {
    // Favour short tokens on the left and right, as training does.
    const a = tokens[rand(Math.min(tokens.length, 8 + rand(tokens.length)))];
    const b = tokens[rand(Math.min(tokens.length, 8 + rand(tokens.length)))];
    if (a.length + b.length > 12 || !add(a + b)) continue;
    tokens.push(a + b);
    merges.push(rand(2) ? `${a} ${b}` : [a, b]);
  }
  // One list form per file: mixed forms are valid too, but keep the common case.
  const stringForm = rand(2) === 0;
  json.model = { ...json.model, vocab, merges: merges.map((m) => (stringForm ? (Array.isArray(m) ? m.join(" ") : m) : Array.isArray(m) ? m : m.split(" "))) };
  return { json, rand };
}

test("random character-level vocabularies (merges over ▁, \\n, ASCII, accents, CJK, emoji): the reference's ids on random text", async () => {
  const { TokenizerLoader } = await import("@lenml/tokenizers");
  const { config } = familyFiles("llama2");
  // More characters than the 255 of the dense first-round table, so both lookups run.
  const base = ["\u2581", "\n", "a", "b", "c", "d", "e", "t", "h", ".", ",", "é", "中", "文", "😀", "-", "1", "\t"];
  const extra = Array.from({ length: 300 }, (_, i) => String.fromCodePoint(0x400 + i));
  for (let round = 0; round < 6; round++) {
    const alphabet = round % 2 ? [...base, ...extra] : base;
    const { json, rand } = randomCharLevel(1000 + round, alphabet, round % 2 ? 1500 : 400);
    const ours = await loadTokenizerJson(json);
    const ref = TokenizerLoader.fromPreTrained({ tokenizerJSON: json, tokenizerConfig: config });
    const chars = [...alphabet, " ", " ", " ", "x", "Ω", "\n"]; // x and Ω: no token, byte fallback
    for (let i = 0; i < 150; i++) {
      let text = "";
      for (let k = 0, n = 1 + rand(60); k < n; k++) text += chars[rand(chars.length)];
      assertSame(ours.encode(text), ref.encode(text, { add_special_tokens: false }), `round ${round} ${JSON.stringify(text)}`);
    }
    // A long text: the piece cache fills, merges run through all four ways of its sets.
    let long = "";
    for (let k = 0; k < 20000; k++) long += chars[rand(chars.length)];
    const want = ref.encode(long, { add_special_tokens: false });
    assertSame(ours.encode(long), want, `round ${round} long text`);
    assertSame(ours.encode(long), want, `round ${round} long text, cache warm`);
  }
});

test("llama2: special tokens only when allowed; addSpecialTokens applies TemplateProcessing (BOS) like add_special_tokens", async () => {
  const { ours, ref } = await familyPair("llama2");
  const text = "<s> Hello</s> world <unk> x";
  assertSame(ours.encode(text, { allowedSpecial: "all" }), ref.encode(text, { add_special_tokens: false }), "specials allowed");
  assert.ok(!ours.encode(text).includes(1), "without allowedSpecial, <s> is text");
  assertSame(ours.encode("Hi there", { addSpecialTokens: true }), ref.encode("Hi there", { add_special_tokens: true }), "BOS");
  assert.is(ours.encode("Hi there", { addSpecialTokens: true })[0], 1);
  assert.is(ours.info.postProcessor, "TemplateProcessing");
});

test("qwen3: chat special tokens when allowed; ByteLevel post-processor adds nothing", async () => {
  const { ours, ref } = await familyPair("qwen3");
  const text = "<|im_start|>user\nHi 2024!<|im_end|>\n<|im_start|>assistant\n";
  assertSame(ours.encode(text, { allowedSpecial: "all" }), ref.encode(text, { add_special_tokens: false }), "chat");
  assertSame(ours.encode("abc 12", { addSpecialTokens: true }), ref.encode("abc 12", { add_special_tokens: true }), "post");
  assert.is(ours.regexFallback, false, "Qwen's regex is native");
  assert.match(ours.info.preTokenizer, /native qwen/);
});

test("llama2: encodeBatch, encodeStream and UTF-8 bytes give encode's ids", async () => {
  const { ours } = await familyPair("llama2");
  const some = docs.slice(0, 6);
  const batch = ours.encodeBatch(some);
  some.forEach((d, i) => assert.equal([...batch[i]], [...ours.encode(d)], `batch ${i}`));
  const whole = some.join("\n");
  const chunks = [];
  for (let i = 0; i < whole.length; i += 777) chunks.push(whole.slice(i, i + 777));
  const streamed = [];
  for await (const ids of ours.encodeStream(chunks)) streamed.push(...ids);
  assert.equal(streamed, [...ours.encode(whole)]);
  assert.equal([...ours.encode(new TextEncoder().encode(whole))], [...ours.encode(whole)]);
});

test("gpt4o: the o200k regex (Split Removed + invert) runs natively and says so", async () => {
  const { ours } = await familyPair("gpt4o");
  assert.is(ours.regexFallback, false);
  assert.match(ours.info.preTokenizer, /native o200k/);
});

test.run();
