// Where a bench-tiny training step spends its time, op by op (wasm backend).
// Wraps every backend method with a timer; matmuls are keyed by layout and shape.
//   node bench/profile-step.mjs [threads] [alpha] [steps]
import { createEngine, PRESETS } from "../dist/index.js";

const threads = Number(process.argv[2] ?? 2);
const alpha = Number(process.argv[3] ?? 3);
const steps = Number(process.argv[4] ?? 3);
const engine = await createEngine({ backend: "wasm", threads });
const be = engine.backend;
const times = new Map();
const proto = Object.getPrototypeOf(be);
for (const name of Object.getOwnPropertyNames(proto)) {
  const fn = be[name];
  // private helpers (rows, elements, scratchFor) run inside the ops: timing them too would count twice
  if (typeof fn !== "function" || ["constructor", "rows", "elements", "scratchFor", "attentionThreads", "view"].includes(name) || name.startsWith("alloc")) continue;
  be[name] = function (...args) {
    const key = name === "matmul" ? `matmul ${args[6]} ${args[3]}×${args[5]}×${args[4]}` : name;
    const t0 = performance.now();
    const r = fn.apply(this, args);
    const add = () => {
      const e = times.get(key) ?? { ms: 0, calls: 0, flops: 0 };
      e.ms += performance.now() - t0;
      e.calls++;
      if (name === "matmul") e.flops += 2 * args[3] * args[4] * args[5];
      times.set(key, e);
    };
    if (r instanceof Promise) return r.then((v) => (add(), v));
    add();
    return r;
  };
}
const c = PRESETS["bench-tiny"];
const model = engine.createModel(c, { seed: 1 });
const trainer = engine.createTrainer(model, { jreg: { alpha } });
const B = 8, T = 256;
const ids = new Int32Array(B * (T + 1)).map((_, i) => (i * 7919) % c.vocabSize);
await trainer.step({ batch: B, length: T + 1, ids });
times.clear();
const t0 = performance.now();
for (let s = 0; s < steps; s++) await trainer.step({ batch: B, length: T + 1, ids });
const total = (performance.now() - t0) / steps;
const rows = [...times].map(([k, v]) => [k, v.ms / steps, v.calls / steps, v.flops ? v.flops / (v.ms / 1000) / 1e9 : 0]).sort((a, b) => b[1] - a[1]);
console.log(`threads ${be.threads}, alpha ${alpha}: ${total.toFixed(0)} ms/step, ${((B * T) / total * 1000).toFixed(0)} tokens/s`);
console.log("op".padEnd(34), "ms/step".padStart(8), "%".padStart(6), "calls".padStart(6), "GFLOP/s".padStart(8));
for (const [k, ms, calls, gf] of rows) {
  console.log(k.padEnd(34), ms.toFixed(1).padStart(8), ((ms / total) * 100).toFixed(1).padStart(6), String(calls).padStart(6), gf ? gf.toFixed(1).padStart(8) : "");
}
await engine.dispose();
