// Hugging Face tokenizer.json normalizers, as functions on JavaScript strings.
// Unicode forms use the platform's String.prototype.normalize (no tables here).
// Each is applied to one section of text (the text between recognised special
// tokens), before pre-tokenizing, as `tokenizers` does.

import { checkDepth, component, describeValue, fail, listField, optionalBoolean, optionalString } from "./file-fields.ts";

type Json = Record<string, any>;

export type Normalize = (text: string) => string;

export interface NormalizerPlan {
  normalize: Normalize;
  /** Readable summary, e.g. "Sequence(Prepend, Replace)". */
  description: string;
  /**
   * Set when the normalizer is `prefix + (each ASCII character c replaced by
   * map[c])` on non-empty text (Prepend and one-character literal Replace, as
   * SentencePiece-style files use): the tokenizer then applies it to UTF-8
   * bytes while it writes them, without building the normalized string.
   */
  substitution?: Substitution;
  /**
   * True when the normalizer leaves ASCII text as it is (the Unicode normal
   * forms and Sequences of them): the tokenizer then skips it for ASCII text,
   * which it sees for free while writing UTF-8 (as many bytes as characters).
   */
  keepsAscii?: boolean;
}

export interface Substitution {
  prefix: string;
  /** Replacement character of each ASCII character (undefined: itself). */
  map: (string | undefined)[];
}

function flattenNormalizers(config: Json): Json[] {
  return config?.type === "Sequence" && Array.isArray(config.normalizers) ? config.normalizers.flatMap(flattenNormalizers) : [config];
}

/** The Substitution form of a normalizer, if it has one. */
function substitutionOf(config: Json): Substitution | undefined {
  let prefix = "";
  const map: (string | undefined)[] = new Array(128).fill(undefined);
  for (const step of flattenNormalizers(config)) {
    if (step?.type === "Prepend" && typeof step.prepend === "string") {
      prefix = step.prepend + prefix;
      continue;
    }
    const from = step?.pattern?.String;
    const to = step?.content;
    if (step?.type !== "Replace" || typeof from !== "string" || typeof to !== "string") return undefined;
    if (from.length !== 1 || from.charCodeAt(0) >= 0x80 || [...to].length !== 1) return undefined;
    // Compose: what already became `from` (or is `from` itself) becomes `to`.
    prefix = prefix.replaceAll(from, to);
    for (let c = 0; c < 128; c++) if ((map[c] ?? String.fromCharCode(c)) === from) map[c] = to;
  }
  return { prefix, map };
}

/** A `pattern` of Replace or Split: {String} (literal) or {Regex} (translated to a JavaScript RegExp). */
export function patternRegExp(pattern: Json | undefined, where: string): RegExp {
  if (pattern && typeof pattern.String === "string") {
    return new RegExp(pattern.String.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "gu");
  }
  if (pattern && typeof pattern.Regex === "string") return compileHfRegex(pattern.Regex, where);
  fail(`${where} pattern ${describeValue(pattern)} is neither {"String": ...} nor {"Regex": ...}`);
}

/**
 * Compiles a tokenizer.json regex (Oniguruma syntax) as a JavaScript RegExp
 * with the `u` flag, as the Hugging Face JavaScript port does: escapes that are
 * redundant in Oniguruma but invalid under `u` (\#, \&, \~) lose their
 * backslash, and the case-insensitive contraction group `(?i:...)` is spelled
 * out. Anything else that JavaScript cannot compile is an error naming the regex.
 */
export function compileHfRegex(regex: string, where: string): RegExp {
  let source = regex.replace(/\\([#&~])/g, "$1");
  source = source.replaceAll("(?i:'s|'t|'re|'ve|'m|'ll|'d)", "(?:'([sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD]))");
  try {
    return new RegExp(source, "gu");
  } catch (e) {
    fail(`${where} regex ${describeValue(regex)} is not supported (JavaScript cannot compile it: ${(e as Error).message})`);
  }
}

function one(value: unknown, where: string, depth: number): NormalizerPlan {
  const { config, type } = component(value, where);
  switch (type) {
    case "NFC":
    case "NFD":
    case "NFKC":
    case "NFKD":
      return { normalize: (t) => t.normalize(type), description: type, keepsAscii: true };
    case "Lowercase":
      return { normalize: (t) => t.toLowerCase(), description: "Lowercase" };
    case "Prepend": {
      const prefix = optionalString(config, "prepend", where);
      if (prefix === undefined) fail(`${where}: normalizer Prepend needs a string "prepend"`);
      // tokenizers prepends only to non-empty text.
      return { normalize: (t) => (t.length > 0 ? prefix + t : t), description: "Prepend" };
    }
    case "Replace": {
      const content = optionalString(config, "content", where);
      if (content === undefined) fail(`${where}: normalizer Replace needs a string "content"`);
      const literal = typeof config.pattern?.String === "string" ? (config.pattern.String as string) : undefined;
      if (literal !== undefined) {
        if (literal.length === 0) fail(`${where}: normalizer Replace with an empty String pattern is not supported`);
        return { normalize: (t) => t.replaceAll(literal, content), description: "Replace" };
      }
      const re = patternRegExp(config.pattern, `${where} Replace`);
      // A replacement string is literal: `$` must not act as a group reference.
      return { normalize: (t) => t.replace(re, () => content), description: "Replace(regex)" };
    }
    case "Strip": {
      const left = optionalBoolean(config, "strip_left", where) === true;
      const right = optionalBoolean(config, "strip_right", where) === true;
      return {
        normalize: (t) => (left && right ? t.trim() : left ? t.trimStart() : right ? t.trimEnd() : t),
        description: "Strip",
      };
    }
    case "Sequence": {
      checkDepth(depth, where);
      const parts = listField(config, "normalizers", where, "normalizers");
      const plans = parts.map((p, i) => one(p, `${where}.normalizers[${i}]`, depth + 1));
      const fns = plans.map((p) => p.normalize);
      return {
        normalize: (t) => {
          for (const f of fns) t = f(t);
          return t;
        },
        description: `Sequence(${plans.map((p) => p.description).join(", ")})`,
        keepsAscii: plans.every((p) => p.keepsAscii === true),
      };
    }
    default:
      fail(`${where}: unsupported normalizer ${describeValue(type)} (supported: NFC, NFD, NFKC, NFKD, Lowercase, Prepend, Replace, Strip, Sequence)`);
  }
}

/** The normalizer of a tokenizer.json, or undefined when it has none. */
export function readNormalizer(config: Json | null | undefined): NormalizerPlan | undefined {
  if (config == null) return undefined;
  // one() validates the whole tree (and its depth) before substitutionOf walks it.
  return { ...one(config, "normalizer", 0), substitution: substitutionOf(config) };
}
