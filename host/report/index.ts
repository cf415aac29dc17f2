// The report's Node/Deno side: load runs, render report.html, the terminal table.
// The browser charts are host/report/charts.ts (import it directly: it brings uPlot).
export { loadRun } from "./load.ts";
export { renderReport, type RenderOptions } from "./html.ts";
export { comparisonTable } from "./table.ts";
export { writeReport } from "./write.ts";
export { summarizeRun, type RunSummary } from "./summary.ts";
export { parseMetricsJsonl, runFromRecords, type EvalPoint, type MetricsRecord, type RunData, type TrainPoint } from "./run-data.ts";
