// File formats and file access: safetensors, HF config.json, checkpoints, tokens files.
export { SafetensorsError, parseSafetensors, serializeSafetensors } from "./safetensors.ts";
export type { SafetensorsTensor, SafetensorsInput } from "./safetensors.ts";
export { configFromHF, configToHF } from "./hf-config.ts";
export {
  CheckpointError,
  checkpointFromFiles,
  checkpointToFiles,
  parseShardIndex,
  readCheckpoint,
  writeCheckpoint,
  CONFIG_FILE,
  WEIGHTS_FILE,
  INDEX_FILE,
} from "./checkpoint.ts";
export type { Checkpoint } from "./checkpoint.ts";
export { TokensError, parseTokens, readTokensFile, MAX_TOKENS_FILE_BYTES } from "./tokens-file.ts";
export type { TokenBatch, ParseTokensOptions } from "./tokens-file.ts";
export { readBytes, readText, readBoundedFile, describeFileError, fileExists, writeFileAtomic, writeFilesAtomic } from "./files.ts";
