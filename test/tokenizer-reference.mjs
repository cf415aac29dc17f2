// Shared by the tokenizer tests: reference tokenizers (js-tiktoken), our
// tokenizers built from the same ranks (shipped in node_modules, never copied
// into the repository), and the adversarial inputs.
import { Tiktoken } from "js-tiktoken/lite";
import gpt2Ranks from "js-tiktoken/ranks/gpt2";
import cl100kRanks from "js-tiktoken/ranks/cl100k_base";
import { createTokenizer, parseJsTiktokenRanks } from "../dist/tokenizer/index.js";

export const ENCODINGS = {
  gpt2: { data: gpt2Ranks, pattern: "gpt2" },
  cl100k: { data: cl100kRanks, pattern: "cl100k" },
};

const ours = new Map();
const refs = new Map();

/** Our tokenizer for "gpt2" or "cl100k" (built once per process). */
export function ourTokenizer(name) {
  if (!ours.has(name)) ours.set(name, createTokenizer(parseJsTiktokenRanks(ENCODINGS[name].data, ENCODINGS[name].pattern)));
  return ours.get(name);
}

/** js-tiktoken's tokenizer for "gpt2" or "cl100k". */
export function referenceTokenizer(name) {
  if (!refs.has(name)) refs.set(name, new Tiktoken(ENCODINGS[name].data));
  return refs.get(name);
}

const refIds = new Map();

/** js-tiktoken's ids for text with special tokens as plain text, memoised (the reference is slow). */
export function referenceIds(name, text) {
  const key = name + "\u0000" + text;
  if (!refIds.has(key)) refIds.set(key, referenceTokenizer(name).encode(text, [], []));
  return refIds.get(key);
}

/** The reference regex (JavaScript, `u` flag) of an encoding. */
export function referenceRegex(name) {
  return new RegExp(ENCODINGS[name].data.pat_str, "gu");
}

/** Index of the first difference between two id sequences, or -1. */
export function firstDifference(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

function oneMegabyteLine() {
  const words = ["The", "quick", "brown", "fox's", "jumps", "over", "13", "lazy", "dogs,", "don't", "they?", "(yes)", "naïve", "café", "—", "1999", "mañana"];
  let s = "";
  let i = 0;
  while (s.length < 1 << 20) s += words[(i++ * 7) % words.length] + (i % 11 === 0 ? "  " : " ");
  return s;
}

/** Adversarial inputs with long pieces, where the reference is slow (quadratic); tokenizer-exact covers them. */
export const LONG_INPUTS = ["oneMegabyteLine", "longLetters", "numbers40", "spaces"];

/** Named adversarial inputs (strings). */
export function adversarialStrings() {
  const digits40 = "1234567890123456789012345678901234567890";
  return {
    empty: "",
    emojiZwj: "👨‍👩‍👧‍👦 🏳️‍🌈 👩🏽‍💻 family:👨‍👨‍👧 ❤️‍🔥 🇺🇸🇯🇵 keycap 1️⃣",
    cjk: "日本語のテキスト、中文文本。한국어 텍스트 漢字かな交じり文",
    combiningMarks: "e\u0301 a\u0300\u0316 Z\u0351\u0352\u0353 n\u0303 क्षत्रिय ภาษาไทย Ä\u0308\u0308",
    rtl: "مرحبا بالعالم ١٢٣ \u200fשָׁלוֹם עוֹלָם\u200e abc مرحبا123",
    loneSurrogates: "a\ud800b \udc00 x\ud83d \ud83dy \udfff\ud800",
    nul: "\0 a\0b\0\0 c\0",
    spaces: " ".repeat(1000) + "x" + " ".repeat(33),
    tabs: "\t".repeat(500) + "y\t\t",
    newlines: "\n".repeat(700) + "z\n",
    mixedWhitespace: " \t\n\r\n  \u00a0\u3000x \u2028\u2029 \u0085\ufeff\u200b \u180e \r\r\n\n  \n\t y   \r\n",
    contractions: "I'm don't you'll we've they're she'd it's I'M DON'T YOU'LL 'S 'Ll 's's'' it’s don’t we’ll ’s 'x",
    numbers40: `${digits40} -${digits40} ${digits40}.${digits40} x${digits40}y ${"9".repeat(1000)}`,
    unicodeNumbersLetters: "𝐀𝐁𝐂 𐐷 𝟘𝟙𝟚 ٣٤٥ Ⅻ ½ ² x²³ ① ǅ ß ẞ",
    specialText: "<|endoftext|> and <|fim_prefix|><|endoftext|>",
    longLetters: "a".repeat(700) + " " + "ab".repeat(300),
    punctuation: "!!! ??? ... --- *** ((( ))) \"quoted\" 'single' [x] {y} <z> @#$%^&*_+=|\\/~`",
    oneMegabyteLine: oneMegabyteLine(),
  };
}

/** Byte strings that are not valid UTF-8. */
export function invalidUtf8Samples() {
  const b = (...xs) => Uint8Array.from(xs.flat());
  const ascii = (s) => [...new TextEncoder().encode(s)];
  return {
    strayContinuation: b(ascii("ab "), 0x80, 0x80, ascii("cd")),
    truncatedSequence: b(ascii("x "), 0xe6, 0x97, ascii(" y"), 0xf0, 0x9f),
    overlong: b(0xc0, 0xaf, ascii(" abc "), 0xe0, 0x80, 0xaf),
    encodedSurrogate: b(ascii("a"), 0xed, 0xa0, 0x80, ascii("b")),
    highBytes: b(0xff, 0xfe, 0xf5, ascii(" hello "), 0xf8, 0x88, 0x80, 0x80, 0x80),
    mixedValid: b(ascii("naïve "), 0xc3, ascii(" café "), 0xe2, 0x82, ascii("1 "), 0xe2, 0x82, 0xac),
    latin1: b(ascii("caf"), 0xe9, ascii(" na"), 0xef, ascii("ve")),
  };
}
