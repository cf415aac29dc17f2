// Reads a run directory (RUN_DIR/config.json + RUN_DIR/metrics.jsonl) into RunData.
// node:fs/promises is imported lazily so that this module can sit in a browser
// bundle; Node and Deno both provide it.
import { joinPath } from "../io/files.ts";
import { parseMetricsJsonl, runFromRecords, type RunData } from "./run-data.ts";

function baseName(dir: string): string {
  const parts = dir.replace(/[\\/]+$/, "").split(/[\\/]/);
  return parts.at(-1) || dir;
}

export async function loadRun(dir: string): Promise<RunData> {
  const fs = await import("node:fs/promises");
  let isDir = false;
  try {
    isDir = (await fs.stat(dir)).isDirectory();
  } catch {
    throw new Error(`run directory ${dir} does not exist`);
  }
  if (!isDir) throw new Error(`${dir} is not a run directory (it is a file)`);

  const configPath = joinPath(dir, "config.json");
  let configText: string;
  try {
    configText = await fs.readFile(configPath, "utf8");
  } catch {
    throw new Error(`${configPath} is missing: is ${dir} a run directory written by "jreg train"?`);
  }
  let config: unknown;
  try {
    config = JSON.parse(configText);
  } catch (e) {
    throw new Error(`${configPath} is not valid JSON (${(e as Error).message})`);
  }
  if (typeof config !== "object" || config === null || Array.isArray(config)) {
    throw new Error(`${configPath} must hold a JSON object`);
  }

  const metricsPath = joinPath(dir, "metrics.jsonl");
  let metricsText: string;
  try {
    metricsText = await fs.readFile(metricsPath, "utf8");
  } catch {
    throw new Error(`${metricsPath} is missing: the run has logged no metrics yet`);
  }
  const records = parseMetricsJsonl(metricsText, metricsPath);
  if (records.length === 0) throw new Error(`${metricsPath} holds no metrics yet`);
  const name = typeof (config as { name?: unknown }).name === "string" && (config as { name: string }).name !== ""
    ? (config as { name: string }).name
    : baseName(dir);
  return runFromRecords(name, config, records);
}
