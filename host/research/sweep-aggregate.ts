// The aggregate of a sweep (sweep.json, sweep.txt and the report's sweep
// section): per setting, mean ± sd over seeds of the final evaluation's val CE,
// early-exit CE per layer and J; per setting with α > 0, against its α = 0
// baseline (the setting with the same non-JREG grid values), a paired t-test
// over seeds of val CE and J_angular, and a paired bootstrap over validation
// windows of val CE. When the runs ran the layer probe (run config `probe`), also
// mean ± sd over seeds of the final evaluation's probe accuracy per layer h_l and
// of its majority-tag baseline. Pure (no file system), so the report can reuse it.
import type { RunData } from "../report/run-data.ts";
import type { RunConfig } from "../train/run-config.ts";
import { mean, pairedBootstrap, pairedTTest, sampleSd, type BootstrapResult, type PairedTest } from "./stats.ts";
import type { SweepSetting } from "./sweep-grid.ts";

export interface SweepRunResult {
  name: string;
  setting: SweepSetting;
  seed: number;
  config: RunConfig;
  data: RunData;
  /** CE of each validation window at the final checkpoint */
  windowCe: number[];
}

export interface MeanSd {
  mean: number;
  sd: number | null;
}

export interface SettingSummary {
  name: string;
  label: string;
  values: Record<string, unknown>;
  alpha: number;
  seeds: number[];
  runs: string[];
  /** the final evaluation's numbers, over seeds */
  val_ce: MeanSd;
  J_angular: MeanSd;
  J_cosine: MeanSd;
  early_exit_ce: MeanSd[];
  /** validation accuracy of the layer probe per h_l (l = 0..L) at the final step, when every seed's run has one */
  probe_accuracy?: MeanSd[];
  probe_baseline?: MeanSd;
  /** 1-based transition of the largest final D_angular, per seed */
  argmax_D_angular: number[];
  /** the α = 0 setting it is compared with (null for baselines, or when the grid has none) */
  baseline: string | null;
  vsBaseline: {
    val_ce: { tTest: PairedTest; bootstrap: BootstrapResult | null };
    J_angular: { tTest: PairedTest };
  } | null;
}

export interface SweepAggregate {
  format: "jreg-sweep-1";
  methods: { tTest: string; bootstrap: string };
  settings: SettingSummary[];
}

function ms(xs: number[]): MeanSd {
  const sd = sampleSd(xs);
  return { mean: mean(xs), sd: Number.isNaN(sd) ? null : sd };
}

function finalEval(r: SweepRunResult) {
  const e = r.data.evals.at(-1);
  if (!e || e.step !== r.config.steps) throw new Error(`${r.name}: no evaluation at the final step ${r.config.steps} in metrics.jsonl`);
  return e;
}

function nonJregValues(s: SweepSetting): string {
  return JSON.stringify(Object.entries(s.values).filter(([k]) => !k.startsWith("jreg.")));
}

/** What fixes the validation windows: equal between two runs means the same windows. */
function windowIdentity(c: RunConfig): string {
  return JSON.stringify({ data: c.data, seqLen: c.seqLen, batchSize: c.batchSize });
}

export function aggregateSweep(results: readonly SweepRunResult[], opts: { resamples?: number; seed?: number } = {}): SweepAggregate {
  const bySetting = new Map<string, SweepRunResult[]>();
  for (const r of results) {
    const list = bySetting.get(r.setting.name) ?? [];
    list.push(r);
    bySetting.set(r.setting.name, list);
  }
  const groups = [...bySetting.values()].map((rs) => rs.sort((a, b) => a.seed - b.seed));
  const baselines = groups.filter((g) => g[0]!.config.jreg.alpha === 0);
  let bootstrapMethod = pairedBootstrap([0], { resamples: opts.resamples, seed: opts.seed }).method;
  const settings = groups.map((rs): SettingSummary => {
    const first = rs[0]!;
    const evals = rs.map(finalEval);
    const L = evals[0]!.early_exit_ce.length;
    const summary: SettingSummary = {
      name: first.setting.name,
      label: first.setting.label,
      values: first.setting.values,
      alpha: first.config.jreg.alpha,
      seeds: rs.map((r) => r.seed),
      runs: rs.map((r) => r.name),
      val_ce: ms(evals.map((e) => e.val_ce)),
      J_angular: ms(evals.map((e) => e.J_angular)),
      J_cosine: ms(evals.map((e) => e.J_cosine)),
      early_exit_ce: Array.from({ length: L }, (_, l) => ms(evals.map((e) => e.early_exit_ce[l]!))),
      argmax_D_angular: evals.map((e) => e.D_angular.indexOf(Math.max(...e.D_angular)) + 1),
      baseline: null,
      vsBaseline: null,
    };
    const probes = evals.map((e) => e.probe);
    if (probes.every((p) => p !== undefined)) {
      const n = Math.min(...probes.map((p) => p!.accuracy.length));
      summary.probe_accuracy = Array.from({ length: n }, (_, l) => ms(probes.map((p) => p!.accuracy[l]!)));
      summary.probe_baseline = ms(probes.map((p) => p!.baseline));
    }
    if (summary.alpha === 0) return summary;
    const base = baselines.find((b) => nonJregValues(b[0]!.setting) === nonJregValues(first.setting));
    if (!base) return summary;
    // Pair by seed: only seeds both settings have.
    const pairs = rs.map((r) => [r, base.find((b) => b.seed === r.seed)] as const).filter((p): p is readonly [SweepRunResult, SweepRunResult] => p[1] !== undefined);
    const t = (f: (r: SweepRunResult) => number) => pairedTTest(pairs.map(([r]) => f(r)), pairs.map(([, b]) => f(b)));
    let bootstrap: BootstrapResult | null = null;
    const sameWindows = pairs.every(([r, b]) => windowIdentity(r.config) === windowIdentity(b.config) && r.windowCe.length === b.windowCe.length);
    if (pairs.length > 0 && sameWindows) {
      const n = pairs[0]![0].windowCe.length;
      // one unit per window: its treatment − baseline CE, averaged over the seeds
      const diffs = Array.from({ length: n }, (_, w) => mean(pairs.map(([r, b]) => r.windowCe[w]! - b.windowCe[w]!)));
      bootstrap = pairedBootstrap(diffs, { resamples: opts.resamples, seed: opts.seed });
      bootstrapMethod = bootstrap.method;
    }
    summary.baseline = base[0]!.setting.name;
    summary.vsBaseline = {
      val_ce: { tTest: t((r) => finalEval(r).val_ce), bootstrap },
      J_angular: { tTest: t((r) => finalEval(r).J_angular) },
    };
    return summary;
  });
  return { format: "jreg-sweep-1", methods: { tTest: pairedTTest([0, 0], [0, 0]).method, bootstrap: bootstrapMethod }, settings };
}

function f(x: number | null | undefined, digits = 4): string {
  return x === null || x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(digits);
}
function pm(m: MeanSd, digits = 4): string {
  return m.sd === null ? f(m.mean, digits) : `${f(m.mean, digits)} ± ${f(m.sd, digits)}`;
}
function p(x: number | null): string {
  return x === null ? "–" : x < 1e-4 ? x.toExponential(1) : x.toFixed(4);
}

/** Rows of the sweep table: header first; strings only (text and HTML share it). */
export function sweepRows(agg: SweepAggregate): string[][] {
  // the probe column only when a setting has probe results (sweeps without the probe keep their table)
  const probed = agg.settings.some((s) => s.probe_accuracy);
  const pct = (m: MeanSd) => (m.sd === null ? f(100 * m.mean, 1) : `${f(100 * m.mean, 1)}±${f(100 * m.sd, 1)}`);
  const rows = [["setting", "seeds", "val CE", "J_angular", "early-exit CE per layer", "ΔCE vs α=0 [95% CI] (t-test p)", "ΔCE bootstrap [95% CI] p", "ΔJ (t-test p)", ...(probed ? ["probe acc % per layer h_0..h_L (majority tag)"] : [])]];
  for (const s of agg.settings) {
    const v = s.vsBaseline;
    const probeCell = s.probe_accuracy ? `${s.probe_accuracy.map(pct).join(" ")} (${pct(s.probe_baseline!)})` : "–";
    rows.push([
      s.label,
      String(s.seeds.length),
      pm(s.val_ce),
      pm(s.J_angular, 3),
      s.early_exit_ce.map((m) => f(m.mean, 3)).join(" "),
      v ? `${f(v.val_ce.tTest.meanDiff)} [${v.val_ce.tTest.ci ? v.val_ce.tTest.ci.map((x) => f(x)).join(", ") : "–"}] (p ${p(v.val_ce.tTest.p)})` : s.alpha === 0 ? "baseline" : "no α=0 setting",
      v?.val_ce.bootstrap ? `${f(v.val_ce.bootstrap.meanDiff)} [${v.val_ce.bootstrap.ci.map((x) => f(x)).join(", ")}] p ${p(v.val_ce.bootstrap.p)}` : "–",
      v ? `${f(v.J_angular.tTest.meanDiff, 3)} (p ${p(v.J_angular.tTest.p)})` : "–",
      ...(probed ? [probeCell] : []),
    ]);
  }
  return rows;
}

/** The aggregate as an aligned text table, with the methods named below it. */
export function sweepTable(agg: SweepAggregate): string {
  const rows = sweepRows(agg);
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines = rows.map((r) => r.map((x, c) => x.padEnd(widths[c]!)).join("  ").trimEnd());
  lines.splice(1, 0, widths.map((w) => "-".repeat(w)).join("  "));
  return [
    ...lines,
    "",
    "mean ± sd over seeds at the final step; Δ = setting − its α = 0 baseline (same seeds).",
    `t-test: ${agg.methods.tTest}.`,
    `bootstrap: ${agg.methods.bootstrap}.`,
  ].join("\n");
}
