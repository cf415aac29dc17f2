// host/run: the run directory, its checkpoints, the metrics log, and the storage they live on.
export { FileStorage, mkdirRecursive, baseName, describeStorageError, fileStorage, joinPath, parentDir, randomSuffix, readTextChecked } from "./storage.ts";
export { DirectoryWriteError, recoverDirectory, writeDirectory } from "./directory-swap.ts";
export type { AppendHandle, Storage, StorageEntryInfo } from "./storage.ts";
export {
  CheckpointWriteError, TRAINER_STATE_FILE, checkpointName, cleanInterruptedWrites, latestCheckpoint, listCheckpoints, pruneCheckpoints,
  writeCheckpoint,
} from "./checkpoint-dir.ts";
export type { CheckpointInfo, WriteCheckpointOptions } from "./checkpoint-dir.ts";
export { MetricsError, MetricsLogger, metricsLine, parseMetrics, readMetrics, truncateMetrics } from "./metrics.ts";
export type { MetricsContents, MetricsRecord } from "./metrics.ts";
export { METRICS_FILE, RUN_CONFIG_FILE, RunDirError, createRunDir, defaultCacheDir, openRunDir, runConfigText } from "./run-dir.ts";
export type { CreateRunDirOptions, OpenedRunDir, RunDir } from "./run-dir.ts";
