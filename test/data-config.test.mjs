// The `data` section of a run config: defaults, and errors that name the dotted key and the type.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { DEFAULT_DATA_CONFIG, validateDataConfig } from "../dist/data/index.js";

test("defaults: Brown, a 4,096-token GPT-2-pattern BPE with <|endoftext|>, 10 % validation", () => {
  const d = validateDataConfig({});
  assert.equal(d, {
    corpus: "brown",
    tokenizer: { vocabSize: 4096, pattern: "gpt2", minFrequency: 2, specialTokens: ["<|endoftext|>"] },
    split: { validationFraction: 0.1, seed: 0 },
    cacheDir: null,
  });
  assert.equal(validateDataConfig(), DEFAULT_DATA_CONFIG);
  assert.equal(validateDataConfig({ tokenizer: { vocabSize: 2048 } }).tokenizer.vocabSize, 2048);
  assert.equal(validateDataConfig({ tokenizer: { file: "tok.json" }, corpus: "my.txt" }).tokenizer, { file: "tok.json" });
});

test("unknown keys and wrong types name the key and what it expects", () => {
  const cases = [
    [{ corpsu: "brown" }, /unknown key data\.corpsu \(known: data\.corpus, /],
    [{ corpus: 3 }, /data\.corpus must be "brown" or a path/],
    [{ tokenizer: { vocabSize: "4k" } }, /data\.tokenizer\.vocabSize must be an integer ≥ 257, got "4k"/],
    [{ tokenizer: { vocab: 4096 } }, /unknown key data\.tokenizer\.vocab/],
    [{ tokenizer: { pattern: "llama" } }, /data\.tokenizer\.pattern must be "gpt2" or "cl100k", got "llama"/],
    [{ tokenizer: { specialTokens: [] } }, /data\.tokenizer\.specialTokens must be a non-empty array/],
    [{ tokenizer: { file: "" } }, /data\.tokenizer\.file must be a path/],
    [{ tokenizer: { file: "a.json", vocabSize: 5 } }, /unknown key data\.tokenizer\.vocabSize/],
    [{ split: { validationFraction: 1.5 } }, /data\.split\.validationFraction must be a number in \[0, 1\), got 1\.5/],
    [{ split: { seed: 0.5 } }, /data\.split\.seed must be an integer/],
    [{ split: [] }, /data\.split must be an object/],
    [{ cacheDir: 5 }, /data\.cacheDir must be a path or null/],
    ["brown", /data must be an object/],
  ];
  for (const [input, message] of cases) assert.throws(() => validateDataConfig(input), message, JSON.stringify(input));
});

test.run();
