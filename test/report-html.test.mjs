// renderReport in Node: one self-contained file (no URL anywhere, scripts and data
// inline), the final table, the configs, escaping of names.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFile } from "node:fs/promises";
import { bundleReport, syntheticConfig, syntheticRecords } from "./helpers/report-runs.mjs";

const { html, runData } = await bundleReport();
const run = (name, alpha, seed) => runData.runFromRecords(name, syntheticConfig(name, alpha), syntheticRecords({ alpha, seed }));
const runs = [run("baseline", 0, 1), run("jreg-a3", 3, 2)];

test("self-contained: no URL of any kind, no external script, style or image", () => {
  const page = html.renderReport(runs, { generatedAt: null });
  assert.not.match(page, /https?:\/\//i, "no http(s) URL, not even in a comment");
  assert.not.match(page, /<(link|img|iframe|object|embed)\b/i);
  assert.not.match(page, /<script[^>]*\bsrc=/i);
  assert.not.match(page, /@import|url\(/i);
  assert.is(page.match(/<script\b/g).length, 2, "the data block and the chart script");
  assert.ok(page.length > 60_000 && page.length < 400_000, `size ${page.length}`);
});

test("the chart script is the bundled page script, inlined with uPlot's licence", async () => {
  const page = html.renderReport(runs, { generatedAt: null });
  const script = page.slice(page.lastIndexOf("<script>") + 8, page.lastIndexOf("</script>"));
  assert.ok(script.length > 40_000, "uPlot and the charts are inlined");
  assert.ok(script.includes("jreg-report-data"), "the page script reads the data block");
  const license = await readFile(new URL("../node_modules/uplot/LICENSE", import.meta.url), "utf8");
  assert.ok(page.includes(license.split("\n")[2].trim()), "uPlot's copyright line");
  assert.ok(page.includes("THE SOFTWARE IS PROVIDED"), "the licence text");
});

test("the data block round-trips the series; the config is rendered as text", () => {
  const page = html.renderReport(runs, { generatedAt: null });
  const m = /<script type="application\/json" id="jreg-report-data">([^<]*)<\/script>/.exec(page);
  assert.ok(m, "a JSON data block with no raw '<'");
  const data = JSON.parse(m[1]);
  assert.equal(data.map((r) => r.name), ["baseline", "jreg-a3"]);
  const round = (v) => JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === "number" && !Number.isInteger(x) ? Number(x.toPrecision(5)) : x)));
  assert.equal(data[1].evals, round(runs[1].evals), "evaluations at 5 significant digits");
  assert.equal(data[0].train, round(runs[0].train.map(({ step, loss, ce }) => ({ step, loss, ce }))), "train step, loss and CE");
  assert.ok(page.includes("&quot;alpha&quot;: 3"), "the config as escaped JSON text");
  assert.is(page.match(/<details>/g).length, 2);
});

test("the final table: val CE, perplexity, J, D_L and tokens/s of each run", () => {
  const page = html.renderReport(runs, { generatedAt: null });
  const rows = [...page.matchAll(/<tr><th scope="row">.*?<\/tr>/g)].map((m) => [...m[0].matchAll(/<td[^>]*>([^<]*)<\/td>/g)].map((c) => c[1]));
  const [a, b] = runs.map((r) => r.evals.at(-1));
  // columns: α, steps, train loss, train CE, val CE, perplexity, J angular, J cosine, D_L, tokens/s
  assert.equal(rows[0].slice(0, 2), ["0.00", "300"]);
  assert.equal(rows[1].slice(4, 9), [b.val_ce.toFixed(3), Math.exp(b.val_ce).toFixed(1), b.J_angular.toFixed(3), b.J_cosine.toFixed(3), b.D_angular.at(-1).toFixed(4)]);
  const tail = runs[0].train.slice(-10);
  assert.is(rows[0][2], (tail.reduce((s, p) => s + p.loss, 0) / 10).toFixed(3));
  const tps = runs[0].train.map((p) => p.tokensPerSecond).sort((x, y) => x - y);
  assert.is(rows[0][9], String(Math.round((tps[149] + tps[150]) / 2)).replace(/\B(?=(\d{3})+(?!\d))/g, ","));
  assert.is(rows[2].length, 6, "early-exit table: one cell per layer");
  assert.equal(rows[2], a.early_exit_ce.map((v) => v.toFixed(3)));
});

test("names are escaped in HTML and cannot close the data block", () => {
  const evil = runData.runFromRecords("</script><b>x</b>", {}, syntheticRecords({ alpha: 0, steps: 100 }));
  const page = html.renderReport([evil], { generatedAt: null });
  assert.not.ok(page.includes("<b>x</b>"));
  assert.ok(page.includes("&lt;/script&gt;&lt;b&gt;x&lt;/b&gt;"));
  assert.is(page.match(/<\/script>/g).length, 2);
});

test("reproducible without a date; a date is shown when given; no runs is an error", () => {
  assert.is(html.renderReport(runs, { generatedAt: null }), html.renderReport(runs, { generatedAt: null }));
  assert.ok(html.renderReport(runs, { generatedAt: new Date("2026-01-02T03:04:05Z") }).includes("generated 2026-01-02 03:04 UTC"));
  assert.ok(html.renderReport(runs, { title: "Sweep <α>" }).includes("<h1>Sweep &lt;α&gt;</h1>"));
  assert.throws(() => html.renderReport([]), /at least one run/);
});

test.run();
