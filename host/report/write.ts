// writeReport: load run directories, render report.html and write it atomically.
// Shared by `jreg report` and the end of `npm start`.
import { describeOutputError, joinPath, writeFileAtomic } from "../io/files.ts";
import type { SweepAggregate } from "../research/sweep-aggregate.ts";
import { renderReport, type RenderOptions } from "./html.ts";
import { loadRun } from "./load.ts";
import type { RunData } from "./run-data.ts";

/** Two runs with the same name would share a legend entry: number the repeats. */
export function uniqueNames(runs: RunData[]): RunData[] {
  const seen = new Map<string, number>();
  return runs.map((r) => {
    const n = (seen.get(r.name) ?? 0) + 1;
    seen.set(r.name, n);
    return n === 1 ? r : { ...r, name: `${r.name} (${n})` };
  });
}

/**
 * A directory holding sweep.json (written by `jreg sweep`) stands for its runs
 * plus its aggregate table; any other directory is one run.
 */
async function expandSweeps(dirs: string[]): Promise<{ runDirs: string[]; sweeps: { dir: string; aggregate: SweepAggregate }[] }> {
  const fs = await import("node:fs/promises");
  const runDirs: string[] = [];
  const sweeps: { dir: string; aggregate: SweepAggregate }[] = [];
  for (const dir of dirs) {
    const path = joinPath(dir, "sweep.json");
    let text: string | null = null;
    try {
      text = await fs.readFile(path, "utf8");
    } catch {
      // not a sweep directory
    }
    if (text === null) {
      runDirs.push(dir);
      continue;
    }
    let aggregate: SweepAggregate;
    try {
      aggregate = JSON.parse(text) as SweepAggregate;
    } catch (e) {
      throw new Error(`${path} is not valid JSON (${(e as Error).message})`);
    }
    if (aggregate?.format !== "jreg-sweep-1" || !Array.isArray(aggregate.settings)) throw new Error(`${path} is not a sweep aggregate written by "jreg sweep"`);
    sweeps.push({ dir, aggregate });
    for (const s of aggregate.settings) for (const r of s.runs) runDirs.push(joinPath(dir, r));
  }
  return { runDirs, sweeps };
}

/** Loads every run first (a bad one fails before anything is written), then writes `out`. */
export async function writeReport(
  dirs: string[],
  out: string,
  opts?: RenderOptions,
): Promise<{ runs: RunData[]; bytes: number; sweeps: { dir: string; aggregate: SweepAggregate }[] }> {
  const { runDirs, sweeps } = await expandSweeps(dirs);
  const runs = uniqueNames(await Promise.all(runDirs.map((d) => loadRun(d))));
  const html = renderReport(runs, { ...opts, sweeps: [...(opts?.sweeps ?? []), ...sweeps] });
  try {
    await writeFileAtomic(out, html);
  } catch (e) {
    throw new Error(`cannot write ${out}: ${await describeOutputError(e, out)}; nothing was written`);
  }
  return { runs, bytes: new TextEncoder().encode(html).length, sweeps };
}
