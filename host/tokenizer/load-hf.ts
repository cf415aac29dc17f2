// Hugging Face tokenizer.json, model type BPE: byte-level (GPT-2, Llama 3,
// Qwen, GPT-4o) or character-level SentencePiece-style (Llama 2, Mistral,
// TinyLlama, Gemma: merges over characters, byte_fallback to <0xXX>, unk_token).
// Accepts merges as "a b" strings or [a, b] pairs, `added_tokens` as special
// tokens, the normalizers, pre-tokenizers, post-processors and decoders in the
// files next to this one. Any other setting that would change the ids is
// rejected with an error naming it, rather than silently ignored.
//
// Two deliberate differences from `tokenizers`' Tokenizer.encode: every added
// token (special or not) is recognised only when allowed per call, and the
// post_processor (e.g. a BOS token) is applied only when asked
// (addSpecialTokens, as add_special_tokens=True).
import type { BpeDefinition } from "./definition.ts";
import { byteLevelToBytes } from "./byte-level.ts";
import { PATTERN_REGEX, type PreTokenizerPattern } from "./pre-tokenizer.ts";
import { codePointBefore, createTokenizer, type Tokenizer } from "./tokenizer.ts";
import { readNormalizer } from "./normalizers.ts";
import { readPreTokenizer } from "./hf-pre-tokenizers.ts";
import { readPostProcessor } from "./post-processors.ts";
import { readDecoder } from "./decoders.ts";

type Json = Record<string, any>;

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
      { type: "Split", pattern: { Regex: PATTERN_REGEX[pattern] }, behavior: "Isolated", invert: false },
      { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
    ],
  };
}

function fail(problem: string): never {
  throw new Error(`tokenizer.json: ${problem}`);
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
  if (model.continuing_subword_prefix) fail("continuing_subword_prefix is not supported");
  if (model.end_of_word_suffix) fail("end_of_word_suffix is not supported");
  if (model.dropout != null && model.dropout !== 0) fail("BPE dropout is not supported (encoding would not be deterministic)");
  const vocab = model.vocab;
  if (!vocab || typeof vocab !== "object" || Array.isArray(vocab)) fail('missing "model.vocab" (an object of token -> id)');
  const normalizer = readNormalizer(json.normalizer);
  const pre = readPreTokenizer(json.pre_tokenizer);
  const postProcessor = readPostProcessor(json.post_processor);
  const charLevel = !pre.byteLevel;
  if (pre.byteLevel && model.byte_fallback) fail("byte_fallback with a ByteLevel pre-tokenizer is not supported (byte-level BPE has every byte already)");
  const decoder = charLevel ? readDecoder(json.decoder) : undefined;
  if (!charLevel && json.decoder != null && json.decoder.type !== "ByteLevel") {
    fail(`unsupported decoder ${JSON.stringify(json.decoder.type)} for byte-level BPE (only ByteLevel)`);
  }

  const specialTokens: Record<string, number> = {};
  const specialIds = new Map<number, string>();
  const strip: Record<string, { left: boolean; right: boolean }> = {};
  for (const added of json.added_tokens ?? []) {
    if (added?.lstrip === true || added?.rstrip === true) strip[added.content] = { left: added.lstrip === true, right: added.rstrip === true };
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
  const tokenStrings: (string | undefined)[] = [];
  const owner = new Map<number, string>();
  const utf8 = new TextEncoder();
  // A Map: lookups in a 256k-key object (dictionary mode) cost more than the merges' own work.
  const vocabIds = new Map<string, number>();
  for (const [text, id] of Object.entries(vocab)) {
    vocabIds.set(text, id as number);
    if (!Number.isInteger(id) || (id as number) < 0) fail(`vocab token ${JSON.stringify(text)} has invalid id ${JSON.stringify(id)}`);
    const i = id as number;
    const prev = owner.get(i);
    if (prev !== undefined) fail(`duplicate id ${i} (tokens ${JSON.stringify(prev)} and ${JSON.stringify(text)})`);
    owner.set(i, text);
    const special = specialIds.get(i);
    tokenStrings[i] = text;
    if (special !== undefined) {
      if (special !== text) fail(`duplicate id ${i} (vocab token ${JSON.stringify(text)} and added token ${JSON.stringify(special)})`);
      continue; // createTokenizer stores special tokens' bytes itself
    }
    const bytes = charLevel ? utf8.encode(text) : byteLevelToBytes(text);
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
    const id = typeof t === "string" ? vocabIds.get(t) : undefined;
    if (id === undefined) {
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
  for (const [id, text] of specialIds) tokenStrings[id] = text;
  const has = (t: unknown) => typeof t === "string" && (Object.prototype.hasOwnProperty.call(vocab, t) || t in specialTokens);
  const idOfText = (t: string) => (Object.prototype.hasOwnProperty.call(vocab, t) ? (vocab as Record<string, number>)[t] : specialTokens[t]);
  let unkId = -1;
  if (model.unk_token != null) {
    if (!has(model.unk_token)) fail(`unk_token ${JSON.stringify(model.unk_token)} is not in the vocabulary`);
    unkId = idOfText(model.unk_token);
  }
  const byteFallback = new Int32Array(256).fill(-1);
  if (charLevel && model.byte_fallback) {
    for (let b = 0; b < 256; b++) {
      const name = `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`;
      if (has(name)) byteFallback[b] = idOfText(name);
    }
  }
  const safeCut = charLevel ? safeCutOf(tokenStrings) : undefined;
  const needsPipeline = charLevel || normalizer !== undefined || pre.split !== undefined || pre.prefixSpace;
  return {
    tokens,
    merges,
    pattern: pre.native ?? "none",
    specialTokens,
    ignoreMerges: model.ignore_merges === true,
    postProcessor,
    pipeline: needsPipeline
      ? {
          normalize: normalizer?.normalize,
          substitution: normalizer?.substitution,
          normalizeKeepsAscii: normalizer?.keepsAscii,
          split: pre.split,
          splitEnds: pre.splitEnds,
          prefixSpace: pre.prefixSpace,
          charLevel: charLevel
            ? { byteFallback, unkId, fuseUnk: model.fuse_unk === true, tokenStrings, decode: decoder!.chain, safeCut }
            : undefined,
          strip,
        }
      : undefined,
    info: {
      normalizer: normalizer?.description ?? null,
      preTokenizer: pre.description,
      model: charLevel ? `character-level BPE${model.byte_fallback ? ", byte_fallback" : ""}` : "byte-level BPE",
      postProcessor: postProcessor?.description ?? null,
      decoder: charLevel ? decoder!.description : json.decoder == null ? null : "ByteLevel",
      regexFallback: pre.regexFallback,
    },
  };
}

/**
 * Character-level BPE without a pre-tokenizer sees a whole section as one
 * word. A merge can only join two characters that sit side by side inside
 * some token, so the word may be cut before "▁" (or " ") wherever the
 * character before it never precedes it inside a token: BPE of the parts
 * equals BPE of the whole. This keeps words short (and cacheable). For the
 * same reason it may be cut on both sides of a character that sits in no token
 * of two or more characters (e.g. "\n" in Llama 2, which only byte-falls-back):
 * `merging` holds the characters that do.
 */
function safeCutOf(tokenStrings: ReadonlyArray<string | undefined>): { char: string; blockedAfter: Set<number>; merging: Set<number> } | undefined {
  let char: string | undefined;
  for (const c of ["\u2581", " "]) {
    if (tokenStrings.some((t) => t !== undefined && t.startsWith(c))) {
      char = c;
      break;
    }
  }
  if (char === undefined) return undefined;
  const blockedAfter = new Set<number>();
  for (const t of tokenStrings) {
    if (t === undefined) continue;
    for (let i = t.indexOf(char, 1); i > 0; i = t.indexOf(char, i + 1)) blockedAfter.add(codePointBefore(t, i));
  }
  const merging = new Set<number>();
  for (const t of tokenStrings) {
    if (t === undefined || t.length < 2 || (t.length === 2 && t.codePointAt(0)! > 0xffff)) continue;
    for (const ch of t) merging.add(ch.codePointAt(0)!);
  }
  return { char, blockedAfter, merging };
}

/** Loads a Hugging Face tokenizer.json (text or parsed object). */
export async function loadTokenizerJson(input: string | Json): Promise<Tokenizer> {
  return createTokenizer(parseTokenizerJson(input));
}
