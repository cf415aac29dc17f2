// The settings of `jreg sweep`: --grid KEY=V1,V2,… flags expanded into their
// cartesian product, each setting a list of run-config overrides (--set form).
// Settings that train identically are merged: at jreg.alpha = 0 no JREG option
// changes a step (the trainer runs no JREG op), so α = 0 × normalize {none,
// middle} is one baseline, not two.
import { resolveRunConfig, RunConfigError, type RunConfig } from "../train/run-config.ts";
import { DEFAULT_JREG } from "../model/jreg.ts";

export interface GridAxis {
  key: string;
  values: unknown[];
}

export interface SweepSetting {
  /** directory-safe name, e.g. "alpha-0.3_normalize-middle" */
  name: string;
  /** human-readable, e.g. "jreg.alpha=0.3 jreg.normalize=middle" */
  label: string;
  /** the overrides, KEY=JSON */
  sets: string[];
  /** the grid values of this setting */
  values: Record<string, unknown>;
}

/**
 * The default grid, after DESIGN.md: at this scale α = 3 collapses R (and with it
 * the profile), so the useful range is small α, with and without normalization.
 */
export const DEFAULT_SWEEP_GRID = ["jreg.alpha=0,0.03,0.1,0.3,1", "jreg.normalize=none,middle"];

/** Splits on commas outside brackets and quotes, so jreg.layers=[0,1,1],all works. */
function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '"') quoted = !quoted;
    else if (!quoted && (ch === "[" || ch === "{")) depth++;
    else if (!quoted && (ch === "]" || ch === "}")) depth--;
    else if (!quoted && depth === 0 && ch === ",") {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out.map((s) => s.trim());
}

/** One --grid KEY=V1,V2,…; values are JSON when they parse, else text (as --set). */
export function parseGridAxis(text: string): GridAxis {
  const eq = text.indexOf("=");
  if (eq <= 0) throw new RunConfigError(`--grid ${text}: expected KEY=V1,V2,… (e.g. jreg.alpha=0,0.1,0.3)`);
  const key = text.slice(0, eq).trim();
  const parts = splitTopLevel(text.slice(eq + 1));
  if (parts.some((p) => p === "")) throw new RunConfigError(`--grid ${text}: empty value (values are separated by commas)`);
  const values = parts.map((p) => {
    try {
      return JSON.parse(p) as unknown;
    } catch {
      return p;
    }
  });
  const seen = new Set(values.map((v) => JSON.stringify(v)));
  if (seen.size !== values.length) throw new RunConfigError(`--grid ${text}: a value repeats`);
  return { key, values };
}

function safe(v: unknown): string {
  const s = typeof v === "string" ? v : JSON.stringify(v);
  return s.replace(/[^A-Za-z0-9.]+/g, "-").replace(/^-+|-+$/g, "") || "x";
}

/** The run config that decides a setting's training, for merging identical ones. */
function trainingIdentity(cfg: RunConfig): string {
  const c = structuredClone(cfg) as RunConfig;
  if (c.jreg.alpha === 0) c.jreg = { ...DEFAULT_JREG };
  c.name = "";
  c.out = "";
  return JSON.stringify(c);
}

/**
 * The settings of a grid over `base` (the parsed --config, or undefined), each
 * checked by resolving its run config (errors name the --grid value). Duplicates
 * in training are merged, the first kept.
 */
export function expandGrid(axes: readonly GridAxis[], base: unknown, source = "config.json"): SweepSetting[] {
  const keys = new Set<string>();
  for (const a of axes) {
    if (keys.has(a.key)) throw new RunConfigError(`--grid ${a.key} is given twice`);
    if (a.key === "seed" || a.key === "out" || a.key === "name") throw new RunConfigError(`--grid ${a.key}: the sweep sets ${a.key} itself (use --seeds for seeds)`);
    keys.add(a.key);
  }
  let combos: Record<string, unknown>[] = [{}];
  for (const a of axes) combos = combos.flatMap((c) => a.values.map((v) => ({ ...c, [a.key]: v })));
  const out: SweepSetting[] = [];
  const seen = new Set<string>();
  for (const values of combos) {
    const sets = Object.entries(values).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
    let cfg: RunConfig;
    try {
      cfg = resolveRunConfig(base, sets, { source });
    } catch (e) {
      if (e instanceof RunConfigError) throw new RunConfigError(e.message.replace(/^--set /, "--grid "));
      throw e;
    }
    const id = trainingIdentity(cfg);
    if (seen.has(id)) continue;
    seen.add(id);
    const entries = Object.entries(values);
    const name = entries.map(([k, v]) => `${k.split(".").at(-1)}-${safe(v)}`).join("_") || "base";
    const label = entries.map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ") || "(base config)";
    if (out.some((s) => s.name === name)) throw new RunConfigError(`--grid: two settings would share the directory name ${name}`);
    out.push({ name, label, sets, values });
  }
  return out;
}
