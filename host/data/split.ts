// The train/validation split, by document (never inside one, so validation text
// is text the model has not seen). Deterministic and stratified:
//  - documents are grouped (Brown: by genre, the letter of ca01..cr09; a user's
//    corpus has one group), so that every genre is represented in validation;
//  - inside a group, documents are ordered by FNV-1a of `seed:id` (ties by id),
//    and the first round(fraction · n) of that order go to validation: at least
//    one when the group has two or more documents and the fraction is > 0, and
//    never the whole group.
// The result depends only on the ids, the groups, the fraction and the seed —
// not on the order the documents came in or on their text.
import { fnv1a32 } from "./hash.ts";

export interface SplitDocument {
  id: string;
  /** Stratum (e.g. the Brown genre); documents without one form a single group. */
  group?: string;
}

export interface SplitOptions {
  /** Share of each group's documents held out for validation, in [0, 1) (default 0.1). */
  validationFraction?: number;
  /** Changes which documents are held out (default 0). */
  seed?: number;
}

export const DEFAULT_VALIDATION_FRACTION = 0.1;

export interface DocumentSplit<T> {
  /** In input order. */
  train: T[];
  /** In input order. */
  validation: T[];
}

export function validateSplitOptions(opts: SplitOptions): { validationFraction: number; seed: number } {
  const validationFraction = opts.validationFraction ?? DEFAULT_VALIDATION_FRACTION;
  const seed = opts.seed ?? 0;
  if (typeof validationFraction !== "number" || !(validationFraction >= 0 && validationFraction < 1)) {
    throw new RangeError(`split: validationFraction must be a number in [0, 1), got ${JSON.stringify(validationFraction)}`);
  }
  if (!Number.isInteger(seed)) throw new RangeError(`split: seed must be an integer, got ${JSON.stringify(seed)}`);
  return { validationFraction, seed };
}

/** How many of a group's n documents go to validation. */
export function validationCount(n: number, fraction: number): number {
  if (n < 2 || fraction <= 0) return 0;
  return Math.min(n - 1, Math.max(1, Math.round(fraction * n)));
}

export function splitDocuments<T extends SplitDocument>(docs: ReadonlyArray<T>, opts: SplitOptions = {}): DocumentSplit<T> {
  const { validationFraction, seed } = validateSplitOptions(opts);
  const seen = new Set<string>();
  const groups = new Map<string, T[]>();
  for (const d of docs) {
    if (seen.has(d.id)) throw new Error(`split: two documents have the id ${JSON.stringify(d.id)}`);
    seen.add(d.id);
    const key = d.group ?? "";
    let list = groups.get(key);
    if (!list) groups.set(key, (list = []));
    list.push(d);
  }
  const held = new Set<string>();
  for (const list of groups.values()) {
    const order = list
      .map((d) => ({ id: d.id, h: fnv1a32(`${seed}:${d.id}`) }))
      .sort((a, b) => a.h - b.h || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const { id } of order.slice(0, validationCount(list.length, validationFraction))) held.add(id);
  }
  return { train: docs.filter((d) => !held.has(d.id)), validation: docs.filter((d) => held.has(d.id)) };
}
