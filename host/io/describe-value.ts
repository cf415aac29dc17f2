// A short, safe rendering of an untrusted JSON value for error messages.
// JSON.stringify recurses, so a value nested 5,000 deep (a fuzzed `shape` or
// `__metadata__`) overflows the stack inside the very error path that was
// meant to report it. This looks at most 3 levels deep and ~80 characters.

const MAX_DEPTH = 3;
const MAX_ITEMS = 8;
const MAX_CHARS = 80;

function render(v: unknown, depth: number): string {
  if (v === undefined) return "missing";
  // String(): JSON.stringify writes Infinity and NaN (from a 1e400 in the file) as "null".
  if (typeof v === "number") return String(v);
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? String(v);
  if (Array.isArray(v)) {
    if (depth >= MAX_DEPTH) return v.length === 0 ? "[]" : "[…]";
    const items = v.slice(0, MAX_ITEMS).map((x) => render(x, depth + 1));
    return `[${items.join(", ")}${v.length > MAX_ITEMS ? ", …" : ""}]`;
  }
  const keys = Object.keys(v);
  if (depth >= MAX_DEPTH) return keys.length === 0 ? "{}" : "{…}";
  const items = keys.slice(0, MAX_ITEMS).map((k) => `${JSON.stringify(k)}: ${render((v as Record<string, unknown>)[k], depth + 1)}`);
  return `{${items.join(", ")}${keys.length > MAX_ITEMS ? ", …" : ""}}`;
}

/** `[1, 2]`, `"F33"`, `{"a": […]}`, "missing": at most ~80 characters, never deeper than 3 levels. */
export function describeValue(v: unknown): string {
  const s = render(v, 0);
  return s.length > MAX_CHARS ? `${s.slice(0, MAX_CHARS - 1)}…` : s;
}
