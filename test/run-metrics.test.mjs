// metrics.jsonl: appended lines, a torn last line tolerated, truncation for resume
// that keeps the file byte-identical to an uninterrupted run's.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MetricsLogger, fileStorage, parseMetrics, readMetrics, truncateMetrics } from "../dist/run/index.js";

const dir = mkdtempSync(join(tmpdir(), "jreg-metrics-"));
const record = (step) => ({ step, loss: 10 / (step + 1), lr: 1e-3 * step, D_angular: [0.1, step / 7] });
const evalRecord = (step) => ({ step, val_ce: 3 + 1 / (step + 1), early_exit_ce: [5, 4, 3] });

async function logSteps(path, from, to, { evalEvery = 4 } = {}) {
  const log = await MetricsLogger.open(fileStorage, path);
  for (let s = from; s <= to; s++) {
    await log.log(record(s));
    if (s % evalEvery === 0) await log.log(evalRecord(s));
    if (s % 5 === 0) await log.flush();
  }
  await log.close();
}

test("one JSON object per line, in order", async () => {
  const path = join(dir, "a.jsonl");
  await logSteps(path, 1, 10);
  const text = readFileSync(path, "utf8");
  const lines = text.trimEnd().split("\n");
  assert.is(lines.length, 12);
  assert.equal(JSON.parse(lines[0]), record(1));
  assert.equal(JSON.parse(lines[4]), evalRecord(4));
  const { records, tornLastLine } = await readMetrics(fileStorage, path);
  assert.is(records.length, 12);
  assert.not.ok(tornLastLine);
  const log = await MetricsLogger.open(fileStorage, path);
  await log.log({ loss: 1 }).then(() => assert.unreachable(), (e) => assert.match(e.message, /needs an integer "step"/));
  await log.close();
});

test("a torn last line (a crash mid-write) is dropped; a bad line before it is an error", async () => {
  const full = readFileSync(join(dir, "a.jsonl"), "utf8");
  for (const cut of [1, 5, 17]) {
    const torn = full + JSON.stringify(record(11)).slice(0, cut);
    const m = parseMetrics(torn, "x.jsonl");
    assert.is(m.records.length, 12, `cut ${cut}`);
    assert.ok(m.tornLastLine);
  }
  // Cut exactly before its newline: incomplete too.
  assert.is(parseMetrics(full + JSON.stringify(record(11))).records.length, 12);
  const corrupt = full.replace('{"step":3', '{"step":3,,');
  assert.throws(() => parseMetrics(corrupt, "run/metrics.jsonl"), /run\/metrics\.jsonl: line 3 is not a JSON object/);
  assert.equal(await readMetrics(fileStorage, join(dir, "absent.jsonl")), { records: [], lines: [], tornLastLine: false });
});

test("resume: truncate to the checkpoint's step, continue, and match an uninterrupted run byte for byte", async () => {
  const uninterrupted = join(dir, "full.jsonl");
  await logSteps(uninterrupted, 1, 30);
  for (const [checkpoint, crashedAt] of [[10, 17], [12, 12], [20, 29]]) {
    const path = join(dir, `resumed-${checkpoint}.jsonl`);
    rmSync(path, { force: true });
    await logSteps(path, 1, crashedAt);
    appendFileSync(path, '{"step":' + (crashedAt + 1) + ',"lo'); // torn by the crash
    const kept = await truncateMetrics(fileStorage, path, checkpoint);
    assert.is(kept, checkpoint + Math.floor(checkpoint / 4));
    await logSteps(path, checkpoint + 1, 30);
    assert.is(readFileSync(path, "utf8"), readFileSync(uninterrupted, "utf8"), `checkpoint ${checkpoint}, crash at ${crashedAt}`);
  }
});

test("truncation keeps the kept lines' bytes as written", async () => {
  const path = join(dir, "odd.jsonl");
  const text = '{"step":1, "x": 1.50}\n{"step":2}\n{"step":3}\n';
  writeFileSync(path, text);
  await truncateMetrics(fileStorage, path, 2);
  assert.is(readFileSync(path, "utf8"), '{"step":1, "x": 1.50}\n{"step":2}\n');
  await truncateMetrics(fileStorage, join(dir, "new.jsonl"), 5);
  assert.is(readFileSync(join(dir, "new.jsonl"), "utf8"), "");
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
