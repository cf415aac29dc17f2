// host/data: corpus → split → tokenizer → token shards → seeded batch sampler.
export { brownDocuments, brownTaggedDocuments, detokenizeBrown, detokenizeSentence, detokenizeTagged } from "./brown.ts";
export type { BrownDocument, BrownTaggedDocument, TaggedText, TaggedWord } from "./brown.ts";
export { DEMO_TEXT } from "./demo-text.ts";
export { byteBatches } from "./byte-batches.ts";
export { BUILTIN_CORPORA, CorpusError, loadCorpus, splitTextDocuments } from "./corpus.ts";
export type { Corpus, CorpusDocument } from "./corpus.ts";
export { DEFAULT_VALIDATION_FRACTION, splitDocuments, validateSplitOptions, validationCount } from "./split.ts";
export type { DocumentSplit, SplitDocument, SplitOptions } from "./split.ts";
export { documentsSha256, fnv1a32, sha256Hex } from "./hash.ts";
export { SplitMix32, mixSeed } from "./prng.ts";
export {
  DEFAULT_VOCAB_SIZE, END_OF_TEXT, TOKENIZER_ALGORITHM_VERSION, resolveTokenizerSettings, tokenizerCacheKey, trainOrLoadTokenizer,
} from "./tokenizer-cache.ts";
export type { CachedTokenizer, TokenizerTrainSettings } from "./tokenizer-cache.ts";
export {
  SHARD_MAGIC, SHARD_VERSION, ShardError, concatDocuments, decodeShard, dtypeForVocab, encodeShard, readShard, readShardHeader, writeShard,
} from "./shards.ts";
export type { ShardDtype, ShardHeader, TokenShard } from "./shards.ts";
export { BatchSampler, SamplerError, epochPermutation, validationBatches, windowCount } from "./sampler.ts";
export type { BatchSamplerOptions, SamplerCursor, TokenBatch, ValidationSubsetOptions } from "./sampler.ts";
export { prepareCorpus } from "./prepare.ts";
export type { CorpusStats, PrepareCorpusOptions, PreparedCorpus } from "./prepare.ts";
