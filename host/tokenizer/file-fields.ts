// Reading the fields of an untrusted tokenizer file (tokenizer.json,
// encoder.json + vocab.bpe, a .tiktoken rank file). Every problem is a
// TokenizerFileError that names the file and the field ("tokenizer.json:
// pre_tokenizer.pretokenizers[1].behavior ..."), and values are shown with
// describeValue, which never recurses deeply (a value nested 100,000 deep would
// overflow JSON.stringify inside the error path). Ids and ranks are checked
// against a bound proportional to the file's own number of tokens before any
// table is sized from them.
import { describeValue } from "../io/describe-value.ts";
import { MAX_IDS, createTokenizer, type Tokenizer } from "./tokenizer.ts";
import type { BpeDefinition } from "./definition.ts";

export { describeValue };

/**
 * A problem in a tokenizer file. `problem` is the message without the file's
 * name, so that a loader that read the file from disk can report it against
 * the path (and the flag) it came from: `in(source)`.
 */
export class TokenizerFileError extends Error {
  constructor(
    readonly source: string,
    readonly problem: string,
  ) {
    // Line-based files read "vocab.bpe line 4: ...", the others "tokenizer.json: ...".
    super(problem.startsWith("line ") ? `${source} ${problem}` : `${source}: ${problem}`);
    this.name = "TokenizerFileError";
  }

  in(source: string): TokenizerFileError {
    return source === this.source ? this : new TokenizerFileError(source, this.problem);
  }
}

/** The name tokenizer.json problems carry until a loader names the real file. */
export const TOKENIZER_JSON = "tokenizer.json";

/** Throws a tokenizer.json problem. */
export function fail(problem: string): never {
  throw new TokenizerFileError(TOKENIZER_JSON, problem);
}

/** Runs `parse` and reports its tokenizer-file problems against `source`. */
export function reportedAs<T>(source: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof TokenizerFileError) throw e.in(source);
    throw e;
  }
}

/** Sequences (of normalizers, pre-tokenizers, decoders, processors) nest at most this deep; real files nest one level. */
export const MAX_SEQUENCE_DEPTH = 16;

export const isObject = (v: unknown): v is Record<string, any> => v !== null && typeof v === "object" && !Array.isArray(v);

/** Own property only: a key "constructor" or "__proto__" is a key like any other. */
export function own(obj: Record<string, any>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(obj, key) ? obj[key] : undefined;
}

/** A component ({"type": ..., ...}) at `where`, with its type. */
export function component(config: unknown, where: string): { config: Record<string, any>; type: string } {
  if (!isObject(config)) fail(`${where} must be an object with a "type", got ${describeValue(config)}`);
  const type = own(config, "type");
  if (typeof type !== "string") fail(`${where}.type must be a string, got ${describeValue(type)}`);
  return { config, type };
}

/** An optional boolean field: absent or null is undefined. */
export function optionalBoolean(obj: Record<string, any>, key: string, where: string): boolean | undefined {
  const v = own(obj, key);
  if (v == null) return undefined;
  if (typeof v !== "boolean") fail(`${where}.${key} must be true or false, got ${describeValue(v)}`);
  return v;
}

/** An optional string field: absent or null is undefined. */
export function optionalString(obj: Record<string, any>, key: string, where: string): string | undefined {
  const v = own(obj, key);
  if (v == null) return undefined;
  if (typeof v !== "string") fail(`${where}.${key} must be a string, got ${describeValue(v)}`);
  return v;
}

/** An optional non-negative integer field: absent or null is undefined. */
export function optionalCount(obj: Record<string, any>, key: string, where: string): number | undefined {
  const v = own(obj, key);
  if (v == null) return undefined;
  if (!Number.isSafeInteger(v) || (v as number) < 0) fail(`${where}.${key} must be a non-negative integer, got ${describeValue(v)}`);
  return v as number;
}

/** A list field; absent or null is `fallback` when given, else an error. */
export function listField(obj: Record<string, any>, key: string, where: string, what: string, fallback?: unknown[]): unknown[] {
  const v = own(obj, key);
  if (v == null && fallback !== undefined) return fallback;
  if (!Array.isArray(v)) fail(`${where}${where ? "." : ""}${key} must be a list of ${what}, got ${describeValue(v)}`);
  return v;
}

/** The nesting guard of a Sequence at `where`. */
export function checkDepth(depth: number, where: string): void {
  if (depth > MAX_SEQUENCE_DEPTH) fail(`${where}: Sequences nested more than ${MAX_SEQUENCE_DEPTH} deep`);
}

/**
 * The largest id a file may use when it defines `count` tokens. Ids index
 * tables (the token list, the native tables), so an id must not size them
 * beyond what the file itself holds: gaps may at most double the vocabulary
 * (plus 256, for small files), and no tokenizer holds more than MAX_IDS.
 */
export function idLimit(count: number): number {
  return Math.min(MAX_IDS - 2, 2 * count + 256);
}

/** " beyond ..." for an id over idLimit(count). */
export function beyondLimit(count: number): string {
  const limit = idLimit(count);
  return limit === MAX_IDS - 2
    ? `beyond the largest id a tokenizer can hold (${limit})`
    : `beyond the largest id a file of ${count} tokens may use (${limit}: gaps may at most double the vocabulary)`;
}

/** Which part of a file a problem found while building the tables concerns. */
export type TablePart = "tokens" | "merges" | "special";

/** The part of the definition a createTokenizer problem is about (its messages start with what they concern). */
function partOf(problem: string): TablePart {
  if (/^(merge |\d+ merges)/.test(problem)) return "merges";
  if (/special token/.test(problem)) return "special";
  return "tokens";
}

/**
 * createTokenizer, with its problems (duplicate bytes, a byte without a token,
 * a merge that makes no token) reported by `blame(part, problem)`, which names
 * the file and field that part came from.
 */
export async function createFromFile(definition: BpeDefinition, blame: (part: TablePart, problem: string) => TokenizerFileError): Promise<Tokenizer> {
  try {
    return await createTokenizer(definition);
  } catch (e) {
    const msg = e instanceof Error ? e.message : "";
    if (e instanceof Error && msg.startsWith("tokenizer: ")) {
      const problem = msg.slice("tokenizer: ".length);
      throw blame(partOf(problem), problem);
    }
    throw e;
  }
}

/** A table keyed by token text that has no prototype: "__proto__", "constructor" and "toString" are keys like any other. */
export function tokenRecord<T>(entries: Iterable<readonly [string, T]> = []): Record<string, T> {
  const out: Record<string, T> = Object.create(null);
  for (const [k, v] of entries) Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  return out;
}
