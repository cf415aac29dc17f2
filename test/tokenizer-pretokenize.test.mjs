// The native pre-tokenizers split exactly as the reference regexes do.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { PATTERN_REGEX, pretokenize } from "../dist/tokenizer/index.js";
import { adversarialStrings, referenceRegex } from "./tokenizer-reference.mjs";
import { generalCategorySamples } from "./tokenizer-families-reference.mjs";

const PATTERNS = ["gpt2", "cl100k", "qwen", "o200k"];

/**
 * The reference regex of a pattern. The Qwen and o200k tokenizer.json regexes
 * use (?i:...), which JavaScript (Node 20) cannot compile; it is spelled out as
 * the Hugging Face JavaScript port does.
 */
function regexOf(pattern) {
  if (pattern !== "qwen" && pattern !== "o200k") return referenceRegex(pattern);
  const source = PATTERN_REGEX[pattern].replaceAll("(?i:'s|'t|'re|'ve|'m|'ll|'d)", "(?:'([sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD]))");
  return new RegExp(source, "gu");
}

/** Reference pieces; lone surrogates become U+FFFD as they do in UTF-8. */
function referencePieces(pattern, text) {
  return [...text.matchAll(regexOf(pattern))].map((m) => m[0].toWellFormed());
}

for (const pattern of PATTERNS) {
  test(`${pattern}: adversarial inputs split like the regex`, async () => {
    for (const [name, text] of Object.entries({ ...adversarialStrings(), ...generalCategorySamples() })) {
      if (name === "oneMegabyteLine") continue; // covered by the id tests
      const got = await pretokenize(pattern, text);
      assert.equal(got, referencePieces(pattern, text), `${pattern} ${name}`);
    }
  });

  test(`${pattern}: random strings over a hostile alphabet split like the regex`, async () => {
    const alphabet = [
      "a", "Z", "é", "ß", "中", "ء", "𝐀", "1", "٣", "½", "Ⅻ", " ", " ", "\t", "\n", "\r", "\u00a0", "\u3000", "\u0085",
      "\ufeff", "\u2028", "'", "’", "s", "S", "t", "l", "L", "r", "e", "v", "m", "d", "D", ".", "!", "-", "\u0301",
      "😀", "\u200d", "\0", "\ud800", "<", "|",
      // o200k's case classes: Lt, Lm, Lo, Mn, Mc, Me, Ll/Lu outside ASCII, '/'.
      "ǅ", "ʰ", "ー", "\u0903", "\u20dd", "Ω", "ω", "/", "A", "b",
    ];
    let seed = 12345;
    const rand = (n) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % n;
    };
    const texts = [];
    for (let i = 0; i < 3000; i++) {
      let s = "";
      const len = 1 + rand(24);
      for (let k = 0; k < len; k++) s += alphabet[rand(alphabet.length)];
      texts.push(s);
    }
    // One call for all texts (joined by a separator that always ends a piece is not
    // available in both patterns), so split each text separately.
    for (const text of texts) {
      const got = await pretokenize(pattern, text);
      const want = referencePieces(pattern, text);
      if (JSON.stringify(got) !== JSON.stringify(want)) assert.equal(got, want, `${pattern} ${JSON.stringify(text)}`);
    }
  });
}

test("class tables agree with \\p{L}, \\p{N} and \\s for every code point", async () => {
  // Concatenate all code points, each followed by a separator. Runs of one class
  // merge into one piece, so a code point with the wrong class changes the split.
  // The letter separator exposes number/space/other errors, the digit separator
  // letter/space/other errors.
  for (const sep of ["a", "1"]) {
    const parts = [];
    for (let cp = 0; cp < 0x110000; cp++) {
      if (cp >= 0xd800 && cp < 0xe000) continue;
      parts.push(String.fromCodePoint(cp), sep);
    }
    const text = parts.join("");
    const got = await pretokenize("gpt2", text);
    const want = referencePieces("gpt2", text);
    assert.is(got.length, want.length, `separator ${sep}: piece count`);
    for (let i = 0; i < want.length; i++) {
      if (got[i] !== want[i]) assert.is(JSON.stringify(got[i]), JSON.stringify(want[i]), `separator ${sep}: piece ${i}`);
    }
  }
});

test("o200k: its letter-case classes agree with Lu/Lt, Ll, Lm/Lo and M for every code point", async () => {
  // Each code point X between separators: after "A" (Lu) an Ll ends the
  // upper run while Lm/Lo/M continue it; after "a" (Ll) a Lu/Lt ends the lower
  // run while Lm/Lo/M continue it. (The base classes are checked above.)
  for (const sep of ["A", "a"]) {
    const parts = [];
    for (let cp = 0; cp < 0x110000; cp++) {
      if (cp >= 0xd800 && cp < 0xe000) continue;
      parts.push(sep, String.fromCodePoint(cp));
    }
    const text = parts.join("");
    const got = await pretokenize("o200k", text);
    const want = referencePieces("o200k", text);
    assert.is(got.length, want.length, `separator ${sep}: piece count`);
    for (let i = 0; i < want.length; i++) {
      if (got[i] !== want[i]) assert.is(JSON.stringify(got[i]), JSON.stringify(want[i]), `separator ${sep}: piece ${i}`);
    }
  }
});

test.run();
