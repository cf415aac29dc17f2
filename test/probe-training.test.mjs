// The layer probe inside training (run config `probe`): probe_accuracy per layer
// in metrics.jsonl at evaluation points, training unchanged by it, the report's
// probe table, and the sweep aggregate's mean ± sd over seeds.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { aggregateSweep, sweepTable } from "../dist/internal.js";
import { resolveRunConfig } from "../dist/index.js";
import { bundleReport } from "./helpers/report-runs.mjs";
import { finalWeights, jreg, tinyConfig, tinyWorkspace, writeConfig } from "./helpers/train-fixture.mjs";

const ws = await tinyWorkspace("jreg-probe-train-");
const { runData: { runFromRecords } } = await bundleReport();
const records = (dir) => readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
const PROBE = { enabled: true, maxWords: 300, epochs: 2 };

function train(name, over) {
  const out = join(ws.dir, name);
  const r = jreg(["train", "--config", writeConfig(ws, `${name}.json`, tinyConfig(ws, { out, steps: 6, evalEvery: 3, saveEvery: 6, ...over }))]);
  assert.is(r.status, 0, r.stderr);
  return { out, stderr: r.stderr };
}

test("probe.enabled: every evaluation line gets probe_accuracy per h_l and the baseline; training is unchanged", () => {
  const plain = train("plain", {});
  const probed = train("probed", { probe: PROBE });
  const lines = records(probed.out);
  const evals = lines.filter((r) => "val_ce" in r);
  assert.equal(evals.map((r) => r.step), [0, 3, 6]);
  for (const r of evals) {
    assert.is(r.probe_accuracy.length, 3, "h_0, h_1, h_2 of the 2-layer model");
    assert.is(r.probe_train_accuracy.length, 3);
    for (const a of [...r.probe_accuracy, ...r.probe_train_accuracy, r.probe_baseline]) assert.ok(a > 0 && a < 1, String(a));
    // the embedding alone beats the majority tag on POS
    assert.ok(r.probe_accuracy[0] > r.probe_baseline + 0.1, JSON.stringify(r));
  }
  // step 0 and step 6 differ: the probe reads the weights of its evaluation
  assert.not.equal(evals[0].probe_accuracy, evals[2].probe_accuracy);
  // the probe only reads: weights and every other metric are those of the run without it
  assert.ok(finalWeights(plain.out, 6).equals(finalWeights(probed.out, 6)));
  const strip = (r) => {
    const { tokensPerSecond, probe_accuracy, probe_train_accuracy, probe_baseline, ...rest } = r;
    return rest;
  };
  assert.equal(lines.map(strip), records(plain.out).map(strip));
  assert.not.ok(records(plain.out).some((r) => "probe_accuracy" in r));
  assert.match(probed.stderr, /eval at step 6: .*probe acc % \d+\.\d \d+\.\d \d+\.\d \(baseline \d+\.\d\)/);
  // jreg probe on the run (the layer-streaming forward) gives the numbers the run logged (the in-memory model)
  const cli = jreg(["probe", probed.out, "--tags", "coarse", "--max-words", "300", "--epochs", "2", "--seed", "1", "--json"]);
  assert.is(cli.status, 0, cli.stderr);
  const p = JSON.parse(cli.stdout);
  assert.equal(p.layers.map((l) => l.val_accuracy), evals[2].probe_accuracy);
  assert.equal(p.layers.map((l) => l.train_accuracy), evals[2].probe_train_accuracy);
  assert.is(p.baseline.val_accuracy, evals[2].probe_baseline);
  // deterministic: the same run again writes the same probe numbers
  const again = train("probed-again", { probe: PROBE });
  assert.equal(records(again.out).map((r) => r.probe_accuracy), lines.map((r) => r.probe_accuracy));
});

test("probe.everyEval false: only the final evaluation is probed", () => {
  const { out } = train("final-only", { probe: { ...PROBE, everyEval: false } });
  const evals = records(out).filter((r) => "val_ce" in r);
  assert.equal(evals.map((r) => [r.step, "probe_accuracy" in r]), [[0, false], [3, false], [6, true]]);
});

test("jreg report shows the latest probed evaluation per run (table and HTML)", () => {
  const html = join(ws.dir, "report.html");
  const r = jreg(["report", join(ws.dir, "probed"), join(ws.dir, "final-only"), "--out", html]);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /probe val accuracy % per layer h_l \(latest probed evaluation, step 6\)/);
  assert.match(r.stdout, /^0 \(emb\)\s+\d+\.\d\s+\d+\.\d\s+[+-]\d+\.\d$/m);
  assert.match(r.stdout, /^majority tag\s+\d+\.\d\s+\d+\.\d/m);
  const page = readFileSync(html, "utf8");
  assert.match(page, /<section id="probe">/);
  const probed = records(join(ws.dir, "probed")).filter((x) => x.probe_accuracy).at(-1);
  assert.ok(page.includes(`<td>${(100 * probed.probe_accuracy[1]).toFixed(1)}</td>`));
  // runs without the probe: no probe block
  const plain = jreg(["report", join(ws.dir, "plain"), "--out", join(ws.dir, "plain.html")]);
  assert.is(plain.status, 0, plain.stderr);
  assert.not.match(plain.stdout, /probe val accuracy/);
  assert.not.match(readFileSync(join(ws.dir, "plain.html"), "utf8"), /<section id="probe">/);
});

test("sweep aggregate: mean ± sd over seeds of the final probe accuracy per layer; no probe column without it", () => {
  const ev = (step, probe) => ({ step, val_ce: 5, D_angular: [0.1, 0.2], D_cosine: [0.1, 0.2], early_exit_ce: [5, 5], J_angular: 1, J_cosine: 1, ...probe });
  const cfg = (alpha) => resolveRunConfig({ steps: 10, jreg: { alpha } });
  const results = [
    [0, 1, [0.5, 0.6, 0.7], 0.2],
    [0, 2, [0.7, 0.6, 0.5], 0.3],
    [1, 1, [0.4, 0.8, 0.6], 0.2],
    [1, 2, [0.6, 0.8, 0.8], 0.3],
  ].map(([alpha, seed, acc, base]) => ({
    name: `a${alpha}-s${seed}`,
    setting: { name: `a${alpha}`, label: `jreg.alpha=${alpha}`, values: { "jreg.alpha": alpha } },
    seed,
    config: cfg(alpha),
    data: runFromRecords("x", {}, [ev(5, { probe_accuracy: [0, 0, 0], probe_baseline: 0 }), ev(10, { probe_accuracy: acc, probe_baseline: base })]),
    windowCe: [5, 5],
  }));
  const agg = aggregateSweep(results);
  const a0 = agg.settings.find((s) => s.name === "a0");
  assert.equal(a0.probe_accuracy.map((m) => m.mean.toFixed(6)), ["0.600000", "0.600000", "0.600000"]);
  assert.equal(a0.probe_accuracy.map((m) => m.sd.toFixed(6)), [Math.SQRT2 * 0.1, 0, Math.SQRT2 * 0.1].map((x) => x.toFixed(6)));
  assert.is(a0.probe_baseline.mean.toFixed(6), "0.250000");
  const a1 = agg.settings.find((s) => s.name === "a1");
  assert.equal(a1.probe_accuracy.map((m) => m.mean.toFixed(6)), ["0.500000", "0.800000", "0.700000"]);
  const text = sweepTable(agg);
  assert.match(text, /probe acc % per layer h_0\.\.h_L \(majority tag\)/);
  assert.ok(text.includes("60.0±14.1 60.0±0.0 60.0±14.1 (25.0±7.1)"), text);
  // the same sweep without probe fields: no column, no field
  const plain = aggregateSweep(results.map((r) => ({ ...r, data: runFromRecords("x", {}, [ev(10, {})]) })));
  assert.is(plain.settings[0].probe_accuracy, undefined);
  assert.not.match(sweepTable(plain), /probe acc/);
});

test("run config probe: typed keys with named errors", () => {
  assert.equal(resolveRunConfig({}).probe, { enabled: false, everyEval: true, maxWords: 4000, tags: "coarse", epochs: 10 });
  assert.is(resolveRunConfig({}, ["probe.enabled=true", "probe.tags=full"]).probe.tags, "full");
  assert.throws(() => resolveRunConfig({}, ["probe.enabled=yes"]), /--set probe.enabled=yes: probe.enabled must be true or false, got "yes"/);
  assert.throws(() => resolveRunConfig({ probe: { maxWord: 3 } }), /unknown key "probe.maxWord" \(did you mean probe.maxWords\?\)/);
  assert.throws(() => resolveRunConfig({ probe: { maxWords: 0 } }), /probe.maxWords must be an integer ≥ 1, got 0/);
  assert.throws(() => resolveRunConfig({ probe: { tags: "fine" } }), /probe.tags must be one of "full", "coarse"/);
});

test.after(() => {
  if (existsSync(ws.dir)) rmSync(ws.dir, { recursive: true, force: true });
});

test.run();
