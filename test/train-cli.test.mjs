// `jreg train`, `jreg eval --data` and `jreg start` from the command line: Node
// and Deno give the same bits, errors name the key or file and write nothing,
// eval --data reproduces a run's own evaluation, and the default-run command
// trains its pair, writes the report and reuses complete runs.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, readFileSync, rmSync, writeFileSync, truncateSync, statSync } from "node:fs";
import { join } from "node:path";
import { root, deno, tinyWorkspace, tinyConfig, writeConfig, jreg, metricsWithoutTiming, finalWeights, checkpointSteps } from "./helpers/train-fixture.mjs";

const ws = await tinyWorkspace("jreg-train-cli-");
const denoTrain = (args) =>
  spawnSync(deno, ["run", "-A", "--quiet", join(root, "dist/cli/main.js"), "train", ...args], { cwd: root, encoding: "utf8", timeout: 120_000 });

const cfg2 = tinyConfig(ws, { threads: 2, steps: 20, saveEvery: 5, evalEvery: 10 });
const nodeDir = join(ws.dir, "node-run");
const nodeRun = jreg(["train", "--config", writeConfig(ws, "node.json", { ...cfg2, out: nodeDir })]);

test("a short jreg train in Node and in Deno: bit-identical metrics and weights (2 threads)", () => {
  assert.is(nodeRun.status, 0, nodeRun.stderr);
  const denoDir = join(ws.dir, "deno-run");
  const r = denoTrain(["--config", writeConfig(ws, "deno.json", { ...cfg2, out: denoDir })]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /complete at step 20\/20/);
  assert.equal(metricsWithoutTiming(denoDir), metricsWithoutTiming(nodeDir));
  assert.ok(finalWeights(denoDir, 20).equals(finalWeights(nodeDir, 20)));
});

test("a run stopped in Node resumes in Deno to the same bits", () => {
  const dir = join(ws.dir, "node-then-deno");
  cpSync(nodeDir, dir, { recursive: true });
  rmSync(join(dir, "checkpoint-20"), { recursive: true });
  const r = denoTrain(["--resume", dir]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /resuming from .*checkpoint-15 \(step 15 of 20\)/);
  assert.equal(metricsWithoutTiming(dir), metricsWithoutTiming(nodeDir));
  assert.ok(finalWeights(dir, 20).equals(finalWeights(nodeDir, 20)));
});

test("config errors name the key and the expected type; nothing is written", () => {
  const out = join(ws.dir, "never");
  const cases = [
    [{ ...tinyConfig(ws), out, jreg: { alpah: 3 } }, [], /unknown key "jreg\.alpah" \(did you mean jreg\.alpha\?\)/],
    [{ ...tinyConfig(ws), out, steps: "ten" }, [], /steps must be an integer ≥ 1, got "ten"/],
    [{ ...tinyConfig(ws), out }, ["--set", "batchSize=0"], /--set batchSize=0: batchSize must be an integer ≥ 1, got 0/],
    [{ ...tinyConfig(ws), out }, ["--set", "model.vocab_size=999"], /model\.vocab_size 999 does not match the vocabulary size .* = 300/],
  ];
  for (const [cfg, extra, message] of cases) {
    const r = jreg(["train", "--config", writeConfig(ws, "bad.json", cfg), ...extra]);
    assert.ok(r.status !== 0, JSON.stringify(cfg));
    assert.match(r.stderr, message);
    assert.not.match(r.stderr, /\n\s+at /, "no stack trace");
    assert.not.ok(existsSync(out), "no run directory");
  }
  writeFileSync(join(ws.dir, "broken.json"), '{ "steps": 3,\n  "seed": }');
  const broken = jreg(["train", "--config", join(ws.dir, "broken.json")]);
  assert.is(broken.status, 2);
  assert.match(broken.stderr, /broken\.json:2:\d+: invalid JSON/);
  const missing = jreg(["train", "--config", join(ws.dir, "nope.json")]);
  assert.is(missing.status, 2);
  assert.match(missing.stderr, /config file .*nope\.json does not exist/);
});

test("a missing or corrupt corpus gives a clear message, a non-zero exit and no run directory", () => {
  const out = join(ws.dir, "no-corpus");
  const gone = jreg(["train", "--config", writeConfig(ws, "c1.json", { ...tinyConfig(ws), out, data: { ...tinyConfig(ws).data, corpus: join(ws.dir, "missing.txt") } })]);
  assert.is(gone.status, 1);
  assert.match(gone.stderr, /missing\.txt/);
  const binary = join(ws.dir, "binary.txt");
  writeFileSync(binary, Buffer.from([0x61, 0x00, 0x62]));
  const bad = jreg(["train", "--config", writeConfig(ws, "c2.json", { ...tinyConfig(ws), out, data: { ...tinyConfig(ws).data, corpus: binary } })]);
  assert.is(bad.status, 1);
  assert.match(bad.stderr, /binary\.txt/);
  assert.not.match(bad.stderr + gone.stderr, /\n\s+at /);
  assert.not.ok(existsSync(out));
});

test("--resume of a missing run or a corrupt checkpoint fails clearly and overwrites nothing", () => {
  const none = jreg(["train", "--resume", join(ws.dir, "no-such-run")]);
  assert.is(none.status, 1);
  assert.match(none.stderr, /cannot resume: run directory .*no-such-run does not exist/);
  const dir = join(ws.dir, "corrupt");
  cpSync(nodeDir, dir, { recursive: true });
  rmSync(join(dir, "checkpoint-20"), { recursive: true });
  const weights = join(dir, "checkpoint-15", "model.safetensors");
  truncateSync(weights, statSync(weights).size - 100);
  const metrics = readFileSync(join(dir, "metrics.jsonl"));
  const r = jreg(["train", "--resume", dir]);
  assert.is(r.status, 1);
  assert.match(r.stderr, /cannot resume: .*checkpoint-15.*model\.safetensors/);
  assert.not.match(r.stderr, /\n\s+at /);
  assert.ok(readFileSync(join(dir, "metrics.jsonl")).equals(metrics), "metrics untouched");
  assert.equal(checkpointSteps(dir), [15]);
});

test("jreg eval --data reproduces the run's own final evaluation on the validation subset", () => {
  const ck = join(nodeDir, "checkpoint-20");
  const r = jreg(["eval", "--model", ck, "--data", ws.corpus, "--cache-dir", ws.cacheDir, "--windows", "4", "--batch-size", "2", "--alpha", "1", "--json"]);
  assert.is(r.status, 0, r.stderr);
  const e = JSON.parse(r.stdout);
  const last = readFileSync(join(nodeDir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).at(-1);
  assert.is(e.ce, last.val_ce);
  assert.equal(e.D_angular, last.D_angular);
  assert.equal(e.early_exit_ce, last.early_exit_ce);
  assert.is(e.J_angular, last.J_angular);
  assert.is(e.tokens, 4 * 16);
  assert.ok(e.loss > e.ce, "α = 1 adds R");
  const table = jreg(["eval", "--model", ck, "--data", ws.corpus, "--cache-dir", ws.cacheDir]);
  assert.is(table.status, 0, table.stderr);
  assert.match(table.stdout, /early-exit CE/);
  const both = jreg(["eval", "--model", ck]);
  assert.is(both.status, 2);
  assert.match(both.stderr, /exactly one of --tokens FILE and --data CORPUS/);
  const init = join(ws.dir, "init-ckpt");
  assert.is(jreg(["init", "--out", init, "--set", "model=tiny", "--vocab-size", "256"]).status, 0);
  const noTok = jreg(["eval", "--model", init, "--data", ws.corpus, "--cache-dir", ws.cacheDir]);
  assert.is(noTok.status, 2);
  assert.match(noTok.stderr, /tokenizer\.json does not exist: give the model's tokenizer with --tokenizer FILE/);
});

test("jreg start with a tiny config trains the pair, writes the report, reuses complete runs, --fresh starts over", () => {
  const runs = join(ws.dir, "runs");
  const config = writeConfig(ws, "start.json", tinyConfig(ws, { steps: 8, evalEvery: 4, saveEvery: 4 }));
  const first = jreg(["start", "--config", config, "--runs", runs]);
  assert.is(first.status, 0, first.stderr);
  assert.match(first.stdout, /baseline/);
  assert.match(first.stdout, /jreg-a3/);
  assert.match(first.stdout, /report: .*report\.html/);
  const html = readFileSync(join(runs, "report.html"), "utf8");
  assert.match(html, /baseline/);
  const cfgA = JSON.parse(readFileSync(join(runs, "baseline", "config.json"), "utf8"));
  const cfgB = JSON.parse(readFileSync(join(runs, "jreg-a3", "config.json"), "utf8"));
  assert.is(cfgA.jreg.alpha, 0);
  assert.is(cfgB.jreg.alpha, 3);
  assert.is(cfgA.seed, cfgB.seed);
  // same init: the step-0 evaluations agree exactly
  const step0 = (d) => readFileSync(join(runs, d, "metrics.jsonl"), "utf8").split("\n")[0];
  assert.is(step0("baseline"), step0("jreg-a3"));

  const weights = finalWeights(join(runs, "baseline"), 8);
  const again = jreg(["start", "--config", config, "--runs", runs]);
  assert.is(again.status, 0, again.stderr);
  assert.match(again.stderr, /baseline: .* is complete \(step 8\); not training it again/);
  assert.ok(finalWeights(join(runs, "baseline"), 8).equals(weights));

  const other = jreg(["start", "--config", config, "--runs", runs, "--set", "steps=9"]);
  assert.is(other.status, 1);
  assert.match(other.stderr, /holds a run with another config \(steps differs\); rerun with --fresh/);

  // an incomplete run is resumed
  rmSync(join(runs, "jreg-a3", "checkpoint-8"), { recursive: true });
  const resumed = jreg(["start", "--config", config, "--runs", runs]);
  assert.is(resumed.status, 0, resumed.stderr);
  assert.match(resumed.stderr, /resuming from .*checkpoint-4/);

  const fresh = jreg(["start", "--config", config, "--runs", runs, "--fresh", "--set", "steps=9"]);
  assert.is(fresh.status, 0, fresh.stderr);
  assert.equal(checkpointSteps(join(runs, "baseline")), [8, 9]);
});

test("jreg start | head -1 and npm start | head -1 stop cleanly", () => {
  const runs = join(ws.dir, "runs");
  const config = join(ws.dir, "start.json");
  for (const cmd of [`node bin/jreg.mjs start --config "${config}" --runs "${runs}" --set steps=9`, `npm start -- --config "${config}" --runs "${runs}" --set steps=9`]) {
    const r = spawnSync("bash", ["-c", `${cmd} 2>/tmp/jreg-head-stderr | head -1; echo "exit \${PIPESTATUS[0]}"`], { cwd: root, encoding: "utf8", timeout: 120_000 });
    assert.match(r.stdout, /exit 0\n$/, cmd + "\n" + r.stdout);
    assert.not.match(readFileSync("/tmp/jreg-head-stderr", "utf8"), /EPIPE|\n\s+at /);
  }
});

test("train --help lists the run-config keys with their defaults", () => {
  const h = jreg(["train", "--help"]);
  assert.is(h.status, 0);
  for (const k of ["--resume RUN_DIR", "jreg.alpha", "data.cacheDir", "evalEvery", "keepCheckpoints", "default 240"]) assert.ok(h.stdout.includes(k), k);
});

test.run();
