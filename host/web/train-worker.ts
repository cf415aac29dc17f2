// The page's training worker: owns the engine, the IndexedDB storage and the
// running TrainingSession, so the page's thread only draws. It yields to its
// message queue between steps, which is what lets "stop" arrive mid-run.
import { createEngine, type BackendName } from "../engine.ts";
import { checkpointFromFiles } from "../io/checkpoint.ts";
import { loadTokenizerJson } from "../tokenizer/load-hf.ts";
import { parseMetrics } from "../run/metrics.ts";
import { joinPath } from "../run/storage.ts";
import { latestCheckpoint } from "../run/checkpoint-dir.ts";
import { IndexedDbStorage } from "./idb-storage.ts";
import { TrainingSession } from "./session.ts";
import type { RunSettings } from "./settings.ts";
import type { FromWorker, SavedRun, ToWorker } from "./protocol.ts";

const RUNS = "/runs";
const CORPORA = "/corpora";
const BROWN_SAMPLE = "/corpora/brown-sample";
/** The thread-pool worker, emitted beside this file by scripts/build-web.mjs. */
const POOL_WORKER = new URL("./pool-worker.js", import.meta.url);

const post = (m: FromWorker, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(m, transfer);

let storage: IndexedDbStorage;
let engineOptions: { backend: BackendName; threads?: number; workerUrl: URL };
let session: TrainingSession | undefined;
/** Steps after which the current run stops (Infinity: run to its end). */
let stopAt = Infinity;
let running = false;

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

async function listRuns(): Promise<void> {
  const runs: SavedRun[] = [];
  if (await storage.exists(RUNS)) {
    for (const name of await storage.list(RUNS)) {
      const dir = joinPath(RUNS, name);
      if (!(await storage.exists(joinPath(dir, "run.json")))) continue;
      const settings = JSON.parse(await storage.readText(joinPath(dir, "run.json"))) as RunSettings;
      const latest = await latestCheckpoint(storage, dir);
      runs.push({ name, step: latest?.step ?? 0, steps: settings.steps });
    }
  }
  post({ type: "runs", runs });
}

async function train(s: TrainingSession): Promise<void> {
  session = s;
  running = true;
  const history = parseMetrics(await s.metricsText()).records;
  post({ type: "run", settings: s.settings, history });
  post({ type: "status", text: `training on ${s.engine.backend.capabilities.device}: ${s.data.stats.tokens.train} training tokens, vocabulary ${s.data.tokenizer.vocabSize}` });
  try {
    if (s.step === 0) post({ type: "metrics", record: await s.evaluate() });
    while (!s.done && s.step < stopAt) {
      post({ type: "metrics", record: await s.trainStep() });
      const step = s.step;
      if (step % s.settings.evalEvery === 0 || s.done) post({ type: "metrics", record: await s.evaluate() });
      if (step % s.settings.checkpointEvery === 0) await s.saveCheckpoint();
      // Let queued messages ("stop", "download") in between steps.
      await new Promise((r) => setTimeout(r, 0));
    }
    await s.saveCheckpoint();
  } finally {
    running = false;
  }
  post({ type: "stopped", step: s.step, done: s.done });
  await listRuns();
}

async function replaceSession(): Promise<void> {
  if (session) await session.close();
  session = undefined;
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
  const engine = await createEngine(engineOptions);
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
      engineOptions = { backend: m.backend, threads: m.threads, workerUrl: POOL_WORKER };
      await installBrownSample();
      // Open an engine once to say what this tab trains on.
      const engine = await createEngine(engineOptions);
      post({
        type: "ready",
        device: engine.backend.capabilities.device,
        backend: engine.backend.name,
        threads: (engine.backend as { threads?: number }).threads ?? 1,
        crossOriginIsolated: (self as unknown as { crossOriginIsolated: boolean }).crossOriginIsolated,
      });
      await engine.dispose();
      await listCorpora();
      await listRuns();
      return;
    }
    case "start": {
      if (running) throw new Error("a run is already training; stop it first");
      stopAt = Infinity;
      await replaceSession();
      post({ type: "status", text: "preparing the corpus and training the tokenizer…" });
      const dir = joinPath(RUNS, m.settings.name);
      return train(await TrainingSession.create(storage, dir, m.settings, engineOptions));
    }
    case "resume": {
      if (running) throw new Error("a run is already training; stop it first");
      stopAt = Infinity;
      await replaceSession();
      post({ type: "status", text: `opening ${m.name}…` });
      return train(await TrainingSession.open(storage, joinPath(RUNS, m.name), engineOptions));
    }
    case "stop":
      stopAt = m.atStep ?? 0;
      return;
    case "download": {
      if (!session) throw new Error("download: no run has been trained in this tab yet");
      const files = Object.fromEntries(await session.modelFiles());
      files["metrics.jsonl"] = new TextEncoder().encode(await session.metricsText());
      post({ type: "files", files });
      return;
    }
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
    running = false;
    post({ type: "error", message: (err as Error)?.message ?? String(err) });
  });
};
post({ type: "loaded" });
