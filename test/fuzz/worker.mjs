// Runs the mutants [from, to) of one format inside a worker thread, so that the
// parent can bound each mutant's time (a hang is a stuck worker it terminates)
// and memory (resourceLimits: an allocation driven by an untrusted size ends
// the worker with ERR_WORKER_OUT_OF_MEMORY instead of the machine).
import { parentPort, workerData } from "node:worker_threads";
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FORMATS, disposeFormats } from "./formats.mjs";
import { rng } from "./mutate.mjs";

const { formatName, from, to, seed, dir } = workerData;
const format = FORMATS.find((f) => f.name === formatName);

/** Errors that mean a reader bug, not a rejection: a JS engine error or a wasm trap escaped. */
const CRASH_CLASSES = ["TypeError", "RangeError", "ReferenceError", "SyntaxError", "EvalError", "URIError", "RuntimeError", "CompileError", "LinkError", "InternalError"];

function writeMutant(files) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // Directories before the files inside them.
  for (const [name, content] of Object.entries(files).sort(([a], [b]) => a.length - b.length)) {
    const path = join(dir, name);
    if (content instanceof Uint8Array) writeFileSync(path, content);
    else if (content.dir) mkdirSync(path, { recursive: true });
    else if (content.symlink) symlinkSync(content.symlink, path);
    // { absent: true }: nothing
  }
}

function classify(e, m) {
  const cls = e?.constructor?.name ?? typeof e;
  if (!(e instanceof Error) || CRASH_CLASSES.includes(cls) || CRASH_CLASSES.includes(e.name)) return { kind: "crash", why: `${cls}: ${e?.message ?? e}` };
  const msg = e.message;
  const mentionsFile = Object.keys(m.files).some((n) => msg.includes(n.split("/").pop())) || msg.includes(m.mutated);
  if (!mentionsFile) return { kind: "unclear", why: `names no file: ${msg}` };
  const fieldWords = [...format.names, ...(m.field !== undefined ? [m.field] : [])];
  if (!fieldWords.some((w) => msg.includes(w))) return { kind: "unclear", why: `names no field: ${msg}` };
  return { kind: "rejected", why: msg };
}

const state = await format.setup();
for (let i = from; i < to; i++) {
  const r = rng(seed * 1000003 + i * 7919 + 17);
  const m = format.mutant(r, state);
  parentPort.postMessage({ type: "start", i, what: m.what });
  writeMutant(m.files);
  let result;
  let value;
  try {
    value = await format.load(dir, state);
  } catch (e) {
    result = classify(e, m);
  }
  if (!result) {
    try {
      await format.usable(value, state);
      result = { kind: "accepted" };
    } catch (e) {
      result = { kind: "crash", why: `accepted but not usable: ${e?.message ?? e}` };
    }
  }
  parentPort.postMessage({ type: "done", i, what: m.what, ...result });
}
await disposeFormats();
rmSync(dir, { recursive: true, force: true });
parentPort.postMessage({ type: "end" });
