// renderReport: one self-contained HTML file comparing runs. Everything is
// inline (the chart script and its CSS come from the "jreg:report-assets" module
// that scripts/report-assets.mjs builds at bundle time; the data is a JSON block),
// so the file opens from disk with no network. The tables and texts are static
// HTML made here; the charts are drawn in the browser by charts.ts (via page.ts).
import { chartsCss, chartsLicense, chartsScript } from "jreg:report-assets";
import { runColor } from "./colors.ts";
import type { RunData } from "./run-data.ts";
import { fmt, fmtInt, FINAL_TRAIN_WINDOW, summarizeRun } from "./summary.ts";
import { sweepRows, type SweepAggregate } from "../research/sweep-aggregate.ts";
import { largestJumpTracks } from "./largest-jump.ts";

export interface RenderOptions {
  /** The page's heading (default "JREG training report"). */
  title?: string;
  /** Shown under the heading; default now. Pass null to leave it out (reproducible output). */
  generatedAt?: Date | null;
  /** Sweep aggregates (host/research/sweep-aggregate.ts) to show as tables, with their directories. */
  sweeps?: { dir: string; aggregate: SweepAggregate }[];
}

const escapeHtml = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");

/** Text that may sit inside <script>: no "</script" and no "<!--" can end or confuse the element. */
const escapeScript = (s: string) => s.replace(/<\/(script)/gi, "<\\/$1").replace(/<!--/g, "<\\!--");

/** Significant digits of the numbers in the data block: far finer than a chart's pixels. */
export const PLOT_DIGITS = 5;

/** JSON for a <script type="application/json"> block: "<" escaped, so no markup can close it. */
const jsonForScript = (v: unknown) =>
  JSON.stringify(v, (_key, x) => (typeof x === "number" && !Number.isInteger(x) ? Number(x.toPrecision(PLOT_DIGITS)) : x)).replace(/</g, "\\u003c");

function alphaOf(config: unknown): number | undefined {
  const a = (config as { jreg?: { alpha?: unknown } } | null)?.jreg?.alpha;
  return typeof a === "number" ? a : undefined;
}

function swatch(i: number): string {
  return `<span class="swatch" style="background:${runColor(i)}"></span>`;
}

function summaryTable(runs: RunData[]): string {
  const sums = runs.map(summarizeRun);
  const bestVal = Math.min(...sums.map((s) => (Number.isFinite(s.valCe) ? s.valCe : Infinity)));
  const rows = sums.map((s, i) => {
    const best = runs.length > 1 && s.valCe === bestVal ? ` class="best"` : "";
    return `<tr><th scope="row">${swatch(i)}${escapeHtml(s.name)}</th>` +
      `<td>${fmt(alphaOf(runs[i].config), 2)}</td><td>${s.steps}</td>` +
      `<td>${fmt(s.trainLoss, 3)}</td><td>${fmt(s.trainCe, 3)}</td>` +
      `<td${best}>${fmt(s.valCe, 3)}</td><td${best}>${fmt(s.perplexity, 1)}</td>` +
      `<td>${fmt(s.J_angular, 3)}</td><td>${fmt(s.J_cosine, 3)}</td><td>${fmt(s.D_L_angular, 4)}</td>` +
      `<td>${fmtInt(s.tokensPerSecond)}</td></tr>`;
  });
  return `<table class="summary">
<thead><tr><th scope="col">run</th><th scope="col">α</th><th scope="col">steps</th>
<th scope="col" title="CE + α·R, mean of the last ${FINAL_TRAIN_WINDOW} logged steps">train loss</th>
<th scope="col" title="mean of the last ${FINAL_TRAIN_WINDOW} logged steps">train CE</th>
<th scope="col">val CE</th><th scope="col">perplexity</th>
<th scope="col">J angular</th><th scope="col">J cosine</th><th scope="col">D<sub>L</sub> angular</th>
<th scope="col" title="median over logged steps">tokens/s</th></tr></thead>
<tbody>
${rows.join("\n")}
</tbody></table>
<p class="note">Train loss and CE: means of the last ${FINAL_TRAIN_WINDOW} logged steps (single steps are noisy). Validation numbers, J and D<sub>L</sub>: the last evaluation. Perplexity = exp(val CE). Tokens/s: median over logged steps.</p>`;
}

function earlyExitTable(runs: RunData[]): string {
  const finals = runs.map((r) => r.evals.at(-1));
  const layers = Math.max(0, ...finals.map((e) => e?.early_exit_ce.length ?? 0));
  if (layers === 0) return "";
  const head = Array.from({ length: layers }, (_, l) => `<th scope="col">h<sub>${l + 1}</sub></th>`).join("");
  const rows = runs.map((r, i) =>
    `<tr><th scope="row">${swatch(i)}${escapeHtml(r.name)}</th>` +
    Array.from({ length: layers }, (_, l) => `<td>${fmt(finals[i]?.early_exit_ce[l], 3)}</td>`).join("") + `</tr>`);
  return `<table class="summary"><caption>Early-exit validation CE at the last evaluation</caption><thead><tr><th scope="col">run</th>${head}</tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

/** The layer probe's validation accuracy per h_l at each run's latest probed evaluation (empty when no run has one). */
function probeTable(runs: RunData[]): string {
  const sums = runs.map(summarizeRun);
  const layers = Math.max(0, ...sums.map((s) => s.lastProbe?.accuracy.length ?? 0));
  if (layers === 0) return "";
  const pct = (v: number | undefined) => fmt(v === undefined ? undefined : 100 * v, 1);
  const head = Array.from({ length: layers }, (_, l) => `<th scope="col">h<sub>${l}</sub></th>`).join("") + `<th scope="col">majority tag</th><th scope="col">step</th>`;
  const rows = sums.map((s, i) =>
    `<tr><th scope="row">${swatch(i)}${escapeHtml(s.name)}</th>` +
    Array.from({ length: layers }, (_, l) => `<td>${pct(s.lastProbe?.accuracy[l])}</td>`).join("") +
    `<td>${pct(s.lastProbe?.baseline)}</td><td>${s.lastProbe ? fmtInt(s.lastProbe.step) : "–"}</td></tr>`);
  return `<section id="probe">
<h2>Layer probe: part-of-speech accuracy per layer</h2>
<p class="note">Validation accuracy (%) of a linear probe (multinomial logistic regression, trained with the engine's own ops) that predicts each Brown word's tag from h<sub>l</sub> at the word's last token; h<sub>0</sub> is the embedding. The majority tag is the most frequent training tag predicted for every word. Latest evaluation that ran the probe, per run.</p>
<table class="summary"><thead><tr><th scope="col">run</th>${head}</tr></thead><tbody>${rows.join("")}</tbody></table>
</section>`;
}

/** Per run, the transition with the largest D_l at each evaluation (angular; cosine where it differs). */
function largestJumpTable(runs: RunData[]): string {
  const tracks = largestJumpTracks(runs);
  const steps = [...new Set(tracks.flatMap((t) => t.points.map((p) => p.step)))].sort((a, b) => a - b);
  if (steps.length === 0) return "";
  const head = steps.map((s) => `<th scope="col">${fmtInt(s)}</th>`).join("");
  const rows = tracks.map((t, i) => {
    const at = new Map(t.points.map((p) => [p.step, p]));
    const cells = steps.map((s) => {
      const p = at.get(s);
      if (!p) return "<td>–</td>";
      return `<td>${p.angular}${p.cosine !== p.angular ? ` <span class="note">(cos ${p.cosine})</span>` : ""}</td>`;
    });
    return `<tr><th scope="row">${swatch(i)}${escapeHtml(t.name)}</th>${cells.join("")}</tr>`;
  });
  return `<table class="summary"><caption>Transition l with the largest D<sub>l</sub> (angular; cosine in brackets where it differs), per evaluation step</caption><thead><tr><th scope="col">run \\ step</th>${head}</tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

function configSection(runs: RunData[]): string {
  return runs.map((r, i) => `<details><summary>${swatch(i)}${escapeHtml(r.name)}: config.json</summary>` +
    `<pre>${escapeHtml(JSON.stringify(r.config, null, 2))}</pre></details>`).join("\n");
}

const OWN_CSS = `
:root { color-scheme: light; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1b1b; background: #f6f7f9; margin: 0; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 24px 48px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 19px; margin: 0 0 6px; }
h3 { font-size: 15px; margin: 14px 0 4px; }
.sub { color: #555; margin: 0 0 18px; }
section { background: #fff; border: 1px solid #dde1e6; border-radius: 8px; padding: 16px 20px; margin: 0 0 18px; }
.note { color: #444; font-size: 14px; margin: 6px 0 10px; max-width: 70em; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 7px; vertical-align: -1px; }
table.summary { border-collapse: collapse; font-variant-numeric: tabular-nums; margin: 6px 0; }
table.summary caption { text-align: left; font-weight: 600; padding: 4px 0; }
table.summary th, table.summary td { padding: 5px 11px; border-bottom: 1px solid #e6e8eb; text-align: right; white-space: nowrap; }
table.summary th[scope=row], table.summary thead th:first-child { text-align: left; }
table.summary thead th { border-bottom: 2px solid #c9ced4; font-weight: 600; }
td.best { font-weight: 700; }
.jreg-charts { display: flex; flex-wrap: wrap; gap: 16px; }
.jreg-chart-empty { color: #666; font-style: italic; }
.uplot .u-title { font-size: 15px; font-weight: 600; }
.uplot .u-legend { font-size: 13px; }
dl.glossary dt { font-weight: 600; margin-top: 8px; }
dl.glossary dd { margin: 2px 0 0 18px; max-width: 70em; }
details { margin: 6px 0; }
summary { cursor: pointer; font-weight: 600; }
pre { background: #f3f4f6; border: 1px solid #e1e4e8; border-radius: 6px; padding: 10px 12px; overflow: auto; font-size: 13px; }
`;

/** One sweep's aggregate: mean ± sd over seeds and the paired tests against α = 0, methods named. */
function sweepSection(s: { dir: string; aggregate: SweepAggregate }): string {
  const [head, ...rows] = sweepRows(s.aggregate);
  const cells = (r: string[], tag: string) => `<tr>${r.map((x) => `<${tag}>${escapeHtml(x)}</${tag}>`).join("")}</tr>`;
  return `<section class="sweep">
<h2>Sweep ${escapeHtml(s.dir)}</h2>
<table>
<thead>${cells(head!, "th")}</thead>
<tbody>
${rows.map((r) => cells(r, "td")).join("\n")}
</tbody>
</table>
<p>Mean ± sd over seeds at the final step; Δ = setting − its α = 0 baseline on the same seeds (same initial weights and data order).
t-test: ${escapeHtml(s.aggregate.methods.tTest)}. Bootstrap: ${escapeHtml(s.aggregate.methods.bootstrap)}.</p>
</section>
`;
}

export function renderReport(runs: RunData[], opts: RenderOptions = {}): string {
  if (runs.length === 0) throw new Error("renderReport needs at least one run");
  const title = opts.title ?? "JREG training report";
  const generatedAt = opts.generatedAt === undefined ? new Date() : opts.generatedAt;
  const names = runs.map((r, i) => `${swatch(i)}${escapeHtml(r.name)}`).join(" &nbsp; ");
  // The page script needs the plotted series only (configs and tables are HTML
  // made here), at plotting precision: this keeps long runs' files small.
  const data = runs.map((r) => ({
    name: r.name,
    config: null,
    train: r.train.map((p) => ({ step: p.step, loss: p.loss, ce: p.ce })),
    evals: r.evals,
  }));
  const alphas = runs.map((r) => alphaOf(r.config)).filter((a): a is number => a !== undefined);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}: ${escapeHtml(runs.map((r) => r.name).join(" vs "))}</title>
<style>${chartsCss}</style>
<style>${OWN_CSS}</style>
</head>
<body>
<main>
<h1>${escapeHtml(title)}</h1>
<p class="sub">${names}${generatedAt ? ` &nbsp;·&nbsp; generated ${escapeHtml(generatedAt.toISOString().replace("T", " ").slice(0, 16))} UTC` : ""}</p>

<section id="summary">
<h2>Final numbers</h2>
${summaryTable(runs)}
${earlyExitTable(runs)}
</section>
${(opts.sweeps ?? []).map(sweepSection).join("\n")}
<section id="loss">
<h2>Loss curves</h2>
<p class="note">Thin lines: training CE at each logged step (the training loss is CE + α·R; CE is the part that compares across α). Thick lines with dots: CE on the fixed validation subset at each evaluation.</p>
<div data-chart="loss" role="figure" aria-label="Training and validation cross-entropy per step for every run"></div>
</section>

<section id="profile">
<h2>Layer profile D<sub>l</sub> during training</h2>
<p class="note">D<sub>l</sub> is the mean distance between the hidden states before and after block l (h<sub>l−1</sub> → h<sub>l</sub>, h<sub>L</sub> before the final norm), at the first, 25 %, 50 %, 75 % and last evaluation (light to dark). A final-layer jump shows as a rise at the right end that grows with training. Charts of the same distance share their y axis.</p>
<h3>Angular distance, arccos(cos)/π</h3>
<div data-chart="profile-angular" role="figure" aria-label="Angular D_l profile per layer at several points in training, per run"></div>
<h3>Cosine distance, 1 − cos</h3>
<div data-chart="profile-cosine" role="figure" aria-label="Cosine D_l profile per layer at several points in training, per run"></div>
<h3>Where the largest D<sub>l</sub> sits</h3>
<p class="note">Penalising only the last transitions may move the jump one layer earlier instead of removing it: this table shows, at every evaluation, which transition l (1 = first block, L = last) has the largest D<sub>l</sub>.</p>
${largestJumpTable(runs)}
</section>

<section id="jump">
<h2>Jump strength J over training</h2>
<p class="note"><strong>J = D<sub>L</sub> / mean<sub>l∈M</sub> D<sub>l</sub></strong>, with the middle layers M = 2…L−1: how far the last block moves the hidden state compared with an average middle block. J &gt; 1 (above the dotted line) means the last transition is larger than a typical middle one, a final-layer jump; JREG (α &gt; 0) pushes J down. Solid: angular distance; dashed: cosine distance.</p>
<div data-chart="jump" role="figure" aria-label="Jump strength J, angular and cosine, per evaluation for every run"></div>
</section>

<section id="early-exit">
<h2>Early-exit validation CE per layer</h2>
<p class="note">The validation CE of lm_head(final_norm(h<sub>l</sub>)) for every layer l at the last evaluation: how much of the prediction each layer already holds. The value at l = L is the model's own validation CE.</p>
<div data-chart="early-exit" role="figure" aria-label="Early-exit validation CE per layer for every run"></div>
</section>

${probeTable(runs)}

<section id="glossary">
<h2>What the quantities mean</h2>
<dl class="glossary">
<dt>CE, val CE, perplexity</dt><dd>Mean next-token cross-entropy in nats per token, on training batches and on a fixed validation subset; perplexity = exp(val CE).</dd>
<dt>D<sub>l</sub> (l = 1…L)</dt><dd>Mean over tokens of the distance between h<sub>l−1</sub> and h<sub>l</sub>, the residual stream before and after block l (h<sub>0</sub> is the embedding). Angular: arccos(clamp(cos, −1, 1))/π, in [0, 1]. Cosine: 1 − cos, in [0, 2].</dd>
<dt>J (jump strength)</dt><dd>D<sub>L</sub> divided by the mean D<sub>l</sub> over the middle layers 2…L−1 (layer 1 when L ≤ 2), for each distance. The first transition (embedding → block 1) is excluded because it is large in every model.</dd>
<dt>R and α</dt><dd>The regularizer R is the mean D<sub>l</sub> of the last k transitions (by default cosine distance, k = 1); the training loss is CE + α·R. α = 0 is the baseline${alphas.length ? `; the runs here use α = ${[...new Set(alphas)].join(", ")}` : ""}. Each run's jreg settings are in its config below.</dd>
<dt>Early-exit CE</dt><dd>The CE of the model's own head applied to an intermediate state, lm_head(final_norm(h<sub>l</sub>)), on the validation subset: lower means that layer already predicts the next token well.</dd>
</dl>
</section>

<section id="configs">
<h2>Run configs</h2>
${configSection(runs)}
</section>
</main>
<script type="application/json" id="jreg-report-data">${jsonForScript(data)}</script>
<!-- The charts: uPlot, inlined with its licence.
${chartsLicense.replace(/--/g, "- -")}
-->
<script>${escapeScript(chartsScript)}</script>
</body>
</html>
`;
}
