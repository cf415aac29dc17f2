// The training job: a run config in, a run directory out (run/run-dir.ts layout).
//
//   prepare the corpus (cached) → model config with the tokenizer's vocabulary →
//   engine → new run directory, or the newest complete checkpoint on resume →
//   `steps` optimizer steps on the seeded sampler's batches, with metrics lines,
//   evaluations on the fixed validation subset and checkpoints on schedule.
//
// Everything that can fail on the user's input (corpus, tokenizer, config,
// checkpoint) fails before the run directory is created or changed, so a bad
// call overwrites nothing.
//
// Bit-identical resume (wasm backend): a checkpoint holds all the state the next
// step reads — weights, AdamW moments, the update count (bias correction), the
// step (schedule), the sampler cursor (data order) — and evaluations read the
// weights without changing anything. The order of writes at step s is: every
// metrics line of s, evaluation included; logger.flush(); writeCheckpoint. A
// resume cuts metrics.jsonl back to the checkpoint's step, so the resumed file's
// lines equal an uninterrupted run's, except tokensPerSecond (a timing).
//
// Metrics line at step s (s = optimizer steps done, 1-based) when s is a
// multiple of logEvery, the last step, or an evaluation step:
//   {step, loss, ce, R, lr, gradNorm, tokensPerSecond[, skipped]}
// plus, at evaluations, {val_ce, D_angular, D_cosine, J_angular, J_cosine,
// early_exit_ce}, and with the probe enabled (run config `probe`, run-probe.ts)
// {probe_accuracy, probe_train_accuracy, probe_baseline}. Step 0 (before
// training) has an evaluation line only.
import { evaluateSubset, type SubsetEvaluation } from "../../analysis/evaluate-subset.ts";
import { BatchSampler, validationBatches, type TokenBatch } from "../../data/sampler.ts";
import { prepareCorpus, type CorpusStats, type PreparedCorpus } from "../../data/prepare.ts";
import { sha256Hex } from "../../data/hash.ts";
import { createEngine, type Engine, type EngineOptions } from "../../engine.ts";
import { latestCheckpoint, writeCheckpoint, type CheckpointInfo } from "../../run/checkpoint-dir.ts";
import { MetricsLogger, truncateMetrics, type MetricsRecord } from "../../run/metrics.ts";
import { createRunDir, defaultCacheDir, openRunDir, runConfigText, type RunDir } from "../../run/run-dir.ts";
import { fileStorage, type Storage } from "../../run/storage.ts";
import type { LlamaModel } from "../../model/model.ts";
import type { ModelConfig } from "../../model/config.ts";
import { resolveModelConfig, trainConfigFor, type RunConfig } from "../run-config.ts";
import type { StepResult, Trainer } from "../trainer.ts";
import type { ProbeResult } from "../../analysis/probe.ts";
import { probeFields, probesAt, runProbe, runProbeData } from "./run-probe.ts";
import { encodeCheckpointFiles, readCheckpointFiles, ResumeError, sameModelConfig } from "./checkpoint-files.ts";

export type TrainingEvent =
  | { kind: "prepared"; stats: CorpusStats; model: ModelConfig; threads: number }
  | { kind: "start"; step: number; total: number; resumedFrom: CheckpointInfo | null }
  | { kind: "step"; step: number; total: number; result: StepResult; tokens: number }
  | { kind: "eval"; step: number; evaluation: SubsetEvaluation; probe?: ProbeResult }
  | { kind: "saved"; step: number; checkpoint: CheckpointInfo };

export interface RunTrainingOptions {
  /** continue cfg.out from its newest complete checkpoint (from scratch when it has none) */
  resume?: boolean;
  /** a new run may replace a previous run in cfg.out (a directory holding config.json) */
  overwrite?: boolean;
  storage?: Storage;
  onEvent?: (e: TrainingEvent) => void;
  /** abort = a clean stop: the current step finishes, a checkpoint of it is saved, runTraining returns */
  signal?: AbortSignal;
  /** engine options the run config does not hold (the browser page passes workerUrl) */
  engineOptions?: Omit<EngineOptions, "backend" | "threads" | "kernels">;
}

export interface RunTrainingResult {
  dir: string;
  /** optimizer steps done */
  step: number;
  /** step === cfg.steps (and its checkpoint is saved) */
  complete: boolean;
  /** stopped by the signal before the end */
  interrupted: boolean;
  /** the newest checkpoint on disk */
  checkpoint: CheckpointInfo | null;
  /** the last evaluation done in this call */
  evaluation?: SubsetEvaluation;
}

/** prepareCorpus options of a run's `data` (one source of truth: RunConfig.data). */
export function corpusOptionsFor(cfg: RunConfig, storage: Storage) {
  const d = cfg.data;
  return {
    corpus: d.corpus,
    tokenizer: d.tokenizer !== null ? { file: d.tokenizer } : { vocabSize: d.vocabSize },
    split: { validationFraction: d.validationFraction },
    cacheDir: d.cacheDir ?? defaultCacheDir(cfg.out),
    storage,
  };
}

/** The fixed validation subset of a run: evalBatches batches of batchSize windows. */
export function validationSubset(prepared: PreparedCorpus, cfg: Pick<RunConfig, "seqLen" | "batchSize" | "data">): TokenBatch[] {
  return validationBatches(prepared.validation.tokens, { seqLen: cfg.seqLen, windows: cfg.data.evalBatches * cfg.batchSize, batchSize: cfg.batchSize });
}

/** The metrics fields of an evaluation (and its probe, when probed): one definition for metrics.jsonl and the browser page. */
export function evaluationFields(e: SubsetEvaluation, probe?: ProbeResult): Record<string, unknown> {
  return {
    val_ce: e.ce, D_angular: e.D_angular, D_cosine: e.D_cosine, J_angular: e.J_angular, J_cosine: e.J_cosine, early_exit_ce: e.early_exit_ce,
    ...(probe ? probeFields(probe) : {}),
  };
}

interface Start {
  model: LlamaModel;
  trainer: Trainer;
  step: number;
  resumedFrom: CheckpointInfo | null;
  run: RunDir;
}

export async function runTraining(cfg: RunConfig, opts: RunTrainingOptions = {}): Promise<RunTrainingResult> {
  const storage = opts.storage ?? fileStorage;
  const emit = opts.onEvent ?? (() => {});

  // 1. Inputs, checked before the run directory is touched.
  let resumeFrom: CheckpointInfo | null = null;
  if (opts.resume) resumeFrom = (await openRunDir(cfg.out, storage)).latest;
  const prepared = await prepareCorpus(corpusOptionsFor(cfg, storage));
  const tokenizerSource = cfg.data.tokenizer ?? "the run's tokenizer";
  const modelConfig = resolveModelConfig(cfg, prepared.tokenizer.vocabSize, `the vocabulary size of ${tokenizerSource}`);
  const sampler = new BatchSampler(prepared.train.tokens, { batchSize: cfg.batchSize, seqLen: cfg.seqLen, seed: cfg.seed });
  const validation = validationSubset(prepared, cfg);
  const probeData = await runProbeData(cfg, prepared);
  const decoded = resumeFrom ? await readCheckpointFiles(storage, resumeFrom.path) : null;
  if (decoded) {
    if (!sameModelConfig(decoded.checkpoint.config, modelConfig)) {
      throw new ResumeError(`cannot resume: ${resumeFrom!.path}/config.json describes another model than the run config ${cfg.out}/config.json`);
    }
    if ((await sha256Hex(decoded.tokenizerJson)) !== prepared.tokenizerSha256) {
      throw new ResumeError(`cannot resume: ${resumeFrom!.path}/tokenizer.json differs from the tokenizer the run config gives now (corpus or tokenizer changed?)`);
    }
    if (decoded.state.seed !== cfg.seed) throw new ResumeError(`cannot resume: the checkpoint's seed ${decoded.state.seed} differs from the config's ${cfg.seed}`);
    if (decoded.state.step > cfg.steps) throw new ResumeError(`cannot resume: the checkpoint is at step ${decoded.state.step}, beyond steps = ${cfg.steps}`);
    sampler.restore(decoded.state.sampler);
  }

  const engine: Engine = await createEngine({ ...opts.engineOptions, backend: cfg.backend, threads: cfg.threads || undefined, kernels: cfg.kernels });
  let logger: MetricsLogger | undefined;
  try {
    emit({ kind: "prepared", stats: prepared.stats, model: modelConfig, threads: engine.backend.threads });
    // 2. The model and trainer: fresh, or the checkpoint's.
    const start = await (async (): Promise<Start> => {
      const trainCfg = trainConfigFor(cfg);
      if (opts.resume) {
        const run = await openRunDir(cfg.out, storage);
        // Keep config.json in step with the (allowed) overrides of this resume.
        if (JSON.stringify(run.config) !== JSON.stringify(cfg)) await storage.writeAtomic(run.configPath, runConfigText(cfg));
        const step = decoded ? decoded.state.step : 0;
        await truncateMetrics(storage, run.metricsPath, decoded ? step : -1);
        const model = decoded ? engine.loadModel(decoded.checkpoint) : engine.createModel(modelConfig, { seed: cfg.seed });
        const trainer = engine.createTrainer(model, trainCfg);
        if (decoded) trainer.importState(decoded.trainer);
        return { model, trainer, step, resumedFrom: resumeFrom, run };
      }
      const run = await createRunDir(cfg.out, cfg, { overwrite: opts.overwrite, storage });
      const model = engine.createModel(modelConfig, { seed: cfg.seed });
      return { model, trainer: engine.createTrainer(model, trainCfg), step: 0, resumedFrom: null, run };
    })();
    const { model, trainer, run } = start;
    logger = await MetricsLogger.open(storage, run.metricsPath);
    emit({ kind: "start", step: start.step, total: cfg.steps, resumedFrom: start.resumedFrom });

    let checkpoint = start.resumedFrom;
    let evaluation: SubsetEvaluation | undefined;
    const evaluateNow = async (step: number) => {
      evaluation = await evaluateSubset(model, validation, cfg.jreg);
      const probe = probeData && probesAt(cfg, step) ? await runProbe(model, probeData, cfg) : undefined;
      emit({ kind: "eval", step, evaluation, ...(probe ? { probe } : {}) });
      return evaluationFields(evaluation, probe);
    };
    const save = async (step: number) => {
      await logger!.flush();
      const files = encodeCheckpointFiles(await model.toCheckpoint(), await trainer.exportState(), { step, sampler: sampler.cursor(), seed: cfg.seed }, prepared.tokenizerJson);
      checkpoint = await writeCheckpoint(storage, run.dir, step, files, { keepCheckpoints: cfg.keepCheckpoints });
      emit({ kind: "saved", step, checkpoint });
    };

    let step = start.step;
    if (step === 0 && cfg.evalEvery > 0) await logger.log({ step: 0, ...(await evaluateNow(0)) });
    if (step === cfg.steps && checkpoint?.step !== step) await save(step);

    const tokensPerStep = cfg.batchSize * cfg.seqLen;
    let sinceT = performance.now();
    let sinceStep = step;
    let interrupted = false;
    while (step < cfg.steps) {
      if (opts.signal?.aborted) {
        interrupted = true;
        break;
      }
      const result = await trainer.step(sampler.next());
      step++;
      emit({ kind: "step", step, total: cfg.steps, result, tokens: (step - start.step) * tokensPerStep });
      const last = step === cfg.steps;
      const evalHere = last || (cfg.evalEvery > 0 && step % cfg.evalEvery === 0);
      if (last || evalHere || step % cfg.logEvery === 0) {
        const now = performance.now();
        const rate = ((step - sinceStep) * tokensPerStep) / Math.max(1e-9, (now - sinceT) / 1000);
        const record: MetricsRecord = {
          step,
          loss: result.loss,
          ce: result.ce,
          R: result.jreg,
          lr: result.lr,
          gradNorm: result.gradNorm,
          tokensPerSecond: Math.round(rate),
          ...(result.skipped ? { skipped: result.skipped } : {}),
        };
        if (evalHere) Object.assign(record, await evaluateNow(step));
        await logger.log(record);
        // The next rate excludes the evaluation's time.
        sinceT = performance.now();
        sinceStep = step;
      }
      if (last || (cfg.saveEvery > 0 && step % cfg.saveEvery === 0)) await save(step);
    }
    if (interrupted && checkpoint?.step !== step) await save(step);
    await logger.close();
    logger = undefined;
    return { dir: run.dir, step, complete: step === cfg.steps, interrupted, checkpoint, evaluation };
  } finally {
    if (logger) await logger.close().catch(() => {});
    await engine.dispose();
  }
}

/** The step of a run directory's newest complete checkpoint, or null (no run, or none saved). */
export async function savedStep(dir: string, storage: Storage = fileStorage): Promise<number | null> {
  if (!(await storage.exists(dir))) return null;
  return (await latestCheckpoint(storage, dir))?.step ?? null;
}
