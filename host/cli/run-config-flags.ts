// The flags that read a run config (host/train/run-config.ts), shared by every
// command that takes one (`jreg init`, `jreg train`):
//
//   flags: { ...RUN_CONFIG_FLAGS, out: … },
//   const run = await loadRunConfig(values);   // defaults ← --config ← each --set
import type { FlagSpecs } from "./args.ts";
import { checkUserSets, readRunConfigFile, resolveRunConfig, type RunConfig } from "../train/run-config.ts";

export const RUN_CONFIG_FLAGS = {
  config: { type: "string", metavar: "FILE.json", defaultText: "none (the built-in defaults, listed below)", help: "run config file" },
  set: { type: "repeated", metavar: "KEY=VALUE", help: "override one run-config key (repeatable), e.g. --set jreg.alpha=3 --set model.hidden_size=64" },
} as const satisfies FlagSpecs;

/** The resolved run config; RunConfigError (exit 2) names the file or the --set at fault. */
export async function loadRunConfig(values: { config?: string; set: string[] }): Promise<RunConfig> {
  checkUserSets(values.set);
  const file = values.config === undefined ? undefined : await readRunConfigFile(values.config);
  return resolveRunConfig(file, values.set, { source: values.config });
}
