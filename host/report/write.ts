// writeReport: load run directories, render report.html and write it atomically.
// Shared by `jreg report` and the end of `npm start`.
import { writeFileAtomic } from "../io/files.ts";
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

/** Loads every run first (a bad one fails before anything is written), then writes `out`. */
export async function writeReport(runDirs: string[], out: string, opts?: RenderOptions): Promise<{ runs: RunData[]; bytes: number }> {
  const runs = uniqueNames(await Promise.all(runDirs.map((d) => loadRun(d))));
  const html = renderReport(runs, opts);
  try {
    await writeFileAtomic(out, html);
  } catch (e) {
    throw new Error(`cannot write ${out}: ${(e as Error).message}`);
  }
  return { runs, bytes: new TextEncoder().encode(html).length };
}
