// `jreg demo` (what `npm start` runs until the training CLI lands): trains the tiny
// preset for a few steps on built-in text with JREG on, printing the loss and the
// layer-wise jump profile before and after.
import { createEngine } from "../engine.ts";
import { PRESETS } from "../model/config.ts";
import type { TokenBatch } from "../model/batch.ts";
import type { JumpProfile } from "../analysis/jump-profile.ts";
import { DEMO_TEXT } from "../data/demo-text.ts";
import { byteBatches } from "../data/byte-batches.ts";
import { numberFlag, parseFlags } from "./args.ts";

export const DEMO_HELP = `usage: jreg demo [--steps N] [--alpha A] [--threads N] [--seed S]
Trains the "tiny" preset (byte-level, vocab 256) on built-in text and prints the loss
and the jump profile. Defaults: --steps 30 --alpha 3.`;

function profileTable(p: JumpProfile): string {
  const rows = p.D_angular.map(
    (d, i) => `  ${String(i + 1).padStart(5)}  ${d.toFixed(4)}     ${p.D_cosine[i]!.toFixed(4)}    ${p.perToken.angular[i]!.quantiles[2]!.toFixed(4)}`,
  );
  return [`  layer  D_angular  D_cosine  median angular`, ...rows, `  J_angular ${p.J_angular.toFixed(3)}  J_cosine ${p.J_cosine.toFixed(3)}`].join("\n");
}

export async function demoCommand(argv: string[], out: (s: string) => void): Promise<number> {
  const v = await parseFlags(argv, {
    steps: { type: "string" },
    alpha: { type: "string" },
    threads: { type: "string" },
    seed: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (v.help) return out(DEMO_HELP), 0;
  const steps = numberFlag(v, "steps", 30);
  const alpha = numberFlag(v, "alpha", 3);
  const engine = await createEngine({ backend: "wasm", threads: numberFlag(v, "threads") });
  try {
    const config = PRESETS.tiny!;
    const model = engine.createModel(config, { seed: numberFlag(v, "seed", 1) });
    const trainer = engine.createTrainer(model, { lr: 3e-3, minLr: 3e-4, warmupSteps: 5, decaySteps: steps, jreg: { alpha } });
    const batches = byteBatches(DEMO_TEXT, 8, 64);
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
    out(`${steps} steps in ${secs.toFixed(2)} s (${((steps * 8 * 64) / secs).toFixed(0)} tokens/s)`);
    out("jump profile after training:\n" + profileTable(await engine.jumpProfile(model, evalBatch)));
    return 0;
  } finally {
    await engine.dispose();
  }
}
