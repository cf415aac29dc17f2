// IndexedDbStorage (host/web/idb-storage.ts) in Chromium behaves as FileStorage
// does on the file system: the same sequence of operations, including the
// checkpoint writer of host/run (temporary directory, rename into place, pruning),
// gives the same observations in both.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { build } from "esbuild";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromiumAvailable, launchChromium } from "./helpers/browser.mjs";
import { serveWeb } from "../scripts/serve-web.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));

// Runs in both places: `storage` and `base` (a directory that does not exist yet) are given.
const SCRIPT = `
import { writeCheckpoint, listCheckpoints } from "${root}host/run/checkpoint-dir.ts";
import { MetricsLogger, readMetrics } from "${root}host/run/metrics.ts";
export async function exercise(storage, base) {
  const out = [];
  const note = async (what, f) => {
    try { const v = await f(); out.push([what, v === undefined ? "done" : v]); } catch (e) { out.push([what, "error", e.code ?? "no code"]); }
  };
  const dec = (b) => new TextDecoder().decode(b);
  await note("stat missing", () => storage.stat(base + "/a"));
  await note("mkdir", () => storage.mkdir(base + "/a/b/c"));
  await note("list a", () => storage.list(base + "/a"));
  await note("write", () => storage.writeAtomic(base + "/a/b/x.txt", "hello"));
  await note("write bytes", () => storage.writeDurable(base + "/a/y.bin", new Uint8Array([1, 2, 3, 4, 5])));
  await note("stat file", () => storage.stat(base + "/a/y.bin"));
  // a directory's size is the file system's business
  await note("stat dir", async () => (await storage.stat(base + "/a/b")).isDirectory);
  await note("range", async () => Array.from(await storage.readRange(base + "/a/y.bin", 1, 10)));
  await note("text", () => storage.readText(base + "/a/b/x.txt"));
  await note("read missing", () => storage.readText(base + "/a/nope"));
  await note("list a", () => storage.list(base + "/a"));
  await note("rename dir", () => storage.rename(base + "/a/b", base + "/a/z"));
  await note("list a", () => storage.list(base + "/a"));
  await note("moved file", () => storage.readText(base + "/a/z/x.txt"));
  await note("old gone", () => storage.exists(base + "/a/b/x.txt"));
  await note("append", async () => {
    const log = await MetricsLogger.open(storage, base + "/a/m.jsonl");
    await log.log({ step: 0, loss: 1.5 });
    await log.log({ step: 1, loss: 1.25 });
    await log.close();
    return (await readMetrics(storage, base + "/a/m.jsonl")).records;
  });
  for (const step of [10, 20, 30]) {
    await note("checkpoint " + step, async () => (await writeCheckpoint(storage, base + "/run", step, { "w.bin": new Uint8Array([step]), "trainer_state.json": "{}" }, { keepCheckpoints: 2 })).step);
  }
  await note("checkpoints", async () => (await listCheckpoints(storage, base + "/run")).map((c) => c.step));
  await note("list run", () => storage.list(base + "/run"));
  await note("checkpoint bytes", async () => Array.from(await storage.readBytes(base + "/run/checkpoint-30/w.bin")));
  await note("remove", () => storage.remove(base + "/a"));
  await note("after remove", () => storage.exists(base + "/a/z/x.txt"));
  await note("remove missing", () => storage.remove(base + "/nothing"));
  return out;
}`;

test("IndexedDbStorage in Chromium = FileStorage in Node, operation by operation", async () => {
  assert.ok(chromiumAvailable(), "Chromium is required for this test (.ci/run installs Debian's chromium)");
  const dir = await mkdtemp(join(tmpdir(), "jreg-web-storage-"));
  await writeFile(join(dir, "exercise.ts"), SCRIPT);
  await writeFile(join(dir, "browser.ts"), `import { IndexedDbStorage } from "${root}host/web/idb-storage.ts";\nimport { exercise } from "./exercise.ts";\n(window as any).run = async () => exercise(await IndexedDbStorage.open("conformance"), "/t");\n`);
  await writeFile(join(dir, "index.html"), `<!doctype html><meta charset="utf-8"><script type="module" src="./browser.js"></script>`);
  await build({ entryPoints: [join(dir, "browser.ts")], outdir: dir, bundle: true, format: "esm", platform: "browser", logLevel: "warning" });
  await build({ entryPoints: [join(dir, "exercise.ts")], outdir: dir, bundle: true, format: "esm", platform: "node", logLevel: "warning" });

  const { exercise } = await import(pathToFileURL(join(dir, "exercise.js")).href);
  const { FileStorage } = await import("../dist/run/index.js");
  const expected = await exercise(new FileStorage(), join(dir, "fs"));

  const server = await serveWeb({ root: dir });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.waitForFunction(() => typeof window.run === "function");
    const got = await page.evaluate(() => window.run());
    assert.equal(got, JSON.parse(JSON.stringify(expected)));
  } finally {
    await browser.close();
    await server.close();
  }
});

test.run();
