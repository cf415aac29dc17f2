// Fuzz suite: the checkpoint formats: safetensors (header and data), config.json, the shard index and its shards.
// Seeded and deterministic (test/fuzz/formats.mjs defines the mutants; test/fuzz/suite.mjs the rules).
import { fuzzTest } from "./fuzz/suite.mjs";

fuzzTest("fuzz: safetensors, config.json, model.safetensors.index.json", ["safetensors", "config.json", "model.safetensors.index.json"]);
