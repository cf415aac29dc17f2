// `jreg sweep`: grid parsing and merging, a 2-setting × 2-seed sweep of a tiny
// model through the CLI (sequential), the aggregate recomputed from the run
// directories, resume (a deleted run restarted, a cut-back run resumed, with
// --jobs 2 child processes) and the report's sweep section.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, readFileSync, rmSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { parseGridAxis, expandGrid, planSweep, pairedTTest, mean, sampleSd } from "../dist/internal.js";
import { tinyWorkspace, tinyConfig, writeConfig, jreg, metricsWithoutTiming, checkpointSteps } from "./helpers/train-fixture.mjs";

test("grid axes: JSON values, arrays with commas, errors naming --grid", () => {
  assert.equal(parseGridAxis("jreg.alpha=0,0.1,1"), { key: "jreg.alpha", values: [0, 0.1, 1] });
  assert.equal(parseGridAxis("jreg.layers=[0,1,1],all,last-k").values, [[0, 1, 1], "all", "last-k"]);
  assert.throws(() => parseGridAxis("jreg.alpha"), /--grid jreg.alpha: expected KEY=V1,V2/);
  assert.throws(() => parseGridAxis("jreg.alpha=0,,1"), /empty value/);
  assert.throws(() => expandGrid([parseGridAxis("jreg.alpah=0,1")], undefined), /--grid jreg.alpah=0: unknown key "jreg.alpah" \(did you mean jreg.alpha\?\)/);
  assert.throws(() => expandGrid([parseGridAxis("seed=1,2")], undefined), /use --seeds/);
  assert.throws(() => expandGrid([parseGridAxis("jreg.layers=all,[1,2]")], undefined), /--grid jreg.layers=\[1,2\]: jreg.layers must have one weight per transition: 6/);
  const layers = expandGrid([parseGridAxis("jreg.alpha=0.1"), parseGridAxis("jreg.layers=last-k,all,[0,0,0,0,0.5,1]")], undefined);
  assert.equal(layers.map((s) => s.name), ["alpha-0.1_layers-last-k", "alpha-0.1_layers-all", "alpha-0.1_layers-0-0-0-0-0.5-1"]);
  assert.equal(layers[2].sets, ["jreg.alpha=0.1", "jreg.layers=[0,0,0,0,0.5,1]"]);
});

test("α = 0 settings that train identically are merged; names and seeds", () => {
  const settings = expandGrid([parseGridAxis("jreg.alpha=0,0.1"), parseGridAxis("jreg.normalize=none,middle")], undefined);
  assert.equal(settings.map((s) => s.name), ["alpha-0_normalize-none", "alpha-0.1_normalize-none", "alpha-0.1_normalize-middle"]);
  const runs = planSweep({ base: { seed: 5 }, grid: ["jreg.alpha=0,0.3"], seeds: 2, out: "/tmp/sw" });
  assert.equal(runs.map((r) => [r.name, r.config.seed, r.config.jreg.alpha, r.config.out]), [
    ["alpha-0-seed5", 5, 0, "/tmp/sw/alpha-0-seed5"],
    ["alpha-0-seed6", 6, 0, "/tmp/sw/alpha-0-seed6"],
    ["alpha-0.3-seed5", 5, 0.3, "/tmp/sw/alpha-0.3-seed5"],
    ["alpha-0.3-seed6", 6, 0.3, "/tmp/sw/alpha-0.3-seed6"],
  ]);
});

const finalEval = (dir) => metricsWithoutTiming(dir).map((l) => JSON.parse(l)).filter((r) => r.val_ce !== undefined).at(-1);

test("a 2 × 2 sweep: run directories, sweep.json recomputed from them, resume, report", async () => {
  const ws = await tinyWorkspace("jreg-sweep-");
  const cfg = writeConfig(ws, "base.json", tinyConfig(ws, { steps: 4, evalEvery: 0, saveEvery: 2, logEvery: 1, jreg: { alpha: 0 } }));
  const out = join(ws.dir, "sweep");
  const args = ["sweep", "--config", cfg, "--grid", "jreg.alpha=0,0.3", "--seeds", "2", "--out", out];
  const r = jreg(args);
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /4 runs \(0 already complete, 0 resumed, 4 new\)/);
  const names = ["alpha-0-seed1", "alpha-0-seed2", "alpha-0.3-seed1", "alpha-0.3-seed2"];
  for (const n of names) assert.equal(checkpointSteps(join(out, n)), [2, 4], `${n} checkpoints`);
  const agg = JSON.parse(readFileSync(join(out, "sweep.json"), "utf8"));
  assert.is(agg.settings.length, 2);
  const [base, treat] = agg.settings;
  assert.is(base.baseline, null);
  assert.is(treat.baseline, "alpha-0");
  // recompute means, sds and the paired t-test from the runs' own metrics
  const ev = Object.fromEntries(names.map((n) => [n, finalEval(join(out, n))]));
  const ce0 = [ev["alpha-0-seed1"].val_ce, ev["alpha-0-seed2"].val_ce];
  const ce1 = [ev["alpha-0.3-seed1"].val_ce, ev["alpha-0.3-seed2"].val_ce];
  assert.ok(Math.abs(base.val_ce.mean - mean(ce0)) < 1e-12 && Math.abs(base.val_ce.sd - sampleSd(ce0)) < 1e-12);
  assert.ok(ce0[0] !== ce1[0], "α changes training");
  const d = [ce1[0] - ce0[0], ce1[1] - ce0[1]];
  const t = treat.vsBaseline.val_ce.tTest;
  assert.ok(Math.abs(t.meanDiff - (d[0] + d[1]) / 2) < 1e-12);
  assert.ok(Math.abs(t.t - mean(d) / (sampleSd(d) / Math.sqrt(2))) < 1e-9);
  assert.is(t.df, 1);
  // df 1: p = 1 − 2·atan(|t|)/π
  assert.ok(Math.abs(t.p - (1 - (2 * Math.atan(Math.abs(t.t))) / Math.PI)) < 1e-12);
  assert.equal(treat.vsBaseline.J_angular.tTest.meanDiff, pairedTTest([ev["alpha-0.3-seed1"].J_angular, ev["alpha-0.3-seed2"].J_angular], [ev["alpha-0-seed1"].J_angular, ev["alpha-0-seed2"].J_angular]).meanDiff);
  // the bootstrap's units: per-window CE of the final checkpoint, averaging to the run's val CE
  const win = JSON.parse(readFileSync(join(out, "alpha-0-seed1", "val-windows.json"), "utf8"));
  assert.is(win.window_ce.length, 4, "evalBatches 2 × batchSize 2 windows");
  assert.ok(Math.abs(mean(win.window_ce) - ce0[0]) < 1e-5, `windows average to val_ce: ${mean(win.window_ce)} vs ${ce0[0]}`);
  const b = treat.vsBaseline.val_ce.bootstrap;
  assert.ok(b.ci[0] <= b.meanDiff + 1e-12 && b.meanDiff <= b.ci[1] + 1e-12 && b.p > 0 && b.p <= 1);
  assert.match(agg.methods.bootstrap, /paired bootstrap over validation windows/);
  assert.match(readFileSync(join(out, "sweep.txt"), "utf8"), /jreg\.alpha=0\.3 .*paired t-test over seeds/s);
  assert.is(treat.early_exit_ce.length, 2);
  const before = metricsWithoutTiming(join(out, "alpha-0.3-seed2"));

  // resume: one run deleted, one cut back to its step-2 checkpoint; --jobs 2 child processes
  rmSync(join(out, "alpha-0-seed2"), { recursive: true });
  rmSync(join(out, "alpha-0.3-seed2", "checkpoint-4"), { recursive: true });
  rmSync(join(out, "alpha-0.3-seed2", "val-windows.json"));
  const r2 = jreg([...args, "--jobs", "2"]);
  assert.is(r2.status, 0, r2.stderr);
  assert.match(r2.stdout, /4 runs \(2 already complete, 1 resumed, 1 new\)/);
  assert.ok(existsSync(join(out, "logs", "alpha-0.3-seed2.log")));
  assert.equal(metricsWithoutTiming(join(out, "alpha-0.3-seed2")), before, "the resumed run equals the uninterrupted one");
  const agg2 = JSON.parse(readFileSync(join(out, "sweep.json"), "utf8"));
  assert.equal(agg2.settings[1].vsBaseline.val_ce.tTest, t, "same numbers after resume");

  // the report of a sweep directory: its runs plus the sweep table
  const rep = jreg(["report", out, "--out", join(ws.dir, "report.html")]);
  assert.is(rep.status, 0, rep.stderr);
  const html = readFileSync(join(ws.dir, "report.html"), "utf8");
  assert.match(html, /Sweep/);
  assert.match(html, /paired bootstrap over validation windows/);
  for (const n of names) assert.match(html, new RegExp(n.replace(/\./g, "\\.")));
  rmSync(ws.dir, { recursive: true });
});

test.run();
