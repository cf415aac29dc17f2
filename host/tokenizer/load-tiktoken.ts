// tiktoken rank files: one token per line, "<base64 bytes> <rank>"; the rank is the id.
import type { BpeDefinition } from "./definition.ts";
import type { PreTokenizerPattern } from "./pre-tokenizer.ts";
import type { Tokenizer } from "./tokenizer.ts";
import { TokenizerFileError, beyondLimit, createFromFile, describeValue, idLimit } from "./file-fields.ts";

export interface TiktokenOptions {
  pattern: PreTokenizerPattern;
  specialTokens?: Record<string, number>;
  /** The file named in errors (default "tiktoken ranks"; loadTokenizerFile passes the flag and path). */
  source?: string;
}

/** Decodes standard base64 (runtime-neutral; atob exists in Node, Deno and browsers). */
function base64ToBytes(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Parses a rank file's text into a definition. Errors name the file and the offending line. */
export function parseTiktokenRanks(text: string, options: TiktokenOptions): BpeDefinition {
  const source = options.source ?? "tiktoken ranks";
  const tokens: (Uint8Array | null)[] = [];
  const lines = text.split("\n");
  // Ranks index the token table: each is checked against the number of lines before the table grows to it.
  let count = 0;
  for (const line of lines) if (line.trim() !== "") count++;
  const limit = idLimit(count);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    const fail = (problem: string): never => {
      throw new TokenizerFileError(source, `line ${i + 1}: ${problem}`);
    };
    const parts = line.split(/\s+/);
    if (parts.length !== 2) fail(`expected "<base64> <rank>", got ${describeValue(line)}`);
    // Whole decimal numbers only: Number() would also read 0x10, 1e3 and 2.0.
    if (!/^(0|[1-9][0-9]*)$/.test(parts[1])) fail(`invalid rank ${describeValue(parts[1])} (a rank is a non-negative whole number)`);
    const rank = Number(parts[1]);
    if (rank > limit) fail(`rank ${parts[1]} is ${beyondLimit(count)}`);
    let bytes: Uint8Array | undefined;
    try {
      bytes = base64ToBytes(parts[0]);
    } catch {
      fail(`invalid base64 ${describeValue(parts[0])}`);
    }
    while (tokens.length <= rank) tokens.push(null);
    if (tokens[rank]) fail(`duplicate rank ${rank}`);
    tokens[rank] = bytes!;
  }
  return { tokens, pattern: options.pattern, specialTokens: options.specialTokens };
}

/** Loads a tokenizer from a tiktoken rank file's text. */
export async function loadTiktokenRanks(text: string, options: TiktokenOptions): Promise<Tokenizer> {
  const source = options.source ?? "tiktoken ranks";
  return createFromFile(parseTiktokenRanks(text, options), (part, problem) => new TokenizerFileError(source, part === "special" ? `specialTokens: ${problem}` : `ranks: ${problem}`));
}

/**
 * js-tiktoken's compact rank format ({ bpe_ranks, special_tokens, pat_str }):
 * lines "! <first rank> <base64>...", consecutive ranks. Lets tests and benches
 * use the encodings shipped in node_modules without copying rank files.
 */
export function parseJsTiktokenRanks(data: { bpe_ranks: string; special_tokens?: Record<string, number>; pat_str?: string }, pattern: PreTokenizerPattern): BpeDefinition {
  const tokens: (Uint8Array | null)[] = [];
  for (const line of data.bpe_ranks.split("\n")) {
    if (!line) continue;
    const parts = line.split(" ");
    let rank = Number(parts[1]);
    for (let i = 2; i < parts.length; i++) {
      while (tokens.length <= rank) tokens.push(null);
      tokens[rank++] = base64ToBytes(parts[i]);
    }
  }
  return { tokens, pattern, specialTokens: data.special_tokens };
}
