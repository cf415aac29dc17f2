// The Brown loader: tags stripped, text detokenized (checked against hand-written
// strings), documents kept apart, tags still available with their spans.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { brownDocuments, brownTaggedDocuments, detokenizeBrown, detokenizeSentence, detokenizeTagged } from "../dist/data/index.js";

test("quotes, punctuation and brackets are spaced as in ordinary text", () => {
  assert.is(
    detokenizeSentence("``/`` Only/rb a/at relative/jj handful/nn ''/'' ,/, the/at jury/nn said/vbd ./."),
    '"Only a relative handful", the jury said.',
  );
  assert.is(detokenizeSentence("He/pps said/vbd (/( not/* really/rb )/) ;/. then/rb left/vbd !/."), "He said (not really); then left!");
  assert.is(detokenizeSentence("Why/wrb ?/. It/pps cost/vbd $/$ 5/cd and/cc 10/cd %/nn ./."), "Why? It cost $5 and 10%.");
  assert.is(detokenizeSentence("It/pps was/bedz n't/* hers/pp$$ ;/. John/np 's/$ was/bedz :/: gone/vbn ./."), "It wasn't hers; John's was: gone.");
  assert.is(detokenizeSentence("a/at 1-1/2/cd inch/nn"), "a 1-1/2 inch", "a word containing a slash keeps it");
});

test("a single quote opens, then closes, within a sentence", () => {
  assert.is(
    detokenizeSentence("``/`` It's/pps+bez '/' See/vb Joe/np ,/, see/vb Jim/np '/' ''/'' ,/, he/pps says/vbz ./."),
    '"It\'s \'See Joe, see Jim\'", he says.',
  );
  assert.is(detokenizeSentence("get/vb 'em/ppo all/abn right/rb"), "get 'em all right", "apostrophes inside words are untouched");
});

test("a tagged file becomes one line per sentence; tags come with their spans", () => {
  const tagged = "\n\n\tThe/at jury/nn said/vbd ``/`` no/at ''/'' ./.\n\n\n\tIt/pps ended/vbd ./.\n";
  assert.is(detokenizeBrown(tagged), 'The jury said "no".\nIt ended.\n');
  const { text, words } = detokenizeTagged(tagged);
  assert.is(text, 'The jury said "no".\nIt ended.\n');
  assert.equal(words.map((w) => w.tag), ["at", "nn", "vbd", "``", "at", "''", ".", "pps", "vbd", "."]);
  for (const w of words) assert.is(text.slice(w.start, w.end), w.word);
  assert.is(words[3].word, '"');
});

test("the 500 Brown documents, ca01..cr09, tags stripped, genres set", async () => {
  const docs = await brownDocuments();
  assert.is(docs.length, 500);
  assert.is(docs[0].id, "ca01");
  assert.is(docs[499].id, "cr09");
  assert.is(new Set(docs.map((d) => d.genre)).size, 15);
  assert.ok(docs.every((d) => d.genre === d.id[1]));
  const all = docs.map((d) => d.text).join("");
  assert.not.match(all, /[a-z]\/(nn|at|jj|vbd|np-tl)\s/, "tags were stripped");
  assert.not.match(all, /(^|\s)(``|'')(\s|$)/m, "quote tokens were converted (inches such as 10'' stay)");
  assert.ok(docs[0].text.startsWith("The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary election produced \"no evidence\" that any irregularities took place.\n"));
  // Spaces before closing punctuation are (almost) gone: the count in raw tokens is ~120,000.
  assert.ok((all.match(/ [,.;:?!)]/g) ?? []).length < 10);
});

test("tagged documents line up with the plain ones", async () => {
  const [plain, tagged] = [await brownDocuments(), await brownTaggedDocuments()];
  for (const i of [0, 137, 499]) {
    assert.is(tagged[i].text, plain[i].text);
    for (const w of tagged[i].words) assert.is(tagged[i].text.slice(w.start, w.end), w.word);
  }
  assert.ok(tagged.reduce((s, d) => s + d.words.length, 0) > 1_100_000, "about 1.16 M tokens");
});

test.run();
