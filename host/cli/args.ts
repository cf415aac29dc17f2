// The flag parser every `jreg` command uses. Each command declares its flags once
// (type, default, help text); parsing, validation, error messages and `--help` are
// all generated from that declaration, so the help can never disagree with what
// the command accepts.
//
// Why not node:util parseArgs: it treats "-1e-3" after "--lr" as a flag and
// rejects it, and its errors cannot say which type or range a flag expects.
//
// Rules: `--name value` and `--name=value`; a flag that takes a value always takes
// the next argument, so negative numbers work (`--lr -1e-3`); booleans are
// `--flag` / `--no-flag`; `--` ends the flags; `-h`/`--help` anywhere prints help.
import { closestMatch } from "../util/suggest.ts";

/** A mistake in how the command was called: printed with a pointer to --help, exit 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

export interface Range {
  min?: number;
  max?: number;
  /** min itself is not allowed (x > min) */
  minExclusive?: boolean;
  /** max itself is not allowed (x < max) */
  maxExclusive?: boolean;
}

interface FlagBase {
  help: string;
  /** placeholder in help, e.g. DIR, FILE, N */
  metavar?: string;
  short?: string;
  /** describes a default that is not a fixed value ("stdout", "from the file name") */
  defaultText?: string;
}
export interface NumberFlag extends FlagBase, Range {
  type: "number" | "integer";
  default?: number;
  required?: boolean;
}
export interface StringFlag extends FlagBase {
  type: "string";
  default?: string;
  required?: boolean;
}
export interface ChoiceFlag<C extends string = string> extends FlagBase {
  type: "choice";
  choices: readonly C[];
  default?: C;
  required?: boolean;
}
export interface BooleanFlag extends FlagBase {
  type: "boolean";
  default?: boolean;
}
/** A flag that may be given several times; the values in order. */
export interface RepeatedFlag extends FlagBase {
  type: "repeated";
}
export type FlagSpec = NumberFlag | StringFlag | ChoiceFlag | BooleanFlag | RepeatedFlag;
export type FlagSpecs = Record<string, FlagSpec>;

export interface PositionalSpec {
  /** shown in usage, e.g. "SUITE" */
  name: string;
  help: string;
  /** how many are allowed; default any number */
  max?: number;
}

export interface CommandSpec<F extends FlagSpecs = FlagSpecs> {
  /** the words after `jreg`, e.g. "tokenizer train" */
  name: string;
  /** one line, used in `jreg --help` */
  summary: string;
  /** paragraphs shown under the usage line */
  description?: string;
  flags: F;
  positionals?: PositionalSpec;
  /** text appended after the options (examples, notes) */
  epilog?: string;
}

type FlagValue<S extends FlagSpec> = S extends NumberFlag
  ? number
  : S extends BooleanFlag
    ? boolean
    : S extends ChoiceFlag<infer C>
      ? C
      : S extends RepeatedFlag
        ? string[]
        : string;

/** Parsed values: flags with a default (and booleans, repeated flags, required ones) are always present. */
export type FlagValues<F extends FlagSpecs> = {
  [K in keyof F]: F[K] extends BooleanFlag | RepeatedFlag
    ? FlagValue<F[K]>
    : F[K] extends { default: unknown } | { required: true }
      ? FlagValue<F[K]>
      : FlagValue<F[K]> | undefined;
};

export interface ParsedArgs<F extends FlagSpecs> {
  values: FlagValues<F>;
  positionals: string[];
  /** flags the user actually gave (as opposed to defaults) */
  given: Set<string>;
}

/** `--help`/`-h` was asked for: the caller prints `helpText(spec)` and exits 0. */
export interface HelpRequest {
  help: true;
}

/** "≥ 1", "in [0, 1)", "> 0", or "" for no range. */
export function describeRange(r: Range): string {
  const { min, max } = r;
  if (min !== undefined && max !== undefined) return `in ${r.minExclusive ? "(" : "["}${min}, ${max}${r.maxExclusive ? ")" : "]"}`;
  if (min !== undefined) return `${r.minExclusive ? ">" : "≥"} ${min}`;
  if (max !== undefined) return `${r.maxExclusive ? "<" : "≤"} ${max}`;
  return "";
}

export function inRange(v: number, r: Range): boolean {
  if (r.min !== undefined && (r.minExclusive ? !(v > r.min) : !(v >= r.min))) return false;
  if (r.max !== undefined && (r.maxExclusive ? !(v < r.max) : !(v <= r.max))) return false;
  return true;
}

/** What the flag expects, for messages: "an integer ≥ 1", "one of gpt2, cl100k". */
export function expectation(spec: FlagSpec): string {
  switch (spec.type) {
    case "number":
    case "integer": {
      const range = describeRange(spec);
      const kind = spec.type === "integer" ? "an integer" : "a number";
      return range ? `${kind} ${range}` : kind;
    }
    case "choice":
      return `one of ${spec.choices.join(", ")}`;
    case "boolean":
      return "true or false";
    default:
      return "a value";
  }
}

/** A decimal number as users write one: -1e-3, 0.5, .5, 3, 1E6. */
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

function convert(flag: string, spec: FlagSpec, raw: string): unknown {
  switch (spec.type) {
    case "number":
    case "integer": {
      // Decimal notation only: Number() would also take "0x10" (16), "0b1", " 1 " and "Infinity".
      const n = DECIMAL.test(raw) ? Number(raw) : NaN;
      const ok = Number.isFinite(n) && (spec.type === "number" || Number.isInteger(n)) && inRange(n, spec);
      if (!ok) throw new UsageError(`--${flag} must be ${expectation(spec)}, got ${JSON.stringify(raw)}`);
      return n;
    }
    case "choice":
      if (!spec.choices.includes(raw)) throw new UsageError(`--${flag} must be ${expectation(spec)}, got ${JSON.stringify(raw)}`);
      return raw;
    case "boolean":
      if (raw !== "true" && raw !== "false") throw new UsageError(`--${flag} must be true or false, got ${JSON.stringify(raw)}`);
      return raw === "true";
    default:
      return raw;
  }
}

/**
 * Parses `argv` against the command's flags. Returns `{ help: true }` when -h or
 * --help appears anywhere before `--` (so help works even on an otherwise broken
 * command line). Throws UsageError naming the user's flag for anything wrong.
 */
export function parseCommandLine<F extends FlagSpecs>(spec: CommandSpec<F>, argv: readonly string[]): ParsedArgs<F> | HelpRequest {
  const flags = spec.flags as FlagSpecs;
  const end = argv.indexOf("--");
  const flagPart = end < 0 ? argv : argv.slice(0, end);
  if (flagPart.includes("--help") || flagPart.includes("-h")) return { help: true };

  const shorts = new Map<string, string>();
  for (const [name, f] of Object.entries(flags)) if (f.short) shorts.set(f.short, name);
  const values: Record<string, unknown> = {};
  const given = new Set<string>();
  const positionals: string[] = [];
  const names = Object.keys(flags);
  const unknown = (word: string): never => {
    const guess = closestMatch(word.replace(/^-+/, "").replace(/=.*/, ""), [...names, "help"]);
    throw new UsageError(`unknown flag ${word.replace(/=.*/, "")}` + (guess ? ` (did you mean --${guess}?)` : ""));
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (i === end) {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
    } else if (arg.length > 1 && arg.startsWith("-") && !/^-[\d.]/.test(arg)) {
      const long = shorts.get(arg.slice(1));
      if (long === undefined) unknown(arg);
      name = long!;
    } else {
      positionals.push(arg);
      continue;
    }
    let f = flags[name];
    let negated = false;
    if (!f && name.startsWith("no-") && flags[name.slice(3)]?.type === "boolean") {
      name = name.slice(3);
      f = flags[name];
      negated = true;
    }
    if (!f) unknown(arg);
    if (given.has(name) && f!.type !== "repeated") throw new UsageError(`--${name} was given more than once`);
    given.add(name);
    if (f!.type === "boolean") {
      values[name] = negated ? false : inline === undefined ? true : convert(name, f!, inline);
      continue;
    }
    let raw = inline;
    if (raw === undefined) {
      const next = argv[i + 1];
      // Any next word is the value (negative numbers included), except another long flag.
      if (next === undefined || i + 1 === end || (next.startsWith("--") && next.length > 2)) {
        throw new UsageError(`--${name} needs a value (${f!.metavar ?? expectation(f!)})`);
      }
      raw = next;
      i++;
    }
    if (f!.type === "repeated") ((values[name] ??= []) as string[]).push(raw);
    else values[name] = convert(name, f!, raw);
  }

  const pos = spec.positionals;
  if (positionals.length > 0 && (!pos || (pos.max !== undefined && positionals.length > pos.max))) {
    const extra = positionals[pos?.max ?? 0]!;
    throw new UsageError(`unexpected argument ${JSON.stringify(extra)}` + (extra.startsWith("-") ? "" : pos ? "" : " (this command takes only flags)"));
  }
  for (const [name, f] of Object.entries(flags)) {
    if (name in values) continue;
    if (f.type === "boolean") values[name] = f.default ?? false;
    else if (f.type === "repeated") values[name] = [];
    else if (f.default !== undefined) values[name] = f.default;
    else if (f.required) throw new UsageError(`--${name} is required (${f.help.split(/[;(]/)[0]!.trim()})`);
  }
  return { values: values as FlagValues<F>, positionals, given };
}

function flagUsage(name: string, f: FlagSpec): string {
  if (f.type === "boolean") return `--${name}`;
  const meta = f.metavar ?? (f.type === "choice" ? f.choices.join("|") : f.type === "number" || f.type === "integer" ? "N" : "VALUE");
  return `--${name} ${meta}`;
}

function defaultOf(f: FlagSpec): string | undefined {
  if (f.defaultText !== undefined) return f.defaultText;
  if (f.type === "boolean") return f.default ? "on" : "off";
  if (f.type === "repeated") return "none";
  if ("required" in f && f.required) return undefined;
  return f.default === undefined ? undefined : String(f.default);
}

/** `--help` text: usage line, description, every flag with its type and default. */
export function helpText(spec: CommandSpec): string {
  const entries = Object.entries(spec.flags as FlagSpecs);
  const required = entries.filter(([, f]) => "required" in f && f.required).map(([n, f]) => flagUsage(n, f));
  const usage = [`usage: jreg ${spec.name}`, ...required];
  if (entries.length > required.length) usage.push("[options]");
  if (spec.positionals) usage.push(`[${spec.positionals.name}…]`);
  const lines = [usage.join(" "), "", spec.summary];
  if (spec.description) lines.push("", spec.description);
  const rows: [string, string][] = [];
  if (spec.positionals) rows.push([spec.positionals.name, spec.positionals.help]);
  for (const [name, f] of entries) {
    const left = (f.short ? `-${f.short}, ` : "") + flagUsage(name, f);
    const def = defaultOf(f);
    const note = "required" in f && f.required ? " (required)" : def !== undefined ? ` (default: ${def})` : "";
    rows.push([left, f.help + note]);
  }
  rows.push(["-h, --help", "show this help"]);
  const width = Math.min(28, Math.max(...rows.map(([l]) => l.length)) + 2);
  lines.push("", "options:");
  for (const [left, right] of rows) {
    lines.push(left.length + 2 > width ? `  ${left}\n  ${" ".repeat(width)}${right}` : `  ${left.padEnd(width)}${right}`);
  }
  if (spec.epilog) lines.push("", spec.epilog);
  return lines.join("\n");
}

/** Names of the library's validation errors whose messages name a config field. */
const FIELD_ERRORS = new Set(["TrainConfigError", "JregOptionError", "ConfigError", "ModelConfigError"]);

/**
 * Runs `fn`, and if a lower layer rejects a value with a message that names its
 * own field (`train.weightDecay must be in [0, 1)`, `jreg.lastK must be …`),
 * rethrows it as a UsageError that names the user's flag instead. `fields` maps
 * the field as it appears in messages to the flag, e.g. { "jreg.lastK": "--jreg-last-k" }.
 */
export async function withFlagNames<T>(fields: Record<string, string>, fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    throw renameFields(e, fields);
  }
}

export function renameFields(e: unknown, fields: Record<string, string>): unknown {
  if (!(e instanceof Error) || !FIELD_ERRORS.has(e.name)) return e;
  let msg = e.message;
  let renamed = false;
  // Longest first, so "train.lr" never eats the start of "train.lrMin".
  for (const field of Object.keys(fields).sort((a, b) => b.length - a.length)) {
    const re = new RegExp(`(?<![\\w.])${field.replace(/\./g, "\\.")}(?![\\w])`, "g");
    if (re.test(msg)) {
      msg = msg.replace(re, fields[field]!);
      renamed = true;
    }
  }
  return renamed ? new UsageError(msg) : e;
}
