// Hugging Face tokenizer.json (model type BPE, byte-level). Accepts merges as
// "a b" strings or [a, b] pairs, `added_tokens` as special tokens, and the two
// pre-tokenizer forms below. Any other setting that would change the ids is
// rejected with an error naming it, rather than silently ignored.
//
// Two deliberate differences from `tokenizers`' Tokenizer.encode: every added
// token (special or not) is recognised only when allowed per call, and the
// post_processor (e.g. a BOS token) is not applied — as with
// add_special_tokens=False. The decoder section is not needed: byte-level
// decoding is fixed.
import type { BpeDefinition } from "./definition.ts";
import { byteLevelToBytes } from "./byte-level.ts";
import { PATTERN_REGEX, type PreTokenizerPattern } from "./pre-tokenizer.ts";
import { createTokenizer, type Tokenizer } from "./tokenizer.ts";

type Json = Record<string, any>;

/** js-tiktoken spells cl100k's case-insensitive contractions out; both spellings are the same pattern. */
const CL100K_ENUMERATED =
  "('s|'S|'t|'T|'re|'rE|'Re|'RE|'ve|'vE|'Ve|'VE|'m|'M|'ll|'lL|'Ll|'LL|'d|'D)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

function patternOfRegex(regex: string): PreTokenizerPattern | undefined {
  if (regex === PATTERN_REGEX.gpt2) return "gpt2";
  if (regex === PATTERN_REGEX.cl100k || regex === CL100K_ENUMERATED) return "cl100k";
  return undefined;
}

/**
 * The `pre_tokenizer` value that Hugging Face tokenizers reads as this pattern
 * (and that this loader recognises): ByteLevel with its built-in GPT-2 regex,
 * or a Split on the cl100k regex followed by ByteLevel without a regex.
 */
export function preTokenizerJson(pattern: PreTokenizerPattern): Json {
  if (pattern === "gpt2") return { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    type: "Sequence",
    pretokenizers: [
      { type: "Split", pattern: { Regex: PATTERN_REGEX.cl100k }, behavior: "Isolated", invert: false },
      { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  };
}

function fail(problem: string): never {
  throw new Error(`tokenizer.json: ${problem}`);
}

function readPattern(pre: Json | null | undefined): PreTokenizerPattern {
  if (pre == null) fail('missing "pre_tokenizer" (byte-level BPE needs ByteLevel)');
  const steps: Json[] = pre.type === "Sequence" ? pre.pretokenizers ?? [] : [pre];
  let pattern: PreTokenizerPattern | undefined;
  let byteLevel = false;
  for (const step of steps) {
    if (step?.type === "ByteLevel") {
      if (step.add_prefix_space) fail("ByteLevel add_prefix_space=true is not supported");
      byteLevel = true;
      if (step.use_regex !== false) {
        if (pattern) fail("pre_tokenizer splits twice (Split and ByteLevel use_regex)");
        pattern = "gpt2";
      }
    } else if (step?.type === "Split") {
      const regex = step.pattern?.Regex;
      if (typeof regex !== "string") fail("Split pre-tokenizer without a Regex pattern is not supported");
      if (step.behavior !== undefined && step.behavior !== "Isolated") fail(`Split behavior "${step.behavior}" is not supported (only Isolated)`);
      if (step.invert) fail("Split with invert=true is not supported");
      pattern = patternOfRegex(regex);
      if (!pattern) fail(`unsupported pre-tokenizer regex ${JSON.stringify(regex)} (supported: the GPT-2 and cl100k/Llama-3 patterns)`);
    } else {
      fail(`unsupported pre-tokenizer type ${JSON.stringify(step?.type)}`);
    }
  }
  if (!byteLevel) fail("pre_tokenizer has no ByteLevel step; only byte-level BPE is supported");
  if (!pattern) fail("pre_tokenizer does not split text (no regex)");
  return pattern;
}

function parseJson(text: string): Json {
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    // Engines word this differently; a parse that fails at the very end of the
    // text means the file was cut short.
    const position = /position (\d+)/.exec(msg);
    const atEnd = position ? Number(position[1]) >= text.trimEnd().length : false;
    if (atEnd || /end of (JSON )?input|Unterminated|Unexpected end/i.test(msg)) fail(`truncated JSON (${msg})`);
    fail(`invalid JSON (${msg})`);
  }
}

/** Parses tokenizer.json text (or the parsed object) into a definition. */
export function parseTokenizerJson(input: string | Json): BpeDefinition {
  const json = typeof input === "string" ? parseJson(input) : input;
  if (!json || typeof json !== "object" || Array.isArray(json)) fail("expected a JSON object");
  const model = json.model;
  if (model == null) fail('missing "model"');
  if (typeof model !== "object") fail('"model" is not an object');
  if (model.type !== undefined && model.type !== "BPE") fail(`unsupported model type ${JSON.stringify(model.type)} (only BPE)`);
  if (model.type === undefined && !("merges" in model)) fail('model has no "type" and no "merges"; only BPE is supported');
  if (json.normalizer != null) fail(`unsupported normalizer ${JSON.stringify(json.normalizer.type ?? json.normalizer)}`);
  if (model.byte_fallback) fail("byte_fallback BPE is not byte-level; not supported");
  if (model.continuing_subword_prefix) fail("continuing_subword_prefix is not supported");
  if (model.end_of_word_suffix) fail("end_of_word_suffix is not supported");
  if (model.dropout != null && model.dropout !== 0) fail("BPE dropout is not supported (encoding would not be deterministic)");
  const vocab = model.vocab;
  if (!vocab || typeof vocab !== "object" || Array.isArray(vocab)) fail('missing "model.vocab" (an object of token -> id)');
  const pattern = readPattern(json.pre_tokenizer);

  const specialTokens: Record<string, number> = {};
  const specialIds = new Map<number, string>();
  for (const added of json.added_tokens ?? []) {
    if (typeof added?.content !== "string" || !Number.isInteger(added?.id) || added.id < 0) {
      fail(`added_tokens entry ${JSON.stringify(added)} needs "content" and a non-negative integer "id"`);
    }
    const other = specialIds.get(added.id);
    if (other !== undefined && other !== added.content) fail(`duplicate id ${added.id} (added tokens ${JSON.stringify(other)} and ${JSON.stringify(added.content)})`);
    if (added.content in specialTokens && specialTokens[added.content] !== added.id) fail(`added token ${JSON.stringify(added.content)} has two ids`);
    specialTokens[added.content] = added.id;
    specialIds.set(added.id, added.content);
  }

  const tokens: (Uint8Array | null)[] = [];
  const owner = new Map<number, string>();
  for (const [text, id] of Object.entries(vocab)) {
    if (!Number.isInteger(id) || (id as number) < 0) fail(`vocab token ${JSON.stringify(text)} has invalid id ${JSON.stringify(id)}`);
    const i = id as number;
    const prev = owner.get(i);
    if (prev !== undefined) fail(`duplicate id ${i} (tokens ${JSON.stringify(prev)} and ${JSON.stringify(text)})`);
    owner.set(i, text);
    const special = specialIds.get(i);
    if (special !== undefined) {
      if (special !== text) fail(`duplicate id ${i} (vocab token ${JSON.stringify(text)} and added token ${JSON.stringify(special)})`);
      continue; // createTokenizer stores special tokens' bytes itself
    }
    const bytes = byteLevelToBytes(text);
    if (!bytes) fail(`vocab token ${JSON.stringify(text)} (id ${i}) is not in the byte-level alphabet`);
    while (tokens.length <= i) tokens.push(null);
    tokens[i] = bytes;
  }
  for (const [id, text] of specialIds) {
    if (owner.has(id) && owner.get(id) !== text) fail(`duplicate id ${id} (vocab token ${JSON.stringify(owner.get(id))} and added token ${JSON.stringify(text)})`);
  }

  const rawMerges = model.merges;
  if (!Array.isArray(rawMerges)) fail('missing "model.merges" (a list of "a b" strings or [a, b] pairs)');
  const idOf = (t: unknown, i: number, m: unknown): number => {
    const id = typeof t === "string" ? (vocab as Record<string, number>)[t] : undefined;
    if (id === undefined || !Object.prototype.hasOwnProperty.call(vocab, t as string)) {
      fail(`merge ${i} (${JSON.stringify(m)}) references unknown token ${JSON.stringify(t)}`);
    }
    return id;
  };
  const merges: [number, number][] = new Array(rawMerges.length);
  for (let i = 0; i < rawMerges.length; i++) {
    const m = rawMerges[i];
    let a: unknown, b: unknown;
    if (typeof m === "string") {
      const sp = m.indexOf(" ");
      if (sp < 0 || m.indexOf(" ", sp + 1) >= 0) fail(`merge ${i} ${JSON.stringify(m)} is not two tokens separated by one space`);
      a = m.slice(0, sp);
      b = m.slice(sp + 1);
    } else if (Array.isArray(m) && m.length === 2) {
      [a, b] = m;
    } else {
      fail(`merge ${i} ${JSON.stringify(m)} is neither "a b" nor [a, b]`);
    }
    merges[i] = [idOf(a, i, m), idOf(b, i, m)];
  }
  return { tokens, merges, pattern, specialTokens, ignoreMerges: model.ignore_merges === true };
}

/** Loads a Hugging Face tokenizer.json (text or parsed object). */
export function loadTokenizerJson(input: string | Json): Promise<Tokenizer> {
  return createTokenizer(parseTokenizerJson(input));
}
