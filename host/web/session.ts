// One training run of the browser page, written against the host API and a
// Storage only, so the very same code runs in the page's worker (on IndexedDB)
// and in Node (on the file system) — the web test compares the two bit for bit.
//
// A run directory holds run.json (the settings), metrics.jsonl (MetricsLogger)
// and checkpoint-<step>/ (run/checkpoint-dir.ts): config.json + model.safetensors
// as the CLI writes them, tokenizer.json, optimizer.safetensors (AdamW moments)
// and trainer_state.json (step counts and the sampler cursor).
// TODO(train): when host/train/run-job.ts lands, take its checkpoint contents
// and loop instead of this file's, so a page run and `jreg train` resume alike.
import { createEngine, type Engine, type EngineOptions } from "../engine.ts";
import type { ModelConfig } from "../model/config.ts";
import type { LlamaModel } from "../model/model.ts";
import type { Trainer, StepResult, TrainerState } from "../train/trainer.ts";
import type { Evaluation } from "../analysis/evaluate.ts";
import { checkpointFromFiles, checkpointToFiles } from "../io/checkpoint.ts";
import { parseSafetensors, serializeSafetensors } from "../io/safetensors.ts";
import { prepareCorpus, type PreparedCorpus } from "../data/prepare.ts";
import { BatchSampler, validationBatches, type SamplerCursor } from "../data/sampler.ts";
import type { TokenBatch } from "../model/batch.ts";
import { joinPath, type Storage } from "../run/storage.ts";
import { MetricsLogger, truncateMetrics } from "../run/metrics.ts";
import { latestCheckpoint, TRAINER_STATE_FILE, writeCheckpoint } from "../run/checkpoint-dir.ts";
import type { MetricsRecord } from "../report/run-data.ts";
import type { RunSettings } from "./settings.ts";

const RUN_FILE = "run.json";
const METRICS = "metrics.jsonl";
const OPTIMIZER_FILE = "optimizer.safetensors";
const TOKENIZER_FILE = "tokenizer.json";

interface SavedTrainerState {
  stepCount: number;
  updates: number;
  cursor: SamplerCursor;
}

export class TrainingSession {
  private constructor(
    readonly storage: Storage,
    readonly dir: string,
    readonly settings: RunSettings,
    readonly engine: Engine,
    readonly data: PreparedCorpus,
    readonly model: LlamaModel,
    readonly trainer: Trainer,
    private readonly sampler: BatchSampler,
    /** The fixed validation batch every evaluation uses. */
    readonly validation: TokenBatch,
    private readonly metrics: MetricsLogger,
  ) {}

  /** Steps taken so far. */
  get step(): number {
    return this.trainer.stepCount;
  }

  /**
   * Starts a new run in `dir` (replacing what is there). `cacheDir` holds the
   * tokenizers and token shards prepareCorpus caches (shared by all runs).
   */
  static async create(storage: Storage, dir: string, settings: RunSettings, engineOptions: EngineOptions, cacheDir = "/cache"): Promise<TrainingSession> {
    await storage.remove(dir);
    await storage.mkdir(dir);
    await storage.writeAtomic(joinPath(dir, RUN_FILE), JSON.stringify(settings, null, 2) + "\n");
    return TrainingSession.open(storage, dir, engineOptions, cacheDir);
  }

  /** Opens the run in `dir`, continuing from its newest checkpoint when it has one. */
  static async open(storage: Storage, dir: string, engineOptions: EngineOptions, cacheDir = "/cache"): Promise<TrainingSession> {
    const settings = JSON.parse(await storage.readText(joinPath(dir, RUN_FILE))) as RunSettings;
    const data = await prepareCorpus({
      corpus: settings.corpus,
      tokenizer: { vocabSize: settings.vocabSize },
      split: { seed: settings.seed },
      cacheDir,
      storage,
    });
    const config: ModelConfig = {
      vocabSize: data.tokenizer.vocabSize,
      ...settings.model,
      ropeTheta: 10000,
      rmsEps: 1e-5,
      tiedEmbeddings: false,
      maxSeqLen: settings.seqLen,
    };
    const engine = await createEngine(engineOptions);
    const latest = await latestCheckpoint(storage, dir);
    let model: LlamaModel;
    let saved: SavedTrainerState | undefined;
    let moments: TrainerState["moments"] = null;
    if (latest) {
      const files = new Map<string, Uint8Array>();
      for (const name of ["config.json", "model.safetensors"]) files.set(name, await storage.readBytes(joinPath(latest.path, name)));
      model = engine.loadModel(checkpointFromFiles(files));
      saved = JSON.parse(await storage.readText(joinPath(latest.path, TRAINER_STATE_FILE))) as SavedTrainerState;
      const opt = parseSafetensors(await storage.readBytes(joinPath(latest.path, OPTIMIZER_FILE)), { source: OPTIMIZER_FILE });
      const m = new Map<string, Float32Array>();
      const v = new Map<string, Float32Array>();
      for (const [name, t] of opt) (name.startsWith("m.") ? m : v).set(name.slice(2), t.data);
      moments = { m, v };
    } else {
      model = engine.createModel(config, { seed: settings.seed });
    }
    const trainer = engine.createTrainer(model, {
      lr: settings.lr,
      minLr: settings.minLr,
      warmupSteps: settings.warmupSteps,
      decaySteps: settings.steps,
      jreg: { alpha: settings.alpha, distance: settings.distance, lastK: settings.lastK, normalize: settings.normalize },
    });
    if (saved) trainer.importState({ stepCount: saved.stepCount, updates: saved.updates, moments });
    const sampler = new BatchSampler(data.train.tokens, { batchSize: settings.batchSize, seqLen: settings.seqLen, seed: settings.seed }, saved?.cursor);
    const [validation] = validationBatches(data.validation.tokens, { seqLen: settings.seqLen, windows: settings.validationWindows });
    const metricsPath = joinPath(dir, METRICS);
    // Lines written after the checkpoint was taken belong to steps that will run again.
    if (await storage.exists(metricsPath)) await truncateMetrics(storage, metricsPath, saved ? saved.stepCount - 1 : -1);
    const metrics = await MetricsLogger.open(storage, metricsPath);
    return new TrainingSession(storage, dir, settings, engine, data, model, trainer, sampler, validation!, metrics);
  }

  get done(): boolean {
    return this.step >= this.settings.steps;
  }

  /** One optimizer step on the next batch; logs and returns its metrics line. */
  async trainStep(): Promise<MetricsRecord> {
    const r: StepResult = await this.trainer.step(this.sampler.next());
    const rec: MetricsRecord = { step: r.step, loss: r.loss, ce: r.ce, R: r.jreg, lr: r.lr, gradNorm: r.gradNorm };
    await this.metrics.log(rec as Record<string, unknown> & { step: number });
    return rec;
  }

  /** The validation metrics of the current weights, logged as an evaluation line at the last step taken. */
  async evaluate(): Promise<MetricsRecord> {
    const s = this.settings;
    const e: Evaluation = await this.engine.evaluate(this.model, this.validation, { alpha: s.alpha, distance: s.distance, lastK: s.lastK, normalize: s.normalize });
    const rec: MetricsRecord = {
      step: Math.max(0, this.step - 1),
      val_ce: e.ce,
      D_angular: e.D_angular,
      D_cosine: e.D_cosine,
      J_angular: e.J_angular,
      J_cosine: e.J_cosine,
      early_exit_ce: e.early_exit_ce,
    };
    await this.metrics.log(rec as Record<string, unknown> & { step: number });
    return rec;
  }

  /** The model as the CLI writes it (config.json, model.safetensors) plus tokenizer.json. */
  async modelFiles(): Promise<Map<string, Uint8Array>> {
    const files = checkpointToFiles(await this.model.toCheckpoint());
    files.set(TOKENIZER_FILE, new TextEncoder().encode(this.data.tokenizerJson));
    return files;
  }

  /** Saves checkpoint-<step>/ so that a reload continues from here. */
  async saveCheckpoint(): Promise<void> {
    await this.metrics.flush();
    const state = await this.trainer.exportState();
    const files: Record<string, Uint8Array | string> = Object.fromEntries(await this.modelFiles());
    if (state.moments) {
      const tensors = [];
      for (const [key, map] of [["m", state.moments.m], ["v", state.moments.v]] as const) {
        for (const [name, data] of map) tensors.push({ name: `${key}.${name}`, shape: [data.length], data });
      }
      files[OPTIMIZER_FILE] = serializeSafetensors(tensors);
    }
    const saved: SavedTrainerState = { stepCount: state.stepCount, updates: state.updates, cursor: this.sampler.cursor() };
    files[TRAINER_STATE_FILE] = JSON.stringify(saved) + "\n";
    await writeCheckpoint(this.storage, this.dir, state.stepCount, files, { keepCheckpoints: 2 });
  }

  async metricsText(): Promise<string> {
    await this.metrics.flush();
    return this.storage.readText(joinPath(this.dir, METRICS));
  }

  async close(): Promise<void> {
    await this.metrics.close();
    this.trainer.dispose();
    await this.engine.dispose();
  }
}
