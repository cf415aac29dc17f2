// The run directory: created with config.json, never overwritten by accident,
// reopened for --resume with clear errors.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createRunDir, defaultCacheDir, fileStorage, openRunDir, writeCheckpoint } from "../dist/run/index.js";

const root = mkdtempSync(join(tmpdir(), "jreg-rundir-"));
const config = { model: "tiny", steps: 20, jreg: { alpha: 3 } };
const state = { "trainer_state.json": "{}" };

test("creates RUN_DIR (and parents) with the resolved config", async () => {
  const dir = join(root, "runs", "baseline");
  const run = await createRunDir(dir, config);
  assert.is(run.configPath, join(dir, "config.json"));
  assert.is(run.metricsPath, join(dir, "metrics.jsonl"));
  assert.equal(JSON.parse(readFileSync(run.configPath, "utf8")), config);
  assert.is(readFileSync(run.configPath, "utf8"), JSON.stringify(config, null, 2) + "\n");
  assert.is(defaultCacheDir(dir), join(root, "runs", ".cache"));
  assert.is(defaultCacheDir("runs/jreg/"), "runs/.cache");
  assert.is(defaultCacheDir("jreg"), "./.cache");
});

test("refuses a directory that holds a run (suggesting --resume) or other files", async () => {
  const dir = join(root, "runs", "baseline");
  await writeCheckpoint(fileStorage, dir, 5, state);
  await createRunDir(dir, { other: 1 }).then(() => assert.unreachable(), (e) => {
    assert.is(e.name, "RunDirError");
    assert.match(e.message, `run directory ${dir} already holds a run`);
    assert.match(e.message, `--resume ${dir}`);
  });
  assert.equal(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")), config, "nothing overwritten");
  const other = join(root, "photos");
  mkdirSync(other);
  writeFileSync(join(other, "cat.jpg"), "x");
  for (const overwrite of [false, true]) {
    await createRunDir(other, config, { overwrite }).then(() => assert.unreachable(), (e) => assert.match(e.message, /is not empty \(cat\.jpg\) and holds no run/));
  }
  assert.ok(existsSync(join(other, "cat.jpg")));
  writeFileSync(join(root, "file"), "x");
  await createRunDir(join(root, "file"), config).then(() => assert.unreachable(), (e) => assert.match(e.message, /is a file/));
  const empty = join(root, "empty");
  mkdirSync(empty);
  await createRunDir(empty, config);
});

test("overwrite: true replaces a previous run", async () => {
  const dir = join(root, "runs", "replace");
  await createRunDir(dir, config);
  await writeCheckpoint(fileStorage, dir, 5, state);
  await createRunDir(dir, { fresh: true }, { overwrite: true });
  assert.equal(readdirSync(dir), ["config.json"]);
});

test("openRunDir: the config and the newest complete checkpoint; clear errors", async () => {
  const dir = join(root, "runs", "resume");
  await createRunDir(dir, config);
  let opened = await openRunDir(dir);
  assert.equal(opened.config, config);
  assert.is(opened.latest, null);
  await writeCheckpoint(fileStorage, dir, 10, state);
  await writeCheckpoint(fileStorage, dir, 20, state);
  mkdirSync(join(dir, ".tmp-checkpoint-30-12345678"));
  opened = await openRunDir(dir);
  assert.is(opened.latest.step, 20);
  assert.not.ok(existsSync(join(dir, ".tmp-checkpoint-30-12345678")));

  await openRunDir(join(root, "absent")).then(() => assert.unreachable(), (e) => assert.match(e.message, /cannot resume: run directory .*absent does not exist/));
  const noConfig = join(root, "noconfig");
  mkdirSync(noConfig);
  await openRunDir(noConfig).then(() => assert.unreachable(), (e) => assert.match(e.message, /has no config\.json, so it is not a run directory/));
  writeFileSync(join(noConfig, "config.json"), "{ not json");
  await openRunDir(noConfig).then(() => assert.unreachable(), (e) => assert.match(e.message, /config\.json is not valid JSON/));
  writeFileSync(join(noConfig, "config.json"), "[1]");
  await openRunDir(noConfig).then(() => assert.unreachable(), (e) => assert.match(e.message, /must hold a JSON object/));
});

test.after(() => rmSync(root, { recursive: true, force: true }));
test.run();
