// Ids identical to js-tiktoken (gpt2, cl100k_base) on the whole Brown corpus and
// on adversarial inputs; decode(encode(s)) === s for every valid input.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { brownDocuments } from "../dist/data/index.js";
import { adversarialStrings, firstDifference, ourTokenizer, referenceTokenizer } from "./tokenizer-reference.mjs";

const brownText = (await brownDocuments()).map((d) => d.text).join("\n");

function assertSameIds(got, want, label) {
  const at = firstDifference(got, want);
  if (at >= 0) {
    assert.unreachable(`${label}: ids differ at ${at} of ${want.length}/${got.length}: got ${[...got.slice(at, at + 5)]} want ${want.slice(at, at + 5)}`);
  }
}

test("Brown corpus text is about 6 MB", () => {
  assert.ok(brownText.length > 5_500_000 && brownText.length < 6_500_000, `${brownText.length} chars`);
  assert.not.match(brownText, /\/(nn|at|in|jj|vbd|np-tl)\s/, "tags were stripped");
  assert.not.match(brownText, /(^|\s)(``|'')(\s|$)/m, "quote tokens were converted");
});

for (const name of ["gpt2", "cl100k"]) {
  test(`${name}: whole Brown corpus gives js-tiktoken's ids and decodes back`, async () => {
    const tok = await ourTokenizer(name);
    const got = tok.encode(brownText);
    const want = referenceTokenizer(name).encode(brownText);
    assert.ok(want.length > 1_000_000);
    assertSameIds(got, want, `${name} Brown`);
    assert.is(tok.decodeText(got), brownText);
    // The piece cache (on by default) must not change any id.
    tok.setPieceCache(false);
    try {
      assertSameIds(tok.encode(brownText), want, `${name} Brown without the piece cache`);
    } finally {
      tok.setPieceCache(true);
    }
  });

  test(`${name}: adversarial inputs give js-tiktoken's ids`, async () => {
    const tok = await ourTokenizer(name);
    const ref = referenceTokenizer(name);
    for (const [label, text] of Object.entries(adversarialStrings())) {
      // Special-token text is plain text unless allowed (js-tiktoken: disallowedSpecial = []).
      assertSameIds(tok.encode(text), ref.encode(text, [], []), `${name} ${label}`);
      // Lone surrogates cannot survive UTF-8; every other input round-trips exactly.
      assert.is(tok.decodeText(tok.encode(text)), text.toWellFormed(), `${name} ${label} round trip`);
    }
  });
}

test("random strings over a hostile alphabet: js-tiktoken's ids, exact round trip", async () => {
  const alphabet = [
    "a", "Z", "é", "ß", "中", "ء", "𝐀", "1", "٣", "½", " ", " ", "\t", "\n", "\r", "\u00a0", "\u3000", "\u0085", "\ufeff",
    "'", "’", "s", "S", "t", "l", "L", "re", "ve", "m", "d", ".", "!", "-", "\u0301", "😀", "\u200d", "\0", "<|endoftext|>", "ing", " the",
  ];
  let seed = 2024;
  const rand = (n) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
  for (const name of ["gpt2", "cl100k"]) {
    const tok = await ourTokenizer(name);
    const ref = referenceTokenizer(name);
    for (let i = 0; i < 2000; i++) {
      let s = "";
      for (let k = 0, n = 1 + rand(30); k < n; k++) s += alphabet[rand(alphabet.length)];
      const got = tok.encode(s);
      const want = ref.encode(s, [], []);
      if (firstDifference(got, want) >= 0) assert.equal([...got], want, `${name} ${JSON.stringify(s)}`);
      if (tok.decodeText(got) !== s) assert.is(tok.decodeText(got), s, `${name} round trip`);
    }
  }
});

test.run();
