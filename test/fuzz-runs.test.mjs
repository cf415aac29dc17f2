// Fuzz suite: the run directory: its config.json, checkpoint-N directories and interrupted-write leftovers, metrics.jsonl.
// Seeded and deterministic (test/fuzz/formats.mjs defines the mutants; test/fuzz/suite.mjs the rules).
import { fuzzTest } from "./fuzz/suite.mjs";

fuzzTest("fuzz: run dir (config.json, checkpoint-N/trainer_state.json), metrics.jsonl", ["run dir (config.json, checkpoint-N/trainer_state.json)", "metrics.jsonl"]);
