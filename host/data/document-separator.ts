// The special token put between documents when a corpus becomes one token
// stream (training shards, `jreg tokenize --out` shards, the probe's stream).
// Tokenizers name their end-of-document token differently: GPT-2, cl100k,
// o200k, Qwen and the engine's own trained tokenizers say <|endoftext|>,
// Llama 3 <|end_of_text|>, SentencePiece-style models (Llama 2, Mistral,
// TinyLlama) </s>, Gemma <eos>. A tokenizer.json does not mark which special
// token ends a document (that lives in tokenizer_config.json, which the engine
// does not read), so the first of these names that the tokenizer holds as a
// special token is taken, in this order.
import type { Tokenizer } from "../tokenizer/tokenizer.ts";

export const DOCUMENT_SEPARATORS = ["<|endoftext|>", "<|end_of_text|>", "</s>", "<eos>"] as const;

/** The separator's text and id, or null when the tokenizer has none of DOCUMENT_SEPARATORS. */
export function documentSeparator(tokenizer: Tokenizer): { text: string; id: number } | null {
  for (const text of DOCUMENT_SEPARATORS) {
    const id = tokenizer.specialTokens.get(text);
    if (id !== undefined) return { text, id };
  }
  return null;
}

/** Why a tokenizer cannot separate documents, for an error that names `where` (a file or flag). */
export function noSeparatorMessage(where: string): string {
  return `${where} has none of the special tokens ${DOCUMENT_SEPARATORS.join(", ")} to put between documents`;
}
