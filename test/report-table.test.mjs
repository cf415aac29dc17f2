// comparisonTable: the terminal table that `npm start` prints at the end.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { bundleReport, syntheticConfig, syntheticRecords } from "./helpers/report-runs.mjs";

const { table, runData } = await bundleReport();

const run = (name, alpha, layers, seed) =>
  runData.runFromRecords(name, syntheticConfig(name, alpha), syntheticRecords({ alpha, layers, seed }));

const cells = (line) => line.split(/\s+/).filter((c) => c !== "" && c !== "│");

test("two runs, 6 and 8 layers: fits 100 columns, every number from the last evaluation", () => {
  for (const layers of [6, 8]) {
    const runs = [run("baseline", 0, layers, 1), run("jreg-alpha-3-long-name", 3, layers, 2)];
    const text = table.comparisonTable(runs);
    const lines = text.split("\n");
    for (const line of lines) assert.ok([...line].length <= 100, `${[...line].length} columns: ${line}`);
    const [a, b] = runs.map((r) => r.evals.at(-1));
    const row = (label) => cells(lines.find((l) => l.startsWith(label + " ")).slice(label.length));
    assert.equal(row("val CE"), [a.val_ce.toFixed(3), b.val_ce.toFixed(3), `${b.val_ce - a.val_ce >= 0 ? "+" : ""}${(b.val_ce - a.val_ce).toFixed(3)}`]);
    assert.equal(row("perplexity").slice(0, 2), [Math.exp(a.val_ce).toFixed(1), Math.exp(b.val_ce).toFixed(1)]);
    assert.equal(row("J angular").slice(0, 2), [a.J_angular.toFixed(3), b.J_angular.toFixed(3)]);
    assert.equal(row("J cosine").slice(0, 2), [a.J_cosine.toFixed(3), b.J_cosine.toFixed(3)]);
    assert.ok(lines[0].includes("jreg-alpha-…"), "long names are shortened");

    const header = lines.findIndex((l) => l.startsWith("layer"));
    const layerLines = lines.slice(header + 1, header + 1 + layers);
    const sepColumn = lines[header].indexOf("│");
    for (let l = 0; l < layers; l++) {
      const c = cells(layerLines[l]);
      assert.is(c[0], String(l + 1));
      assert.equal(c.slice(1, 3), [a.D_angular[l].toFixed(4), b.D_angular[l].toFixed(4)], `D_${l + 1}`);
      assert.equal(c.slice(4, 6), [a.early_exit_ce[l].toFixed(3), b.early_exit_ce[l].toFixed(3)], `early exit ${l + 1}`);
      assert.is(layerLines[l].indexOf("│"), sepColumn, "the two halves stay aligned");
    }
    // Right-aligned columns: each number of a column ends at the same place.
    const ends = layerLines.map((line) => line.indexOf(cells(line)[1]) + cells(line)[1].length);
    assert.ok(ends.every((e) => e === ends[0]), "right-aligned");
  }
});

test("one run: no Δ column; a run without evaluations shows dashes", () => {
  const single = table.comparisonTable([run("solo", 0, 6, 1)]);
  assert.not.ok(single.includes("Δ"));
  const noEval = runData.runFromRecords("fresh", {}, syntheticRecords({ alpha: 0, steps: 20, evalEvery: 1000 }));
  const text = table.comparisonTable([noEval]);
  assert.match(text, /val CE\s+–/);
  assert.not.match(text, /^layer/m);
  assert.is(table.comparisonTable([]), "(no runs)");
});

test.run();
