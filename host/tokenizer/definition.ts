// The data that defines a byte-level BPE tokenizer, independent of file format.
// Every loader produces one of these; createTokenizer turns it into tables.
import type { PreTokenizerPattern } from "./pre-tokenizer.ts";
import type { PostProcessorPlan } from "./post-processors.ts";
import type { DecodeChain } from "./decoders.ts";
import type { Substitution } from "./normalizers.ts";

/** What a tokenizer.json pipeline is made of, for reports (`analyze` names it). */
export interface PipelineInfo {
  normalizer: string | null;
  preTokenizer: string;
  /** "byte-level BPE" or "character-level BPE" (with ", byte_fallback" when set). */
  model: string;
  postProcessor: string | null;
  decoder: string | null;
  /**
   * True when a pre-tokenizer regex runs as a JavaScript RegExp because the
   * native splitter does not implement it: exact, but slower.
   */
  regexFallback: boolean;
}

/**
 * The parts of a Hugging Face tokenizer.json that run around BPE. Absent on
 * tokenizers whose text goes straight to the native splitter (GPT-2, cl100k).
 */
export interface TextPipeline {
  /** Applied to each section of text (between recognised special tokens). */
  normalize?: (text: string) => string;
  /** The same normalizer as a byte substitution, when it has that form (see NormalizerPlan). */
  substitution?: Substitution;
  /** The normalizer leaves ASCII text as it is (see NormalizerPlan.keepsAscii). */
  normalizeKeepsAscii?: boolean;
  /** JavaScript pre-tokenizer: the pieces of a normalized section. Absent: the native `pattern` splits. */
  split?: (section: string, sectionIndex: number) => string[];
  /** Fast form of `split` (UTF-16 piece ends, or undefined to use split; see PreTokenizerPlan). */
  splitEnds?: (section: string) => Int32Array | undefined;
  /** ByteLevel add_prefix_space with the native splitter: a space before a section that lacks one. */
  prefixSpace?: boolean;
  /** Character-level BPE (tokens are vocabulary strings, merges over characters). */
  charLevel?: {
    /** Id of each byte's <0xXX> token, -1 where missing (all -1 without byte_fallback). */
    byteFallback: Int32Array;
    /** unk_token's id, or -1. */
    unkId: number;
    fuseUnk: boolean;
    /** Vocabulary strings by id (for the decoder). */
    tokenStrings: ReadonlyArray<string | undefined>;
    decode: DecodeChain;
    /**
     * Where a long piece may be cut without changing its BPE: before `char`,
     * unless the character before it is in `blockedAfter` (some token holds
     * that pair of characters, so a merge could join across the cut); and on
     * both sides of a character not in `merging` (no token of two or more
     * characters holds it, so it never merges), and between two ASCII
     * characters that no token holds side by side (see asciiPairs).
     */
    safeCut?: {
      char: string;
      blockedAfter: ReadonlySet<number>;
      /** Bit c set (byte c >> 3, bit c & 7; 0x110000 / 8 bytes) for each code point c that some token of two or more characters holds. */
      merging: Uint8Array;
      /** Bit 128 a + b set when some token holds ASCII character a followed by b (elsewhere a cut is safe). */
      asciiPairs?: Uint8Array;
    };
  };
  /** Added tokens that strip whitespace beside them when recognised. */
  strip?: Record<string, { left: boolean; right: boolean }>;
}

/** A merge list as vocabulary strings (see BpeDefinition.mergeList). */
export interface MergeList {
  /** "a b" strings or [a, b] pairs, as in tokenizer.json's model.merges. */
  readonly entries: ReadonlyArray<unknown>;
  /** The strings are in GPT-2's byte-level alphabet (else a string's UTF-8 is the token's bytes). */
  readonly byteLevel: boolean;
  resolve(): [number, number][];
}

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
  /**
   * Instead of `merges` (tokenizer.json loading): the merge list as the file
   * writes it, resolved to ids in WebAssembly against the token table, which
   * is much faster for large lists. `resolve` reads it in JavaScript instead
   * (the id pairs, or the error that names the bad merge); createTokenizer
   * calls it whenever the fast reading does not resolve every merge.
   */
  mergeList?: MergeList;
  /** Which native pre-tokenizer splits text before BPE ("none": each piece whole). */
  pattern: PreTokenizerPattern | "none";
  /** Normalizer, JavaScript pre-tokenizer, character-level model (tokenizer.json). */
  pipeline?: TextPipeline;
  /** Special tokens wrapped around a sequence when encode is asked to add them. */
  postProcessor?: PostProcessorPlan;
  info?: PipelineInfo;
  /** Special tokens by text. Recognised in input only when allowed per call. */
  specialTokens?: Record<string, number>;
  /**
   * Hugging Face `ignore_merges`: a piece that is itself a token maps to it
   * without merging. Always true in tiktoken semantics. Default false.
   */
  ignoreMerges?: boolean;
}
