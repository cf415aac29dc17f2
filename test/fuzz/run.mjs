// Drives the fuzz workers: one worker per format at a time, a time bound per
// mutant (a worker that reports no progress is terminated and the mutant counts
// as a hang), a heap bound per worker, and the counts per format.
import { Worker } from "node:worker_threads";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FORMATS } from "./formats.mjs";

/** Seconds one mutant may take (loading a tiny model and evaluating it takes milliseconds). */
export const MUTANT_TIMEOUT_MS = 10_000;
/** Heap a worker may use: far above what the seeds need, far below what an unchecked size would allocate. */
export const WORKER_HEAP_MB = 256;

function runRange(format, from, to, seed, dir, onResult) {
  return new Promise((resolve) => {
    const worker = new Worker(new URL("./worker.mjs", import.meta.url), {
      workerData: { formatName: format.name, from, to, seed, dir },
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB, maxYoungGenerationSizeMb: 32 },
    });
    let current;
    let timer;
    let finished = false;
    const finish = (next) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      resolve(next);
    };
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        onResult({ i: current.i, what: current.what, kind: "crash", why: `hung: no result after ${MUTANT_TIMEOUT_MS} ms` });
        worker.terminate();
        finish(current.i + 1);
      }, MUTANT_TIMEOUT_MS);
    };
    worker.on("message", (msg) => {
      if (msg.type === "start") {
        current = msg;
        arm();
      } else if (msg.type === "done") {
        onResult(msg);
      } else if (msg.type === "end") {
        finish(to);
      }
    });
    worker.on("error", (e) => {
      // Out of memory or an error outside any mutant: blame the mutant in flight.
      const i = current?.i ?? from;
      onResult({ i, what: current?.what ?? "(setup)", kind: "crash", why: `worker died: ${e.code ?? ""} ${e.message}` });
      finish(i + 1);
    });
    worker.on("exit", () => finish(current ? current.i + 1 : to));
  });
}

/**
 * Runs `mutants` mutants of each named format (all by default); returns
 * { name: { accepted, rejected, unclear, crashes, failures: [{i, what, kind, why}] } }.
 */
export async function fuzzFormats({ names, mutants, seed = 1, log = () => {} }) {
  const formats = names ? FORMATS.filter((f) => names.includes(f.name)) : FORMATS;
  if (names && formats.length !== names.length) throw new Error(`unknown format in ${names.join(", ")}; known: ${FORMATS.map((f) => f.name).join(", ")}`);
  const root = mkdtempSync(join(tmpdir(), "jreg-fuzz-"));
  const results = {};
  try {
    for (const format of formats) {
      const counts = { accepted: 0, rejected: 0, unclear: 0, crashes: 0, failures: [] };
      results[format.name] = counts;
      const onResult = (r) => {
        if (r.kind === "accepted") counts.accepted++;
        else if (r.kind === "rejected") counts.rejected++;
        else {
          if (r.kind === "unclear") counts.unclear++;
          else counts.crashes++;
          counts.failures.push(r);
        }
      };
      let next = 0;
      // A terminated worker (hang, out of memory) is replaced and the run goes on after the culprit.
      while (next < mutants) next = await runRange(format, next, mutants, seed, join(root, "m"), onResult);
      log(formatCounts(format.name, counts));
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return results;
}

export function formatCounts(name, c) {
  return `${name.padEnd(56)} accepted ${String(c.accepted).padStart(6)}  rejected ${String(c.rejected).padStart(6)}  unclear ${c.unclear}  crashes ${c.crashes}`;
}
