// report.html, rendered from synthetic run directories, opened from a file:// URL in
// headless Chromium: every chart drew (its uPlot has the expected series and its
// canvas holds the runs' colours), no console errors, and no network request.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { chromiumAvailable, launchChromium } from "./helpers/browser.mjs";
import { bundleReport, writeSyntheticRuns } from "./helpers/report-runs.mjs";

const COLORS = ["#0072B2", "#D55E00"]; // the first two run colours (host/report/colors.ts)

test("report.html draws every chart from file:// with no console errors and no network", async () => {
  assert.ok(chromiumAvailable(), "Chromium is required for this test (.ci/run installs Debian's chromium)");
  const { base, dirs } = await writeSyntheticRuns();
  const report = await bundleReport();
  const runs = await Promise.all(dirs.map((d) => report.load.loadRun(d)));
  const file = join(base, "runs", "report.html");
  await writeFile(file, report.html.renderReport(runs, { generatedAt: null }));
  const url = pathToFileURL(file).href;

  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = [];
    const requests = [];
    page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") errors.push(`console.${m.type()}: ${m.text()}`); });
    page.on("pageerror", (e) => errors.push(`pageerror: ${e}`));
    page.on("request", (r) => requests.push(r.url()));
    await page.goto(url);
    await page.waitForFunction(() => window.jregReport !== undefined, null, { timeout: 20_000 });

    const charts = await page.evaluate((colors) => {
      const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
      const targets = colors.map(rgb);
      return [...document.querySelectorAll("[data-chart]")].map((el) => {
        const canvases = [...el.querySelectorAll("canvas")];
        const perCanvas = canvases.map((c) => {
          const { data } = c.getContext("2d").getImageData(0, 0, c.width, c.height);
          let painted = 0;
          const hits = targets.map(() => 0);
          for (let p = 0; p < data.length; p += 4) {
            if (data[p + 3] === 0) continue;
            painted++;
            targets.forEach(([r, g, b], k) => {
              if (Math.abs(data[p] - r) < 24 && Math.abs(data[p + 1] - g) < 24 && Math.abs(data[p + 2] - b) < 24) hits[k]++;
            });
          }
          return { painted, hits };
        });
        return {
          name: el.dataset.chart,
          plots: el.querySelectorAll(".uplot").length,
          titles: [...el.querySelectorAll(".u-title")].map((t) => t.textContent),
          legendRows: [...el.querySelectorAll(".u-legend")].map((l) => l.querySelectorAll("tr.u-series").length),
          perCanvas,
        };
      });
    }, COLORS);

    // Expected series per chart (x included in the legend rows): loss (whole run and
    // second half) 1 + 2 per run;
    // profiles 1 + 5 snapshots of 6 evaluations (first, 25 %, 50 %, 75 %, last);
    // J 1 + 2 per run + the J = 1 line; early exit 1 + 1 per run.
    const expected = { loss: [5, 5], "profile-angular": [6, 6], "profile-cosine": [6, 6], jump: [6], "early-exit": [3] };
    assert.equal(charts.map((c) => c.name), Object.keys(expected));
    for (const c of charts) {
      assert.is(c.plots, expected[c.name].length, `${c.name}: uPlot instances`);
      assert.equal(c.legendRows, expected[c.name], `${c.name}: legend rows`);
      assert.ok(c.titles.every((t) => t.length > 5), `${c.name}: titled`);
      c.perCanvas.forEach((pc, i) => {
        assert.ok(pc.painted > 5000, `${c.name}[${i}]: canvas painted (${pc.painted} px)`);
        // A profile chart shows one run (its own colour); the others show both runs.
        const want = c.name.startsWith("profile") ? [i] : [0, 1];
        for (const k of want) assert.ok(pc.hits[k] > 100, `${c.name}[${i}]: run ${k}'s colour drawn (${pc.hits[k]} px)`);
      });
    }
    const seriesCounts = await page.evaluate(() => window.jregReport.charts.plots.map((p) => p.series.length));
    assert.equal(seriesCounts, [5, 5, 6, 6, 6, 6, 6, 3]);

    // The final table is static HTML with the last evaluation's numbers.
    const rows = await page.$$eval("table.summary tbody tr", (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
    assert.is(rows[0][0], "baseline");
    assert.is(rows[0][5], runs[0].evals.at(-1).val_ce.toFixed(3));
    assert.is(rows[1][6], Math.exp(runs[1].evals.at(-1).val_ce).toFixed(1));
    assert.is(await page.$$eval("details", (d) => d.length), 2, "one collapsible config per run");

    assert.equal(errors, [], errors.join("\n"));
    assert.equal(requests, [url], `only the file itself is loaded, got ${requests.join(", ")}`);

    const shot = process.env.REPORT_SCREENSHOT ?? join(tmpdir(), "jreg-report.png");
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`screenshot: ${shot}`);
  } finally {
    await browser.close();
  }
});

test("live updates: new values redraw in place, a new structure rebuilds; hostile names stay text", async () => {
  const { base } = await writeSyntheticRuns();
  const report = await bundleReport();
  const { syntheticConfig, syntheticRecords } = await import("./helpers/report-runs.mjs");
  const name = `<img src=x onerror="window.pwned=1">`;
  const runs = [report.runData.runFromRecords(name, syntheticConfig("x", 0), syntheticRecords({ alpha: 0, seed: 3 }))];
  const file = join(base, "live.html");
  await writeFile(file, report.html.renderReport(runs, { generatedAt: null }));
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors = [];
    const requests = [];
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("request", (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(file).href);
    await page.waitForFunction(() => window.jregReport !== undefined);
    const r = await page.evaluate(() => {
      const { runs, charts } = window.jregReport;
      const before = charts.plots;
      const legendHasName = document.querySelector("[data-chart=loss] .u-legend").textContent.includes("<img");
      // Training went on only to step 200 of the train points: same series, new values.
      charts.update([{ ...runs[0], train: runs[0].train.slice(0, 200) }]);
      const sameInstances = charts.plots.every((p, i) => p === before[i]);
      const lossPoints = charts.plots[0].data[0].length;
      // Three evaluations only: the profile's snapshots change, so those charts are rebuilt.
      charts.update([{ ...runs[0], evals: runs[0].evals.slice(0, 3) }]);
      const after = charts.plots;
      const profileSeries = after[2].series.length;
      const rebuilt = after[2] !== before[2];
      const lossKept = after[0] === before[0];
      const uplotsBefore = document.querySelectorAll(".uplot").length;
      charts.destroy();
      return { legendHasName, sameInstances, lossPoints, profileSeries, rebuilt, lossKept, uplotsBefore, uplotsAfter: document.querySelectorAll(".uplot").length, pwned: window.pwned };
    });
    assert.ok(r.legendHasName, "the name is shown as text in the legend");
    assert.is(r.pwned, undefined, "no markup from a run name ran");
    assert.ok(r.sameInstances, "setData in place when only values change");
    assert.is(r.lossPoints, 202, "steps 1..200 and the evaluations at 250 and 300");
    assert.ok(r.rebuilt && r.lossKept, "only the charts whose series changed are rebuilt");
    assert.is(r.profileSeries, 4, "x + snapshots at the first, middle and last of 3 evaluations");
    assert.is(r.uplotsBefore, 6, "loss ×2, angular, cosine, J, early exit");
    assert.is(r.uplotsAfter, 0, "destroy removes every chart");
    assert.equal(errors, []);
    assert.equal(requests, [pathToFileURL(file).href]);
  } finally {
    await browser.close();
  }
});

test.run();
