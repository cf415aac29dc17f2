// Mutation operators for the fuzz suite: seeded, so a run is reproducible from
// its seed and mutant number. Byte-level operators work on any file; JSON
// operators edit a parsed value and write it back with raw tokens that
// JSON.stringify cannot produce (1e400, NaN, duplicate keys, deep nesting).

/** SplitMix32: small, fast, seeded. */
export function rng(seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 2 ** 32;
  };
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: (list) => list[Math.floor(next() * list.length)],
  };
}

/** A JSON token written verbatim (numbers JSON.stringify would turn into null, NaN, …). */
export class Raw {
  constructor(text) {
    this.text = text;
  }
}

/** An object written with a key twice (the second value wins in JSON.parse). */
export class DuplicateKeys {
  constructor(entries) {
    this.entries = entries;
  }
}

export function stringify(v) {
  if (v instanceof Raw) return v.text;
  if (v instanceof DuplicateKeys) return `{${v.entries.map(([k, x]) => `${JSON.stringify(k)}:${stringify(x)}`).join(",")}}`;
  if (Array.isArray(v)) return `[${v.map(stringify).join(",")}]`;
  if (v && typeof v === "object") return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}:${stringify(x)}`).join(",")}}`;
  return JSON.stringify(v);
}

export const deepArray = (depth) => new Raw("[".repeat(depth) + "]".repeat(depth));
export const deepObject = (depth) => new Raw('{"a":'.repeat(depth) + "1" + "}".repeat(depth));

/** Values that break naive readers: wrong types, non-integers, huge, negative, non-finite, nested. */
export const NASTY_VALUES = [
  -1, 0, 1, 1.5, -0.5, 1e9, 2 ** 31, 2 ** 32, 2 ** 53 + 2, 1e300, -1e300, 1e-300,
  new Raw("1e400"), new Raw("-1e400"), new Raw("NaN"), new Raw("Infinity"),
  null, true, false, "", "x", "12", "constructor", "__proto__", [], [1, 2], {}, { a: 1 },
  deepArray(5000), deepObject(5000), "\u{1F600}".repeat(4), "\ud800",
];

/** Every [path, value] in a parsed JSON value, the root included. */
export function jsonPaths(value, path = [], out = []) {
  out.push([path, value]);
  if (Array.isArray(value)) value.forEach((x, i) => jsonPaths(x, [...path, i], out));
  else if (value && typeof value === "object") for (const [k, x] of Object.entries(value)) jsonPaths(x, [...path, k], out);
  return out;
}

function setAt(root, path, value) {
  if (path.length === 0) return value;
  const copy = structuredClone(root);
  let o = copy;
  for (const k of path.slice(0, -1)) o = o[k];
  o[path[path.length - 1]] = value;
  return copy;
}

function deleteAt(root, path) {
  const copy = structuredClone(root);
  let o = copy;
  for (const k of path.slice(0, -1)) o = o[k];
  const last = path[path.length - 1];
  if (Array.isArray(o)) o.splice(last, 1);
  else delete o[last];
  return copy;
}

/**
 * One JSON-level mutant of `value`: { text, what } where `what` names the path
 * and the change, and `field` is the key it touched (for the "names the field" check).
 * `pathFilter(path)` limits which paths are mutated (e.g. not the 256 entries of a vocabulary).
 */
export function mutateJson(value, r, extraValues = [], { pathFilter } = {}) {
  const all = jsonPaths(value);
  const paths = pathFilter ? all.filter(([p]) => pathFilter(p)) : all;
  const [path, old] = r.pick(paths);
  const key = path.length ? String(path[path.length - 1]) : "(root)";
  const where = path.length ? path.join(".") : "(root)";
  const op = r.int(12);
  if (op >= 10) {
    // Deep nesting: readers must not recurse on it, in parsing or in their error messages.
    const v = r.pick([deepArray(5000), deepObject(5000), deepArray(100000), new Raw(`[${"[".repeat(3000)}1${"]".repeat(3000)}, 2]`)]);
    return { text: stringify(setAt(value, path, v)), what: `${where} := nested ${v.text.length / 2} deep`, field: key, path };
  }
  if (op === 0 && path.length > 0) return { text: stringify(deleteAt(value, path)), what: `delete ${where}`, field: key, path };
  if (op === 1 && path.length > 0 && old !== null && typeof old === "object" && !Array.isArray(old)) {
    // Duplicate a key of this object with another value.
    const entries = Object.entries(old);
    if (entries.length > 0) {
      const [k] = r.pick(entries);
      const dup = new DuplicateKeys([...entries, [k, r.pick(NASTY_VALUES)]]);
      return { text: stringify(setAt(value, path, dup)), what: `duplicate key ${where}.${k}`, field: k, path: [...path, k] };
    }
  }
  if (op === 2 && Array.isArray(old) && old.length > 1) {
    return { text: stringify(setAt(value, path, old.slice().reverse())), what: `reverse ${where}`, field: key, path };
  }
  if (op === 3 && typeof old === "number") {
    const v = r.pick([old + 0.5, -old, old * 2 ** 20, old + 1, old - 1, 2 ** 31 - 1, 2 ** 31, new Raw("1e400")]);
    return { text: stringify(setAt(value, path, v)), what: `${where} := ${stringify(v)}`, field: key, path };
  }
  const v = r.pick([...NASTY_VALUES, ...extraValues]);
  const shown = stringify(v);
  return { text: stringify(setAt(value, path, v)), what: `${where} := ${shown.length > 40 ? shown.slice(0, 40) + "…" : shown}`, field: key, path };
}

const INVALID_UTF8 = [[0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80]];

/** Byte-level mutants of `bytes`; `region` limits flips and UTF-8 damage to [begin, end). */
export function mutateBytes(bytes, r, { boundaries = [], region = [0, bytes.length] } = {}) {
  const op = r.int(4);
  const [lo, hi] = region;
  const span = Math.max(1, hi - lo);
  if (op === 0) {
    const out = bytes.slice();
    const n = 1 + r.int(8);
    for (let i = 0; i < n; i++) out[lo + r.int(span)] ^= 1 << r.int(8);
    return { bytes: out, what: `flip ${n} bit(s) in [${lo}, ${hi})` };
  }
  if (op === 1) {
    const cuts = [...boundaries, 0, 1, bytes.length - 1];
    const at = r.next() < 0.7 ? r.pick(cuts) : r.int(bytes.length);
    const cut = Math.max(0, Math.min(bytes.length - 1, at + r.pick([-1, 0, 0, 1])));
    return { bytes: bytes.slice(0, cut), what: `truncate at ${cut} of ${bytes.length}` };
  }
  if (op === 2) {
    const seq = r.pick(INVALID_UTF8);
    const at = lo + r.int(span);
    const out = bytes.slice();
    out.set(seq.slice(0, Math.max(0, out.length - at)), at);
    return { bytes: out, what: `invalid UTF-8 ${seq.map((b) => b.toString(16)).join(" ")} at ${at}` };
  }
  const out = bytes.slice();
  const at = lo + r.int(span);
  out[at] = r.int(256);
  return { bytes: out, what: `byte ${at} := random` };
}
