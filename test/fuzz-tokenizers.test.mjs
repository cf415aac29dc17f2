// Fuzz suite: the tokenizer formats: tokenizer.json (every family the engine loads), GPT-2 encoder.json + vocab.bpe, .tiktoken rank files.
// Seeded and deterministic (test/fuzz/tokenizer-formats.mjs defines the mutants; test/fuzz/suite.mjs the rules).
import { fuzzTest } from "./fuzz/suite.mjs";

fuzzTest("fuzz: tokenizer.json, encoder.json + vocab.bpe, .tiktoken ranks", ["tokenizer.json", "encoder.json + vocab.bpe", ".tiktoken ranks"]);
