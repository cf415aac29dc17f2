// Public, runtime-neutral API of the JREG engine: the engine, models, trainer,
// tokenizer and io. Internals (the wasm arena, thread pool, matmul driver, the CPU
// module) are in internal.ts, for tests and benchmarks.
export * from "./io/index.ts";
export * from "./model/config.ts";
export * from "./model/parameters.ts";
export * from "./engine.ts";
export type { Backend, BackendCapabilities, Tensor, MatmulLayout, AdamWHyper } from "./backend/backend.ts";
export { DistanceKind } from "./backend/backend.ts";
export { LlamaModel, INIT_STD } from "./model/model.ts";
export { BatchError, validateBatch, splitInputsTargets, type TokenBatch } from "./model/batch.ts";
export * from "./model/jreg.ts";
export { Trainer, DEFAULT_TRAIN, TrainConfigError, validateTrainConfig, type TrainConfig, type StepResult, type TrainerState } from "./train/trainer.ts";
export { learningRate, type ScheduleConfig } from "./train/schedule.ts";
export { evaluate, earlyExitCe, type Evaluation } from "./analysis/evaluate.ts";
export { forwardWithHiddenStates } from "./analysis/hidden-states.ts";
export * from "./train/run-config.ts";
export { jumpProfile, PROFILE_QUANTILES, HISTOGRAM_BINS, type JumpProfile, type TokenStats } from "./analysis/jump-profile.ts";
export * from "./tokenizer/index.ts";
export { evaluateSubset, type SubsetEvaluation } from "./analysis/evaluate-subset.ts";
export { runTraining, corpusOptionsFor, validationSubset, savedStep, type RunTrainingOptions, type RunTrainingResult, type TrainingEvent } from "./train/job/run-job.ts";
export { ResumeError, readCheckpointFiles, encodeCheckpointFiles, OPTIMIZER_FILE, TOKENIZER_FILE, type TrainerStateFile } from "./train/job/checkpoint-files.ts";
export { analyzeCheckpoint, AnalyzeError, type AnalyzeOptions, type CheckpointAnalysis, type FinalState } from "./analysis/analyze-checkpoint.ts";
export { probeModel, probeHiddenStates, modelHiddenStates, type HiddenStateSource, probeDataset, brownProbeDocuments, DEFAULT_PROBE_MAX_WORDS, type ProbeDataset, type ProbeDataOptions, type ProbeOptions, type ProbeResult, type LayerProbeResult } from "./analysis/probe.ts";
export { probeCheckpoint, type ProbeCheckpointOptions, type CheckpointProbeResult } from "./analysis/probe-checkpoint.ts";
export { trainLinearProbe, predictLinearProbe, featureStats, standardize, accuracy, ProbeError, DEFAULT_LINEAR_PROBE, type LinearProbe, type LinearProbeOptions, type ProbeRows } from "./analysis/linear-probe.ts";
export { coarseTag, tokenByteEnds, lastTokenOfWords, probeSplit, utf8Offsets, PROBE_TAG_SETS, type ProbeTagSet, type ProbeSplit, type TaggedDocument } from "./analysis/probe-words.ts";
export { streamingForward, type TokenWindows, type StreamingOptions, type LayerwiseOutputs } from "./analysis/streaming-forward.ts";
export { architectureFromHF, type Architecture } from "./io/hf-architecture.ts";
export { LazyCheckpoint } from "./io/lazy-checkpoint.ts";
export type { RopeScaling } from "./model/rope-scaling.ts";
