// The layer probe of a training run (run config `probe`): its data is placed
// once, before training (Brown's tagged words, the run's tokenizer, windows of
// the run's seqLen, the run's document split when the run trains on Brown, else
// Brown's default split), and each probed evaluation trains and scores the
// L + 1 probes on the model's current weights. The probe only reads the weights
// (forward passes and its own tensors), so a run with it enabled trains the same.
import { brownProbeDocuments, probeDataset, probeModel, type ProbeDataset, type ProbeResult } from "../../analysis/probe.ts";
import { DEFAULT_VALIDATION_FRACTION } from "../../data/split.ts";
import type { PreparedCorpus } from "../../data/prepare.ts";
import type { LlamaModel } from "../../model/model.ts";
import type { RunConfig } from "../run-config.ts";

/** The probe's words and windows for a run, or null when the run config leaves the probe off. */
export async function runProbeData(cfg: RunConfig, prepared: Pick<PreparedCorpus, "tokenizer" | "eot">): Promise<ProbeDataset | null> {
  if (!cfg.probe.enabled) return null;
  const validationFraction = cfg.data.corpus === "brown" ? cfg.data.validationFraction : DEFAULT_VALIDATION_FRACTION;
  const docs = await brownProbeDocuments({ validationFraction });
  return probeDataset(prepared.tokenizer, docs, { seq: cfg.seqLen, eot: prepared.eot, tagSet: cfg.probe.tags, maxWords: cfg.probe.maxWords, batchRows: cfg.batchSize });
}

/** Whether the evaluation at `step` is probed. */
export function probesAt(cfg: RunConfig, step: number): boolean {
  return cfg.probe.enabled && (cfg.probe.everyEval || step === cfg.steps);
}

export function runProbe(model: LlamaModel, data: ProbeDataset, cfg: RunConfig): Promise<ProbeResult> {
  return probeModel(model, data, { epochs: cfg.probe.epochs, seed: cfg.seed });
}

/** The metrics.jsonl fields of a probe: accuracies per h_l (l = 0..L) and the majority-tag baseline, on validation words. */
export function probeFields(p: ProbeResult): Record<string, unknown> {
  return {
    probe_accuracy: p.layers.map((l) => l.val_accuracy),
    probe_train_accuracy: p.layers.map((l) => l.train_accuracy),
    probe_baseline: p.baseline.val_accuracy,
  };
}
