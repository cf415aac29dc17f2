// Argument parsing shared by the subcommands: node:util's parseArgs (Node and Deno
// both provide it) plus typed number options with errors that name the flag.

export class UsageError extends Error {
  override name = "UsageError";
}

export type OptionSpec = Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }>;

export async function parseFlags(argv: string[], options: OptionSpec): Promise<Record<string, string | boolean | string[] | undefined>> {
  const { parseArgs } = await import("node:util");
  try {
    const { values, positionals } = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
    return values as Record<string, string | boolean | string[] | undefined>;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError((e as Error).message);
  }
}

export function requireString(values: Record<string, unknown>, name: string): string {
  const v = values[name];
  if (typeof v !== "string" || v === "") throw new UsageError(`--${name} is required`);
  return v;
}

/** A finite number flag, or `fallback` when absent. */
export function numberFlag(values: Record<string, unknown>, name: string, fallback: number): number;
export function numberFlag(values: Record<string, unknown>, name: string, fallback?: number): number | undefined;
export function numberFlag(values: Record<string, unknown>, name: string, fallback?: number): number | undefined {
  const v = values[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== "string" || v.trim() === "" || !Number.isFinite(n)) {
    throw new UsageError(`--${name} must be a number, got ${JSON.stringify(v)}`);
  }
  return n;
}

export function choiceFlag<T extends string>(values: Record<string, unknown>, name: string, choices: readonly T[], fallback: T): T {
  const v = values[name];
  if (v === undefined) return fallback;
  if (!choices.includes(v as T)) throw new UsageError(`--${name} must be one of ${choices.join(", ")}, got ${JSON.stringify(v)}`);
  return v as T;
}
