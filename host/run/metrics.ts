// RUN_DIR/metrics.jsonl: one JSON object per line, appended as training goes.
//
// Lines are appended unsynced (cheap) and fsync'd at checkpoints (flush), so a
// crash can lose or tear only lines written after the last checkpoint; a resume
// cuts the file back to the checkpoint's step anyway (truncateMetrics), keeping
// the kept lines' bytes, so a resumed run's file equals an uninterrupted run's
// byte for byte — provided the trainer writes every line of a step before it
// saves that step's checkpoint.
import { describeStorageError, readTextChecked, type AppendHandle, type Storage } from "./storage.ts";

/** The longest string V8 can hold is about 2^29 characters; a log is read whole, so it must fit one. */
const MAX_METRICS_BYTES = 2 ** 29 - 64;

export interface MetricsRecord {
  step: number;
  [key: string]: unknown;
}

export class MetricsError extends Error {
  override name = "MetricsError";
}

/** One line: JSON.stringify of the record (non-finite numbers become null, as JSON has no NaN). */
export function metricsLine(record: MetricsRecord): string {
  if (typeof record !== "object" || record === null || !Number.isInteger(record.step)) {
    throw new MetricsError(`metrics: a record needs an integer "step", got ${JSON.stringify(record)}`);
  }
  return JSON.stringify(record) + "\n";
}

export class MetricsLogger {
  private constructor(private readonly handle: AppendHandle, readonly path: string) {}

  /** Opens (creating if needed) the log for appending. */
  static async open(storage: Storage, path: string): Promise<MetricsLogger> {
    return new MetricsLogger(await storage.openAppend(path), path);
  }

  async log(record: MetricsRecord): Promise<void> {
    await this.named(() => this.handle.append(metricsLine(record)));
  }

  /** Makes every line logged so far durable; call it before a checkpoint is written. */
  async flush(): Promise<void> {
    await this.named(() => this.handle.sync());
  }

  async close(): Promise<void> {
    try {
      await this.named(() => this.handle.sync());
    } finally {
      await this.handle.close();
    }
  }

  /** A failed append or sync (disk full, I/O error) as an error naming this log; a torn last line is dropped on the next read. */
  private async named(op: () => Promise<void>): Promise<void> {
    try {
      await op();
    } catch (e) {
      throw new MetricsError(`could not write the metrics log ${this.path}: ${describeStorageError(e)}`, { cause: e });
    }
  }
}

export interface MetricsContents {
  records: MetricsRecord[];
  /** The exact text of each complete record's line, newline included. */
  lines: string[];
  /** True when the last line was cut off by a crash (ignored). */
  tornLastLine: boolean;
}

/**
 * Reads a metrics log. A last line without its newline, or one that does not
 * parse, is a torn write and is dropped; a bad line before the last is
 * corruption and an error naming the file and line.
 */
export function parseMetrics(text: string, source = "metrics.jsonl"): MetricsContents {
  const parts = text.split("\n");
  const tail = parts.pop()!; // "" when the text ends with a newline
  const records: MetricsRecord[] = [];
  const lines: string[] = [];
  let torn = tail !== "";
  parts.forEach((line, i) => {
    let rec: unknown;
    try {
      rec = JSON.parse(line);
    } catch {
      rec = undefined;
    }
    const ok = typeof rec === "object" && rec !== null && !Array.isArray(rec) && Number.isInteger((rec as MetricsRecord).step);
    if (!ok) {
      if (i === parts.length - 1 && tail === "") {
        torn = true; // a torn line that happens to end where a later write's newline landed
        return;
      }
      throw new MetricsError(`${source}: line ${i + 1} is not a JSON object with an integer "step": ${line.slice(0, 80)}`);
    }
    records.push(rec as MetricsRecord);
    lines.push(line + "\n");
  });
  return { records, lines, tornLastLine: torn };
}

export async function readMetrics(storage: Storage, path: string): Promise<MetricsContents> {
  if (!(await storage.exists(path))) return { records: [], lines: [], tornLastLine: false };
  const text = await readTextChecked(storage, path, MAX_METRICS_BYTES, (why) => new MetricsError(`cannot read the metrics log ${path}: ${why}`));
  return parseMetrics(text, path);
}

/**
 * For a resume from the checkpoint of `step`: keeps the lines with step ≤ `step`
 * (their bytes unchanged) and drops the rest and any torn line, atomically.
 * Returns how many records were kept.
 */
export async function truncateMetrics(storage: Storage, path: string, step: number): Promise<number> {
  const { records, lines } = await readMetrics(storage, path);
  const kept = lines.filter((_, i) => records[i]!.step <= step);
  await storage.writeAtomic(path, kept.join(""));
  return kept.length;
}
