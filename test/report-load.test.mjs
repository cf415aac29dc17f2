// loadRun and parseMetricsJsonl: run directories into RunData, and errors that
// name the file at fault.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bundleReport, syntheticConfig, syntheticRecords, writeSyntheticRuns } from "./helpers/report-runs.mjs";

const { load, runData } = await bundleReport();
const { dirs, runs: written } = await writeSyntheticRuns();

async function runDir(files) {
  const dir = await mkdtemp(join(tmpdir(), "jreg-run-"));
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

async function rejects(promise, pattern) {
  try {
    await promise;
  } catch (e) {
    assert.match(e.message, pattern);
    return e.message;
  }
  assert.unreachable(`expected an error matching ${pattern}`);
}

test("loadRun reads both forms of evaluation lines and drops a torn last line", async () => {
  for (const [i, dir] of dirs.entries()) {
    const run = await load.loadRun(dir);
    const records = written[i].records;
    const evalRecords = records.filter((r) => r.val_ce !== undefined);
    assert.is(run.name, written[i].name);
    assert.equal(run.config, syntheticConfig(written[i].name, written[i].alpha));
    assert.is(run.train.length, 300);
    assert.equal(run.train.map((p) => p.step), Array.from({ length: 300 }, (_, k) => k + 1), "no step 301 from the torn line");
    assert.equal(run.evals.map((e) => e.step), [50, 100, 150, 200, 250, 300]);
    const last = run.evals.at(-1);
    const want = evalRecords.at(-1);
    assert.is(last.val_ce, want.val_ce);
    assert.equal(last.D_angular, want.D_angular);
    assert.equal(last.D_cosine, want.D_cosine);
    assert.equal(last.early_exit_ce, want.early_exit_ce);
    assert.is(last.J_angular, want.J_angular);
    const step300 = records.find((r) => r.step === 300 && r.loss !== undefined);
    assert.is(run.train.at(-1).loss, step300.loss, "the training fields of a step survive the merge with its eval line");
    assert.is(run.train.at(-1).tokensPerSecond, step300.tokensPerSecond);
  }
});

test("a run with no name in its config is named after its directory", async () => {
  const { name, ...config } = syntheticConfig("x", 0);
  const parent = await mkdtemp(join(tmpdir(), "jreg-run-"));
  const dir = join(parent, "my-run");
  await mkdir(dir);
  await writeFile(join(dir, "config.json"), JSON.stringify(config));
  await writeFile(join(dir, "metrics.jsonl"), syntheticRecords({ alpha: 0, steps: 10, evalEvery: 5 }).map((r) => JSON.stringify(r)).join("\n"));
  const run = await load.loadRun(`${dir}/`);
  assert.is(run.name, "my-run");
  assert.is(run.evals.length, 2);
});

test("errors name the directory or file", async () => {
  const good = JSON.stringify(syntheticConfig("r", 0));
  const metrics = syntheticRecords({ alpha: 0, steps: 4, evalEvery: 2 }).map((r) => JSON.stringify(r)).join("\n") + "\n";
  const missing = join(tmpdir(), "jreg-no-such-run-dir");
  await rejects(load.loadRun(missing), new RegExp(`run directory ${missing} does not exist`));

  const a = await runDir({ "metrics.jsonl": metrics });
  await rejects(load.loadRun(join(a, "metrics.jsonl")), /metrics\.jsonl is not a run directory/);
  await rejects(load.loadRun(a), new RegExp(`${a}/config\\.json is missing`));

  const b = await runDir({ "config.json": "{ nope", "metrics.jsonl": metrics });
  await rejects(load.loadRun(b), new RegExp(`${b}/config\\.json is not valid JSON`));

  const c = await runDir({ "config.json": "[1, 2]", "metrics.jsonl": metrics });
  await rejects(load.loadRun(c), new RegExp(`${c}/config\\.json must hold a JSON object`));

  const d = await runDir({ "config.json": good });
  await rejects(load.loadRun(d), new RegExp(`${d}/metrics\\.jsonl is missing`));

  const e = await runDir({ "config.json": good, "metrics.jsonl": "\n\n" });
  await rejects(load.loadRun(e), new RegExp(`${e}/metrics\\.jsonl holds no metrics`));

  const lines = metrics.trim().split("\n");
  lines.splice(1, 0, '{"step": 2, "loss": ');
  const f = await runDir({ "config.json": good, "metrics.jsonl": lines.join("\n") });
  await rejects(load.loadRun(f), new RegExp(`${f}/metrics\\.jsonl:2: not valid JSON`));
});

test("parseMetricsJsonl: records need a numeric step; only the last line may be torn", () => {
  assert.equal(runData.parseMetricsJsonl('{"step":1,"loss":2}\n{"step":2,"lo'), [{ step: 1, loss: 2 }]);
  assert.equal(runData.parseMetricsJsonl('{"step":1,"loss":2}\n\n{"step":2,"loss":1}\n\n'), [{ step: 1, loss: 2 }, { step: 2, loss: 1 }]);
  assert.throws(() => runData.parseMetricsJsonl('{"loss":2}\n{"step":2}', "m.jsonl"), /m\.jsonl:1: expected an object with a numeric "step"/);
  assert.throws(() => runData.parseMetricsJsonl('[1]\n{"step":2}', "m.jsonl"), /m\.jsonl:1:/);
});

test("runFromRecords keeps only complete evaluations and sorts by step", () => {
  const run = runData.runFromRecords("r", {}, [
    { step: 2, loss: 3, ce: 3 },
    { step: 1, loss: 4, ce: 4 },
    { step: 2, val_ce: 3.5, D_angular: [0.1, 0.2], D_cosine: [0.01, 0.02], J_angular: 2, J_cosine: 2, early_exit_ce: [4, 3.5] },
    { step: 1, val_ce: 3.9 }, // incomplete: no profile
  ]);
  assert.equal(run.train.map((p) => p.step), [1, 2]);
  assert.equal(run.evals.map((e) => e.step), [2]);
  assert.is(run.train[1].loss, 3);
});

test.run();
