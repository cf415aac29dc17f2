// `jreg train --config FILE.json [--set KEY=VALUE …] [--resume RUN_DIR]`: one
// training run into a run directory (host/train/job/run-job.ts), with a progress
// bar on stderr (plain lines when stderr is not a TTY) and Ctrl-C as a clean stop.
//
// --resume RUN_DIR takes the config from RUN_DIR/config.json. --set may then
// change only what does not change the training itself (RESUME_SAFE_KEYS): the
// save and evaluation schedule, retention, threads. Anything else (steps, lr,
// the data …) would make the continuation a different run than the one the
// checkpoints belong to, so it is refused.
import { openRunDir } from "../run/run-dir.ts";
import { runTraining, type RunTrainingResult, type TrainingEvent } from "../train/job/run-job.ts";
import { checkUserSets, parseSet, resolveRunConfig, runConfigHelp, RunConfigError, type RunConfig } from "../train/run-config.ts";
import { UsageError } from "./args.ts";
import { defineCommand } from "./command.ts";
import { installInterrupt, INTERRUPTED_EXIT } from "./interrupt.ts";
import { createProgress, type Progress } from "./progress.ts";
import { loadRunConfig, RUN_CONFIG_FLAGS } from "./run-config-flags.ts";

/** Keys --set may change on --resume: they change when things are saved and shown, never a step's numbers. */
export const RESUME_SAFE_KEYS = ["saveEvery", "keepCheckpoints", "evalEvery", "logEvery", "threads"] as const;

/** The run config of RUN_DIR/config.json with the allowed --set overrides; `out` becomes RUN_DIR. */
export async function resumeConfig(dir: string, sets: readonly string[]): Promise<RunConfig> {
  checkUserSets(sets);
  for (const s of sets) {
    const { key } = parseSet(s);
    if (!(RESUME_SAFE_KEYS as readonly string[]).includes(key)) {
      throw new RunConfigError(`--set ${s}: with --resume only ${RESUME_SAFE_KEYS.join(", ")} may change; ${key} would make the continuation a different run (start a new one instead)`);
    }
  }
  const run = await openRunDir(dir);
  const cfg = resolveRunConfig(run.config, sets, { source: run.configPath });
  cfg.out = dir;
  return cfg;
}

function fmt(x: number, digits = 4): string {
  return Number.isFinite(x) ? x.toFixed(digits) : String(x);
}

/** Turns the job's events into progress lines. */
function reporter(cfg: RunConfig, label: string): { onEvent: (e: TrainingEvent) => void; progress: () => Progress | undefined } {
  let progress: Progress | undefined;
  const say = (line: string) => (progress ? progress.log(line) : createProgress({ total: 1 }).log(line));
  return {
    progress: () => progress,
    onEvent(e) {
      switch (e.kind) {
        case "prepared": {
          const s = e.stats;
          const m = e.model;
          say(
            `${label}: corpus ${s.corpus}: ${s.documents.train}/${s.documents.validation} train/validation documents, ` +
              `${s.tokens.train.toLocaleString("en-US")}/${s.tokens.validation.toLocaleString("en-US")} tokens, vocab ${s.vocabSize} (tokenizer ${s.tokenizer}), ready in ${s.seconds.total.toFixed(1)} s; ` +
              `model hidden ${m.hiddenSize}, ${m.numLayers} layers; ${e.threads} thread(s)`,
          );
          break;
        }
        case "start":
          progress = createProgress({ total: e.total, label });
          if (e.resumedFrom) progress.log(`${label}: resuming from ${e.resumedFrom.path} (step ${e.resumedFrom.step} of ${e.total})`);
          break;
        case "step":
          progress?.update(e.step, { loss: e.result.loss, tokens: e.tokens });
          break;
        case "eval":
          say(`${label}: eval at step ${e.step}: val_ce ${fmt(e.evaluation.ce)}  J_angular ${fmt(e.evaluation.J_angular, 3)}  D_L ${fmt(e.evaluation.D_angular.at(-1)!)}  early-exit CE ${e.evaluation.early_exit_ce.map((x) => fmt(x, 2)).join(" ")}` +
              (e.probe ? `  probe acc % ${e.probe.layers.map((l) => (100 * l.val_accuracy).toFixed(1)).join(" ")} (baseline ${(100 * e.probe.baseline.val_accuracy).toFixed(1)})` : ""));
          break;
        case "saved":
          if (e.step !== cfg.steps || e.step === 0) say(`${label}: saved ${e.checkpoint.path}`);
          break;
      }
    },
  };
}

/**
 * Runs one training run with progress and Ctrl-C handling. Resolves to the
 * result; an interrupted run has printed how to resume (on stderr).
 */
export async function trainWithProgress(cfg: RunConfig, opts: { resume?: boolean; overwrite?: boolean; label?: string }): Promise<RunTrainingResult> {
  const label = opts.label ?? cfg.name;
  const rep = reporter(cfg, label);
  const interrupt = installInterrupt(() => rep.progress()?.log(`${label}: interrupted: finishing the current step and saving a checkpoint (Ctrl-C again to stop at once, unsaved)`));
  try {
    const result = await runTraining(cfg, { resume: opts.resume, overwrite: opts.overwrite, signal: interrupt.signal, onEvent: rep.onEvent });
    rep.progress()?.done();
    if (result.interrupted) {
      createProgress({ total: 1 }).log(`${label}: stopped at step ${result.step} of ${cfg.steps}; saved ${result.checkpoint?.path}. Resume with: jreg train --resume ${result.dir}`);
    }
    return result;
  } finally {
    rep.progress()?.done();
    interrupt.dispose();
  }
}

export function summaryLine(cfg: RunConfig, r: RunTrainingResult): string {
  const e = r.evaluation;
  const evalText = e ? `; val_ce ${fmt(e.ce)}, J_angular ${fmt(e.J_angular, 3)}, early-exit CE ${e.early_exit_ce.map((x) => fmt(x, 3)).join(" ")}` : "";
  return `${r.dir}: ${r.complete ? "complete" : "stopped"} at step ${r.step}/${cfg.steps}${evalText}`;
}

export const trainCommand = defineCommand(
  {
    name: "train",
    summary: "train a model with a run config (--config FILE.json, --set KEY=VALUE); resumable run directory",
    description:
      "Writes RUN_DIR (the config's out, default runs/<name>): config.json (the resolved run config), metrics.jsonl\n" +
      "and checkpoint-<step>/ (config.json + model.safetensors, tokenizer.json, optimizer.safetensors,\n" +
      "trainer_state.json), the newest keepCheckpoints kept. A new run refuses an existing run directory.\n" +
      "Ctrl-C finishes the current step, saves a checkpoint and exits (130) saying how to resume; a second\n" +
      "Ctrl-C stops at once. --resume RUN_DIR continues from the newest complete checkpoint with the config of\n" +
      `RUN_DIR/config.json; --set may then change only ${RESUME_SAFE_KEYS.join(", ")}.\n` +
      "On the wasm backend a resumed run is bit-identical to an uninterrupted one (weights and metrics lines,\n" +
      "except tokensPerSecond, which is a timing).",
    flags: {
      ...RUN_CONFIG_FLAGS,
      resume: { type: "string", metavar: "RUN_DIR", help: "continue this run from its newest complete checkpoint" },
    },
  },
  async ({ values: v }, { out }) => {
    if (v.resume !== undefined && v.config !== undefined) {
      throw new UsageError(`--config and --resume exclude each other: a resumed run keeps ${v.resume}/config.json`);
    }
    if (v.resume === "") throw new UsageError("--resume needs a run directory");
    const cfg = v.resume !== undefined ? await resumeConfig(v.resume, v.set) : await loadRunConfig(v);
    const result = await trainWithProgress(cfg, { resume: v.resume !== undefined });
    out(summaryLine(cfg, result));
    return result.interrupted ? INTERRUPTED_EXIT : 0;
  },
  async () => runConfigHelp(),
);
