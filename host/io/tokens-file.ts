// The tokens file of the CLI: JSON `[[t0, t1, …, tT], …]`, B rows of T+1 ids.
// Inputs are row[:-1] and targets row[1:], so each row needs at least 2 ids.
// Errors name the row and column, so a user can find the bad id in their file.

export class TokensError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "TokensError";
  }
}

import type { TokenBatch } from "../model/batch.ts";
import { readBoundedFile } from "./files.ts";
export type { TokenBatch };

export interface ParseTokensOptions {
  /** Every id must be < vocabSize. */
  vocabSize?: number;
  /** T (ids per row − 1) must be ≤ maxSeqLen. */
  maxSeqLen?: number;
  /** Name used in error messages (usually the file path). */
  source?: string;
}

/**
 * A tokens file larger than this is refused before it is read: as JSON text it
 * would be tens of millions of ids, far more than one batch of eval or step.
 */
export const MAX_TOKENS_FILE_BYTES = 256 * 1024 * 1024;

/**
 * Reads and parses a tokens file. `label` says where the path came from in
 * messages ("--tokens"); missing files, directories, endless files (/dev/zero)
 * and files over MAX_TOKENS_FILE_BYTES are refused with a TokensError naming it.
 */
export async function readTokensFile(path: string, opts: ParseTokensOptions & { label?: string } = {}): Promise<TokenBatch> {
  const where = opts.label ? `${opts.label} ${path}` : `tokens file ${path}`;
  const bytes = await readBoundedFile(path, MAX_TOKENS_FILE_BYTES, where, (msg) => new TokensError(msg));
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new TokensError(`${where}: not valid UTF-8; expected JSON [[t0, t1, …, tT], …]`);
  }
  return parseTokens(text, { ...opts, source: opts.source ?? path });
}

const INT32_MAX = 0x7fffffff;

function describe(v: unknown): string {
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object" && v !== null) return "an object";
  return JSON.stringify(v) ?? String(v);
}

export function parseTokens(text: string, opts: ParseTokensOptions = {}): TokenBatch {
  const source = opts.source ?? "tokens";
  const fail = (msg: string): never => {
    throw new TokensError(`${source}: ${msg}`);
  };
  let rows: unknown;
  try {
    rows = JSON.parse(text);
  } catch (e) {
    fail(`not valid JSON (${(e as Error).message}); expected [[t0, t1, …, tT], …]`);
  }
  if (!Array.isArray(rows)) fail(`must be a JSON array of rows [[t0, t1, …, tT], …], got ${describe(rows)}`);
  const list = rows as unknown[];
  if (list.length === 0) fail("has no rows; expected [[t0, t1, …, tT], …]");
  list.forEach((row, i) => {
    if (!Array.isArray(row)) fail(`row ${i} must be an array of token ids, got ${describe(row)}`);
  });
  const length = (list[0] as unknown[]).length;
  (list as unknown[][]).forEach((row, i) => {
    if (row.length < 2) fail(`row ${i} has ${row.length} id${row.length === 1 ? "" : "s"}; each row needs at least 2 (inputs row[:-1], targets row[1:])`);
    if (row.length !== length) fail(`row ${i} has ${row.length} ids but row 0 has ${length}; all rows must have the same length`);
  });
  const seqLen = length - 1;
  if (opts.maxSeqLen !== undefined && seqLen > opts.maxSeqLen) {
    fail(`rows of ${length} ids give sequence length T = ${seqLen}, longer than the model's maximum ${opts.maxSeqLen}`);
  }

  const vocab = opts.vocabSize;
  const ids = new Int32Array(list.length * length);
  (list as unknown[][]).forEach((row, i) => {
    for (let j = 0; j < length; j++) {
      const id = row[j];
      if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id > INT32_MAX) {
        fail(`row ${i}, column ${j}: token id ${describe(id)} is not a non-negative integer`);
      }
      if (vocab !== undefined && (id as number) >= vocab) {
        fail(`row ${i}, column ${j}: token id ${id} is out of range for vocab size ${vocab} (ids must be in [0, ${vocab - 1}])`);
      }
      ids[i * length + j] = id as number;
    }
  });
  return { batch: list.length, length, ids };
}
