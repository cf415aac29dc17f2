// Public, runtime-neutral tokenizer API (bundled to dist/tokenizer/index.js).
export { TokenizerModule, compileTokenizerModule } from "./module.ts";
export type { TokenizerExports } from "./module.ts";
export { pretokenize, pretokenizeBytes, PATTERN_IDS, PATTERN_REGEX } from "./pre-tokenizer.ts";
export type { PreTokenizerPattern } from "./pre-tokenizer.ts";
export type { BpeDefinition } from "./definition.ts";
export { Tokenizer, createTokenizer } from "./tokenizer.ts";
export type { EncodeOptions, StreamOptions, TextInput, TokenizerOptions } from "./tokenizer.ts";
export { BYTE_TO_CHAR, byteLevelToBytes, bytesToByteLevel } from "./byte-level.ts";
export { parseTokenizerJson, loadTokenizerJson, preTokenizerJson } from "./load-hf.ts";
export { parseGpt2Files, loadGpt2Files } from "./load-gpt2.ts";
export { parseTiktokenRanks, loadTiktokenRanks, parseJsTiktokenRanks } from "./load-tiktoken.ts";
export type { TiktokenOptions } from "./load-tiktoken.ts";
export { loadTokenizerFile } from "./load-file.ts";
export * from "./train.ts";
export * from "./save.ts";
