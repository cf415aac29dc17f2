// Progress for long work (training, evaluation), written to stderr so stdout stays
// clean for results.
//
//   const progress = createProgress({ total: steps, label: "train" });
//   for (let s = 1; s <= steps; s++) {
//     const r = await trainer.step(batch);
//     progress.update(s, { loss: r.loss, tokens: s * tokensPerStep });
//   }
//   progress.log("eval: val_ce 4.21");   // a line that stays (the bar redraws under it)
//   progress.done();
//
// On a TTY: one bar line redrawn in place with \r, at most every `minIntervalMs`
// (the final step always draws):  train [#####.....] 120/240  loss 5.123  12.3k tok/s  ETA 1:02
// Otherwise (a pipe, a CI log): a plain line every `logEvery` steps, and on the
// first and last step: train 120/240 loss 5.123 12.3k tok/s ETA 1:02
//
// `fields.tokens` is the cumulative token count; tokens/s and ETA are measured
// from the first update, so start-up (model creation, data loading) is excluded.
// Other numeric fields are shown as `name value` in the order given.

export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  /** the step count at which the work is complete */
  total: number;
  /** shown first on every line, e.g. the run name */
  label?: string;
  /** default: the process's stderr (a no-op where there is none) */
  stream?: ProgressStream;
  /** overrides stream.isTTY */
  tty?: boolean;
  /** non-TTY: print every N steps (default: about 20 lines over the whole run) */
  logEvery?: number;
  /** TTY: least time between redraws (default 100 ms) */
  minIntervalMs?: number;
  /** a clock in ms (tests) */
  now?: () => number;
}

export type ProgressFields = Record<string, number | string | undefined>;

export interface Progress {
  /** `step` completed out of `total`; `fields.tokens` is the cumulative token count */
  update(step: number, fields?: ProgressFields): void;
  /** a line that stays in the output (an evaluation, a checkpoint saved) */
  log(line: string): void;
  /** finishes the bar (TTY: draws the last state and ends the line) */
  done(): void;
}

function defaultStream(): ProgressStream {
  const proc = (globalThis as { process?: { stderr?: ProgressStream } }).process;
  return proc?.stderr ?? { write: (s: string) => console.error(s.replace(/\n$/, "")) };
}

/** 75 → "1:15", 3725 → "1:02:05". */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** 950 → "950", 12345 → "12.3k", 2.5e6 → "2.50M". */
export function formatRate(x: number): string {
  if (!Number.isFinite(x)) return "?";
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e4) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(0);
}

function formatValue(v: number | string): string {
  if (typeof v === "string") return v;
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e5 ? v.toFixed(4) : v.toExponential(2);
}

export interface ProgressState {
  label: string;
  step: number;
  total: number;
  fields: ProgressFields;
  tokensPerSecond?: number;
  etaSeconds?: number;
}

/** The text of one progress line (without \r or newline); `barWidth` 0 leaves the bar out. */
export function formatProgress(p: ProgressState, barWidth: number): string {
  const parts: string[] = [];
  if (p.label) parts.push(p.label);
  if (barWidth > 0) {
    const filled = p.total > 0 ? Math.min(barWidth, Math.round((barWidth * p.step) / p.total)) : 0;
    parts.push(`[${"#".repeat(filled)}${".".repeat(barWidth - filled)}]`);
  }
  const w = String(p.total).length;
  parts.push(`${String(p.step).padStart(w)}/${p.total}`);
  for (const [k, v] of Object.entries(p.fields)) if (k !== "tokens" && v !== undefined) parts.push(`${k} ${formatValue(v)}`);
  if (p.tokensPerSecond !== undefined) parts.push(`${formatRate(p.tokensPerSecond)} tok/s`);
  if (p.etaSeconds !== undefined) parts.push(`ETA ${formatDuration(p.etaSeconds)}`);
  return parts.join("  ");
}

export function createProgress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? defaultStream();
  const tty = opts.tty ?? stream.isTTY === true;
  const now = opts.now ?? (() => performance.now());
  const total = opts.total;
  const logEvery = opts.logEvery ?? Math.max(1, Math.round(total / 20));
  const minInterval = opts.minIntervalMs ?? 100;
  const label = opts.label ?? "";
  let broken = false;
  const write = (s: string) => {
    if (broken) return;
    try {
      stream.write(s);
    } catch {
      broken = true; // a closed stderr must not stop the work it reports on
    }
  };

  let first: { t: number; step: number; tokens?: number } | undefined;
  let state: ProgressState | undefined;
  let lastDraw = -Infinity;
  let barShown = false;

  const line = (s: ProgressState) => {
    if (!tty) return formatProgress(s, 0);
    const columns = stream.columns ?? 100;
    const text = formatProgress(s, 20);
    return text.length < columns ? text : formatProgress(s, 0).slice(0, Math.max(0, columns - 1));
  };
  const draw = () => {
    if (!state) return;
    write(`\r\x1b[2K${line(state)}`);
    barShown = true;
    lastDraw = now();
  };

  return {
    update(step, fields = {}) {
      const t = now();
      const tokens = typeof fields.tokens === "number" ? fields.tokens : undefined;
      if (!first) first = { t, step, tokens };
      const secs = (t - first.t) / 1000;
      const s: ProgressState = { label, step, total, fields };
      if (secs > 0 && step > first.step) {
        if (tokens !== undefined && first.tokens !== undefined) s.tokensPerSecond = (tokens - first.tokens) / secs;
        s.etaSeconds = (secs / (step - first.step)) * Math.max(0, total - step);
      }
      state = s;
      if (tty) {
        if (step >= total || t - lastDraw >= minInterval) draw();
      } else if (step === first.step || step % logEvery === 0 || step >= total) {
        write(line(s) + "\n");
      }
    },
    log(text) {
      if (tty && barShown) {
        write(`\r\x1b[2K${text}\n`);
        draw();
      } else {
        write(text + "\n");
      }
    },
    done() {
      if (tty && barShown) {
        draw();
        write("\n");
        barShown = false;
      }
    },
  };
}
