// GPT-2's original files: encoder.json (byte-level token text -> id) and
// vocab.bpe (a "#version" line, then one merge "a b" per line in rank order).
import type { BpeDefinition } from "./definition.ts";
import { byteLevelToBytes } from "./byte-level.ts";
import type { Tokenizer } from "./tokenizer.ts";
import { TokenizerFileError, beyondLimit, createFromFile, describeValue, idLimit, isObject, tokenRecord } from "./file-fields.ts";

const ENDOFTEXT = "<|endoftext|>";

export interface Gpt2FileNames {
  /** Names used in errors (default "encoder.json" and "vocab.bpe"; loadTokenizerFile passes the flag and paths). */
  encoder?: string;
  merges?: string;
}

export function parseGpt2Files(encoderJson: string | Record<string, number>, vocabBpe: string, names: Gpt2FileNames = {}): BpeDefinition {
  const encoderName = names.encoder ?? "encoder.json";
  const mergesName = names.merges ?? "vocab.bpe";
  const bad = (problem: string): never => {
    throw new TokenizerFileError(encoderName, problem);
  };
  let encoder: unknown;
  try {
    encoder = typeof encoderJson === "string" ? JSON.parse(encoderJson) : encoderJson;
  } catch (e) {
    bad(`invalid JSON (${(e as Error).message})`);
  }
  if (!isObject(encoder)) bad(`expected an object of token -> id, got ${describeValue(encoder)}`);
  const entries = Object.entries(encoder as Record<string, unknown>);
  const limit = idLimit(entries.length);
  const tokens: (Uint8Array | null)[] = [];
  const owner = new Map<number, string>();
  // A Map and a prototype-free record: a token "__proto__" or "constructor" is a key like any other.
  const idOf = new Map<string, number>();
  const specialTokens = tokenRecord<number>();
  for (const [text, id] of entries) {
    if (!Number.isSafeInteger(id) || (id as number) < 0) bad(`token ${describeValue(text)} has invalid id ${describeValue(id)}`);
    const i = id as number;
    if (i > limit) bad(`token ${describeValue(text)} has id ${i}, ${beyondLimit(entries.length)}`);
    const other = owner.get(i);
    if (other !== undefined) bad(`duplicate id ${i} (tokens ${describeValue(other)} and ${describeValue(text)})`);
    owner.set(i, text);
    idOf.set(text, i);
    if (text === ENDOFTEXT) {
      specialTokens[text] = i;
      continue;
    }
    if (text === "") bad(`the empty token (id ${i}) is not a token`);
    const bytes = byteLevelToBytes(text);
    if (!bytes) bad(`token ${describeValue(text)} is not in GPT-2's byte-level alphabet`);
    while (tokens.length <= i) tokens.push(null);
    tokens[i] = bytes;
  }
  const merges: [number, number][] = [];
  const lines = vocabBpe.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, "");
    if (line === "" || (i === 0 && line.startsWith("#version"))) continue;
    const fail = (problem: string): never => {
      throw new TokenizerFileError(mergesName, `line ${i + 1}: ${problem}`);
    };
    const parts = line.split(" ");
    if (parts.length !== 2) fail(`expected "a b", got ${describeValue(line)}`);
    const a = idOf.get(parts[0]);
    const b = idOf.get(parts[1]);
    if (a === undefined || b === undefined) fail(`merge references unknown token ${describeValue(a === undefined ? parts[0] : parts[1])}`);
    merges.push([a!, b!]);
  }
  return { tokens, merges, pattern: "gpt2", specialTokens };
}

/** The line of vocab.bpe that holds merge `index` (the lines parseGpt2Files skips hold none). */
function mergeLine(vocabBpe: string, index: number): number {
  const lines = vocabBpe.split("\n");
  let seen = -1;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, "");
    if (line === "" || (i === 0 && line.startsWith("#version"))) continue;
    if (++seen === index) return i + 1;
  }
  return lines.length;
}

/** Loads GPT-2's encoder.json + vocab.bpe. */
export async function loadGpt2Files(encoderJson: string | Record<string, number>, vocabBpe: string, names: Gpt2FileNames = {}): Promise<Tokenizer> {
  // A merge that makes no token is vocab.bpe's problem (named by its line); duplicate bytes or a byte without a token, encoder.json's.
  const blame = (part: string, problem: string) => {
    const merge = /^merge (\d+) /.exec(problem);
    if (part !== "merges") return new TokenizerFileError(names.encoder ?? "encoder.json", problem);
    return new TokenizerFileError(names.merges ?? "vocab.bpe", merge ? `line ${mergeLine(vocabBpe, Number(merge[1]))}: ${problem}` : problem);
  };
  return createFromFile(parseGpt2Files(encoderJson, vocabBpe, names), blame);
}
