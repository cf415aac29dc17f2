// The report page's script (bundled into an IIFE and inlined into report.html):
// reads the runs from the page's JSON data block and draws every chart.
import { drawCharts } from "./charts.ts";
import type { RunData } from "./run-data.ts";

const data = document.getElementById("jreg-report-data");
if (!data) throw new Error("report.html has no #jreg-report-data block");
const runs = JSON.parse(data.textContent ?? "[]") as RunData[];
const charts = drawCharts(document, runs);
// Exposed so that tests (and curious readers in the console) can inspect the plots.
(globalThis as { jregReport?: unknown }).jregReport = { runs, charts };
