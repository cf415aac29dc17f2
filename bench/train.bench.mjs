// End-to-end training throughput on `bench-tiny` (vocab 4096, hidden 256, 6 layers,
// 4 heads, 4 kv heads, ffn 688, untied; 2048 tokens per step): a full step
// (forward, CE + α·R, backward, clipping, AdamW) of the engine against the same
// step in PyTorch (float32, OpenBLAS; bench/torch_step.py), on 1 and 2 threads,
// α = 0 and α = 3, at seq 256 (batch 8) and seq 1024 (batch 2); Node against
// Deno; and peak memory against PyTorch's.
//
// On a shared host the load changes from second to second, so nothing is timed
// in isolation: every side runs in its own server process (bench/step-server.mjs
// for Node and Deno, torch_step.py --serve) and the bench asks them for one step
// each in turn, round after round. A ratio is the median over rounds of the ratio
// within a round.
//
//   node bench/train.bench.mjs [--rounds 3] [--parts torch,seq1024,deno,memory]
//   (--parts bounds: the bounds-check diagnosis of the Deno gap, not in the default set)
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath, pathToFileURL } from "node:url";

const TOKENS = 2048;
const SERVER = fileURLToPath(new URL("./step-server.mjs", import.meta.url));
const TORCH = fileURLToPath(new URL("./torch_step.py", import.meta.url));
const DENO = fileURLToPath(new URL("../node_modules/.bin/deno", import.meta.url));
const PYTHON = "/usr/bin/python3";

/** A child process that answers one JSON line per JSON line it is sent. */
function server(command, args, env = {}) {
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, ...env } });
  const replies = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    async ask(msg) {
      child.stdin.write(JSON.stringify(msg) + "\n");
      const { value, done } = await replies.next();
      if (done) throw new Error(`${command} ${args.join(" ")} exited`);
      const reply = JSON.parse(value);
      if (reply.error) throw new Error(reply.error);
      return reply;
    },
    async close() {
      await this.ask({ cmd: "quit" }).catch(() => {});
      child.stdin.end();
    },
  };
}

/** A step server in Node or Deno; `v8Flags` only for the bounds-check diagnosis (nodeVsDenoBounds). */
const engineServer = (runtime, v8Flags = []) =>
  runtime === "deno"
    ? server(DENO, ["run", "-A", "--quiet", ...(v8Flags.length ? [`--v8-flags=${v8Flags.join(",")}`] : []), SERVER])
    : server(process.execPath, [SERVER], v8Flags.length ? { STEP_SERVER_V8_FLAGS: v8Flags.join(" ") } : {});
// OMP/OpenBLAS threads as torch.set_num_threads sets them, fixed at start.
const torchServer = (threads) => server(PYTHON, [TORCH, "--serve", "--threads", String(threads)], { OMP_NUM_THREADS: String(threads), OPENBLAS_NUM_THREADS: String(threads) });
const hasTorch = () => existsSync(PYTHON) && existsSync(TORCH);

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const tps = (ms) => (TOKENS * 1000) / ms;

function machine() {
  let cpu = "unknown CPU", load = "n/a";
  try {
    cpu = readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/)[1].trim();
    load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  } catch {}
  return `${cpu}, load average ${load}`;
}

/**
 * Rounds of one step per side per case. `sides` maps a name to (case) → a
 * server's step reply. Returns per case and side the step times.
 */
async function interleave(cases, sides, rounds) {
  const out = cases.map((c) => ({ ...c, ms: Object.fromEntries(Object.keys(sides).map((s) => [s, []])), attentionMs: [] }));
  for (let r = 0; r < rounds; r++) {
    for (const c of out) {
      for (const [name, step] of Object.entries(sides)) {
        const reply = await step(c);
        c.ms[name].push(reply.ms);
        if (reply.attentionMs !== undefined && name === Object.keys(sides)[0]) c.attentionMs.push(reply.attentionMs);
      }
    }
  }
  return out;
}

/** Median over rounds of side a's tokens/s over side b's. */
const ratio = (c, a, b) => median(c.ms[a].map((ms, r) => c.ms[b][r] / ms));

async function engineVsTorch(rounds, seq, alphas, threads) {
  const node = engineServer("node");
  const torch = Object.fromEntries(threads.map((t) => [t, torchServer(t)]));
  const cases = threads.flatMap((t) => alphas.map((alpha) => ({ threads: t, alpha, seq })));
  const res = await interleave(cases, {
    engine: (c) => node.ask({ cmd: "step", threads: c.threads, alpha: c.alpha, seq: c.seq }),
    torch: (c) => torch[c.threads].ask({ cmd: "step", alpha: c.alpha, seq: c.seq }),
  }, rounds);
  await Promise.all([node.close(), ...Object.values(torch).map((s) => s.close())]);
  return res;
}

function printEngineVsTorch(res, title) {
  console.log(`\n### ${title}\n`);
  console.log("| threads | α | seq × batch | engine tokens/s (median) | PyTorch tokens/s (median) | engine / PyTorch (median of rounds) | attention share of the engine's step |");
  console.log("|---:|---:|---|---:|---:|---:|---:|");
  for (const c of res) {
    const share = median(c.attentionMs.map((a, r) => a / c.ms.engine[r]));
    console.log(`| ${c.threads} | ${c.alpha} | ${c.seq} × ${TOKENS / c.seq} | ${tps(median(c.ms.engine)).toFixed(0)} | ${tps(median(c.ms.torch)).toFixed(0)} | ${ratio(c, "engine", "torch").toFixed(2)}× | ${(share * 100).toFixed(1)} % |`);
  }
  for (const alpha of [...new Set(res.map((c) => c.alpha))]) {
    const rows = res.filter((c) => c.alpha === alpha);
    if (rows.length < 2) continue;
    const bestEngine = Math.max(...rows.map((c) => tps(median(c.ms.engine))));
    const bestTorch = Math.max(...rows.map((c) => tps(median(c.ms.torch))));
    const one = rows.find((c) => c.threads === 1), two = rows.find((c) => c.threads === 2);
    const scaling = one && two ? `; engine 2 threads / 1 thread ${(median(one.ms.engine) / median(two.ms.engine)).toFixed(2)}×, PyTorch ${(median(one.ms.torch) / median(two.ms.torch)).toFixed(2)}×` : "";
    console.log(`\nα = ${alpha}: best thread count, engine ${bestEngine.toFixed(0)} vs PyTorch ${bestTorch.toFixed(0)} tokens/s = ${(bestEngine / bestTorch).toFixed(2)}×${scaling}.`);
  }
}

async function nodeVsDeno(rounds) {
  const node = engineServer("node");
  const deno = engineServer("deno");
  const cases = [1, 2].map((threads) => ({ threads, alpha: 3, seq: 256 }));
  const res = await interleave(cases, {
    node: (c) => node.ask({ cmd: "step", ...c }),
    deno: (c) => deno.ask({ cmd: "step", ...c }),
  }, rounds);
  await Promise.all([node.close(), deno.close()]);
  console.log("\n### Node vs Deno, the same bench-tiny step (α = 3, seq 256)\n");
  console.log("| threads | Node tokens/s (median) | Deno tokens/s (median) | Deno / Node (median of rounds) |");
  console.log("|---:|---:|---:|---:|");
  for (const c of res) console.log(`| ${c.threads} | ${tps(median(c.ms.node)).toFixed(0)} | ${tps(median(c.ms.deno)).toFixed(0)} | ${ratio(c, "deno", "node").toFixed(2)}× |`);
  return res;
}

/**
 * Why Deno is slower (`--parts bounds`): Deno does not enable V8's WebAssembly trap
 * handler, so V8 bounds-checks every load and store in software. Node forced to do
 * the same (--wasm-enforce-bounds-checks), and Deno with the checks switched off
 * (--no-wasm-bounds-checks: unsafe, a diagnosis only, never a way to run), beside
 * the two defaults, interleaved.
 */
async function nodeVsDenoBounds(rounds) {
  const sides = {
    node: engineServer("node"),
    "node, checked": engineServer("node", ["--wasm-enforce-bounds-checks"]),
    deno: engineServer("deno"),
    "deno, unchecked": engineServer("deno", ["--no-wasm-bounds-checks"]),
  };
  const cases = [1, 2].map((threads) => ({ threads, alpha: 3, seq: 256 }));
  const res = await interleave(cases, Object.fromEntries(Object.entries(sides).map(([name, s]) => [name, (c) => s.ask({ cmd: "step", ...c })])), rounds);
  await Promise.all(Object.values(sides).map((s) => s.close()));
  console.log("\n### Bounds checks: Node and Deno with and without software bounds checks (α = 3, seq 256)\n");
  console.log(`| threads | ${Object.keys(sides).map((n) => `${n} tokens/s`).join(" | ")} | node, checked / node | deno / node | deno, unchecked / node |`);
  console.log(`|---:|${Object.keys(sides).map(() => "---:|").join("")}---:|---:|---:|`);
  for (const c of res) {
    const rates = Object.keys(sides).map((n) => tps(median(c.ms[n])).toFixed(0));
    console.log(`| ${c.threads} | ${rates.join(" | ")} | ${ratio(c, "node, checked", "node").toFixed(2)}× | ${ratio(c, "deno", "node").toFixed(2)}× | ${ratio(c, "deno, unchecked", "node").toFixed(2)}× |`);
  }
  return res;
}

/** Fresh processes, one step each after a warm-up step: peaks are this step's alone. */
async function memory() {
  const mib = (b) => (b / 2 ** 20).toFixed(0);
  const node = engineServer("node");
  await node.ask({ cmd: "step", threads: 2, alpha: 3, seq: 256 });
  const e = await node.ask({ cmd: "memory" });
  await node.close();
  let t;
  if (hasTorch()) {
    const torch = torchServer(2);
    await torch.ask({ cmd: "step", alpha: 3, seq: 256 });
    t = await torch.ask({ cmd: "memory" });
    await torch.close();
  }
  console.log("\n### Peak memory of one bench-tiny step (2 threads, α = 3, seq 256), fresh processes\n");
  console.log(`engine: wasm linear memory ${mib(e.peakWasmBytes)} MiB, process RSS ${mib(e.rss)} MiB (Node, its worker, the compiled module and the wasm memory)` +
    (t ? `; PyTorch peak RSS ${mib(t.peak_rss_bytes)} MiB; engine RSS / PyTorch peak RSS = ${(e.rss / t.peak_rss_bytes).toFixed(2)}×.` : "."));
  return { engine: e, torch: t };
}

export async function run({ rounds = 3, parts = ["torch", "seq1024", "deno", "memory"], print = true } = {}) {
  if (print) console.log(`\nMachine: ${machine()}; Node ${process.version}; ${rounds} rounds per case.`);
  const results = {};
  const torch = hasTorch();
  if (parts.includes("torch") && torch) {
    results.seq256 = await engineVsTorch(rounds, 256, [0, 3], [1, 2]);
    if (print) printEngineVsTorch(results.seq256, "Engine vs PyTorch, bench-tiny (seq 256 × batch 8), same run");
  }
  if (parts.includes("seq1024") && torch) {
    results.seq1024 = await engineVsTorch(rounds, 1024, [3], [1, 2]);
    if (print) printEngineVsTorch(results.seq1024, "Engine vs PyTorch, bench-tiny at seq 1024 × batch 2, same run");
  }
  if (parts.includes("deno")) results.deno = await nodeVsDeno(rounds);
  if (parts.includes("bounds")) results.bounds = await nodeVsDenoBounds(rounds);
  if (parts.includes("memory")) results.memory = await memory();
  if (print) console.log(`\nAfter the run: ${machine()}.`);
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const arg = (name) => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? process.argv[i + 1] : undefined;
  };
  const parts = arg("parts")?.split(",");
  await run({ rounds: Number(arg("rounds") ?? 3), ...(parts ? { parts } : {}) });
}
