// Fuzz suite: the data formats: tokens files and binary token shards.
// Seeded and deterministic (test/fuzz/formats.mjs defines the mutants; test/fuzz/suite.mjs the rules).
import { fuzzTest } from "./fuzz/suite.mjs";

fuzzTest("fuzz: tokens file, token shard (.bin)", ["tokens file", "token shard (.bin)"]);
