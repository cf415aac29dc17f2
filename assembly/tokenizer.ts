// Entry point of build/tokenizer.wasm: pre-tokenizers, BPE encode/decode (and
// BPE training). Nothing here allocates: the host owns all memory above
// heapBase() and passes byte offsets. One instance holds one tokenizer's tables.

/** First byte the host may use. */
export function heapBase(): usize {
  return __heap_base;
}

export { pretokenize, lastSafeCut, PATTERN_GPT2, PATTERN_CL100K, PATTERN_QWEN, PATTERN_NONE, PATTERN_O200K } from "./tokenizer/pretokenize";
export * from "./tokenizer/word-cuts";
export * from "./tokenizer/bpe";
export * from "./tokenizer/train";
export * from "./tokenizer/merge-list";
