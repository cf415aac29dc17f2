// Hugging Face tokenizer.json pre-tokenizers. A pre-tokenizer either maps onto
// the native splitter in build/tokenizer.wasm (ByteLevel's GPT-2 regex, a Split
// on the cl100k/Llama 3, Qwen or o200k/GPT-4o regex, or no split at all), or runs here in
// JavaScript: Split/Digits/Punctuation/Whitespace/WhitespaceSplit/Metaspace and
// any regex the native splitter does not implement (compiled as a JavaScript
// RegExp with the `u` flag — exact, but slower; `regexFallback` says so).
//
// Semantics follow the Rust `tokenizers` crate (SplitDelimiterBehavior, invert,
// char predicates); the Hugging Face JavaScript port treats some of these more
// loosely (it ignores MergedWith*/Contiguous and Metaspace `split`, and uses
// ASCII \d, \w, \s); see README "Tokenizer families".
import { PATTERN_REGEX, type PreTokenizerPattern } from "./pre-tokenizer.ts";
import { patternRegExp } from "./normalizers.ts";
import { checkDepth, component, describeValue, fail, listField, optionalBoolean, optionalString } from "./file-fields.ts";

type Json = Record<string, any>;

/** Splits one piece; `first` is true for the first piece of the first text section. */
type Step = (pieces: string[], sectionIndex: number) => string[];

export interface PreTokenizerPlan {
  /** True when the pieces are mapped to bytes (a ByteLevel step); else BPE runs over characters. */
  byteLevel: boolean;
  /** Set when the native splitter does all the work: which pattern ("none": one piece per section). */
  native?: PreTokenizerPattern | "none";
  /** ByteLevel add_prefix_space in the native case: a space before each section that lacks one. */
  prefixSpace: boolean;
  /** The JavaScript splitter, when not native. */
  split?: (section: string, sectionIndex: number) => string[];
  /**
   * Fast form of `split` for a single regex Split (Isolated, or Removed with
   * invert): the UTF-16 end of each piece when the pieces cover the section
   * without gaps (the usual case: such regexes match every character), else
   * undefined (then `split` is used).
   */
  splitEnds?: (section: string) => Int32Array | undefined;
  /** True when a regex runs as a JavaScript RegExp because the native splitter does not cover it. */
  regexFallback: boolean;
  description: string;
}

const BEHAVIORS = ["Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"] as const;
type Behavior = (typeof BEHAVIORS)[number];

/** One segment of a piece: [start, end) and whether it is a (possibly inverted) match. */
type Segment = [number, number, boolean];

/** Rust `tokenizers` find_matches: matches and the gaps between them, covering the text. */
function regexSegments(text: string, re: RegExp): Segment[] {
  if (text.length === 0) return [[0, 0, false]];
  const out: Segment[] = [];
  let prev = 0;
  re.lastIndex = 0;
  for (const m of text.matchAll(re)) {
    const start = m.index!;
    const end = start + m[0].length;
    if (prev !== start) out.push([prev, start, false]);
    out.push([start, end, true]);
    prev = end;
  }
  if (prev !== text.length) out.push([prev, text.length, false]);
  return out;
}

/** Segments for a character predicate: each matching character is its own match. */
function charSegments(text: string, test: RegExp): Segment[] {
  if (text.length === 0) return [[0, 0, false]];
  const out: Segment[] = [];
  let prev = 0;
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    const w = cp > 0xffff ? 2 : 1;
    if (test.test(String.fromCodePoint(cp))) {
      if (prev !== i) out.push([prev, i, false]);
      out.push([i, i + w, true]);
      prev = i + w;
    }
    i += w;
  }
  if (prev !== text.length) out.push([prev, text.length, false]);
  return out;
}

/** Rust `NormalizedString::split` with a behavior; empty pieces are dropped. */
function applyBehavior(text: string, segments: Segment[], behavior: Behavior, invert: boolean): string[] {
  if (invert) for (const s of segments) s[2] = !s[2];
  let kept: [number, number][] = [];
  switch (behavior) {
    case "Isolated":
      kept = segments.map(([a, b]) => [a, b]);
      break;
    case "Removed":
      kept = segments.filter((s) => !s[2]).map(([a, b]) => [a, b]);
      break;
    case "MergedWithPrevious": {
      let previousMatch = false;
      for (const [a, b, isMatch] of segments) {
        if (isMatch && !previousMatch && kept.length > 0) kept[kept.length - 1][1] = b;
        else kept.push([a, b]);
        previousMatch = isMatch;
      }
      break;
    }
    case "MergedWithNext": {
      let previousMatch = false;
      for (let i = segments.length - 1; i >= 0; i--) {
        const [a, b, isMatch] = segments[i];
        if (isMatch && !previousMatch && kept.length > 0) kept[kept.length - 1][0] = a;
        else kept.push([a, b]);
        previousMatch = isMatch;
      }
      kept.reverse();
      break;
    }
    case "Contiguous": {
      let previousMatch = false;
      for (const [a, b, isMatch] of segments) {
        if (isMatch === previousMatch && kept.length > 0) kept[kept.length - 1][1] = b;
        else kept.push([a, b]);
        previousMatch = isMatch;
      }
      break;
    }
  }
  const out: string[] = [];
  for (const [a, b] of kept) if (b > a) out.push(text.slice(a, b));
  return out;
}

function readBehavior(config: Json, where: string, fallback: Behavior): Behavior {
  const b = config.behavior ?? fallback;
  if (!BEHAVIORS.includes(b)) fail(`${where} behavior ${describeValue(b)} is not one of ${BEHAVIORS.join(", ")}`);
  return b;
}

const eachPiece = (f: (piece: string, first: boolean) => string[]): Step => (pieces, sectionIndex) => {
  const out: string[] = [];
  for (let i = 0; i < pieces.length; i++) {
    for (const p of f(pieces[i], sectionIndex === 0 && i === 0)) out.push(p);
  }
  return out;
};

/** `\s` and `\w` of the Rust regex crate (Unicode), which `tokenizers` uses. */
const WHITESPACE_CHAR = /^\p{White_Space}$/u;
const PUNCTUATION_CHAR = /^[\p{P}!-\/:-@\[-`{-~]$/u;
const NUMERIC_CHAR = /^[\p{Nd}\p{Nl}\p{No}]$/u;
const WORD_OR_SYMBOLS = /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]+|[^\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}\p{White_Space}]+/gu;

const NATIVE_SPLITS = new Map<string, PreTokenizerPattern>([
  [PATTERN_REGEX.gpt2, "gpt2"],
  [PATTERN_REGEX.cl100k, "cl100k"],
  [PATTERN_REGEX.qwen, "qwen"],
  [PATTERN_REGEX.o200k, "o200k"],
  // js-tiktoken spells cl100k's case-insensitive contractions out.
  ["('s|'t|'re|'ve|'m|'ll|'d|'S|'T|'RE|'VE|'M|'LL|'D)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", "cl100k"],
  ["('s|'S|'t|'T|'re|'rE|'Re|'RE|'ve|'vE|'Ve|'VE|'m|'M|'ll|'lL|'Ll|'LL|'d|'D)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+", "cl100k"],
]);

const GPT2_REGEX = new RegExp(PATTERN_REGEX.gpt2, "gu");

interface Compiled {
  step: Step;
  regexFallback: boolean;
  name: string;
}

/** A validated step of the pre-tokenizer: its config and where it sits in the file. */
interface StepConfig {
  config: Json;
  type: string;
  where: string;
}

function compileStep({ config, type, where }: StepConfig, isLast: boolean): Compiled {
  switch (type) {
    case "Split": {
      const behavior = readBehavior(config, `${where} Split`, "Isolated");
      const invert = optionalBoolean(config, "invert", where) === true;
      const re = patternRegExp(config.pattern, `${where} Split`);
      return {
        step: eachPiece((p) => applyBehavior(p, regexSegments(p, re), behavior, invert)),
        regexFallback: typeof config.pattern?.Regex === "string",
        name: `Split(${behavior}${invert ? ", invert" : ""})`,
      };
    }
    case "Digits": {
      const behavior: Behavior = optionalBoolean(config, "individual_digits", where) ? "Isolated" : "Contiguous";
      return { step: eachPiece((p) => applyBehavior(p, charSegments(p, NUMERIC_CHAR), behavior, false)), regexFallback: false, name: "Digits" };
    }
    case "Punctuation": {
      const behavior = readBehavior(config, `${where} Punctuation`, "Isolated");
      return { step: eachPiece((p) => applyBehavior(p, charSegments(p, PUNCTUATION_CHAR), behavior, false)), regexFallback: false, name: "Punctuation" };
    }
    case "Whitespace":
      return { step: eachPiece((p) => p.match(WORD_OR_SYMBOLS) ?? []), regexFallback: false, name: "Whitespace" };
    case "WhitespaceSplit":
      return { step: eachPiece((p) => applyBehavior(p, charSegments(p, WHITESPACE_CHAR), "Removed", false)), regexFallback: false, name: "WhitespaceSplit" };
    case "Metaspace": {
      const replacement = optionalString(config, "replacement", where) ?? "▁";
      if ([...replacement].length !== 1) fail(`${where} Metaspace replacement ${describeValue(replacement)} is not one character`);
      const addPrefixSpace = optionalBoolean(config, "add_prefix_space", where);
      const scheme = optionalString(config, "prepend_scheme", where) ?? (addPrefixSpace === false ? "never" : "always");
      if (!["always", "never", "first"].includes(scheme)) fail(`${where} Metaspace prepend_scheme ${describeValue(scheme)} is not always, never or first`);
      const split = optionalBoolean(config, "split", where) !== false;
      const isReplacement = new RegExp(`^${replacement.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "u");
      return {
        step: eachPiece((p, first) => {
          let t = p.replaceAll(" ", replacement);
          if (!t.startsWith(replacement) && (scheme === "always" || (scheme === "first" && first))) t = replacement + t;
          return split ? applyBehavior(t, charSegments(t, isReplacement), "MergedWithNext", false) : [t];
        }),
        regexFallback: false,
        name: `Metaspace(${scheme}${split ? ", split" : ""})`,
      };
    }
    case "ByteLevel": {
      if (!isLast) fail(`${where}: a ByteLevel pre-tokenizer must be the last step (steps after it would see byte-level characters)`);
      const prefix = optionalBoolean(config, "add_prefix_space", where) === true;
      const useRegex = optionalBoolean(config, "use_regex", where) !== false;
      optionalBoolean(config, "trim_offsets", where);
      return {
        step: eachPiece((p) => {
          const t = prefix && !p.startsWith(" ") ? " " + p : p;
          return useRegex ? applyBehavior(t, regexSegments(t, GPT2_REGEX), "Isolated", false) : t.length ? [t] : [];
        }),
        regexFallback: useRegex,
        name: `ByteLevel(${useRegex ? "regex" : "no regex"}${prefix ? ", prefix space" : ""})`,
      };
    }
    default:
      fail(`${where}: unsupported pre-tokenizer type ${describeValue(type)} (supported: Split, Digits, Punctuation, Whitespace, WhitespaceSplit, Metaspace, ByteLevel, Sequence)`);
  }
}

/** The steps of a pre_tokenizer with Sequences flattened; each one is an object with a string type. */
function flatten(value: unknown, where: string, depth: number, out: StepConfig[] = []): StepConfig[] {
  if (value == null && depth === 0) return out;
  const { config, type } = component(value, where);
  if (type !== "Sequence") {
    out.push({ config, type, where });
    return out;
  }
  checkDepth(depth, where);
  const parts = listField(config, "pretokenizers", where, "pre-tokenizers");
  parts.forEach((p, i) => flatten(p, `${where}.pretokenizers[${i}]`, depth + 1, out));
  return out;
}

/** The native equivalent of the steps, if there is one. */
function nativePlan(steps: Json[]): { pattern: PreTokenizerPattern | "none"; prefixSpace: boolean } | undefined {
  if (steps.length === 0) return { pattern: "none", prefixSpace: false };
  const last = steps[steps.length - 1];
  if (last.type !== "ByteLevel") return undefined;
  if (steps.length === 1) {
    if (last.use_regex === false) return { pattern: "none", prefixSpace: last.add_prefix_space === true };
    return { pattern: "gpt2", prefixSpace: last.add_prefix_space === true };
  }
  if (steps.length !== 2 || last.use_regex !== false || last.add_prefix_space === true) return undefined;
  const split = steps[0];
  if (split.type !== "Split" || typeof split.pattern?.Regex !== "string") return undefined;
  // The native patterns' matches tile every text (each character starts some
  // alternative), so keeping only the matches (Removed + invert, as GPT-4o's
  // file says) keeps everything, exactly as Isolated does.
  const behavior = split.behavior ?? "Isolated";
  const tiles = (behavior === "Isolated" && split.invert !== true) || (behavior === "Removed" && split.invert === true);
  if (!tiles) return undefined;
  const pattern = NATIVE_SPLITS.get(split.pattern.Regex);
  return pattern ? { pattern, prefixSpace: false } : undefined;
}

/** The splitEnds fast form, for [Split(regex)] or [Split(regex), ByteLevel without regex or prefix]. */
function contiguousSplit(steps: Json[]): ((section: string) => Int32Array | undefined) | undefined {
  const last = steps[steps.length - 1];
  const tail = last?.type === "ByteLevel" && last.use_regex === false && last.add_prefix_space !== true ? 1 : 0;
  if (steps.length - tail !== 1) return undefined;
  const split = steps[0];
  if (split.type !== "Split" || typeof split.pattern?.Regex !== "string") return undefined;
  const behavior = split.behavior ?? "Isolated";
  const keepMatchesOnly = behavior === "Removed" && split.invert === true;
  if (!keepMatchesOnly && !(behavior === "Isolated" && split.invert !== true)) return undefined;
  const re = patternRegExp(split.pattern, "Split");
  return (section) => {
    const ends = new Int32Array(section.length + 1);
    let n = 0;
    let prev = 0;
    re.lastIndex = 0;
    let m: RegExpExecArray | null;
    while ((m = re.exec(section)) !== null) {
      const start = m.index;
      const end = start + m[0].length;
      if (end === start) {
        re.lastIndex = start + (section.codePointAt(start)! > 0xffff ? 2 : 1);
        continue;
      }
      if (start !== prev) {
        if (keepMatchesOnly) return undefined; // a gap would be removed
        ends[n++] = start;
      }
      ends[n++] = end;
      prev = end;
    }
    if (prev !== section.length) {
      if (keepMatchesOnly) return undefined;
      ends[n++] = section.length;
    }
    return ends.subarray(0, n);
  };
}

/** Reads a tokenizer.json pre_tokenizer (null: none). */
export function readPreTokenizer(config: Json | null | undefined): PreTokenizerPlan {
  const stepConfigs = flatten(config, "pre_tokenizer", 0);
  const compiled = stepConfigs.map((s, i) => compileStep(s, i === stepConfigs.length - 1));
  const steps = stepConfigs.map((s) => s.config);
  const byteLevel = steps.some((s) => s.type === "ByteLevel");
  const description = compiled.length ? compiled.map((c) => c.name).join(" → ") : "none";
  const native = nativePlan(steps);
  if (native) {
    const name = native.pattern === "none" ? "none (one piece per section)" : `native ${native.pattern}`;
    return { byteLevel, native: native.pattern, prefixSpace: native.prefixSpace, regexFallback: false, description: `${description} [${name}]` };
  }
  const fns = compiled.map((c) => c.step);
  return {
    byteLevel,
    prefixSpace: false,
    splitEnds: contiguousSplit(steps),
    split: (section, sectionIndex) => {
      let pieces = [section];
      for (const f of fns) pieces = f(pieces, sectionIndex);
      return pieces;
    },
    regexFallback: compiled.some((c) => c.regexFallback),
    description: `${description} [JavaScript${compiled.some((c) => c.regexFallback) ? ", RegExp fallback" : ""}]`,
  };
}
