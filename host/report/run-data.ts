// The data a report shows for one run: its config and its metrics, split into
// training points and evaluation points. Pure functions only (no file system, no
// DOM), so the browser page can build the same RunData from a live training run.

/** One line of metrics.jsonl. Training lines carry the first group; evaluation lines the second. */
export interface MetricsRecord {
  step: number;
  loss?: number;
  ce?: number;
  R?: number;
  lr?: number;
  gradNorm?: number;
  tokensPerSecond?: number;
  val_ce?: number;
  D_angular?: number[];
  D_cosine?: number[];
  J_angular?: number;
  J_cosine?: number;
  early_exit_ce?: number[];
  /** layer probe (run config `probe`): validation accuracy per h_l, l = 0..L */
  probe_accuracy?: number[];
  probe_train_accuracy?: number[];
  /** the majority-tag baseline's validation accuracy */
  probe_baseline?: number;
}

export interface TrainPoint {
  step: number;
  loss: number;
  ce: number;
  R?: number;
  lr?: number;
  gradNorm?: number;
  tokensPerSecond?: number;
}

export interface EvalPoint {
  step: number;
  val_ce: number;
  D_angular: number[];
  D_cosine: number[];
  J_angular: number;
  J_cosine: number;
  early_exit_ce: number[];
  /** present when the evaluation ran the layer probe */
  probe?: { accuracy: number[]; baseline: number };
}

export interface RunData {
  /** Shown in legends and tables: config.name, else the run directory's name. */
  name: string;
  /** The resolved run config (any JSON). */
  config: unknown;
  /** Sorted by step, one point per step. */
  train: TrainPoint[];
  /** Sorted by step, one point per step; only complete evaluations. */
  evals: EvalPoint[];
}

const isNum = (v: unknown): v is number => typeof v === "number";
const isNumArray = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === "number");

/**
 * Parses metrics.jsonl text. A last line that does not parse is dropped (a
 * writer killed mid-line leaves one); any other bad line is an error naming
 * `source` and the line number.
 */
export function parseMetricsJsonl(text: string, source = "metrics.jsonl"): MetricsRecord[] {
  const lines = text.split("\n");
  let last = lines.length - 1;
  while (last >= 0 && lines[last].trim() === "") last--;
  const records: MetricsRecord[] = [];
  for (let i = 0; i <= last; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      if (i === last) break; // torn last line
      throw new Error(`${source}:${i + 1}: not valid JSON (${(e as Error).message})`);
    }
    if (typeof value !== "object" || value === null || !isNum((value as MetricsRecord).step)) {
      throw new Error(`${source}:${i + 1}: expected an object with a numeric "step"`);
    }
    records.push(value as MetricsRecord);
  }
  return records;
}

/**
 * Groups metrics records into training and evaluation points. Lines with the
 * same step are merged (a trainer may write its evaluation as a separate line),
 * later lines winning per key.
 */
export function runFromRecords(name: string, config: unknown, records: MetricsRecord[]): RunData {
  const byStep = new Map<number, MetricsRecord>();
  for (const r of records) byStep.set(r.step, { ...byStep.get(r.step), ...r });
  const steps = [...byStep.keys()].sort((a, b) => a - b);
  const train: TrainPoint[] = [];
  const evals: EvalPoint[] = [];
  for (const step of steps) {
    const r = byStep.get(step)!;
    if (isNum(r.loss) || isNum(r.ce)) {
      const ce = isNum(r.ce) ? r.ce : (r.loss as number);
      train.push({
        step,
        loss: isNum(r.loss) ? r.loss : ce,
        ce,
        R: r.R,
        lr: r.lr,
        gradNorm: r.gradNorm,
        tokensPerSecond: r.tokensPerSecond,
      });
    }
    if (isNum(r.val_ce) && isNumArray(r.D_angular) && isNumArray(r.D_cosine) && isNumArray(r.early_exit_ce)) {
      evals.push({
        step,
        val_ce: r.val_ce,
        D_angular: r.D_angular,
        D_cosine: r.D_cosine,
        J_angular: isNum(r.J_angular) ? r.J_angular : NaN,
        J_cosine: isNum(r.J_cosine) ? r.J_cosine : NaN,
        early_exit_ce: r.early_exit_ce,
        ...(isNumArray(r.probe_accuracy) && isNum(r.probe_baseline) ? { probe: { accuracy: r.probe_accuracy, baseline: r.probe_baseline } } : {}),
      });
    }
  }
  return { name, config, train, evals };
}
