// The browser page: a form, the charts report.html draws, and buttons that send
// messages to the training worker (train-worker.ts). All training happens there;
// this thread only keeps the run's metrics and redraws.
//
// Query parameters (for tests and for trying a backend): ?backend=wasm|webgpu|auto
// (default auto: WebGPU on a real GPU, else WASM), ?threads=N.
import { drawJumpProfiles, drawLossCurves, type ChartHandle } from "../report/charts.ts";
import { runFromRecords, type MetricsRecord, type RunData } from "../report/run-data.ts";
import { MODEL_SIZES, type PageSettings } from "./settings.ts";
import type { FromWorker, ToWorker } from "./protocol.ts";
import type { BackendName } from "../engine.ts";

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);

const worker = new Worker(new URL("./train-worker.js", import.meta.url), { type: "module" });
// Messages wait until the worker has loaded (see the end of train-worker.ts).
let workerLoaded = false;
const queued: ToWorker[] = [];
const send = (m: ToWorker) => (workerLoaded ? worker.postMessage(m) : queued.push(m));

/** What the page knows; exposed as window.jregPage for tests and the console. */
const state = {
  ready: false,
  training: false,
  settings: undefined as { name: string; steps: number } | undefined,
  /** The run config of the run being shown (the JSON `jreg train --config` reads). */
  config: undefined as unknown,
  records: [] as MetricsRecord[],
  errors: [] as string[],
  files: undefined as Record<string, Uint8Array> | undefined,
  profile: undefined as Extract<FromWorker, { type: "profile" }> | undefined,
  info: undefined as Extract<FromWorker, { type: "ready" }> | undefined,
  /** The step the last stopped run stopped at (set when it was stopped before its end). */
  stoppedAt: undefined as number | undefined,
  /** Sends a message to the worker (for tests and the console, e.g. {type: "stop", atStep: 10}). */
  send: (m: ToWorker) => send(m),
};
(window as unknown as { jregPage: typeof state }).jregPage = state;

let lossChart: ChartHandle | undefined;
let profileChart: ChartHandle | undefined;
let loadedChart: ChartHandle | undefined;
let redrawQueued = false;

function currentRun(): RunData {
  return runFromRecords(state.settings?.name ?? "run", state.settings ?? {}, state.records);
}

function redraw(): void {
  if (redrawQueued) return;
  redrawQueued = true;
  requestAnimationFrame(() => {
    redrawQueued = false;
    const runs = [currentRun()];
    if (lossChart) lossChart.update(runs);
    else lossChart = drawLossCurves($("loss-chart"), runs, { height: 240 });
    if (runs[0]!.evals.length === 0) return;
    if (profileChart) profileChart.update(runs);
    else profileChart = drawJumpProfiles($("profile-chart"), runs, "angular", { height: 240 });
  });
}

function say(text: string): void {
  $("status").textContent = text;
}

function setTraining(on: boolean): void {
  state.training = on;
  $<HTMLButtonElement>("train").disabled = on || !state.ready;
  $<HTMLButtonElement>("resume").disabled = on || !state.ready || $<HTMLSelectElement>("saved-runs").options.length === 0;
  $<HTMLButtonElement>("stop").disabled = !on;
  $<HTMLButtonElement>("download").disabled = !state.ready || state.settings === undefined;
}

function num(id: string): number {
  const el = $<HTMLInputElement>(id);
  const v = Number(el.value);
  if (!Number.isFinite(v) || el.value.trim() === "") throw new Error(`${el.labels?.[0]?.textContent ?? id}: enter a number`);
  return v;
}

function readSettings(): PageSettings {
  return {
    name: $<HTMLInputElement>("run-name").value.trim().replace(/[^\w.-]+/g, "_") || "run",
    corpus: $<HTMLSelectElement>("corpus").value,
    size: $<HTMLSelectElement>("size").value,
    vocabSize: num("vocab"),
    seqLen: num("seq"),
    batchSize: num("batch"),
    steps: num("steps"),
    lr: num("lr"),
    seed: num("seed"),
    evalEvery: num("eval-every"),
    alpha: num("alpha"),
    distance: $<HTMLSelectElement>("distance").value as PageSettings["distance"],
    lastK: num("last-k"),
    normalize: $<HTMLSelectElement>("normalize").value as PageSettings["normalize"],
  };
}

function download(name: string, bytes: Uint8Array): HTMLAnchorElement {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([bytes as BlobPart]));
  a.download = name;
  a.textContent = `${name} (${bytes.byteLength.toLocaleString("en")} bytes)`;
  return a;
}

function drawLoadedProfile(p: Extract<FromWorker, { type: "profile" }>): void {
  // A one-evaluation run, so the shared profile chart draws it like any other.
  const run = runFromRecords(p.name, {}, [{ step: 0, val_ce: p.ce, D_angular: p.D_angular, D_cosine: p.D_cosine, J_angular: p.J_angular, J_cosine: p.J_cosine, early_exit_ce: [] }]);
  loadedChart?.destroy();
  loadedChart = drawJumpProfiles($("loaded-chart"), [run], "angular", { height: 220 });
  $("loaded-summary").textContent = `CE ${p.ce.toFixed(4)} · J angular ${p.J_angular.toFixed(3)} · J cosine ${p.J_cosine.toFixed(3)} · D_l angular ${p.D_angular.map((d) => d.toFixed(3)).join(", ")}`;
}

worker.onmessage = (e: MessageEvent<FromWorker>) => {
  const m = e.data;
  switch (m.type) {
    case "loaded":
      workerLoaded = true;
      for (const q of queued.splice(0)) worker.postMessage(q);
      return;
    case "ready": {
      state.info = m;
      state.ready = true;
      const threads = m.threads === 1 ? "one thread" : `${m.threads} threads`;
      $("isolation").textContent = m.crossOriginIsolated
        ? "Cross-origin isolated: WebAssembly can run on several threads (shared memory)."
        : "Not cross-origin isolated (no COOP/COEP headers): WebAssembly runs on one thread.";
      $("device").textContent = `Training on ${m.backend === "webgpu" ? `WebGPU: ${m.device}` : `WebAssembly, ${threads}`}.`;
      say("Ready.");
      setTraining(false);
      return;
    }
    case "corpora": {
      const sel = $<HTMLSelectElement>("corpus");
      const keep = sel.value;
      sel.replaceChildren(...m.names.map((n) => new Option(n === "/corpora/brown-sample" ? "Brown sample (built in)" : n.replace("/corpora/", ""), n)));
      if (m.names.includes(keep)) sel.value = keep;
      return;
    }
    case "runs": {
      const sel = $<HTMLSelectElement>("saved-runs");
      sel.replaceChildren(...m.runs.map((r) => new Option(`${r.name} (step ${r.step} of ${r.steps})`, r.name)));
      setTraining(state.training);
      return;
    }
    case "run":
      state.settings = m.settings;
      state.config = m.config;
      state.records = m.history;
      setTraining(true);
      redraw();
      return;
    case "status":
      say(m.text);
      return;
    case "metrics":
      state.records.push(m.record);
      if (m.record.loss !== undefined) $("progress").textContent = `step ${m.record.step} of ${state.settings?.steps}: loss ${m.record.loss.toFixed(4)}`;
      redraw();
      return;
    case "stopped":
      if (!m.done) state.stoppedAt = m.step;
      setTraining(false);
      say(m.done ? `Finished at step ${m.step}; saved in browser storage.` : `Stopped at step ${m.step}; saved in browser storage, resume it any time (also after a reload).`);
      return;
    case "files": {
      state.files = m.files;
      const links = Object.entries(m.files).map(([name, bytes]) => {
        const li = document.createElement("li");
        li.append(download(name, bytes));
        return li;
      });
      $("downloads").replaceChildren(...links);
      say("The checkpoint (config.json, model.safetensors, tokenizer.json: the files `jreg` writes) and metrics.jsonl are ready below.");
      return;
    }
    case "profile":
      state.profile = m;
      drawLoadedProfile(m);
      say(`Loaded checkpoint: J angular ${m.J_angular.toFixed(3)}.`);
      return;
    case "error":
      state.errors.push(m.message);
      setTraining(false);
      say(`Error: ${m.message}`);
      return;
  }
};
worker.onerror = (e) => {
  state.errors.push(e.message);
  say(`The training worker failed: ${e.message || "its script could not be loaded"}`);
};

function guard(fn: () => void): () => void {
  return () => {
    try {
      fn();
    } catch (e) {
      say(`Error: ${(e as Error).message}`);
    }
  };
}

async function addCorpusFile(file: File): Promise<void> {
  if (!/\.txt$/i.test(file.name)) throw new Error(`${file.name}: pick a .txt file`);
  send({ type: "add-corpus", name: file.name, text: await file.text() });
  say(`Added ${file.name} as a corpus.`);
}

async function loadCheckpoint(list: FileList): Promise<void> {
  const files: Record<string, Uint8Array> = {};
  for (const f of Array.from(list)) files[f.name] = new Uint8Array(await f.arrayBuffer());
  for (const need of ["config.json", "model.safetensors", "tokenizer.json"]) {
    if (!(need in files)) throw new Error(`load checkpoint: pick config.json, model.safetensors and tokenizer.json together (missing ${need})`);
  }
  say("Evaluating the loaded checkpoint…");
  send({ type: "profile", files });
}

function wire(): void {
  const sizes = $<HTMLSelectElement>("size");
  for (const [name, s] of Object.entries(MODEL_SIZES)) sizes.add(new Option(`${name}: hidden ${s.hidden_size}, ${s.num_hidden_layers} layers, heads ${s.num_attention_heads}/${s.num_key_value_heads}`, name));
  sizes.value = "tiny";
  $("train").addEventListener("click", guard(() => {
    const settings = readSettings();
    state.records = [];
    state.settings = { name: settings.name, steps: settings.steps };
    setTraining(true);
    send({ type: "start", settings });
  }));
  $("stop").addEventListener("click", () => send({ type: "stop" }));
  $("resume").addEventListener("click", guard(() => {
    const name = $<HTMLSelectElement>("saved-runs").value;
    if (!name) throw new Error("no saved run to resume");
    setTraining(true);
    send({ type: "resume", name });
  }));
  $("download").addEventListener("click", () => send({ type: "download" }));
  $<HTMLInputElement>("corpus-file").addEventListener("change", (e) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (f) addCorpusFile(f).catch((err: Error) => say(`Error: ${err.message}`));
  });
  $<HTMLInputElement>("checkpoint-files").addEventListener("change", (e) => {
    const fl = (e.target as HTMLInputElement).files;
    if (fl && fl.length) loadCheckpoint(fl).catch((err: Error) => say(`Error: ${err.message}`));
  });
  // Drop a .txt anywhere on the page to add it as a corpus.
  document.addEventListener("dragover", (e) => e.preventDefault());
  document.addEventListener("drop", (e) => {
    e.preventDefault();
    const f = e.dataTransfer?.files?.[0];
    if (f) addCorpusFile(f).catch((err: Error) => say(`Error: ${err.message}`));
  });
  setTraining(false);
}

wire();
const backend = (params.get("backend") ?? "auto") as BackendName;
const threads = params.has("threads") ? Number(params.get("threads")) : undefined;
say("Starting the engine…");
send({ type: "init", backend, threads });
