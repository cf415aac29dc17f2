// comparisonTable: the plain-text table that `npm start` prints at the end, runs
// side by side. Two blocks: the final numbers, then one row per layer with the
// angular D_l profile and the early-exit validation CE. With two runs a Δ column
// (second − first) makes the comparison readable at a glance.
import type { RunData } from "./run-data.ts";
import { FINAL_TRAIN_WINDOW, fmt, fmtInt, summarizeRun } from "./summary.ts";

const MAX_NAME = 12;

function shortName(name: string): string {
  return name.length <= MAX_NAME ? name : `${name.slice(0, MAX_NAME - 1)}…`;
}

/** Left-aligns column 0 and right-aligns the rest, two spaces between columns. */
function grid(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  return rows.map((row) =>
    row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i]))).join("  ").trimEnd());
}

const delta = (a: number, b: number, digits: number) => {
  const d = b - a;
  return Number.isFinite(d) ? `${d >= 0 ? "+" : ""}${d.toFixed(digits)}` : "–";
};

export function comparisonTable(runs: RunData[]): string {
  if (runs.length === 0) return "(no runs)";
  const sums = runs.map(summarizeRun);
  const names = sums.map((s) => shortName(s.name));
  const pair = runs.length === 2;

  const quantity = (label: string, get: (s: (typeof sums)[number]) => number, digits: number): string[] => {
    const vals = sums.map(get);
    const cells = vals.map((v) => fmt(v, digits));
    return pair ? [label, ...cells, delta(vals[0], vals[1], digits)] : [label, ...cells];
  };
  const head = pair ? ["", ...names, "Δ"] : ["", ...names];
  const top = grid([
    head,
    ["steps", ...sums.map((s) => String(s.steps)), ...(pair ? [""] : [])],
    quantity("val CE", (s) => s.valCe, 3),
    quantity("perplexity", (s) => s.perplexity, 1),
    quantity("train loss", (s) => s.trainLoss, 3),
    quantity("J angular", (s) => s.J_angular, 3),
    quantity("J cosine", (s) => s.J_cosine, 3),
    ["tokens/s", ...sums.map((s) => fmtInt(s.tokensPerSecond)), ...(pair ? [""] : [])],
  ]);

  const layers = Math.max(0, ...sums.map((s) => s.lastEval?.D_angular.length ?? 0));
  const out = [...top];
  if (layers > 0) {
    const sep = "│";
    const block = (get: (l: number, i: number) => number, digits: number) => (l: number) => {
      const vals = sums.map((_, i) => get(l, i));
      return pair ? [...vals.map((v) => fmt(v, digits)), delta(vals[0], vals[1], digits)] : vals.map((v) => fmt(v, digits));
    };
    const dCells = block((l, i) => sums[i].lastEval?.D_angular[l] ?? NaN, 4);
    const eCells = block((l, i) => sums[i].lastEval?.early_exit_ce[l] ?? NaN, 3);
    const colHead = pair ? [...names, "Δ"] : names;
    const rows = [
      ["layer", ...colHead, sep, ...colHead],
      ...Array.from({ length: layers }, (_, l) => [String(l + 1), ...dCells(l), sep, ...eCells(l)]),
    ];
    const lines = grid(rows);
    // A title line over each half, placed where the halves start.
    const sepAt = lines[0].indexOf(sep);
    const left = "D_l angular (last eval)";
    const right = "early-exit val CE";
    out.push("", `${" ".repeat(Math.max(0, sepAt - 2 - left.length))}${left}  ${sep} ${right}`, ...lines);
  }
  const probeLayers = Math.max(0, ...sums.map((s) => s.lastProbe?.accuracy.length ?? 0));
  if (probeLayers > 0) {
    const pct = (v: number | undefined) => (v === undefined ? NaN : 100 * v);
    const row = (label: string, get: (i: number) => number) => {
      const vals = sums.map((_, i) => get(i));
      return [label, ...vals.map((v) => fmt(v, 1)), ...(pair ? [delta(vals[0], vals[1], 1)] : [])];
    };
    const probeSteps = [...new Set(sums.map((s) => s.lastProbe?.step).filter((s) => s !== undefined))];
    out.push(
      "",
      `probe val accuracy % per layer h_l (latest probed evaluation, step ${probeSteps.join(" / ")})`,
      ...grid([
        ["layer", ...names, ...(pair ? ["Δ"] : [])],
        ...Array.from({ length: probeLayers }, (_, l) => row(l === 0 ? "0 (emb)" : String(l), (i) => pct(sums[i].lastProbe?.accuracy[l]))),
        row("majority tag", (i) => pct(sums[i].lastProbe?.baseline)),
      ]),
    );
  }
  const steps = sums.map((s) => s.lastEval?.step).filter((s) => s !== undefined);
  const notes = [
    `val CE, J, D_l and early-exit CE: last evaluation${steps.length ? ` (step ${[...new Set(steps)].join(" / ")})` : ""}; perplexity = exp(val CE).`,
    `train loss = CE + α·R, mean of the last ${FINAL_TRAIN_WINDOW} logged steps.${pair ? " Δ = second run − first." : ""}`,
    "J = D_L / mean of D_l over the middle layers 2..L−1; J > 1 means a final-layer jump.",
  ];
  return [...out, "", ...notes].join("\n");
}
