// What a tokenizer is made of, in the words of tokenizer.json, for reports
// (`jreg analyze` says which pipeline and post-processor tokenized its text).
import type { Tokenizer } from "./tokenizer.ts";

export interface TokenizerSummary {
  /** "byte-level BPE" or "character-level BPE" (", byte_fallback" when set) */
  model: string;
  normalizer: string | null;
  /** the pre-tokenizer and, in brackets, the splitter that runs it */
  pre_tokenizer: string;
  /** the post-processor the file declares (applied only with add_special_tokens) */
  post_processor: string | null;
  decoder: string | null;
  /** true when a pre-tokenizer regex runs as a JavaScript RegExp (exact, slower than the native splitter) */
  regex_fallback: boolean;
}

export function tokenizerSummary(t: Tokenizer): TokenizerSummary {
  const i = t.info;
  // Tokenizers not read from a tokenizer.json (GPT-2 files, .tiktoken, the API's own) are byte-level BPE on a native splitter.
  if (i === undefined) return { model: "byte-level BPE", normalizer: null, pre_tokenizer: `native ${t.pattern}`, post_processor: null, decoder: null, regex_fallback: false };
  return { model: i.model, normalizer: i.normalizer, pre_tokenizer: i.preTokenizer, post_processor: i.postProcessor, decoder: i.decoder, regex_fallback: i.regexFallback };
}

/** One line: model; normalizer; pre-tokenizer; post-processor, and whether its special tokens were added. */
export function formatTokenizerSummary(s: TokenizerSummary, specialTokensAdded: boolean): string {
  const post = s.post_processor === null ? "none" : `${s.post_processor} (${specialTokensAdded ? "special tokens added" : "not applied: no special tokens added"})`;
  return [
    s.model,
    `normalizer ${s.normalizer ?? "none"}`,
    `pre-tokenizer ${s.pre_tokenizer}${s.regex_fallback ? " (exact, slower than the native splitter)" : ""}`,
    `post-processor ${post}`,
  ].join("; ");
}
