// The files of a training checkpoint (RUN_DIR/checkpoint-<step>/), encoded in
// memory for run/checkpoint-dir.ts writeCheckpoint and decoded on --resume:
//   config.json + model.safetensors   the HF checkpoint (io/checkpoint.ts encoders)
//   tokenizer.json                    the run's tokenizer, as prepared
//   optimizer.safetensors             AdamW moments by parameter name: "m.<name>", "v.<name>"
//   trainer_state.json                the step, the trainer counters, the data cursor, the seed
// Training draws no random numbers besides the sampler's, whose whole state is
// its cursor (its permutation is a function of seed and epoch), so the cursor is
// "the RNG state" of a run.
import { checkpointFromFiles, checkpointToFiles, type Checkpoint } from "../../io/checkpoint.ts";
import { parseSafetensors, serializeSafetensors } from "../../io/safetensors.ts";
import type { ModelConfig } from "../../model/config.ts";
import { parameterSpecs } from "../../model/parameters.ts";
import type { SamplerCursor } from "../../data/sampler.ts";
import { TRAINER_STATE_FILE } from "../../run/checkpoint-dir.ts";
import { describeStorageError, joinPath, type Storage } from "../../run/storage.ts";
import type { TrainerState } from "../trainer.ts";

export const TOKENIZER_FILE = "tokenizer.json";
export const OPTIMIZER_FILE = "optimizer.safetensors";
export const TRAINER_STATE_FORMAT = "jreg-trainer-state-1";

/** trainer_state.json */
export interface TrainerStateFile {
  format: typeof TRAINER_STATE_FORMAT;
  /** optimizer steps done: the checkpoint's step */
  step: number;
  /** Trainer.stepCount (skipped steps included) and Trainer.updates (AdamW bias correction) */
  stepCount: number;
  updates: number;
  /** where the next training batch starts */
  sampler: SamplerCursor;
  /** the run's seed (weight init and data order) */
  seed: number;
  optimizer: "adamw" | "sgd";
}

export class ResumeError extends Error {
  override name = "ResumeError";
}

export function encodeCheckpointFiles(
  ckpt: Checkpoint,
  trainer: TrainerState,
  state: Omit<TrainerStateFile, "format" | "stepCount" | "updates" | "optimizer">,
  tokenizerJson: string,
): Record<string, Uint8Array | string> {
  const files: Record<string, Uint8Array | string> = Object.fromEntries(checkpointToFiles(ckpt));
  files[TOKENIZER_FILE] = tokenizerJson;
  if (trainer.moments) {
    const tensors = parameterSpecs(ckpt.config).flatMap((s) => [
      { name: `m.${s.name}`, shape: s.shape, data: trainer.moments!.m.get(s.name)! },
      { name: `v.${s.name}`, shape: s.shape, data: trainer.moments!.v.get(s.name)! },
    ]);
    files[OPTIMIZER_FILE] = serializeSafetensors(tensors, { format: "pt", content: "AdamW exp_avg (m.*) and exp_avg_sq (v.*)" });
  }
  const file: TrainerStateFile = {
    format: TRAINER_STATE_FORMAT,
    step: state.step,
    stepCount: trainer.stepCount,
    updates: trainer.updates,
    sampler: state.sampler,
    seed: state.seed,
    optimizer: trainer.moments ? "adamw" : "sgd",
  };
  files[TRAINER_STATE_FILE] = JSON.stringify(file, null, 2) + "\n";
  return files;
}

export interface DecodedCheckpoint {
  checkpoint: Checkpoint;
  trainer: TrainerState;
  state: TrainerStateFile;
  tokenizerJson: string;
}

async function readFile(storage: Storage, dir: string, name: string): Promise<Uint8Array> {
  const path = joinPath(dir, name);
  if (!(await storage.exists(path))) throw new ResumeError(`cannot resume: ${path} is missing`);
  try {
    return await storage.readBytes(path);
  } catch (e) {
    throw new ResumeError(`cannot resume: cannot read ${path}: ${describeStorageError(e)}`);
  }
}

function parseState(bytes: Uint8Array, path: string): TrainerStateFile {
  let s: Record<string, unknown>;
  try {
    s = JSON.parse(new TextDecoder().decode(bytes));
  } catch (e) {
    throw new ResumeError(`cannot resume: ${path} is not valid JSON (${(e as Error).message})`);
  }
  const bad = (what: string) => new ResumeError(`cannot resume: ${path}: ${what}`);
  if (typeof s !== "object" || s === null || Array.isArray(s)) throw bad("must hold a JSON object");
  if (s.format !== TRAINER_STATE_FORMAT) throw bad(`format must be ${JSON.stringify(TRAINER_STATE_FORMAT)}, got ${JSON.stringify(s.format)}`);
  for (const k of ["step", "stepCount", "updates", "seed"]) {
    if (!Number.isSafeInteger(s[k]) || (s[k] as number) < 0) throw bad(`"${k}" must be an integer ≥ 0, got ${JSON.stringify(s[k])}`);
  }
  if (s.optimizer !== "adamw" && s.optimizer !== "sgd") throw bad(`"optimizer" must be "adamw" or "sgd", got ${JSON.stringify(s.optimizer)}`);
  if (typeof s.sampler !== "object" || s.sampler === null) throw bad(`"sampler" must be the data cursor object`);
  if (s.stepCount !== s.step) throw bad(`stepCount ${s.stepCount} differs from step ${s.step}`);
  return s as unknown as TrainerStateFile;
}

/** Reads and checks every file of a checkpoint directory written by encodeCheckpointFiles. */
export async function readCheckpointFiles(storage: Storage, dir: string): Promise<DecodedCheckpoint> {
  const statePath = joinPath(dir, TRAINER_STATE_FILE);
  const state = parseState(await readFile(storage, dir, TRAINER_STATE_FILE), statePath);
  let checkpoint: Checkpoint;
  try {
    checkpoint = checkpointFromFiles(new Map([
      ["config.json", await readFile(storage, dir, "config.json")],
      ["model.safetensors", await readFile(storage, dir, "model.safetensors")],
    ]));
  } catch (e) {
    if (e instanceof ResumeError) throw e;
    throw new ResumeError(`cannot resume: ${dir}: ${(e as Error).message}`);
  }
  const tokenizerJson = new TextDecoder().decode(await readFile(storage, dir, TOKENIZER_FILE));
  let moments: TrainerState["moments"] = null;
  if (state.optimizer === "adamw") {
    const path = joinPath(dir, OPTIMIZER_FILE);
    let found;
    try {
      found = parseSafetensors(await readFile(storage, dir, OPTIMIZER_FILE), { source: path });
    } catch (e) {
      if (e instanceof ResumeError) throw e;
      throw new ResumeError(`cannot resume: ${(e as Error).message}`);
    }
    moments = { m: new Map(), v: new Map() };
    for (const s of parameterSpecs(checkpoint.config)) {
      for (const which of ["m", "v"] as const) {
        const t = found.get(`${which}.${s.name}`);
        if (!t || t.data.length !== s.size) throw new ResumeError(`cannot resume: ${path} lacks a ${which} of the right size for ${s.name}`);
        moments[which].set(s.name, t.data);
      }
    }
  }
  return { checkpoint, state, tokenizerJson, trainer: { stepCount: state.stepCount, updates: state.updates, moments } };
}

/** True when two model configs describe the same architecture (for a resume's sanity check). */
export function sameModelConfig(a: ModelConfig, b: ModelConfig): boolean {
  return JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
}
