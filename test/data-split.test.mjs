// The train/validation split: by document, deterministic, disjoint, stratified.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { brownDocuments, splitDocuments, validationCount } from "../dist/data/index.js";

const brown = (await brownDocuments()).map((d) => ({ id: d.id, group: d.genre }));

test("Brown: ~10 % held out, every genre in both sides, disjoint and complete", () => {
  const { train, validation } = splitDocuments(brown);
  assert.is(train.length + validation.length, 500);
  assert.ok(validation.length >= 45 && validation.length <= 60, `${validation.length}`);
  const held = new Set(validation.map((d) => d.id));
  assert.ok(train.every((d) => !held.has(d.id)), "disjoint");
  for (const g of new Set(brown.map((d) => d.group))) {
    const n = brown.filter((d) => d.group === g).length;
    assert.is(validation.filter((d) => d.group === g).length, validationCount(n, 0.1), `genre ${g}`);
    assert.ok(validation.some((d) => d.group === g) && train.some((d) => d.group === g), `genre ${g} on both sides`);
  }
});

test("deterministic, and independent of the input order", () => {
  const a = splitDocuments(brown);
  const b = splitDocuments([...brown].reverse());
  assert.equal(a.validation.map((d) => d.id), splitDocuments(brown).validation.map((d) => d.id));
  assert.equal(new Set(b.validation.map((d) => d.id)), new Set(a.validation.map((d) => d.id)));
});

test("the seed and the fraction change the held-out set", () => {
  const ids = (o) => splitDocuments(brown, o).validation.map((d) => d.id).join();
  assert.is.not(ids({ seed: 1 }), ids({ seed: 0 }));
  const quarter = splitDocuments(brown, { validationFraction: 0.25 }).validation.length;
  assert.ok(quarter >= 120 && quarter <= 130, `${quarter}`);
  assert.is(splitDocuments(brown, { validationFraction: 0 }).validation.length, 0);
});

test("ungrouped documents; tiny groups keep a training document", () => {
  const docs = Array.from({ length: 40 }, (_, i) => ({ id: `doc${i}` }));
  assert.is(splitDocuments(docs).validation.length, 4);
  assert.is(splitDocuments([{ id: "only" }]).validation.length, 0);
  assert.is(splitDocuments([{ id: "a" }, { id: "b" }], { validationFraction: 0.9 }).validation.length, 1);
});

test("bad options and duplicate ids are errors", () => {
  assert.throws(() => splitDocuments(brown, { validationFraction: 1 }), /validationFraction must be a number in \[0, 1\)/);
  assert.throws(() => splitDocuments(brown, { validationFraction: "0.1" }), /validationFraction/);
  assert.throws(() => splitDocuments([{ id: "x" }, { id: "x" }]), /two documents have the id "x"/);
});

test.run();
