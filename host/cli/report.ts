// `jreg report RUN_DIR… [--out FILE]`: one self-contained report.html comparing
// runs (charts, final table, configs), written atomically; prints the comparison
// table too.
import { UsageError } from "./args.ts";
import { comparisonTable } from "../report/table.ts";
import { writeReport } from "../report/write.ts";

const USAGE = `usage: jreg report RUN_DIR... [--out FILE] [--title TEXT]
  RUN_DIR        a run directory written by "jreg train" (config.json + metrics.jsonl); one or more
  --out FILE     where to write the HTML (default: report.html beside the first RUN_DIR, i.e.
                 runs/report.html for runs/baseline)
  --title TEXT   the report's heading (default: "JREG training report")
The report is one HTML file with everything inline; it opens from disk with no network.`;

function parentDir(dir: string): string {
  const trimmed = dir.replace(/[\\/]+$/, "");
  const slash = Math.max(trimmed.lastIndexOf("/"), trimmed.lastIndexOf("\\"));
  if (slash < 0) return ".";
  return slash === 0 ? "/" : trimmed.slice(0, slash);
}

export async function reportCommand(argv: string[]): Promise<number> {
  const { parseArgs } = await import("node:util");
  let values: { out?: string; title?: string; help?: boolean };
  let dirs: string[];
  try {
    const parsed = parseArgs({
      args: argv,
      options: { out: { type: "string" }, title: { type: "string" }, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
    values = parsed.values;
    dirs = parsed.positionals;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (dirs.length === 0) throw new UsageError("give at least one RUN_DIR");
  if (values.out === "") throw new UsageError("--out must not be empty");
  const out = values.out ?? `${parentDir(dirs[0])}/report.html`;

  let written;
  try {
    written = await writeReport(dirs, out, { title: values.title });
  } catch (e) {
    // Name the flag when the output is at fault; load errors already name their file.
    const msg = (e as Error).message;
    throw new Error(msg.startsWith(`cannot write ${out}:`) ? msg.replace("cannot write", "cannot write --out") : msg);
  }
  const { runs, bytes } = written;
  console.log(comparisonTable(runs));
  console.log(`\nwrote ${out} (${runs.length} run${runs.length === 1 ? "" : "s"}, ${Math.round(bytes / 1024)} KiB)`);
  return 0;
}
