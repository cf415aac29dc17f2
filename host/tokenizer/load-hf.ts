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
import type { BpeDefinition, MergeList } from "./definition.ts";
import { byteLevelToBytes } from "./byte-level.ts";
import { PATTERN_REGEX, type PreTokenizerPattern } from "./pre-tokenizer.ts";
import { codePointBefore, isWellFormed, type Tokenizer } from "./tokenizer.ts";
import { readNormalizer } from "./normalizers.ts";
import { readPreTokenizer } from "./hf-pre-tokenizers.ts";
import { readPostProcessor } from "./post-processors.ts";
import { readDecoder } from "./decoders.ts";
import {
  TOKENIZER_JSON, TokenizerFileError, beyondLimit, createFromFile, describeValue, fail, idLimit, isObject, optionalBoolean, optionalString, own, reportedAs, tokenRecord,
} from "./file-fields.ts";

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

function parseJson(text: string): unknown {
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

export interface TokenizerJsonOptions {
  /** The file named in errors (default "tokenizer.json"; loadTokenizerFile passes the flag and path). */
  source?: string;
}

/** Parses tokenizer.json text (or the parsed object) into a definition. Errors are TokenizerFileErrors naming the file and the field. */
export function parseTokenizerJson(input: string | Json, options: TokenizerJsonOptions = {}): BpeDefinition {
  return definitionOf(input, false, options.source ?? TOKENIZER_JSON);
}

/** The definition of tokenizer.json text or object; errors are TokenizerFileErrors naming `source`. */
function definitionOf(input: string | Json, lazyMerges: boolean, source: string): BpeDefinition {
  return reportedAs(source, () => parseDefinition(typeof input === "string" ? parseJson(input) : input, lazyMerges, source));
}

interface AddedToken {
  id: number;
  content: string;
  lstrip: boolean;
  rstrip: boolean;
}

/** added_tokens: a list of {"id", "content", ...}; every content and id at most once. */
function readAddedTokens(value: unknown, vocabCount: number): AddedToken[] {
  if (value == null) return [];
  if (!Array.isArray(value)) fail(`added_tokens must be a list of {"id", "content"} objects, got ${describeValue(value)}`);
  const limit = idLimit(vocabCount + value.length);
  const out: AddedToken[] = [];
  const byContent = new Map<string, number>();
  const byId = new Map<number, string>();
  value.forEach((entry: unknown, i: number) => {
    const where = `added_tokens[${i}]`;
    if (!isObject(entry)) fail(`${where} must be an object with "content" and "id", got ${describeValue(entry)}`);
    const content = own(entry, "content");
    const id = own(entry, "id");
    if (typeof content !== "string" || !Number.isSafeInteger(id) || (id as number) < 0) {
      fail(`${where} ${describeValue(entry)} needs a string "content" and a non-negative integer "id"`);
    }
    if (content === "") fail(`${where} (id ${id}) has an empty "content"`);
    if (!isWellFormed(content)) fail(`${where} (id ${id}) "content" is not well-formed Unicode (a lone surrogate, which Hugging Face tokenizers cannot read either)`);
    if ((id as number) > limit) fail(`${where} (${describeValue(content)}) has id ${id}, ${beyondLimit(vocabCount + value.length)}`);
    const lstrip = optionalBoolean(entry, "lstrip", where) === true;
    const rstrip = optionalBoolean(entry, "rstrip", where) === true;
    for (const key of ["single_word", "normalized", "special"]) optionalBoolean(entry, key, where);
    const other = byId.get(id as number);
    if (other !== undefined && other !== content) fail(`${where}: duplicate id ${id} (added tokens ${describeValue(other)} and ${describeValue(content)})`);
    const otherId = byContent.get(content);
    if (otherId !== undefined && otherId !== id) fail(`${where}: added token ${describeValue(content)} has two ids (${otherId} and ${id})`);
    byContent.set(content, id as number);
    byId.set(id as number, content);
    out.push({ id: id as number, content, lstrip, rstrip });
  });
  return out;
}

/** model.merges, checked to be a list (its entries are read by readMerges, or in WebAssembly: see MergeList). */
function readMergeEntries(model: Json): unknown[] {
  const rawMerges = own(model, "merges");
  if (!Array.isArray(rawMerges)) fail(`model.merges must be a list of "a b" strings or [a, b] pairs, got ${describeValue(rawMerges)}`);
  return rawMerges;
}

/** model.merges: "a b" strings or [a, b] pairs of vocabulary tokens, as id pairs. */
function readMerges(model: Json, vocab: Json): [number, number][] {
  const rawMerges = readMergeEntries(model);
  // A Map: lookups in a 256k-key object (dictionary mode) cost more than the merges' own work.
  const vocabIds = new Map<string, number>();
  for (const text of Object.keys(vocab)) vocabIds.set(text, vocab[text]);
  const idOf = (t: unknown, i: number, m: unknown): number => {
    const id = typeof t === "string" ? vocabIds.get(t) : undefined;
    if (id === undefined) fail(`model.merges: merge ${i} (${describeValue(m)}) references unknown token ${describeValue(t)}`);
    return id;
  };
  const merges: [number, number][] = new Array(rawMerges.length);
  for (let i = 0; i < rawMerges.length; i++) {
    const m = rawMerges[i];
    let a: unknown, b: unknown;
    if (typeof m === "string") {
      const sp = m.indexOf(" ");
      if (sp < 0 || m.indexOf(" ", sp + 1) >= 0) fail(`model.merges: merge ${i} ${describeValue(m)} is not two tokens separated by one space`);
      a = m.slice(0, sp);
      b = m.slice(sp + 1);
    } else if (Array.isArray(m) && m.length === 2 && typeof m[0] === "string" && typeof m[1] === "string") {
      [a, b] = m;
    } else {
      fail(`model.merges: merge ${i} ${describeValue(m)} is neither "a b" nor a pair of token strings [a, b]`);
    }
    merges[i] = [idOf(a, i, m), idOf(b, i, m)];
  }
  return merges;
}

/**
 * Character-level vocabularies: the UTF-8 of every token that is not an added
 * token, encoded in one call (one TextEncoder call per token cost ~0.3 s for
 * Gemma's 256k) as views into one buffer. The strings are well-formed.
 */
function utf8Tokens(strings: ReadonlyArray<string | undefined>, skip: ReadonlyMap<number, string>): (Uint8Array | null)[] {
  const parts: string[] = [];
  for (let i = 0; i < strings.length; i++) {
    const t = strings[i];
    if (t !== undefined && !skip.has(i)) parts.push(t);
  }
  const joined = parts.join("");
  const buffer = new Uint8Array(joined.length * 3);
  const bytes = buffer.subarray(0, new TextEncoder().encodeInto(joined, buffer).written);
  let last = strings.length - 1;
  while (last >= 0 && (strings[last] === undefined || skip.has(last))) last--;
  const tokens: (Uint8Array | null)[] = new Array(last + 1).fill(null);
  let offset = 0;
  for (let i = 0; i <= last; i++) {
    const t = strings[i];
    if (t === undefined || skip.has(i)) continue;
    let len = 0;
    for (let j = 0; j < t.length; j++) {
      const c = t.charCodeAt(j);
      if (c < 0x80) len += 1;
      else if (c < 0x800) len += 2;
      else if (c >= 0xd800 && c < 0xdc00) {
        len += 4; // a surrogate pair (well-formed)
        j++;
      } else len += 3;
    }
    tokens[i] = bytes.subarray(offset, offset + len);
    offset += len;
  }
  return tokens;
}

/**
 * `lazyMerges`: leave the merge list to createTokenizer (BpeDefinition.mergeList,
 * resolved in WebAssembly); else resolve it here. `source` names the file in
 * the errors of a lazily resolved list.
 */
function parseDefinition(json: unknown, lazyMerges: boolean, source: string): BpeDefinition {
  if (!isObject(json)) fail(`expected a JSON object, got ${describeValue(json)}`);
  const model = own(json, "model");
  if (model == null) fail('missing "model"');
  if (!isObject(model)) fail(`"model" is not an object (got ${describeValue(model)})`);
  const type = own(model, "type");
  if (type !== undefined && type !== "BPE") fail(`unsupported model type ${describeValue(type)} (only BPE)`);
  if (type === undefined && !("merges" in model)) fail('model has no "type" and no "merges"; only BPE is supported');
  if (own(model, "continuing_subword_prefix")) fail("model.continuing_subword_prefix is not supported");
  if (own(model, "end_of_word_suffix")) fail("model.end_of_word_suffix is not supported");
  const dropout = own(model, "dropout");
  if (dropout != null && dropout !== 0) fail(`model.dropout ${describeValue(dropout)} is not supported (BPE dropout: encoding would not be deterministic)`);
  const unkToken = optionalString(model, "unk_token", "model");
  const byteFallbackOn = optionalBoolean(model, "byte_fallback", "model") === true;
  const fuseUnk = optionalBoolean(model, "fuse_unk", "model") === true;
  const ignoreMerges = optionalBoolean(model, "ignore_merges", "model") === true;
  const vocab = own(model, "vocab");
  if (!isObject(vocab)) fail(`missing "model.vocab" (an object of token -> id), got ${describeValue(vocab)}`);
  const normalizer = readNormalizer(own(json, "normalizer") as Json);
  const pre = readPreTokenizer(own(json, "pre_tokenizer") as Json);
  const charLevel = !pre.byteLevel;
  if (pre.byteLevel && byteFallbackOn) fail("model.byte_fallback with a ByteLevel pre-tokenizer is not supported (byte-level BPE has every byte already)");
  const rawDecoder = own(json, "decoder");
  const decoder = charLevel ? readDecoder(rawDecoder as Json) : undefined;
  if (!charLevel && rawDecoder != null && !(isObject(rawDecoder) && rawDecoder.type === "ByteLevel")) {
    fail(`decoder: unsupported decoder ${describeValue(isObject(rawDecoder) ? rawDecoder.type : rawDecoder)} for byte-level BPE (only ByteLevel)`);
  }

  // Object.keys and a lookup per key: Object.entries of a 256k-key object costs twice as much.
  const vocabTexts = Object.keys(vocab);
  const added = readAddedTokens(own(json, "added_tokens"), vocabTexts.length);
  const count = vocabTexts.length + added.length;
  const limit = idLimit(count);
  // Maps and prototype-free records: any token text ("__proto__", "constructor") is a key like any other.
  const specialTokens = tokenRecord<number>();
  const specialIds = new Map<number, string>();
  const specialByText = new Map<string, number>();
  const strip = tokenRecord<{ left: boolean; right: boolean }>();
  for (const t of added) {
    if (t.lstrip || t.rstrip) strip[t.content] = { left: t.lstrip, right: t.rstrip };
    specialTokens[t.content] = t.id;
    specialByText.set(t.content, t.id);
    specialIds.set(t.id, t.content);
  }

  // By id, the vocabulary's text (the added tokens' text joins it below). Preallocated: ids come in any order.
  const tokenStrings: (string | undefined)[] = new Array(count).fill(undefined);
  const byteLevelTokens: (Uint8Array | null)[] = [];
  for (const text of vocabTexts) {
    const id = vocab[text];
    if (!Number.isSafeInteger(id) || (id as number) < 0) fail(`model.vocab token ${describeValue(text)} has invalid id ${describeValue(id)}`);
    const i = id as number;
    if (i > limit) fail(`model.vocab token ${describeValue(text)} has id ${i}, ${beyondLimit(count)}`);
    if (text === "") fail(`model.vocab has an empty token (id ${i})`);
    if (charLevel && !isWellFormed(text)) fail(`model.vocab token ${describeValue(text)} (id ${i}) is not well-formed Unicode (a lone surrogate)`);
    const prev = tokenStrings[i];
    if (prev !== undefined) fail(`model.vocab: duplicate id ${i} (tokens ${describeValue(prev)} and ${describeValue(text)})`);
    tokenStrings[i] = text;
    const special = specialIds.get(i);
    if (special !== undefined) {
      if (special !== text) fail(`model.vocab: duplicate id ${i} (vocab token ${describeValue(text)} and added token ${describeValue(special)})`);
      continue; // createTokenizer stores special tokens' bytes itself
    }
    if (charLevel) continue; // utf8Tokens, below, encodes them all at once
    const bytes = byteLevelToBytes(text);
    if (!bytes) fail(`model.vocab token ${describeValue(text)} (id ${i}) is not in the byte-level alphabet`);
    while (byteLevelTokens.length <= i) byteLevelTokens.push(null);
    byteLevelTokens[i] = bytes;
  }
  const inVocab = (id: number) => tokenStrings[id] !== undefined;
  for (const [id, text] of specialIds) {
    if (inVocab(id) && tokenStrings[id] !== text) fail(`added_tokens: duplicate id ${id} (vocab token ${describeValue(tokenStrings[id])} and added token ${describeValue(text)})`);
  }
  const tokens = charLevel ? utf8Tokens(tokenStrings, specialIds) : byteLevelTokens;
  const isToken = (id: number) => inVocab(id) || specialIds.has(id);
  const postProcessor = readPostProcessor(own(json, "post_processor") as Json, isToken);

  const mergeList: MergeList = {
    entries: readMergeEntries(model),
    byteLevel: !charLevel,
    resolve: () => reportedAs(source, () => readMerges(model, vocab)),
  };
  const merges = lazyMerges ? undefined : mergeList.resolve();
  for (const [id, text] of specialIds) tokenStrings[id] = text;
  const vocabId = (t: string) => own(vocab, t) as number | undefined;
  const idOfText = (t: string) => vocabId(t) ?? specialByText.get(t);
  let unkId = -1;
  if (unkToken !== undefined) {
    const id = idOfText(unkToken);
    if (id === undefined) fail(`model.unk_token ${describeValue(unkToken)} is not in the vocabulary`);
    unkId = id;
  }
  const byteFallback = new Int32Array(256).fill(-1);
  if (charLevel && byteFallbackOn) {
    for (let b = 0; b < 256; b++) byteFallback[b] = idOfText(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`) ?? -1;
  }
  const safeCut = charLevel ? safeCutOf(tokenStrings) : undefined;
  const needsPipeline = charLevel || normalizer !== undefined || pre.split !== undefined || pre.prefixSpace;
  return {
    tokens,
    merges,
    mergeList: merges ? undefined : mergeList,
    pattern: pre.native ?? "none",
    specialTokens,
    ignoreMerges,
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
            ? { byteFallback, unkId, fuseUnk, tokenStrings, decode: decoder!.chain, safeCut }
            : undefined,
          strip,
        }
      : undefined,
    info: {
      normalizer: normalizer?.description ?? null,
      preTokenizer: pre.description,
      model: charLevel ? `character-level BPE${byteFallbackOn ? ", byte_fallback" : ""}` : "byte-level BPE",
      postProcessor: postProcessor?.description ?? null,
      decoder: charLevel ? decoder!.description : rawDecoder == null ? null : "ByteLevel",
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
 * `merging` holds the characters that do. And, in general, between two
 * characters that follow each other in no token (no merge can ever join them):
 * `asciiPairs` holds the pairs of ASCII characters that do (bit 128 a + b),
 * e.g. Gemma's "\n" merges only with "\n", so a line's words need not be one piece.
 */
function safeCutOf(tokenStrings: ReadonlyArray<string | undefined>): { char: string; blockedAfter: Set<number>; merging: Uint8Array; asciiPairs: Uint8Array } | undefined {
  let char: string | undefined;
  for (const c of ["\u2581", " "]) {
    if (tokenStrings.some((t) => t !== undefined && t.startsWith(c))) {
      char = c;
      break;
    }
  }
  if (char === undefined) return undefined;
  const cut = char.charCodeAt(0);
  const blockedAfter = new Set<number>();
  const merging = new Uint8Array(0x110000 / 8);
  const asciiPairs = new Uint8Array((128 * 128) / 8);
  // One pass of charCodeAt over every token (for-of over code points cost ~0.1 s on Gemma's 256k).
  for (const t of tokenStrings) {
    if (t === undefined) continue;
    const several = t.length > 2 || (t.length === 2 && t.codePointAt(0)! <= 0xffff);
    let prev = -1;
    for (let i = 0; i < t.length; i++) {
      let c = t.charCodeAt(i);
      if (c >= 0xd800 && c < 0xdc00 && i + 1 < t.length) {
        const d = t.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          c = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
          i++;
        }
      }
      if (several) merging[c >> 3] |= 1 << (c & 7);
      if (prev >= 0) {
        if (c === cut) blockedAfter.add(prev);
        if (prev < 128 && c < 128) asciiPairs[(prev * 128 + c) >> 3] |= 1 << (c & 7);
      }
      prev = c;
    }
  }
  return { char, blockedAfter, merging, asciiPairs };
}

/** Loads a Hugging Face tokenizer.json (text or parsed object). */
export async function loadTokenizerJson(input: string | Json, options: TokenizerJsonOptions = {}): Promise<Tokenizer> {
  const source = options.source ?? TOKENIZER_JSON;
  const field = { tokens: "model.vocab", merges: "model.merges", special: "added_tokens" } as const;
  return createFromFile(definitionOf(input, true, source), (part, problem) => new TokenizerFileError(source, `${field[part]}: ${problem}`));
}
