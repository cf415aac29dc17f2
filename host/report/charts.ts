// The report's charts, drawn with uPlot into DOM elements. A browser module: the
// HTML report bundles it (see page.ts), and the browser page reuses it for live
// charts: every draw function returns a handle whose update(runs) redraws with
// new data (cheaply, with setData, when only the values changed).
import uPlot from "uplot";
import { runColor, tint } from "./colors.ts";
import type { EvalPoint, RunData } from "./run-data.ts";

export { RUN_COLORS, runColor } from "./colors.ts";

/** The fractions of training at which the D_l profile is drawn. */
export const PROFILE_FRACTIONS = [0, 0.25, 0.5, 0.75, 1];

/** The evaluations nearest to each fraction of the run (distinct, in order). */
export function profileSnapshots(evals: EvalPoint[], fractions: number[] = PROFILE_FRACTIONS): EvalPoint[] {
  if (evals.length === 0) return [];
  const indices = new Set(fractions.map((f) => Math.round(f * (evals.length - 1))));
  return [...indices].sort((a, b) => a - b).map((i) => evals[i]);
}

export interface ChartHandle {
  /** The uPlot instances, one per drawn chart (a profile chart draws one per run). */
  readonly plots: uPlot[];
  /** Redraws with new data, e.g. while a run is training. */
  update(runs: RunData[]): void;
  destroy(): void;
}

export interface ChartOptions {
  /** Plot height in CSS pixels (default 300). */
  height?: number;
}

type Distance = "angular" | "cosine";

/** One uPlot chart, described independently of uPlot's instance. */
interface ChartSpec {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Layer axes get integer ticks and a little padding. */
  xKind: "step" | "layer";
  series: uPlot.Series[];
  data: uPlot.AlignedData;
  /** A fixed y range, e.g. shared by the per-run profile charts so they compare. */
  yRange?: [number, number];
}

const MIN_CHART_WIDTH = 340;
const GAP = 16;

const value3 = (_u: uPlot, v: number | null) => (v == null || !Number.isFinite(v) ? "–" : v.toFixed(3));

function lineSeries(label: string, stroke: string, extra: Partial<uPlot.Series> = {}): uPlot.Series {
  return { label, stroke, width: 2, spanGaps: true, value: value3, ...extra };
}

function structureKey(specs: ChartSpec[]): string {
  return JSON.stringify(specs.map((s) => [s.title, s.xKind, s.series.map((x) => [x.label, x.stroke, x.dash])]));
}

function uplotOptions(spec: () => ChartSpec, width: number, height: number): uPlot.Options {
  const s = spec();
  const layer = s.xKind === "layer";
  return {
    title: s.title,
    width,
    height,
    scales: {
      x: {
        time: false,
        range: layer ? (_u, min, max) => [min - 0.25, max + 0.25] : undefined,
      },
      y: {
        range: (_u, min, max) => {
          const fixed = spec().yRange;
          if (fixed) return fixed;
          if (min == null || max == null || !Number.isFinite(min)) return [0, 1];
          const pad = (max - min) * 0.06 || Math.abs(max) * 0.05 || 0.05;
          return [min - pad, max + pad];
        },
      },
    },
    axes: [
      {
        label: s.xLabel,
        labelSize: 28,
        stroke: "#333",
        grid: { stroke: "#e4e4e4", width: 1 },
        ticks: { stroke: "#ccc", width: 1 },
        ...(layer ? { incrs: [1, 2, 5, 10], values: (_u: uPlot, vals: number[]) => vals.map((v) => (Number.isInteger(v) ? String(v) : "")) } : {}),
      },
      {
        label: s.yLabel,
        labelSize: 28,
        size: 58,
        stroke: "#333",
        grid: { stroke: "#e4e4e4", width: 1 },
        ticks: { stroke: "#ccc", width: 1 },
      },
    ],
    series: [{ label: s.xLabel.split(" ")[0] }, ...s.series],
    legend: { show: true, live: true },
    cursor: { drag: { x: !layer, y: false } },
  };
}

/**
 * Draws the charts that `build` describes into `el`, one child per chart, laid
 * out side by side where the width allows; follows the element's width.
 */
function mountCharts(el: HTMLElement, build: (runs: RunData[]) => ChartSpec[], runs: RunData[], opts: ChartOptions = {}): ChartHandle {
  const height = opts.height ?? 300;
  let specs = build(runs);
  let key = structureKey(specs);
  let plots: uPlot[] = [];
  let boxes: HTMLElement[] = [];
  let lastWidth = -1;

  const widthFor = (count: number) => {
    const total = Math.max(el.clientWidth || 720, MIN_CHART_WIDTH);
    const cols = Math.max(1, Math.min(count, Math.floor((total + GAP) / (MIN_CHART_WIDTH + GAP))));
    return Math.floor((total - (cols - 1) * GAP) / cols);
  };

  const create = () => {
    el.classList.add("jreg-charts");
    const width = widthFor(specs.length);
    lastWidth = el.clientWidth;
    boxes = specs.map(() => {
      const box = document.createElement("div");
      box.className = "jreg-chart";
      el.appendChild(box);
      return box;
    });
    plots = specs.map((_, i) => new uPlot(uplotOptions(() => specs[i], width, height), specs[i].data, boxes[i]));
    if (specs.length === 0) {
      const empty = document.createElement("p");
      empty.className = "jreg-chart-empty";
      empty.textContent = "No evaluations logged yet.";
      el.appendChild(empty);
      boxes.push(empty);
    }
  };
  const clear = () => {
    for (const p of plots) p.destroy();
    for (const b of boxes) b.remove();
    plots = [];
    boxes = [];
  };

  create();
  const resize = typeof ResizeObserver === "undefined" ? undefined : new ResizeObserver(() => {
    if (el.clientWidth === lastWidth) return;
    lastWidth = el.clientWidth;
    const width = widthFor(plots.length);
    for (const p of plots) p.setSize({ width, height });
  });
  resize?.observe(el);

  return {
    get plots() {
      return plots;
    },
    update(next: RunData[]) {
      specs = build(next);
      const nextKey = structureKey(specs);
      if (nextKey === key) {
        specs.forEach((s, i) => plots[i].setData(s.data));
      } else {
        key = nextKey;
        clear();
        create();
      }
    },
    destroy() {
      resize?.disconnect();
      clear();
    },
  };
}

/** Aligns several (x, y…) tables on one sorted x axis; missing values become gaps that lines span. */
function joinTables(tables: uPlot.AlignedData[]): uPlot.AlignedData {
  if (tables.length === 0) return [[]];
  return uPlot.join(tables);
}

/**
 * (1) Train CE per logged step and validation CE per evaluation, for every run:
 * the whole run, and its second half zoomed in, where the runs' differences are
 * a few hundredths of a nat beside a drop of several nats.
 */
export function drawLossCurves(el: HTMLElement, runs: RunData[], opts?: ChartOptions): ChartHandle {
  return mountCharts(el, (rs) => {
    const lastStep = Math.max(0, ...rs.map((r) => Math.max(r.train.at(-1)?.step ?? 0, r.evals.at(-1)?.step ?? 0)));
    const chart = (title: string, fromStep: number): ChartSpec => {
      const series: uPlot.Series[] = [];
      const tables: uPlot.AlignedData[] = [];
      rs.forEach((run, i) => {
        const c = runColor(i);
        const train = run.train.filter((p) => p.step >= fromStep);
        const evals = run.evals.filter((p) => p.step >= fromStep);
        tables.push([train.map((p) => p.step), train.map((p) => p.ce)]);
        series.push(lineSeries(`${run.name} · train CE`, tint(c, 0.45), { width: 1.25 }));
        tables.push([evals.map((p) => p.step), evals.map((p) => p.val_ce)]);
        series.push(lineSeries(`${run.name} · val CE`, c, { width: 2.75, points: { show: true, size: 7, fill: c } }));
      });
      return { title, xLabel: "step", yLabel: "CE (nats / token)", xKind: "step", series, data: joinTables(tables) };
    };
    return [chart("Cross-entropy during training", 0), chart("Second half of training (zoomed)", Math.floor(lastStep / 2))];
  }, runs, opts);
}

/** (2) The D_l profile (x = layer l, y = D_l) at several points in training, one chart per run, a shared y range. */
export function drawJumpProfiles(el: HTMLElement, runs: RunData[], distance: Distance, opts?: ChartOptions): ChartHandle {
  const key = distance === "angular" ? "D_angular" : "D_cosine";
  return mountCharts(el, (rs) => {
    let yMax = 0;
    for (const run of rs) for (const e of run.evals) for (const d of e[key]) if (Number.isFinite(d)) yMax = Math.max(yMax, d);
    const yRange: [number, number] = [0, yMax > 0 ? yMax * 1.08 : 1];
    return rs.flatMap((run, i): ChartSpec[] => {
      const snaps = profileSnapshots(run.evals);
      if (snaps.length === 0) return [];
      const layers = Math.max(...snaps.map((s) => s[key].length));
      const xs = Array.from({ length: layers }, (_, l) => l + 1);
      const c = runColor(i);
      const series = snaps.map((s, j) => {
        // Early snapshots light, the last one in the run's full colour.
        const t = snaps.length === 1 ? 0 : 0.72 * (1 - j / (snaps.length - 1));
        const stroke = tint(c, t);
        return lineSeries(`step ${s.step}`, stroke, { width: j === snaps.length - 1 ? 2.75 : 1.75, points: { show: true, size: 6, fill: stroke } });
      });
      const data = [xs, ...snaps.map((s) => xs.map((_, l) => s[key][l] ?? null))] as uPlot.AlignedData;
      return [{ title: `${run.name}: D_l (${distance}) over training`, xLabel: "layer l (transition h_l−1 → h_l)", yLabel: `D_l, ${distance} distance`, xKind: "layer", series, data, yRange }];
    });
  }, runs, opts);
}

/** (3) J_angular (solid) and J_cosine (dashed) per evaluation for every run, with the J = 1 reference line. */
export function drawJumpStrength(el: HTMLElement, runs: RunData[], opts?: ChartOptions): ChartHandle {
  return mountCharts(el, (rs) => {
    const series: uPlot.Series[] = [];
    const tables: uPlot.AlignedData[] = [];
    rs.forEach((run, i) => {
      const c = runColor(i);
      const steps = run.evals.map((p) => p.step);
      tables.push([steps, run.evals.map((p) => p.J_angular), run.evals.map((p) => p.J_cosine)]);
      series.push(lineSeries(`${run.name} · J angular`, c, { width: 2.5, points: { show: true, size: 6, fill: c } }));
      series.push(lineSeries(`${run.name} · J cosine`, c, { width: 2, dash: [7, 5], points: { show: true, size: 5, fill: "#fff" } }));
    });
    const data = joinTables(tables);
    const reference = (data[0] as number[]).map(() => 1);
    series.push(lineSeries("J = 1", "#666", { width: 1, dash: [2, 4], points: { show: false }, value: () => "1" }));
    return [{ title: "Jump strength J = D_L / mean of middle D_l", xLabel: "step", yLabel: "J", xKind: "step", series, data: [...data, reference] as uPlot.AlignedData }];
  }, runs, opts);
}

/** (4) Early-exit validation CE per layer at the last evaluation, for every run. */
export function drawEarlyExit(el: HTMLElement, runs: RunData[], opts?: ChartOptions): ChartHandle {
  return mountCharts(el, (rs) => {
    const finals = rs.map((r) => r.evals.at(-1));
    const layers = Math.max(0, ...finals.map((e) => e?.early_exit_ce.length ?? 0));
    if (layers === 0) return [];
    const xs = Array.from({ length: layers }, (_, l) => l + 1);
    const series = rs.map((run, i) => {
      const c = runColor(i);
      const step = finals[i]?.step;
      return lineSeries(step === undefined ? `${run.name} (no evaluation)` : `${run.name} · step ${step}`, c, { width: 2.5, points: { show: true, size: 7, fill: c } });
    });
    const data = [xs, ...finals.map((e) => xs.map((_, l) => e?.early_exit_ce[l] ?? null))] as uPlot.AlignedData;
    return [{ title: "Early-exit validation CE: lm_head(final_norm(h_l))", xLabel: "layer l", yLabel: "val CE (nats / token)", xKind: "layer", series, data }];
  }, runs, opts);
}

/** The chart kinds, by the name used in `data-chart` attributes. */
export const CHARTS = {
  loss: drawLossCurves,
  "profile-angular": (el: HTMLElement, runs: RunData[], opts?: ChartOptions) => drawJumpProfiles(el, runs, "angular", opts),
  "profile-cosine": (el: HTMLElement, runs: RunData[], opts?: ChartOptions) => drawJumpProfiles(el, runs, "cosine", opts),
  jump: drawJumpStrength,
  "early-exit": drawEarlyExit,
} as const;

export type ChartName = keyof typeof CHARTS;

/** Draws every `[data-chart=NAME]` element under `root`; returns one handle for them all. */
export function drawCharts(root: ParentNode, runs: RunData[], opts?: ChartOptions): ChartHandle {
  const handles: ChartHandle[] = [];
  for (const el of root.querySelectorAll<HTMLElement>("[data-chart]")) {
    const draw = CHARTS[el.dataset.chart as ChartName];
    if (!draw) throw new Error(`unknown chart ${JSON.stringify(el.dataset.chart)}`);
    handles.push(draw(el, runs, opts));
  }
  return {
    get plots() {
      return handles.flatMap((h) => h.plots);
    },
    update: (next) => handles.forEach((h) => h.update(next)),
    destroy: () => handles.forEach((h) => h.destroy()),
  };
}
