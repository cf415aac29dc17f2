// Byte input (including invalid UTF-8), special tokens, decode errors, batches.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ENCODINGS, firstDifference, invalidUtf8Samples, ourTokenizer, referenceRegex, referenceTokenizer } from "./tokenizer-reference.mjs";

/** rank by token bytes (as a latin1 string), from the js-tiktoken data. */
function rankMap(name) {
  const map = new Map();
  for (const line of ENCODINGS[name].data.bpe_ranks.split("\n")) {
    const parts = line.split(" ");
    let rank = Number(parts[1]);
    for (let i = 2; i < parts.length; i++) map.set(atob(parts[i]), rank++);
  }
  return map;
}

/**
 * Independent reference for byte input: decode UTF-8 by hand, write each invalid
 * byte as a private-use character (class "other", like any punctuation), split
 * with the reference regex, map pieces back to bytes, then run tiktoken's merge
 * loop in plain JavaScript.
 */
function referenceEncodeBytes(name, bytes, ranks) {
  let shadow = "";
  const starts = [];
  for (let i = 0; i < bytes.length; ) {
    const n = validSequenceLength(bytes, i);
    starts.push(i);
    if (n === 0) {
      shadow += String.fromCharCode(0xe000 + bytes[i]);
      i += 1;
    } else {
      const cp = new TextDecoder().decode(bytes.subarray(i, i + n)).codePointAt(0);
      const ch = String.fromCodePoint(cp);
      shadow += ch;
      if (ch.length === 2) starts.push(i); // keep starts aligned with UTF-16 indices
      i += n;
    }
  }
  starts.push(bytes.length);
  const ids = [];
  for (const m of shadow.matchAll(referenceRegex(name))) {
    const piece = bytes.subarray(starts[m.index], starts[m.index + m[0].length]);
    ids.push(...bpe(piece, ranks));
  }
  return ids;
}

function validSequenceLength(b, i) {
  const b0 = b[i];
  const cont = (k) => i + k < b.length && (b[i + k] & 0xc0) === 0x80;
  if (b0 < 0x80) return 1;
  if (b0 >= 0xc2 && b0 < 0xe0) return cont(1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 < 0xf0) {
    const lo = b0 === 0xe0 ? 0xa0 : 0x80, hi = b0 === 0xed ? 0x9f : 0xbf;
    return i + 2 < b.length && b[i + 1] >= lo && b[i + 1] <= hi && cont(2) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 < 0xf5) {
    const lo = b0 === 0xf0 ? 0x90 : 0x80, hi = b0 === 0xf4 ? 0x8f : 0xbf;
    return i + 3 < b.length && b[i + 1] >= lo && b[i + 1] <= hi && cont(2) && cont(3) ? 4 : 0;
  }
  return 0;
}

function bpe(piece, ranks) {
  const key = (a, b) => String.fromCharCode(...piece.subarray(a, b));
  if (ranks.has(key(0, piece.length))) return [ranks.get(key(0, piece.length))];
  let parts = [...piece.keys()].map((i) => [i, i + 1]);
  for (;;) {
    let best = Infinity, at = -1;
    for (let i = 0; i + 1 < parts.length; i++) {
      const r = ranks.get(key(parts[i][0], parts[i + 1][1]));
      if (r !== undefined && r < best) (best = r), (at = i);
    }
    if (at < 0) break;
    parts.splice(at, 2, [parts[at][0], parts[at + 1][1]]);
  }
  return parts.map(([a, b]) => ranks.get(key(a, b)));
}

for (const name of ["gpt2", "cl100k"]) {
  test(`${name}: invalid UTF-8 bytes encode like the byte-level reference and round-trip`, async () => {
    const tok = await ourTokenizer(name);
    const ranks = rankMap(name);
    for (const [label, bytes] of Object.entries(invalidUtf8Samples())) {
      const got = tok.encode(bytes);
      const want = referenceEncodeBytes(name, bytes, ranks);
      assert.is(firstDifference(got, want), -1, `${name} ${label}: ${[...got]} vs ${want}`);
      assert.equal(tok.decode(got), bytes, `${name} ${label} round trip`);
      assert.throws(() => tok.decodeText(got), /not valid UTF-8/);
    }
  });

  test(`${name}: valid UTF-8 bytes encode like the same string`, async () => {
    const tok = await ourTokenizer(name);
    const text = "héllo wörld 👋 it's 12345 \n\n  ok";
    assert.equal(tok.encode(new TextEncoder().encode(text)), tok.encode(text));
  });
}

test("long pieces (merged with a heap) equal the reference merge loop", async () => {
  let seed = 99;
  const rand = (n) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
  for (const name of ["gpt2", "cl100k"]) {
    const tok = await ourTokenizer(name);
    const ranks = rankMap(name);
    for (let k = 0; k < 6; k++) {
      const letters = "etaoinshrdlucmfwyp" + (k % 2 ? "ÄéØ" : "");
      let s = "";
      for (let i = 0, n = 130 + rand(600); i < n; i++) s += letters[rand(letters.length)];
      const bytes = new TextEncoder().encode(s);
      assert.equal([...tok.encode(bytes)], referenceEncodeBytes(name, bytes, ranks), `${name} ${s.slice(0, 20)}…`);
    }
  }
});

test("special tokens are text unless allowed", async () => {
  const tok = await ourTokenizer("cl100k");
  const ref = referenceTokenizer("cl100k");
  const text = "a<|endoftext|>b <|fim_prefix|>c<|endoftext|>";
  const plain = tok.encode(text);
  assert.equal([...plain], ref.encode(text, [], []));
  assert.not.ok(plain.includes(100257), "no special id without permission");
  assert.equal([...tok.encode(text, { allowedSpecial: "all" })], ref.encode(text, "all"));
  const onlyEot = [...tok.encode(text, { allowedSpecial: ["<|endoftext|>"] })];
  assert.equal(onlyEot, ref.encode(text, ["<|endoftext|>"], []));
  assert.ok(onlyEot.includes(100257) && !onlyEot.includes(100258));
  assert.throws(() => tok.encode(text, { allowedSpecial: ["<|nope|>"] }), /not a special token/);
  assert.is(tok.decodeText(tok.encode(text, { allowedSpecial: "all" })), text);
});

test("decode rejects ids that are not tokens", async () => {
  const tok = await ourTokenizer("cl100k");
  assert.throws(() => tok.decode([1, tok.vocabSize]), /id 100277 at position 1 is not a token/);
  assert.throws(() => tok.decode([-1]), /id -1 at position 0/);
  assert.throws(() => tok.decode([1.5]), /id 1.5/);
  assert.throws(() => tok.decode(Uint32Array.of(5, 2 ** 32 - 1)), /at position 1/);
  assert.throws(() => tok.decode([100261]), /id 100261 at position 0 is not a token/, "gap between ranks and specials");
  assert.equal(tok.decode([]), new Uint8Array(0));
  assert.is(tok.decodeText([]), "");
});

test("decode returns bytes; text only for valid UTF-8", async () => {
  const tok = await ourTokenizer("gpt2");
  const text = "\u{1D518}"; // 4 UTF-8 bytes that GPT-2 has no single token for
  const ids = tok.encode(text);
  assert.ok(ids.length >= 2);
  const first = tok.decode(ids.subarray(0, 1));
  assert.ok(first.length > 0 && first.length < 4);
  assert.throws(() => tok.decodeText(ids.subarray(0, 1)), TypeError);
  assert.is(tok.decodeText(ids), text);
});

test("encodeBatch equals encoding each document", async () => {
  const tok = await ourTokenizer("gpt2");
  const docs = ["first doc", "", "second\n\ndoc  ", new TextEncoder().encode("bytes too"), "<|endoftext|>"];
  const batch = tok.encodeBatch(docs, { allowedSpecial: "all" });
  assert.is(batch.length, docs.length);
  docs.forEach((d, i) => assert.equal(batch[i], tok.encode(d, { allowedSpecial: "all" })));
  assert.equal([...batch[4]], [50256]);
});

test.run();
