// The training job through its API: a run stopped cleanly (the abort signal) and
// resumed equals an uninterrupted run bit for bit (metrics lines without
// tokensPerSecond, every kept checkpoint's weights and optimizer state); a write
// error keeps the previous checkpoint and names the cause.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { join } from "node:path";
import { readFileSync, existsSync, writeFileSync } from "node:fs";
import { resolveRunConfig, runTraining } from "../dist/index.js";
import { fileStorage } from "../dist/run/index.js";
import { tinyWorkspace, tinyConfig, metricsWithoutTiming, finalWeights, checkpointSteps } from "./helpers/train-fixture.mjs";

const ws = await tinyWorkspace("jreg-train-resume-");
const config = (out, over = {}) => resolveRunConfig(tinyConfig(ws, { out, ...over }));

/** Runs until `stopAt` optimizer steps are done (abort in the step event), then returns. */
async function runUntil(cfg, stopAt, resume = false) {
  const controller = new AbortController();
  const r = await runTraining(cfg, {
    resume,
    signal: controller.signal,
    onEvent: (e) => {
      if (e.kind === "step" && e.step === stopAt) controller.abort();
    },
  });
  return r;
}

const straight = join(ws.dir, "straight");
const reference = await runTraining(config(straight));

test("an uninterrupted run writes the layout, the schedule and keeps the newest checkpoints", () => {
  assert.ok(reference.complete);
  assert.is(reference.step, 24);
  assert.equal(checkpointSteps(straight), [18, 24], "keepCheckpoints 2");
  for (const f of ["config.json", "model.safetensors", "tokenizer.json", "optimizer.safetensors", "trainer_state.json"]) {
    assert.ok(existsSync(join(straight, "checkpoint-24", f)), f);
  }
  const state = JSON.parse(readFileSync(join(straight, "checkpoint-24", "trainer_state.json"), "utf8"));
  assert.is(state.step, 24);
  assert.is(state.stepCount, 24);
  assert.is(state.updates, 24);
  assert.is(state.seed, 1);
  assert.ok(Number.isInteger(state.sampler.epoch) && Number.isInteger(state.sampler.position));
  const lines = readFileSync(join(straight, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(lines.map((l) => l.step), [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24]);
  assert.equal(Object.keys(lines[0]).sort(), ["D_angular", "D_cosine", "J_angular", "J_cosine", "early_exit_ce", "step", "val_ce"]);
  for (const k of ["loss", "ce", "R", "lr", "gradNorm", "tokensPerSecond"]) assert.type(lines[1][k], "number", k);
  const evals = lines.filter((l) => "val_ce" in l).map((l) => l.step);
  assert.equal(evals, [0, 8, 16, 24]);
  assert.is(lines.at(-1).early_exit_ce.length, 2);
  assert.is(lines.at(-1).early_exit_ce[1], lines.at(-1).val_ce, "h_L's early exit is the model's CE");
  assert.ok(lines.at(-1).val_ce < lines[0].val_ce, "training lowers the validation CE");
  const cfg = JSON.parse(readFileSync(join(straight, "config.json"), "utf8"));
  assert.is(cfg.steps, 24);
  assert.is(cfg.jreg.alpha, 1);
});

test("stopped cleanly (off the save schedule, twice) and resumed: bit-identical to the uninterrupted run", async () => {
  const dir = join(ws.dir, "stopped");
  const first = await runUntil(config(dir), 7);
  assert.ok(first.interrupted);
  assert.is(first.step, 7);
  assert.equal(checkpointSteps(dir), [6, 7], "the stop saved its step");
  const second = await runUntil(config(dir), 13, true);
  assert.is(second.step, 13);
  const last = await runTraining(config(dir), { resume: true });
  assert.ok(last.complete);
  assert.equal(metricsWithoutTiming(dir), metricsWithoutTiming(straight));
  for (const step of [18, 24]) {
    assert.ok(finalWeights(dir, step).equals(finalWeights(straight, step)), `weights at ${step}`);
    const opt = (d) => readFileSync(join(d, `checkpoint-${step}`, "optimizer.safetensors"));
    assert.ok(opt(dir).equals(opt(straight)), `optimizer at ${step}`);
  }
});

test("resuming a complete run trains nothing and changes nothing", async () => {
  const before = readFileSync(join(straight, "metrics.jsonl"));
  const r = await runTraining(config(straight), { resume: true });
  assert.ok(r.complete);
  assert.is(r.step, 24);
  assert.ok(readFileSync(join(straight, "metrics.jsonl")).equals(before));
});

test("a new run refuses an existing run directory", async () => {
  try {
    await runTraining(config(straight));
    assert.unreachable();
  } catch (e) {
    assert.match(e.message, /already holds a run .*--resume/);
  }
});

test("a checkpoint write error keeps the previous checkpoint and names the path and cause", async () => {
  const dir = join(ws.dir, "full-disk");
  let writes = 0;
  const failing = Object.create(fileStorage);
  failing.writeDurable = async (path, data) => {
    if (path.endsWith("model.safetensors") && ++writes === 2) {
      throw Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
    }
    return fileStorage.writeDurable(path, data);
  };
  try {
    await runTraining(config(dir), { storage: failing });
    assert.unreachable();
  } catch (e) {
    assert.is(e.name, "CheckpointWriteError");
    assert.match(e.message, /could not save checkpoint-12/);
    assert.match(e.message, /model\.safetensors/);
    assert.match(e.message, /no space|ENOSPC/i);
    assert.match(e.message, /checkpoint-6 is intact/);
  }
  assert.equal(checkpointSteps(dir), [6]);
  // and the run continues from it, bit-identically
  const r = await runTraining(config(dir), { resume: true });
  assert.ok(r.complete);
  assert.equal(metricsWithoutTiming(dir), metricsWithoutTiming(straight));
  assert.ok(finalWeights(dir, 24).equals(finalWeights(straight, 24)));
});

test("a resume whose config no longer matches its checkpoint is refused before anything is written", async () => {
  const dir = join(ws.dir, "stopped-2");
  await runUntil(config(dir), 6);
  const metrics = readFileSync(join(dir, "metrics.jsonl"));
  try {
    await runTraining(config(dir, { seqLen: 8 }), { resume: true });
    assert.unreachable();
  } catch (e) {
    // seqLen 8 also makes max_position_embeddings 8: another model than the checkpoint's
    assert.match(e.message, /cannot resume: .*checkpoint-6\/config\.json describes another model/);
  }
  assert.ok(readFileSync(join(dir, "metrics.jsonl")).equals(metrics), "metrics untouched");
  assert.equal(checkpointSteps(dir), [6]);
});

test("a resume whose corpus changed (so its tokenizer did) is refused", async () => {
  const dir = join(ws.dir, "stopped-2");
  const other = join(ws.dir, "other-corpus.txt");
  writeFileSync(other, readFileSync(ws.corpus, "utf8").split("\n\n").slice(0, -3).join("\n\n") + "\n");
  try {
    await runTraining(config(dir, { data: { ...tinyConfig(ws).data, corpus: other } }), { resume: true });
    assert.unreachable();
  } catch (e) {
    assert.match(e.message, /cannot resume: .*tokenizer\.json differs from the tokenizer the run config gives now/);
  }
  assert.equal(checkpointSteps(dir), [6]);
});

test.run();
