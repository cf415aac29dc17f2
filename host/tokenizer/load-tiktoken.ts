// tiktoken rank files: one token per line, "<base64 bytes> <rank>"; the rank is the id.
import type { BpeDefinition } from "./definition.ts";
import type { PreTokenizerPattern } from "./pre-tokenizer.ts";
import { createTokenizer, type Tokenizer } from "./tokenizer.ts";

export interface TiktokenOptions {
  pattern: PreTokenizerPattern;
  specialTokens?: Record<string, number>;
}

/** Decodes standard base64 (runtime-neutral; atob exists in Node, Deno and browsers). */
function base64ToBytes(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** Parses a rank file's text into a definition. Errors name the offending line. */
export function parseTiktokenRanks(text: string, options: TiktokenOptions): BpeDefinition {
  const tokens: (Uint8Array | null)[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    const parts = line.split(/\s+/);
    if (parts.length !== 2) throw new Error(`tiktoken ranks line ${i + 1}: expected "<base64> <rank>", got ${JSON.stringify(line.slice(0, 80))}`);
    const rank = Number(parts[1]);
    if (!Number.isInteger(rank) || rank < 0) throw new Error(`tiktoken ranks line ${i + 1}: invalid rank ${JSON.stringify(parts[1])}`);
    let bytes: Uint8Array;
    try {
      bytes = base64ToBytes(parts[0]);
    } catch {
      throw new Error(`tiktoken ranks line ${i + 1}: invalid base64 ${JSON.stringify(parts[0])}`);
    }
    while (tokens.length <= rank) tokens.push(null);
    if (tokens[rank]) throw new Error(`tiktoken ranks line ${i + 1}: duplicate rank ${rank}`);
    tokens[rank] = bytes;
  }
  return { tokens, pattern: options.pattern, specialTokens: options.specialTokens };
}

/** Loads a tokenizer from a tiktoken rank file's text. */
export function loadTiktokenRanks(text: string, options: TiktokenOptions): Promise<Tokenizer> {
  return createTokenizer(parseTiktokenRanks(text, options));
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
