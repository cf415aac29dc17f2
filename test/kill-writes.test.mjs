// SIGKILL at every point of the file writes that the CLI makes outside training
// runs and checkpoints (those have their own kill tests: train-signals,
// run-checkpoint, harden-writes): `jreg tokenizer train --out`, `tokenize --out`,
// `report --out`, `analyze --svg` and the aggregate files of `sweep --out`
// (sweep.json, sweep.txt, val-windows.json) and the data cache that `jreg train`
// prepares (tokenizer.json and token shards). The kills come at exact points of
// the write — just before each of its file-system calls, and in the middle of
// the calls that write data — from test/helpers/kill-fault.mjs (a preload, no
// hook in the engine), on a seeded schedule, plus a few at seeded times of the
// whole run. After each kill: every output holds its previous bytes or the
// complete new ones, whatever is there loads, and nothing else is in the
// directory but hidden `.NAME.HEX[.N].tmp` files of the killed write; the next
// run of the same command removes them and writes the complete output.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { loadTokenizerFile } from "../dist/tokenizer/index.js";
import { readShard } from "../dist/data/index.js";
import { writeSyntheticRuns } from "./helpers/report-runs.mjs";
import { tinyWorkspace, tinyConfig, writeConfig } from "./helpers/train-fixture.mjs";

const repo = fileURLToPath(new URL("..", import.meta.url));
const bin = join(repo, "bin/jreg.mjs");
const killFault = join(repo, "test/helpers/kill-fault.mjs");
const work = mkdtempSync(join(tmpdir(), "jreg-kill-writes-"));
const SEED = 11;
let state = SEED;
const random = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);

/** Runs jreg with the kill preload; `kill`: JREG_TEST_KILL, or undefined for a plain run. */
function jreg(args, kill) {
  const env = { ...process.env };
  if (kill === undefined) delete env.JREG_TEST_KILL;
  else env.JREG_TEST_KILL = kill;
  return spawnSync(process.execPath, ["--import", killFault, bin, ...args], { cwd: repo, encoding: "utf8", timeout: 120_000, env, maxBuffer: 64 * 1024 * 1024 });
}

/** The hidden temporary files that a killed atomic write of NAME may leave (and the next write removes). */
const isTempOf = (names) => (entry) => names.some((n) => entry.startsWith(`.${n}.`) && /^\.[0-9a-f]+(\.\d+)?\.tmp$/.test(entry.slice(n.length + 1)));

/**
 * One command's write under kills. `outputs`: the files it writes, as paths
 * relative to `dir`; `prepare(dir)`: puts the previous state there; `args(dir)`;
 * `same(bytes, expected)`: equal content (a report carries its time of writing);
 * `load(path)`: throws unless the file is usable.
 */
async function killSchedule({ label, outputs, prepare, args, same = (a, b) => a.equals(b), load, rounds = 10, timed = 2 }) {
  const base = (o) => o.split("/").pop();
  const folders = [...new Set(outputs.map((o) => dirname(o)))];
  const namesIn = (folder) => outputs.filter((o) => dirname(o) === folder).map(base);
  const pattern = `/\\.?(${outputs.map((o) => base(o).replace(/[.]/g, "\\.")).join("|")})`;
  const template = join(work, `${label}-template`);
  mkdirSync(template);
  await prepare(template);
  const previous = new Map(outputs.map((o) => [o, existsSync(join(template, o)) ? readFileSync(join(template, o)) : undefined]));
  const before = new Map(folders.map((f) => [f, readdirSync(join(template, f))]));
  const reference = join(work, `${label}-reference`);
  mkdirSync(reference);
  await prepare(reference);
  const started = performance.now();
  const counted = jreg(args(reference), `count::${pattern}`);
  const fullMs = performance.now() - started;
  assert.is(counted.status, 0, `${label}: ${counted.stderr}`);
  const calls = Number(/kill-fault: (\d+) calls/.exec(counted.stderr)[1]);
  assert.ok(calls >= outputs.length * 3, `${label}: ${calls} file-system calls write the outputs`);
  const expected = new Map(outputs.map((o) => [o, readFileSync(join(reference, o))]));
  for (const o of outputs) if (previous.get(o)) assert.not.ok(same(previous.get(o), expected.get(o)), `${label}: ${o} changes, so old and new can be told apart`);
  /** Entries of the output folders that are neither outputs, nor there before, nor temporary files of an output. */
  const stray = (dir) => folders.flatMap((f) => readdirSync(join(dir, f)).filter((e) => !namesIn(f).includes(e) && !before.get(f).includes(e) && !isTempOf(namesIn(f))(e)).map((e) => join(f, e)));
  const temps = (dir) => folders.flatMap((f) => readdirSync(join(dir, f)).filter(isTempOf(namesIn(f))));

  // Just before and just after every call when there are few, else a seeded sample
  // that includes the first and the last point.
  const points = Array.from({ length: 2 * calls }, (_, k) => ({ step: (k >> 1) + 1, after: (k & 1) === 1 }));
  const chosen = new Set([0, points.length - 1]);
  while (chosen.size < Math.min(rounds, points.length)) chosen.add(Math.floor(random() * points.length));
  if (points.length <= rounds) points.forEach((_, k) => chosen.add(k));
  const schedule = [...[...chosen].sort((a, b) => a - b).map((k) => ({ ...points[k], fraction: random() })), ...Array.from({ length: timed }, () => ({ atMs: random() * fullMs }))];

  const seen = { previous: 0, complete: 0, temps: 0 };
  for (const [i, kill] of schedule.entries()) {
    const dir = join(work, `${label}-${i}`);
    mkdirSync(dir);
    await prepare(dir);
    const what =
      kill.step === undefined ? `kill at ${kill.atMs.toFixed(0)} ms of ${fullMs.toFixed(0)}`
      : kill.after ? `kill after call ${kill.step} of ${calls}`
      : `kill before call ${kill.step} of ${calls} (${(kill.fraction * 100).toFixed(0)} % of its bytes, if it writes)`;
    if (kill.step !== undefined) {
      const r = jreg(args(dir), `${kill.step}${kill.after ? "+" : ""}:${kill.fraction}:${pattern}`);
      assert.is(r.signal, "SIGKILL", `${label}, ${what}: the process was killed (exit ${r.status}, ${r.stderr})`);
    } else {
      await new Promise((resolve) => {
        const child = spawn(process.execPath, [bin, ...args(dir)], { cwd: repo, stdio: "ignore" });
        const timer = setTimeout(() => child.kill("SIGKILL"), kill.atMs);
        child.once("exit", () => (clearTimeout(timer), resolve()));
      });
    }
    const where = `${label}, ${what}`;
    assert.equal(stray(dir), [], `${where}: nothing but the outputs and temporary files of the killed write`);
    seen.temps += temps(dir).length > 0;
    for (const o of outputs) {
      const path = join(dir, o);
      const had = previous.get(o);
      if (!existsSync(path)) {
        assert.is(had, undefined, `${where}: ${o} was there before and must stay`);
        continue;
      }
      const bytes = readFileSync(path);
      const isNew = same(bytes, expected.get(o));
      const isOld = had !== undefined && bytes.equals(had);
      assert.ok(isNew || isOld, `${where}: ${o} is neither the previous file nor the complete new one (${bytes.length} bytes)`);
      seen[isNew ? "complete" : "previous"]++;
      await load(path, o);
    }
    // The next run removes what the killed one left and writes everything.
    const again = jreg(args(dir));
    assert.is(again.status, 0, `${where}, the next run: ${again.stderr}`);
    assert.equal(temps(dir), [], `${where}: the next run left no temporary file`);
    assert.equal(stray(dir), [], `${where}: the next run left nothing else`);
    for (const o of outputs) assert.ok(same(readFileSync(join(dir, o)), expected.get(o)), `${where}: the next run wrote ${o} whole`);
    rmSync(dir, { recursive: true });
  }
  console.log(`  ${label}: ${calls} write calls, ${schedule.length} kills (${(fullMs / 1000).toFixed(1)} s a run): outputs old ${seen.previous}, new ${seen.complete}; temp files left ${seen.temps} times, removed by the next run`);
  assert.ok(seen.temps > 0, `${label}: some kill struck mid-write (else this test proves nothing)`);
}

const text = Array.from({ length: 6000 }, (_, i) => `word${i % 89} and the quick brown fox ${i % 11} jumps.`).join(" ");
writeFileSync(join(work, "text.txt"), text);
writeFileSync(join(work, "short.txt"), text.slice(0, 2000));
const mustLoadTokenizer = async (path) => {
  const t = await loadTokenizerFile(path);
  assert.ok(t.encode("the quick brown fox").length > 0);
};

test("tokenizer train --out: the previous tokenizer.json or the new one, whole", async () => {
  const train = (dir, vocab) => ["tokenizer", "train", "--file", join(work, "text.txt"), "--vocab-size", String(vocab), "--out", join(dir, "tok.json")];
  const old = jreg(train(work, 280));
  assert.is(old.status, 0, old.stderr);
  await killSchedule({
    label: "tokenizer train",
    outputs: ["tok.json"],
    prepare: (dir) => copyFileSync(join(work, "tok.json"), join(dir, "tok.json")),
    args: (dir) => train(dir, 300),
    load: mustLoadTokenizer,
    timed: 1,
  });
});

test("tokenize --out: the previous ids file or the new one, whole (a streamed write)", async () => {
  await killSchedule({
    label: "tokenize",
    outputs: ["ids.json"],
    prepare: (dir) => writeFileSync(join(dir, "ids.json"), "[1,2,3]\n"),
    args: (dir) => ["tokenize", "--tokenizer", join(work, "tok.json"), "--file", join(work, "text.txt"), "--out", join(dir, "ids.json")],
    load: (path) => assert.ok(JSON.parse(readFileSync(path, "utf8")).every(Number.isInteger)),
    rounds: 6,
    timed: 1,
  });
});

test("report --out: the previous report or the new one, whole", async () => {
  const { dirs } = await writeSyntheticRuns();
  const withoutDate = (b) => b.toString("utf8").replace(/ &nbsp;·&nbsp; generated [^<]*UTC/, "");
  const report = (dir, title) => ["report", ...dirs, "--title", title, "--out", join(dir, "report.html")];
  const old = jreg(report(work, "before"));
  assert.is(old.status, 0, old.stderr);
  await killSchedule({
    label: "report",
    outputs: ["report.html"],
    prepare: (dir) => copyFileSync(join(work, "report.html"), join(dir, "report.html")),
    args: (dir) => report(dir, "after"),
    same: (a, b) => withoutDate(a) === withoutDate(b),
    load: (path) => assert.ok(readFileSync(path, "utf8").trimEnd().endsWith("</html>"), "a whole page"),
    rounds: 6,
    timed: 1,
  });
});

test("analyze --svg: the previous profile or the new one, whole", async () => {
  const ck = join(work, "ckpt");
  const init = jreg(["init", "--out", ck, "--vocab-size", "300", "--set", "model=tiny", "--set", "seed=3"]);
  assert.is(init.status, 0, init.stderr);
  const analyze = (dir, state) => ["analyze", ck, "--text", join(work, "short.txt"), "--tokenizer", join(work, "tok.json"), "--final-state", state, "--svg", join(dir, "profile.svg")];
  const old = jreg(analyze(work, "pre-norm"));
  assert.is(old.status, 0, old.stderr);
  await killSchedule({
    label: "analyze --svg",
    outputs: ["profile.svg"],
    prepare: (dir) => copyFileSync(join(work, "profile.svg"), join(dir, "profile.svg")),
    args: (dir) => analyze(dir, "post-norm"),
    load: (path) => assert.ok(/^<svg [^]*<\/svg>\s*$/.test(readFileSync(path, "utf8")), "a whole SVG"),
    rounds: 6,
    timed: 1,
  });
});

test("sweep --out: sweep.json, sweep.txt and val-windows.json are each the previous file or the new one, whole", async () => {
  const ws = await tinyWorkspace("jreg-kill-sweep-");
  const cfg = writeConfig(ws, "base.json", tinyConfig(ws, { steps: 2, evalEvery: 0, saveEvery: 2, logEvery: 1, jreg: { alpha: 0 } }));
  const done = join(work, "sweep-done");
  const sweep = (dir) => ["sweep", "--config", cfg, "--grid", "jreg.alpha=0", "--seeds", "1", "--out", dir];
  const first = jreg(sweep(done));
  assert.is(first.status, 0, first.stderr);
  const run = readdirSync(done).find((n) => !n.includes("."));
  // The previous state: the trained run, and an aggregate of an earlier sweep of it
  // (here: the same files with other numbers); val-windows.json not yet written.
  const earlier = (name) => readFileSync(join(done, name), "utf8").replace(/\d+\.\d+/g, "9.999");
  await killSchedule({
    label: "sweep",
    outputs: ["sweep.json", "sweep.txt", `${run}/val-windows.json`],
    prepare: (dir) => {
      spawnSync("cp", ["-r", join(done, run), join(dir, run)]);
      // A run directory names itself in its config: as if the sweep had run there.
      const config = JSON.parse(readFileSync(join(dir, run, "config.json"), "utf8"));
      writeFileSync(join(dir, run, "config.json"), JSON.stringify({ ...config, out: join(dir, run) }, null, 2) + "\n");
      rmSync(join(dir, run, "val-windows.json"), { force: true });
      for (const n of ["sweep.json", "sweep.txt"]) writeFileSync(join(dir, n), earlier(n));
    },
    args: (dir) => sweep(dir),
    load: (path, n) => (n.endsWith(".json") ? JSON.parse(readFileSync(path, "utf8")) : assert.ok(readFileSync(path, "utf8").length > 0)),
    rounds: 8,
    timed: 1,
  });
});

test("the data cache that jreg train prepares (tokenizer, train and validation shards): each file absent or whole", async () => {
  const ws = await tinyWorkspace("jreg-kill-cache-");
  const config = (dir) => {
    const path = join(dir, "run.json");
    if (!existsSync(path)) writeFileSync(path, JSON.stringify(tinyConfig(ws, { steps: 1, evalEvery: 0, saveEvery: 1, logEvery: 1, out: join(dir, "run"), data: { ...tinyConfig(ws).data, cacheDir: join(dir, ".cache") } })));
    return path;
  };
  const prepare = (dir) => {
    config(dir);
    mkdirSync(join(dir, ".cache"));
  };
  // The cache's file names (content hashes of the inputs, not of the directory) from a first run.
  const probe = join(work, "cache-names");
  mkdirSync(probe);
  prepare(probe);
  const first = jreg(["train", "--config", config(probe)]);
  assert.is(first.status, 0, first.stderr);
  const names = readdirSync(join(probe, ".cache")).sort();
  assert.equal(names.map((n) => n.replace(/-[0-9a-f]{32}/, "")), ["tokenizer.json", "train.bin", "validation.bin"]);
  await killSchedule({
    label: "data cache",
    outputs: names.map((n) => `.cache/${n}`),
    prepare,
    args: (dir) => ["train", "--config", config(dir)],
    load: async (path) => {
      if (path.endsWith(".bin")) assert.ok((await readShard(path)).tokens.length > 0);
      else await mustLoadTokenizer(path);
    },
    rounds: 8,
    timed: 1,
  });
});

test.after(() => rmSync(work, { recursive: true, force: true }));
test.run();
