// The report's "where the largest D_l sits" table and its helper.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { largestTransition, largestJumpTracks } from "../dist/internal.js";
import { bundleReport } from "./helpers/report-runs.mjs";

const { html: { renderReport }, runData: { runFromRecords } } = await bundleReport();

const ev = (step, Da, Dc) => ({ step, val_ce: 5, D_angular: Da, D_cosine: Dc, J_angular: 1, J_cosine: 1, early_exit_ce: Da.map(() => 5) });

test("largestTransition: 1-based, first on ties", () => {
  assert.is(largestTransition([0.1, 0.3, 0.2]), 2);
  assert.is(largestTransition([0.5, 0.1, 0.5]), 1);
  assert.is(largestTransition([0.1, 0.2, 0.9]), 3);
});

test("the report shows, per run and evaluation step, the transition of the largest D_l", () => {
  const a = runFromRecords("jump-moves", {}, [ev(0, [0.1, 0.2, 0.3], [0.1, 0.2, 0.3]), ev(10, [0.1, 0.4, 0.3], [0.1, 0.2, 0.3])]);
  const b = runFromRecords("baseline", {}, [ev(0, [0.3, 0.2, 0.1], [0.3, 0.2, 0.1]), ev(10, [0.1, 0.2, 0.5], [0.1, 0.2, 0.5])]);
  assert.equal(largestJumpTracks([a, b]).map((t) => t.points.map((p) => [p.step, p.angular, p.cosine])), [
    [[0, 3, 3], [10, 2, 3]],
    [[0, 1, 1], [10, 3, 3]],
  ]);
  const html = renderReport([a, b], { generatedAt: null });
  assert.match(html, /Where the largest D<sub>l<\/sub> sits/);
  const table = html.slice(html.indexOf("Transition l with the largest"));
  const rowOf = (name) => table.slice(table.indexOf(name), table.indexOf("</tr>", table.indexOf(name)));
  assert.match(rowOf("jump-moves"), /<td>3<\/td><td>2 <span class="note">\(cos 3\)<\/span><\/td>/);
  assert.match(rowOf("baseline"), /<td>1<\/td><td>3<\/td>/);
});

test.run();
