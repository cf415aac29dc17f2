// checkpoint-<step>/ directories: complete or absent under a crash at any moment,
// the newest complete one is found, retention, and write errors.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { FileStorage, fileStorage, latestCheckpoint, listCheckpoints, pruneCheckpoints, writeCheckpoint } from "../dist/run/index.js";

const root = mkdtempSync(join(tmpdir(), "jreg-ckpt-"));
let runs = 0;
const newRun = () => {
  const d = join(root, `run${runs++}`);
  mkdirSync(d);
  return d;
};

function filesFor(step) {
  const weights = new Uint8Array(3000);
  for (let i = 0; i < weights.length; i++) weights[i] = (i * 7 + step) & 255;
  return {
    "config.json": JSON.stringify({ step }),
    "model.safetensors": weights,
    "tokenizer.json": "{}",
    "optimizer.safetensors": weights.slice(0, 1000),
    "trainer_state.json": JSON.stringify({ global_step: step }),
  };
}

/** Every checkpoint-N directory on disk holds exactly the files of step N. */
function assertOnlyCompleteCheckpoints(runDir) {
  for (const name of readdirSync(runDir)) {
    const m = /^checkpoint-(\d+)$/.exec(name);
    if (!m) continue;
    const want = filesFor(Number(m[1]));
    assert.equal(readdirSync(join(runDir, name)).sort(), Object.keys(want).sort(), `${name} has every file`);
    for (const [file, data] of Object.entries(want)) {
      const got = readFileSync(join(runDir, name, file));
      assert.equal(new Uint8Array(got), typeof data === "string" ? new TextEncoder().encode(data) : data, `${name}/${file}`);
    }
  }
}

class Crash extends Error {}

/** A storage that dies at its k-th mutating call (optionally after writing half a file) and refuses everything after. */
class CrashingStorage extends FileStorage {
  constructor(k) {
    super();
    this.left = k;
    this.dead = false;
  }
  async tick(halfWrite) {
    if (this.dead) throw new Crash("dead");
    if (this.left-- === 0) {
      this.dead = true;
      if (halfWrite) await halfWrite();
      throw new Crash("crash");
    }
  }
  async mkdir(d) { await this.tick(); return super.mkdir(d); }
  async remove(p) { await this.tick(); return super.remove(p); }
  async rename(a, b) { await this.tick(); return super.rename(a, b); }
  async fsyncDir(d) { await this.tick(); return super.fsyncDir(d); }
  async writeAtomic(p, data) { await this.tick(); return super.writeAtomic(p, data); }
  async writeDurable(p, data) {
    await this.tick(() => writeFileSync(p, typeof data === "string" ? data.slice(0, data.length >> 1) : data.subarray(0, data.length >> 1)));
    return super.writeDurable(p, data);
  }
}

test("write, find the newest, and keep only the last keepCheckpoints", async () => {
  const run = newRun();
  assert.is(await latestCheckpoint(fileStorage, run), null);
  for (const step of [5, 9, 10, 100]) {
    const info = await writeCheckpoint(fileStorage, run, step, filesFor(step), { keepCheckpoints: 3 });
    assert.is(info.path, join(run, `checkpoint-${step}`));
  }
  assert.equal((await listCheckpoints(fileStorage, run)).map((c) => c.step), [9, 10, 100], "numeric order, oldest removed");
  assert.is((await latestCheckpoint(fileStorage, run)).step, 100);
  assertOnlyCompleteCheckpoints(run);
  assert.equal(readdirSync(run).filter((n) => n.startsWith(".")), [], "no temporary directories");
  await pruneCheckpoints(fileStorage, run, 1);
  assert.equal(readdirSync(run), ["checkpoint-100"]);
  await pruneCheckpoints(fileStorage, run, 0).then(() => assert.unreachable(), (e) => assert.match(e.message, /keepCheckpoints must be an integer ≥ 1, got 0/));
});

test("incomplete and temporary directories are ignored; temporary ones are cleaned", async () => {
  const run = newRun();
  await writeCheckpoint(fileStorage, run, 10, filesFor(10));
  mkdirSync(join(run, "checkpoint-20")); // made by hand, no trainer_state.json
  writeFileSync(join(run, "checkpoint-20", "model.safetensors"), "x");
  mkdirSync(join(run, ".tmp-checkpoint-30-0badf00d"));
  writeFileSync(join(run, ".tmp-checkpoint-30-0badf00d", "trainer_state.json"), "{}");
  const latest = await latestCheckpoint(fileStorage, run);
  assert.is(latest.step, 10);
  assert.not.ok(existsSync(join(run, ".tmp-checkpoint-30-0badf00d")), "temporary directory removed");
  assert.ok(existsSync(join(run, "checkpoint-20")), "a directory it did not make is left alone");
});

test("a crash at every point of a save leaves the old checkpoint or the whole new one", async () => {
  let sawOld = 0;
  let sawNew = 0;
  for (let k = 0; ; k++) {
    const run = newRun();
    await writeCheckpoint(fileStorage, run, 1, filesFor(1));
    const crashing = new CrashingStorage(k);
    let crashed = false;
    try {
      await writeCheckpoint(crashing, run, 2, filesFor(2), { keepCheckpoints: 1 });
    } catch (e) {
      assert.instance(e, Error);
      crashed = true;
    }
    // After the crash: a fresh process looks at the directory.
    assertOnlyCompleteCheckpoints(run);
    const latest = await latestCheckpoint(fileStorage, run);
    assert.ok(latest && (latest.step === 1 || latest.step === 2), `crash at ${k}`);
    latest.step === 1 ? sawOld++ : sawNew++;
    assert.equal(readdirSync(run).filter((n) => n.startsWith(".")), [], "cleaned after the crash");
    assertOnlyCompleteCheckpoints(run);
    if (!crashed) break;
  }
  assert.ok(sawOld >= 7 && sawNew >= 1, `crash points: ${sawOld} before the rename, ${sawNew} after`);
});

test("re-saving an existing step is atomic too", async () => {
  for (let k = 0; ; k++) {
    const run = newRun();
    const old = { ...filesFor(3), "config.json": JSON.stringify({ step: 3, old: true }) };
    await writeCheckpoint(fileStorage, run, 3, old);
    let crashed = false;
    try {
      await writeCheckpoint(new CrashingStorage(k), run, 3, filesFor(3));
    } catch {
      crashed = true;
    }
    const latest = await latestCheckpoint(fileStorage, run);
    assert.is(latest?.step, 3, `crash at ${k}: checkpoint-3 still there`);
    const config = JSON.parse(readFileSync(join(latest.path, "config.json"), "utf8"));
    if (!config.old) assertOnlyCompleteCheckpoints(run);
    else assert.equal(readdirSync(latest.path).sort(), Object.keys(old).sort());
    assert.equal(readdirSync(run).filter((n) => n.startsWith(".")), []);
    if (!crashed) {
      assert.not.ok(config.old, "the new one replaced it");
      break;
    }
  }
});

class FailingStorage extends FileStorage {
  constructor(code, file) {
    super();
    this.code = code;
    this.file = file;
  }
  async writeDurable(p, data) {
    if (p.endsWith(this.file)) throw Object.assign(new Error(`${this.code}: injected, write '${p}'`), { code: this.code });
    return super.writeDurable(p, data);
  }
}

for (const [code, plain] of [["ENOSPC", "the disk is full"], ["EACCES", "permission denied"]]) {
  test(`a write error (${code}) keeps the previous checkpoint, removes the temporary directory, and says why`, async () => {
    const run = newRun();
    await writeCheckpoint(fileStorage, run, 4, filesFor(4));
    try {
      await writeCheckpoint(new FailingStorage(code, "model.safetensors"), run, 8, filesFor(8), { keepCheckpoints: 1 });
      assert.unreachable();
    } catch (e) {
      assert.is(e.name, "CheckpointWriteError");
      assert.match(e.message, "could not save checkpoint-8");
      assert.match(e.message, "model.safetensors");
      assert.match(e.message, `${plain} (${code})`);
      assert.match(e.message, `previous checkpoint ${join(run, "checkpoint-4")} is intact`);
    }
    assert.equal(readdirSync(run), ["checkpoint-4"]);
    assertOnlyCompleteCheckpoints(run);
  });
}

test("a read-only run directory (real permissions, when not running as root)", async () => {
  const run = newRun();
  await writeCheckpoint(fileStorage, run, 1, filesFor(1));
  chmodSync(run, 0o555);
  try {
    if (process.getuid?.() === 0) return; // root ignores permissions; the injected EACCES test above covers the message
    await writeCheckpoint(fileStorage, run, 2, filesFor(2)).then(() => assert.unreachable(), (e) => {
      assert.match(e.message, /permission denied \((EACCES|EPERM)\)/);
      assert.match(e.message, "checkpoint-1 is intact");
    });
  } finally {
    chmodSync(run, 0o755);
  }
  assert.equal(readdirSync(run), ["checkpoint-1"]);
});

test("bad arguments", async () => {
  const run = newRun();
  await writeCheckpoint(fileStorage, run, 1, { "config.json": "{}" }).then(() => assert.unreachable(), (e) => assert.match(e.message, /must include trainer_state\.json/));
  await writeCheckpoint(fileStorage, run, -1, filesFor(1)).then(() => assert.unreachable(), (e) => assert.match(e.message, /step must be an integer/));
  await writeCheckpoint(fileStorage, run, 1, { ...filesFor(1), "../x": "" }).then(() => assert.unreachable(), (e) => assert.match(e.message, /bad file name/));
});

test("SIGKILL at random moments of a save loop never leaves a partial checkpoint", async () => {
  const script = join(root, "saver.mjs");
  const runUrl = JSON.stringify(pathToFileURL(fileURLToPath(new URL("../dist/run/index.js", import.meta.url))).href);
  writeFileSync(script, `
import { fileStorage, writeCheckpoint } from ${runUrl};
const run = process.argv[2];
const big = new Uint8Array(4 << 20);
for (let step = 1; ; step++) {
  big.fill(step & 255);
  await writeCheckpoint(fileStorage, run, step, {
    "model.safetensors": big, "config.json": JSON.stringify({ step }), "trainer_state.json": JSON.stringify({ step }),
  }, { keepCheckpoints: 2 });
  if (step === 1) process.stdout.write("first\\n");
}
`);
  let kills = 0;
  for (let i = 0; i < 6; i++) {
    const run = newRun();
    const child = spawn(process.execPath, [script, run], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise((resolve) => child.stdout.once("data", resolve));
    await new Promise((resolve) => setTimeout(resolve, 20 + Math.random() * 200));
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    kills++;
    const latest = await latestCheckpoint(fileStorage, run);
    assert.ok(latest, "the first checkpoint survived");
    for (const c of await listCheckpoints(fileStorage, run)) {
      const step = JSON.parse(readFileSync(join(c.path, "trainer_state.json"), "utf8")).step;
      assert.is(step, c.step);
      const weights = readFileSync(join(c.path, "model.safetensors"));
      assert.is(weights.length, 4 << 20, `checkpoint-${c.step} weights complete`);
      assert.ok(weights.every((b) => b === (c.step & 255)), `checkpoint-${c.step} weights are its own`);
    }
    assert.equal(readdirSync(run).filter((n) => n.startsWith(".")), [], "leftovers cleaned");
  }
  assert.is(kills, 6);
});

test.after(() => rmSync(root, { recursive: true, force: true }));
test.run();
