// Before/after on a shared host: this checkout's bench-tiny step against another
// checkout's (e.g. an older commit, built), interleaved step by step, each in its
// own bench/step-server.mjs process. Prints the median of the per-round ratios.
//
//   node bench/compare-step.mjs OTHER_ROOT [--threads 1,2] [--alpha 3] [--seq 256] [--rounds 5] [--kernels relaxed] [--runtime deno]
// OTHER_ROOT must hold a built dist/ and a copy of this bench/step-server.mjs.
// --runtime deno runs both step servers in Deno (node_modules/.bin/deno) instead of Node.
// --kernels relaxed runs this checkout's side on the opt-in FMA kernels (its
// server process gets --experimental-wasm-relaxed-simd, which Node 20 needs);
// OTHER_ROOT = this checkout then measures relaxed against exact.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";

const arg = (name, d) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : d;
};
const other = process.argv[2];
if (!other || other.startsWith("--")) {
  console.error("usage: node bench/compare-step.mjs OTHER_ROOT [--threads 1,2] [--alpha 3] [--seq 256] [--rounds 5]");
  process.exit(2);
}
const threads = arg("threads", "1,2").split(",").map(Number);
const alpha = Number(arg("alpha", 3));
const seq = Number(arg("seq", 256));
const rounds = Number(arg("rounds", 5));
const kernels = arg("kernels", "exact");
const runtime = arg("runtime", "node");
if (!["node", "deno"].includes(runtime)) {
  console.error(`--runtime must be node or deno, got ${JSON.stringify(runtime)}`);
  process.exit(2);
}
const DENO = fileURLToPath(new URL("../node_modules/.bin/deno", import.meta.url));

function server(script, execArgv = []) {
  // Deno has relaxed SIMD on by default, so execArgv (Node's flag for it) is Node's alone.
  const [command, args] = runtime === "deno" ? [DENO, ["run", "-A", "--quiet", script]] : [process.execPath, [...execArgv, script]];
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "inherit"] });
  const replies = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    async ask(msg) {
      child.stdin.write(JSON.stringify(msg) + "\n");
      const { value, done } = await replies.next();
      if (done) throw new Error(`${script} exited`);
      return JSON.parse(value);
    },
    // quit disposes the server's engines: a Deno process stays alive while its kernel workers do
    async close() {
      await this.ask({ cmd: "quit" }).catch(() => {});
      child.stdin.end();
    },
  };
}

const here = server(fileURLToPath(new URL("./step-server.mjs", import.meta.url)), kernels === "exact" ? [] : ["--experimental-wasm-relaxed-simd"]);
const there = server(resolve(other, "bench/step-server.mjs"));
const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(`${runtime}, seq ${seq}, alpha ${alpha}, ${rounds} rounds, load average ${loadavg()}; attention = the backend's attentionForward + attentionBackward time within the step`);
console.log(`| threads | this checkout${kernels === "exact" ? "" : ` (kernels: ${kernels})`} tokens/s | ${other} tokens/s | this / other (median of rounds) | attention ms, this / other | attention share, this / other | attention speed-up: other ms / this ms (median of rounds) |`);
console.log("|---:|---:|---:|---:|---:|---:|---:|");
for (const t of threads) {
  const msg = { cmd: "step", threads: t, alpha, seq };
  const mine = kernels === "exact" ? msg : { ...msg, kernels };
  const a = [], b = [], aa = [], ba = []; // step ms, attention ms
  for (let r = 0; r < rounds; r++) {
    // Alternate who goes first so a load trend favours neither.
    const mineStep = async () => {
      const { ms, attentionMs } = await here.ask(mine);
      a.push(ms);
      aa.push(attentionMs);
    };
    const otherStep = async () => {
      const { ms, attentionMs } = await there.ask(msg);
      b.push(ms);
      ba.push(attentionMs);
    };
    if (r % 2 === 0) {
      await mineStep();
      await otherStep();
    } else {
      await otherStep();
      await mineStep();
    }
  }
  const tps = (ms) => (2048 * 1000) / ms;
  const share = (att, ms) => `${(100 * median(att.map((x, r) => x / ms[r]))).toFixed(1)} %`;
  console.log(
    `| ${t} | ${tps(median(a)).toFixed(0)} | ${tps(median(b)).toFixed(0)} | ${median(a.map((ms, r) => b[r] / ms)).toFixed(2)}× ` +
      `| ${median(aa).toFixed(0)} / ${median(ba).toFixed(0)} | ${share(aa, a)} / ${share(ba, b)} | ${median(aa.map((x, r) => ba[r] / x)).toFixed(2)}× |`,
  );
}
await Promise.all([here.close(), there.close()]);
console.log(`load average after: ${loadavg()}`);

function loadavg() {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  } catch {
    return "n/a";
  }
}
