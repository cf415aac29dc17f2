// Streaming encode: any chunking of the input gives the ids of the whole text.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { brownDocuments } from "../dist/data/index.js";
import { ourTokenizer, adversarialStrings } from "./tokenizer-reference.mjs";

const docs = await brownDocuments();
const text = docs.slice(0, 12).map((d) => d.text).join("\n") + Object.values(adversarialStrings()).slice(0, -1).join("\n");

function rng(seed) {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

/** Splits a string or bytes into random-size chunks (which may split characters). */
function chunk(input, seed, maxLen) {
  const r = rng(seed);
  const out = [];
  for (let i = 0; i < input.length; ) {
    const n = 1 + r(maxLen);
    out.push(input.slice(i, i + n));
    i += n;
  }
  return out;
}

async function collect(gen) {
  const parts = [];
  for await (const ids of gen) parts.push(...ids);
  return parts;
}

for (const name of ["gpt2", "cl100k"]) {
  test(`${name}: string chunks (splitting surrogate pairs) give the whole text's ids`, async () => {
    const tok = await ourTokenizer(name);
    const whole = [...tok.encode(text)];
    let yields = 0;
    const gen = tok.encodeStream(chunk(text, 7, 3000), { chunkBytes: 4096 });
    const ids = [];
    for await (const part of gen) {
      yields++;
      ids.push(...part);
    }
    assert.ok(yields > 20, `streamed in ${yields} parts`);
    assert.equal(ids, whole);
  });

  test(`${name}: byte chunks (splitting UTF-8 sequences), async source`, async () => {
    const tok = await ourTokenizer(name);
    const bytes = new TextEncoder().encode(text);
    async function* source() {
      for (const c of chunk(bytes, 11, 5000)) yield c;
    }
    assert.equal(await collect(tok.encodeStream(source(), { chunkBytes: 2048 })), [...tok.encode(bytes)]);
  });
}

test("special tokens straddling chunk boundaries are found when allowed, text otherwise", async () => {
  const tok = await ourTokenizer("cl100k");
  const withSpecials = docs.slice(0, 3).map((d) => d.text).join("<|endoftext|>") + "<|endoftext|>";
  for (const seed of [1, 2, 3]) {
    const chunks = chunk(withSpecials, seed, 700);
    assert.equal(await collect(tok.encodeStream(chunks, { chunkBytes: 1024, allowedSpecial: "all" })), [...tok.encode(withSpecials, { allowedSpecial: "all" })]);
    assert.equal(await collect(tok.encodeStream(chunks, { chunkBytes: 1024 })), [...tok.encode(withSpecials)]);
  }
});

test("text with no safe cut position still encodes exactly (buffer grows)", async () => {
  const tok = await ourTokenizer("cl100k");
  const cjk = "漢字かな交じり文、".repeat(2000) + " end";
  assert.equal(await collect(tok.encodeStream(chunk(cjk, 5, 500), { chunkBytes: 1024 })), [...tok.encode(cjk)]);
  assert.equal(await collect(tok.encodeStream([])), []);
  assert.equal(await collect(tok.encodeStream(["", ""])), []);
});

test.run();
