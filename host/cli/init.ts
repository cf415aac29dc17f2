// `jreg init`: a fresh, seeded checkpoint of the model a run config describes, so
// that a model can be made (and inspected, or trained elsewhere) without the API.
import { createEngine } from "../engine.ts";
import { writeCheckpoint } from "../io/checkpoint.ts";
import { parameterCount } from "../model/config.ts";
import { resolveModelConfig, runConfigHelp } from "../train/run-config.ts";
import { defineCommand } from "./command.ts";
import { loadRunConfig, RUN_CONFIG_FLAGS } from "./run-config-flags.ts";

/** True when `dir` exists and holds anything (init never writes into such a directory). */
async function isNonEmptyDirectory(dir: string): Promise<boolean> {
  const fs = await import("node:fs/promises");
  try {
    return (await fs.readdir(dir)).length > 0;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ENOENT") return false;
    if (code === "ENOTDIR") return true;
    throw e;
  }
}

export const initCommand = defineCommand(
  {
    name: "init",
    summary: "write a fresh checkpoint (config.json + model.safetensors) of a run config's model",
    description:
      "Takes the model, seed, backend and threads of the run config (defaults, then --config, then each --set)\n" +
      "and writes the initialized weights as a Hugging Face checkpoint. The vocabulary size is model.vocab_size,\n" +
      "or --vocab-size (no tokenizer is involved); when both are given they must agree.",
    flags: {
      ...RUN_CONFIG_FLAGS,
      out: { type: "string", required: true, metavar: "DIR", help: "where to write the checkpoint; must not exist or be empty" },
      "vocab-size": { type: "integer", min: 1, metavar: "N", defaultText: "model.vocab_size", help: "vocabulary size" },
    },
  },
  async ({ values: v }, { out }) => {
    const run = await loadRunConfig(v);
    const config = resolveModelConfig(run, v["vocab-size"], "--vocab-size");
    if (await isNonEmptyDirectory(v.out)) throw new Error(`--out ${v.out} exists and is not empty; nothing was written (init never overwrites)`);
    const engine = await createEngine({ backend: run.backend, threads: run.threads || undefined });
    try {
      const model = engine.createModel(config, { seed: run.seed });
      await writeCheckpoint(v.out, await model.toCheckpoint(), { label: "--out" });
    } finally {
      await engine.dispose();
    }
    out(
      `wrote ${v.out}: ${parameterCount(config).toLocaleString("en-US")} parameters (vocab ${config.vocabSize}, hidden ${config.hiddenSize}, ` +
        `${config.numLayers} layers, ${config.numHeads}/${config.numKvHeads} heads, ffn ${config.intermediateSize}), seed ${run.seed}`,
    );
    return 0;
  },
  async () => runConfigHelp(),
);
