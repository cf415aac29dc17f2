import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseTokens, TokensError } from "../dist/index.js";

function rejects(text, opts, pattern) {
  try {
    parseTokens(text, { source: "batch.json", ...opts });
  } catch (e) {
    assert.instance(e, TokensError);
    assert.ok(e.message.startsWith("batch.json: "), e.message);
    assert.match(e.message, pattern);
    return;
  }
  assert.unreachable(`expected TokensError matching ${pattern}`);
}

test("parses B rows of T+1 ids, row-major", () => {
  const b = parseTokens("[[1, 2, 3], [4, 5, 6]]", { vocabSize: 7, maxSeqLen: 2 });
  assert.is(b.batch, 2);
  assert.is(b.length, 3);
  assert.instance(b.ids, Int32Array);
  assert.equal(Array.from(b.ids), [1, 2, 3, 4, 5, 6]);
  const one = parseTokens(" [ [0, 255] ] \n");
  assert.equal([one.batch, one.length, ...one.ids], [1, 2, 0, 255]);
});

test("not JSON, not an array of arrays, empty", () => {
  rejects("[[1, 2], [3, 4]", {}, /not valid JSON/);
  rejects("", {}, /not valid JSON/);
  rejects('{"tokens": [[1, 2]]}', {}, /must be a JSON array of rows .*got an object/);
  rejects("[]", {}, /has no rows/);
  rejects("[1, 2, 3]", {}, /row 0 must be an array of token ids, got 1/);
  rejects("[[1, 2], 3]", {}, /row 1 must be an array of token ids, got 3/);
  rejects('[[1, 2], "ab"]', {}, /row 1 must be an array of token ids, got "ab"/);
});

test("rows shorter than 2 or of different lengths", () => {
  rejects("[[5]]", {}, /row 0 has 1 id; each row needs at least 2/);
  rejects("[[1, 2], []]", {}, /row 1 has 0 ids; each row needs at least 2/);
  rejects("[[1, 2, 3], [1, 2, 3], [1, 2]]", {}, /row 2 has 2 ids but row 0 has 3; all rows must have the same length/);
});

test("ids must be non-negative integers", () => {
  rejects("[[1, 2], [3, -1]]", {}, /row 1, column 1: token id -1 is not a non-negative integer/);
  rejects("[[1, 2.5]]", {}, /row 0, column 1: token id 2\.5 is not a non-negative integer/);
  rejects('[[1, "2"]]', {}, /row 0, column 1: token id "2" is not/);
  rejects("[[null, 2]]", {}, /row 0, column 0: token id null is not/);
  rejects("[[1, [2]]]", {}, /row 0, column 1: token id an array is not/);
  rejects("[[1, 1e10]]", {}, /row 0, column 1: token id 10000000000 is not a non-negative integer/);
});

test("ids out of vocabulary name row, column, id and vocab size", () => {
  rejects("[[0, 1, 2], [3, 256, 4]]", { vocabSize: 256 }, /row 1, column 1: token id 256 is out of range for vocab size 256 \(ids must be in \[0, 255\]\)/);
  assert.is(parseTokens("[[0, 255]]", { vocabSize: 256 }).ids[1], 255);
});

test("sequences longer than maxSeqLen", () => {
  const row = JSON.stringify([Array.from({ length: 130 }, (_, i) => i % 7)]);
  rejects(row, { maxSeqLen: 128 }, /rows of 130 ids give sequence length T = 129, longer than the model's maximum 128/);
  assert.is(parseTokens(JSON.stringify([Array.from({ length: 129 }, () => 0)]), { maxSeqLen: 128 }).length, 129);
});

test("default source name", () => {
  assert.throws(() => parseTokens("x"), /^tokens: not valid JSON/);
});

test.run();
