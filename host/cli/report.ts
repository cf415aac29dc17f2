// `jreg report RUN_DIR… [--out FILE]`: one self-contained report.html comparing
// runs (charts, final table, configs), written atomically; prints the comparison
// table too.
import { UsageError } from "./args.ts";
import { defineCommand } from "./command.ts";
import { comparisonTable } from "../report/table.ts";
import { writeReport } from "../report/write.ts";
import { sweepTable } from "../research/sweep-aggregate.ts";

function parentDir(dir: string): string {
  const trimmed = dir.replace(/[\\/]+$/, "");
  const slash = Math.max(trimmed.lastIndexOf("/"), trimmed.lastIndexOf("\\"));
  if (slash < 0) return ".";
  return slash === 0 ? "/" : trimmed.slice(0, slash);
}

export const reportCommand = defineCommand(
  {
    name: "report",
    summary: "an HTML report comparing runs (RUN_DIR… --out report.html)",
    description:
      'One self-contained HTML file (scripts, styles and data inline; opens from disk with no network) comparing\n' +
      'the runs: loss curves, the D_l profile during training, J over training, early-exit CE per layer, a final\n' +
      'table and each run\'s config. Also prints the comparison table.',
    positionals: { name: "RUN_DIR", help: 'a run directory written by "jreg train" (config.json + metrics.jsonl), or a sweep directory of "jreg sweep" (its runs plus its aggregate table); one or more' },
    flags: {
      out: { type: "string", metavar: "FILE", defaultText: "report.html beside the first RUN_DIR (runs/report.html for runs/baseline)", help: "where to write the HTML" },
      title: { type: "string", metavar: "TEXT", defaultText: '"JREG training report"', help: "the report's heading" },
    },
  },
  async ({ values, positionals: dirs }, { out: print }) => {
    if (dirs.length === 0) throw new UsageError("give at least one RUN_DIR");
    if (values.out === "") throw new UsageError("--out must not be empty");
    const out = values.out ?? `${parentDir(dirs[0]!)}/report.html`;
    let written;
    try {
      written = await writeReport(dirs, out, { title: values.title });
    } catch (e) {
      // Name the flag when the output is at fault; load errors already name their file.
      const msg = (e as Error).message;
      throw new Error(msg.startsWith(`cannot write ${out}:`) ? msg.replace("cannot write", "cannot write --out") : msg);
    }
    const { runs, bytes, sweeps } = written;
    print(comparisonTable(runs));
    for (const s of sweeps) print(`\nsweep ${s.dir}:\n${sweepTable(s.aggregate)}`);
    print(`\nwrote ${out} (${runs.length} run${runs.length === 1 ? "" : "s"}, ${Math.round(bytes / 1024)} KiB)`);
    return 0;
  },
);
