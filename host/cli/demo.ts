// `jreg demo` (what `npm start` runs until the training CLI lands): trains the tiny
// preset for a few steps on built-in text with JREG on, printing the loss and the
// layer-wise jump profile before and after.
import { createEngine } from "../engine.ts";
import { PRESETS } from "../model/config.ts";
import type { TokenBatch } from "../model/batch.ts";
import type { JumpProfile } from "../analysis/jump-profile.ts";
import { DEMO_TEXT } from "../data/demo-text.ts";
import { byteBatches } from "../data/byte-batches.ts";
import { withFlagNames } from "./args.ts";
import { defineCommand } from "./command.ts";

const LR = 3e-3;
const MIN_LR = 3e-4;
const WARMUP = 5;
const BATCH = 8;
const SEQ = 64;

function profileTable(p: JumpProfile): string {
  const rows = p.D_angular.map(
    (d, i) => `  ${String(i + 1).padStart(5)}  ${d.toFixed(4)}     ${p.D_cosine[i]!.toFixed(4)}    ${p.perToken.angular[i]!.quantiles[2]!.toFixed(4)}`,
  );
  return [`  layer  D_angular  D_cosine  median angular`, ...rows, `  J_angular ${p.J_angular.toFixed(3)}  J_cosine ${p.J_cosine.toFixed(3)}`].join("\n");
}

export const demoCommand = defineCommand(
  {
    name: "demo",
    summary: "train the tiny preset on built-in text; print the loss and the jump profile before and after",
    description:
      `The "tiny" preset (byte-level, vocab 256, 4 layers, hidden 64) on the opening of the US Declaration\n` +
      `of Independence, batch ${BATCH} × ${SEQ} bytes, AdamW lr ${LR} → ${MIN_LR} (cosine over --steps, ${WARMUP} warm-up steps).\n` +
      `The demo turns JREG on by default (α = 3) to show it at work; eval, step and the library default to α = 0.`,
    flags: {
      steps: { type: "integer", min: 1, default: 30, help: "optimizer steps" },
      alpha: { type: "number", default: 3, metavar: "A", help: "JREG weight α in loss = CE + α·R (the demo's own default)" },
      threads: { type: "integer", min: 1, metavar: "N", defaultText: "the engine's: up to 8", help: "wasm threads, the calling one included" },
      seed: { type: "integer", default: 1, help: "weight-initialization seed" },
    },
  },
  async ({ values: v }, { out }) => {
    const { steps, alpha } = v;
    const engine = await createEngine({ backend: "wasm", threads: v.threads });
    try {
      const config = PRESETS.tiny!;
      const model = engine.createModel(config, { seed: v.seed });
      const trainer = await withFlagNames({ "jreg.alpha": "--alpha" }, () =>
        engine.createTrainer(model, { lr: LR, minLr: MIN_LR, warmupSteps: WARMUP, decaySteps: steps, jreg: { alpha } }),
      );
      const batches = byteBatches(DEMO_TEXT, BATCH, SEQ);
      const evalBatch = batches.next().value as TokenBatch;
      out(`tiny model: ${config.numLayers} layers, hidden ${config.hiddenSize}, vocab ${config.vocabSize}; wasm backend, ${engine.backend.threads} thread(s); alpha ${alpha}`);
      out("jump profile before training:\n" + profileTable(await engine.jumpProfile(model, evalBatch)));
      const t0 = performance.now();
      for (let s = 0; s < steps; s++) {
        const r = await trainer.step(batches.next().value as TokenBatch);
        if (r.skipped) out(`step ${s + 1}: skipped (${r.skipped})`);
        else if (s === 0 || (s + 1) % 5 === 0 || s === steps - 1) {
          out(`step ${String(s + 1).padStart(3)}  loss ${r.loss.toFixed(4)}  ce ${r.ce.toFixed(4)}  R ${r.jreg.toFixed(4)}  |g| ${r.gradNorm.toFixed(3)}  lr ${r.lr.toExponential(2)}`);
        }
      }
      const secs = (performance.now() - t0) / 1000;
      out(`${steps} steps in ${secs.toFixed(2)} s (${((steps * BATCH * SEQ) / secs).toFixed(0)} tokens/s)`);
      out("jump profile after training:\n" + profileTable(await engine.jumpProfile(model, evalBatch)));
      return 0;
    } finally {
      await engine.dispose();
    }
  },
);
