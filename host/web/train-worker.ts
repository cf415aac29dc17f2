// The page's training worker: owns the engine, the IndexedDB storage and the
// running TrainingSession, so the page's thread only draws. It yields to its
// message queue between steps, which is what lets "stop" arrive mid-run.
import { createEngine, type BackendName } from "../engine.ts";
import { checkpointFromFiles } from "../io/checkpoint.ts";
import { loadTokenizerJson } from "../tokenizer/load-hf.ts";
import { parseMetrics } from "../run/metrics.ts";
import { joinPath } from "../run/storage.ts";
import { latestCheckpoint } from "../run/checkpoint-dir.ts";
import { evaluationFields, runTraining, type TrainingEvent } from "../train/job/run-job.ts";
import { resolveRunConfig, type RunConfig } from "../train/run-config.ts";
import type { MetricsRecord } from "../report/run-data.ts";
import { IndexedDbStorage } from "./idb-storage.ts";
import { RUNS_DIR, runConfigJson } from "./settings.ts";
import type { FromWorker, SavedRun, ToWorker } from "./protocol.ts";

const CORPORA = "/corpora";
const BROWN_SAMPLE = "/corpora/brown-sample";
/** The thread-pool worker, emitted beside this file by scripts/build-web.mjs. */
const POOL_WORKER = new URL("./pool-worker.js", import.meta.url);

const post = (m: FromWorker, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(m, transfer);

let storage: IndexedDbStorage;
let backend: BackendName = "auto";
let threads = 0;
/** The run trained (or last trained) in this tab. */
let current: RunConfig | undefined;
let abort: AbortController | undefined;
/** Steps after which the current run stops (Infinity: run to its end). */
let stopAt = Infinity;

/** The built-in Brown sample (brown-sample.json, made at build time) as one .txt per document. */
async function installBrownSample(): Promise<void> {
  if (await storage.exists(BROWN_SAMPLE)) return;
  const res = await fetch(new URL("./brown-sample.json", import.meta.url));
  if (!res.ok) throw new Error(`the built-in Brown sample could not be loaded (HTTP ${res.status})`);
  const docs = (await res.json()) as Array<{ id: string; text: string }>;
  await storage.mkdir(BROWN_SAMPLE);
  for (const d of docs) await storage.writeAtomic(joinPath(BROWN_SAMPLE, `${d.id}.txt`), d.text);
}

async function listCorpora(): Promise<void> {
  post({ type: "corpora", names: (await storage.list(CORPORA)).map((n) => joinPath(CORPORA, n)) });
}

async function readRunConfig(dir: string): Promise<RunConfig> {
  return resolveRunConfig(JSON.parse(await storage.readText(joinPath(dir, "config.json"))), [], { source: `${dir}/config.json` });
}

async function listRuns(): Promise<void> {
  const runs: SavedRun[] = [];
  if (await storage.exists(RUNS_DIR)) {
    for (const name of await storage.list(RUNS_DIR)) {
      const dir = joinPath(RUNS_DIR, name);
      if (!(await storage.exists(joinPath(dir, "config.json")))) continue;
      const cfg = await readRunConfig(dir);
      const latest = await latestCheckpoint(storage, dir);
      runs.push({ name, step: latest?.step ?? 0, steps: cfg.steps });
    }
  }
  post({ type: "runs", runs });
}

/** Training events as the metrics lines the page draws (runTraining writes the same to metrics.jsonl). */
function onEvent(cfg: RunConfig, e: TrainingEvent): void {
  switch (e.kind) {
    case "prepared":
      post({ type: "status", text: `training: ${e.stats.tokens.train.toLocaleString("en")} training tokens, vocabulary ${e.model.vocabSize}, ${e.threads} thread${e.threads === 1 ? "" : "s"}` });
      return;
    case "step": {
      const r = e.result;
      post({ type: "metrics", record: { step: e.step, loss: r.loss, ce: r.ce, R: r.jreg, lr: r.lr, gradNorm: r.gradNorm } });
      if (e.step >= stopAt) abort?.abort();
      return;
    }
    case "eval": {
      post({ type: "metrics", record: { step: e.step, ...evaluationFields(e.evaluation, e.probe) } as MetricsRecord });
      return;
    }
    case "start":
    case "saved":
      return;
  }
}

async function train(cfg: RunConfig, resume: boolean): Promise<void> {
  current = cfg;
  abort = new AbortController();
  // What the page draws first: on resume, the lines runTraining keeps (those up to the checkpoint it continues from).
  let history: MetricsRecord[] = [];
  if (resume) {
    const latest = await latestCheckpoint(storage, cfg.out);
    const text = await storage.readText(joinPath(cfg.out, "metrics.jsonl")).catch(() => "");
    history = (parseMetrics(text).records as MetricsRecord[]).filter((r) => r.step <= (latest?.step ?? -1));
  }
  post({ type: "run", settings: { name: cfg.name, steps: cfg.steps }, config: cfg, history });
  try {
    const r = await runTraining(cfg, { storage, resume, overwrite: true, signal: abort.signal, engineOptions: { workerUrl: POOL_WORKER }, onEvent: (e) => onEvent(cfg, e) });
    post({ type: "stopped", step: r.step, done: r.complete });
  } finally {
    abort = undefined;
  }
  await listRuns();
}

/** The newest checkpoint's files (config.json, model.safetensors, tokenizer.json: what `jreg train` writes) and metrics.jsonl. */
async function downloadFiles(): Promise<Record<string, Uint8Array>> {
  if (!current) throw new Error("download: no run has been trained in this tab yet");
  const latest = await latestCheckpoint(storage, current.out);
  if (!latest) throw new Error(`download: ${current.name} has no checkpoint yet`);
  const files: Record<string, Uint8Array> = {};
  for (const name of ["config.json", "model.safetensors", "tokenizer.json"]) files[name] = await storage.readBytes(joinPath(latest.path, name));
  files["metrics.jsonl"] = await storage.readBytes(joinPath(current.out, "metrics.jsonl"));
  return files;
}

async function profile(files: Record<string, Uint8Array>): Promise<void> {
  const map = new Map(Object.entries(files));
  const ckpt = checkpointFromFiles(map);
  const tokJson = map.get("tokenizer.json");
  if (!tokJson) throw new Error("load checkpoint: pick tokenizer.json too (with config.json and model.safetensors), to tokenize the evaluation text");
  const tokenizer = await loadTokenizerJson(new TextDecoder().decode(tokJson));
  if (tokenizer.vocabSize > ckpt.config.vocabSize) throw new Error(`load checkpoint: tokenizer.json has ${tokenizer.vocabSize} tokens but the model only ${ckpt.config.vocabSize}`);
  // Evaluation text: the Brown sample's documents, which every page has.
  const names = await storage.list(BROWN_SAMPLE);
  const text = (await Promise.all(names.slice(-4).map((n) => storage.readText(joinPath(BROWN_SAMPLE, n))))).join("\n\n");
  const ids = tokenizer.encode(text);
  const T = Math.min(ckpt.config.maxSeqLen, 128);
  const rows = Math.max(1, Math.min(8, Math.floor((ids.length - 1) / T)));
  const batch = { batch: rows, length: T + 1, ids: new Int32Array(rows * (T + 1)) };
  for (let r = 0; r < rows; r++) batch.ids.set(ids.subarray(r * T, r * T + T + 1), r * (T + 1));
  const engine = await createEngine({ backend, threads: threads || undefined, workerUrl: POOL_WORKER });
  try {
    const model = engine.loadModel(ckpt);
    const p = await engine.jumpProfile(model, batch);
    post({ type: "profile", name: "loaded checkpoint", D_angular: p.D_angular, D_cosine: p.D_cosine, J_angular: p.J_angular, J_cosine: p.J_cosine, ce: p.ce });
    model.dispose?.();
  } finally {
    await engine.dispose();
  }
}

async function handle(m: ToWorker): Promise<void> {
  switch (m.type) {
    case "init": {
      storage = await IndexedDbStorage.open();
      backend = m.backend;
      threads = m.threads ?? 0;
      await installBrownSample();
      // Open an engine once to say what this tab trains on.
      const engine = await createEngine({ backend, threads: threads || undefined, workerUrl: POOL_WORKER });
      post({
        type: "ready",
        device: engine.backend.capabilities.device,
        backend: engine.backend.name,
        threads: engine.backend.threads,
        crossOriginIsolated: (self as unknown as { crossOriginIsolated: boolean }).crossOriginIsolated,
      });
      await engine.dispose();
      await listCorpora();
      await listRuns();
      return;
    }
    case "start": {
      if (abort) throw new Error("a run is already training; stop it first");
      stopAt = Infinity;
      const cfg = resolveRunConfig(runConfigJson(m.settings, backend, threads), [], { source: "the form" });
      post({ type: "status", text: "preparing the corpus and training the tokenizer…" });
      return train(cfg, false);
    }
    case "resume": {
      if (abort) throw new Error("a run is already training; stop it first");
      stopAt = Infinity;
      post({ type: "status", text: `opening ${m.name}…` });
      const cfg = await readRunConfig(joinPath(RUNS_DIR, m.name));
      // This tab's backend, not the one the run was started on (wasm resumes bit for bit).
      return train({ ...cfg, backend, threads }, true);
    }
    case "stop":
      stopAt = m.atStep ?? 0;
      if (stopAt === 0) abort?.abort();
      return;
    case "download":
      post({ type: "files", files: await downloadFiles() });
      return;
    case "add-corpus": {
      const safe = m.name.replace(/[^\w.-]+/g, "_");
      await storage.mkdir(CORPORA);
      await storage.writeAtomic(joinPath(CORPORA, safe.endsWith(".txt") ? safe : `${safe}.txt`), m.text);
      return listCorpora();
    }
    case "profile":
      return profile(m.files);
    case "list":
      return listRuns();
  }
}

// A module worker with top-level awaits (the engine's binaries are fetched while
// it loads) can drop messages that arrive before it has finished loading: the page
// waits for this one before it sends any.
self.onmessage = (e: MessageEvent<ToWorker>) => {
  handle(e.data).catch((err: unknown) => {
    post({ type: "error", message: (err as Error)?.message ?? String(err) });
  });
};
post({ type: "loaded" });
