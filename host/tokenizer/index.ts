// Public, runtime-neutral tokenizer API (bundled to dist/tokenizer/index.js).
export { TokenizerModule, compileTokenizerModule } from "./module.ts";
export type { TokenizerExports } from "./module.ts";
export { pretokenize, pretokenizeBytes, PATTERN_IDS, PATTERN_REGEX } from "./pre-tokenizer.ts";
export type { PreTokenizerPattern } from "./pre-tokenizer.ts";
