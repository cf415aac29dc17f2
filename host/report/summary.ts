// The end-of-run numbers that the HTML table and the terminal table both show.
import type { EvalPoint, RunData } from "./run-data.ts";

/** Single-step train losses at small batch sizes are noisy: the table averages the last few. */
export const FINAL_TRAIN_WINDOW = 10;

export interface RunSummary {
  name: string;
  /** The last optimizer step logged (0 when nothing was logged). */
  steps: number;
  /** Mean of the last FINAL_TRAIN_WINDOW logged train losses (CE + α·R). */
  trainLoss: number;
  /** Mean of the last FINAL_TRAIN_WINDOW logged train CEs. */
  trainCe: number;
  /** The last evaluation, or undefined when the run has none yet. */
  lastEval?: EvalPoint;
  valCe: number;
  perplexity: number;
  J_angular: number;
  J_cosine: number;
  /** D_L, the last transition's angular distance. */
  D_L_angular: number;
  /** The latest evaluation that ran the layer probe, or undefined. */
  lastProbe?: { step: number; accuracy: number[]; baseline: number };
  /** Median of the logged tokens/s (robust to the slow first steps). */
  tokensPerSecond: number;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function summarizeRun(run: RunData): RunSummary {
  const tail = run.train.slice(-FINAL_TRAIN_WINDOW);
  const lastEval = run.evals.at(-1);
  const valCe = lastEval?.val_ce ?? NaN;
  const probed = run.evals.filter((e) => e.probe).at(-1);
  const tps = run.train.map((p) => p.tokensPerSecond).filter((v): v is number => typeof v === "number" && Number.isFinite(v));
  return {
    name: run.name,
    steps: Math.max(run.train.at(-1)?.step ?? 0, lastEval?.step ?? 0),
    trainLoss: mean(tail.map((p) => p.loss)),
    trainCe: mean(tail.map((p) => p.ce)),
    lastEval,
    valCe,
    perplexity: Math.exp(valCe),
    J_angular: lastEval?.J_angular ?? NaN,
    J_cosine: lastEval?.J_cosine ?? NaN,
    D_L_angular: lastEval?.D_angular.at(-1) ?? NaN,
    tokensPerSecond: median(tps),
    ...(probed?.probe ? { lastProbe: { step: probed.step, ...probed.probe } } : {}),
  };
}

/** Fixed decimals, "–" for a missing (NaN) value. */
export function fmt(v: number | undefined, digits: number): string {
  return v === undefined || !Number.isFinite(v) ? "–" : v.toFixed(digits);
}

/** Tokens/s with thousands separators, independent of the locale. */
export function fmtInt(v: number): string {
  return Number.isFinite(v) ? String(Math.round(v)).replace(/\B(?=(\d{3})+(?!\d))/g, ",") : "–";
}
