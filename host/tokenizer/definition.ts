// The data that defines a byte-level BPE tokenizer, independent of file format.
// Every loader produces one of these; createTokenizer turns it into tables.
import type { PreTokenizerPattern } from "./pre-tokenizer.ts";

export interface BpeDefinition {
  /**
   * Bytes of each id. `null` marks an id with no token (a gap). Special tokens
   * may appear here with their text's bytes (as in Hugging Face vocabularies)
   * or be left out; either way they are never produced from plain text.
   */
  tokens: ReadonlyArray<Uint8Array | null>;
  /**
   * Merge list in rank order, as [left id, right id] pairs (Hugging Face / GPT-2
   * vocab.bpe semantics). Omitted: tiktoken semantics, where any adjacent pair
   * whose concatenation is a token merges, ranked by that token's id.
   */
  merges?: ReadonlyArray<readonly [number, number]>;
  /** Which pre-tokenizer splits text before BPE. */
  pattern: PreTokenizerPattern;
  /** Special tokens by text. Recognised in input only when allowed per call. */
  specialTokens?: Record<string, number>;
  /**
   * Hugging Face `ignore_merges`: a piece that is itself a token maps to it
   * without merging. Always true in tiktoken semantics. Default false.
   */
  ignoreMerges?: boolean;
}
