// Messages between the page (page.ts) and its training worker (train-worker.ts).
import type { MetricsRecord } from "../report/run-data.ts";
import type { PageSettings } from "./settings.ts";
import type { BackendName } from "../engine.ts";

export type ToWorker =
  | { type: "init"; backend: BackendName; threads?: number }
  | { type: "start"; settings: PageSettings }
  | { type: "resume"; name: string }
  /** Stop now, or (atStep) once that many steps are done; applies to the run being started or trained. */
  | { type: "stop"; atStep?: number }
  | { type: "download" }
  | { type: "add-corpus"; name: string; text: string }
  | { type: "profile"; files: Record<string, Uint8Array> }
  | { type: "list" };

export interface SavedRun {
  name: string;
  step: number;
  steps: number;
}

export type FromWorker =
  | { type: "loaded" }
  | { type: "ready"; device: string; backend: string; threads: number; crossOriginIsolated: boolean }
  | { type: "corpora"; names: string[] }
  | { type: "runs"; runs: SavedRun[] }
  | { type: "run"; settings: { name: string; steps: number }; config: unknown; history: MetricsRecord[] }
  | { type: "status"; text: string }
  | { type: "metrics"; record: MetricsRecord }
  | { type: "stopped"; step: number; done: boolean }
  | { type: "files"; files: Record<string, Uint8Array> }
  | { type: "profile"; name: string; D_angular: number[]; D_cosine: number[]; J_angular: number; J_cosine: number; ce: number }
  | { type: "error"; message: string };
