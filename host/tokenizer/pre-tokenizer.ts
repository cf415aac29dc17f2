// Host access to the native pre-tokenizers (for tests, tools and training data).
import { TokenizerModule } from "./module.ts";

/**
 * The regex families the native pre-tokenizer implements (qwen: cl100k with
 * single digits, Qwen2/Qwen3; o200k: GPT-4o's letter-case-aware regex).
 */
export type PreTokenizerPattern = "gpt2" | "cl100k" | "qwen" | "o200k";

export const PATTERN_IDS: Record<PreTokenizerPattern, number> = { gpt2: 0, cl100k: 1, qwen: 2, o200k: 4 };

/** The native splitter's id for "the whole text is one piece". */
export const PATTERN_NONE_ID = 3;

/** The reference regexes, for documentation and for recognising them in tokenizer.json files. */
export const PATTERN_REGEX: Record<PreTokenizerPattern, string> = {
  gpt2: "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
  cl100k:
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  qwen:
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  o200k:
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|" +
    "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|" +
    "\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
};

const encoder = new TextEncoder();

/**
 * Splits text into pre-tokenizer pieces, as byte ranges of its UTF-8 encoding.
 * Returns the end offset of each piece.
 */
let shared: Promise<{ m: TokenizerModule; base: number }> | undefined;

export async function pretokenizeBytes(pattern: PreTokenizerPattern, bytes: Uint8Array): Promise<Int32Array> {
  shared ??= TokenizerModule.create().then((m) => ({ m, base: m.mark() }));
  const { m, base } = await shared;
  m.reset(base);
  const textPtr = m.alloc(bytes.length);
  const endsPtr = m.alloc(bytes.length * 4);
  m.u8(textPtr, bytes.length).set(bytes);
  const n = m.exports.pretokenize(PATTERN_IDS[pattern], textPtr, bytes.length, endsPtr);
  return m.i32(endsPtr, n).slice();
}

/** Splits a string into pre-tokenizer pieces (strings; lone surrogates become U+FFFD). */
export async function pretokenize(pattern: PreTokenizerPattern, text: string): Promise<string[]> {
  const bytes = encoder.encode(text);
  const ends = await pretokenizeBytes(pattern, bytes);
  // ignoreBOM: a piece that is U+FEFF must come back as U+FEFF, not as "".
  const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
  const pieces: string[] = [];
  let start = 0;
  for (const end of ends) {
    pieces.push(decoder.decode(bytes.subarray(start, end)));
    start = end;
  }
  return pieces;
}
