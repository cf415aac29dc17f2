// The browser page (dist/web, served like `npm run web`) in headless Chromium:
// it loads with no console error, trains in its worker on threaded WASM with
// losses bit-identical to the same run in Node (the same session code on the file
// system), trains on WebGPU (SwiftShader) within 1e-4 of that, hands out a
// checkpoint that Node loads and evaluates to the same numbers, keeps the run
// across a reload, passes axe-core, and leaves a screenshot for CI.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdir, mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromiumAvailable, launchChromium } from "./helpers/browser.mjs";
import { serveWeb } from "../scripts/serve-web.mjs";
import { corpusOptionsFor, createEngine, evaluateSubset, readCheckpoint, runTraining, validationSubset } from "../dist/index.js";
import { prepareCorpus } from "../dist/data/index.js";
import { fileStorage } from "../dist/run/index.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const ARTIFACTS = process.env.ARTIFACTS ?? "/tmp/jreg-artifacts";
const STEPS = 4;
const FORM = { size: "micro", vocab: "300", seq: "32", batch: "2", steps: String(STEPS), "eval-every": "2", seed: "3", alpha: "0.5", distance: "angular", "last-k": "1", normalize: "middle" };

const bits = (x) => {
  const v = new DataView(new ArrayBuffer(8));
  v.setFloat64(0, x);
  return v.getBigUint64(0).toString(16);
};

/** Fills the form, trains a run named `name` to the end, and returns the page's metrics records. */
async function trainOnPage(page, name, overrides = {}) {
  for (const [id, v] of Object.entries({ ...FORM, ...overrides })) {
    if (["size", "distance", "normalize"].includes(id)) await page.selectOption(`#${id}`, v);
    else await page.fill(`#${id}`, v);
  }
  await page.fill("#run-name", name);
  await page.click("#train");
  return finish(page, name);
}

/** Waits for the run on the page to reach its last step; returns the page's records. */
async function finish(page, name) {
  await page.waitForFunction(() => window.jregPage.errors.length > 0 || (!window.jregPage.training && window.jregPage.records.some((r) => r.step === window.jregPage.settings.steps && r.val_ce !== undefined)), null, { timeout: 60_000 });
  const { errors, records } = await page.evaluate(() => window.jregPage);
  assert.equal(errors, [], `${name}: page errors`);
  return records;
}

async function openPage(browser, url, consoleErrors) {
  const page = await browser.newPage();
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  await page.goto(url);
  await page.waitForFunction(() => window.jregPage?.ready || window.jregPage?.errors?.length > 0, null, { timeout: 30_000 });
  return page;
}

/** The page's run config, run by `jreg train`'s loop in Node on the file system, one thread. */
async function nodeRun(pageConfig) {
  const dir = await mkdtemp(join(tmpdir(), "jreg-web-node-"));
  const corpus = join(dir, "brown-sample");
  await mkdir(corpus);
  for (const d of JSON.parse(await readFile(join(root, "dist/web/brown-sample.json"), "utf8"))) await writeFile(join(corpus, `${d.id}.txt`), d.text);
  const cfg = { ...pageConfig, out: join(dir, "run"), backend: "wasm", threads: 1, data: { ...pageConfig.data, corpus, cacheDir: join(dir, "cache") } };
  await runTraining(cfg, { storage: fileStorage });
  const metrics = await readFile(join(cfg.out, "metrics.jsonl"), "utf8");
  const prepared = await prepareCorpus(corpusOptionsFor(cfg, fileStorage));
  return { cfg, metrics, validation: validationSubset(prepared, cfg) };
}

/** metrics.jsonl without the timing field, as parsed records. */
const withoutTiming = (text) => text.trim().split("\n").map((l) => {
  const { tokensPerSecond, ...rest } = JSON.parse(l);
  return rest;
});

test("the page trains in Chromium: wasm = Node bit for bit, WebGPU within 1e-4, checkpoint, reload, axe, screenshot", async () => {
  assert.ok(chromiumAvailable(), "Chromium is required for this test (.ci/run installs Debian's chromium)");
  const server = await serveWeb();
  const browser = await launchChromium(["--enable-unsafe-webgpu", "--use-webgpu-adapter=swiftshader", "--enable-features=Vulkan"]);
  const consoleErrors = [];
  try {
    // wasm, two threads (the server sends COOP/COEP)
    const page = await openPage(browser, `${server.url}?backend=wasm&threads=2`, consoleErrors);
    const info = await page.evaluate(() => window.jregPage.info);
    assert.is(info.backend, "wasm");
    assert.is(info.threads, 2);
    assert.ok(info.crossOriginIsolated);
    assert.match(await page.textContent("#isolation"), /Cross-origin isolated/);
    const wasm = await trainOnPage(page, "wasm-run");
    const pageConfig = await page.evaluate(() => window.jregPage.config);
    assert.equal([pageConfig.jreg, pageConfig.steps, pageConfig.model.hidden_size], [{ alpha: 0.5, distance: "angular", lastK: 1, normalize: "middle", layers: "last-k" }, STEPS, 32]);
    const node = await nodeRun(pageConfig);
    const losses = (rs) => rs.filter((r) => r.loss !== undefined).map((r) => r.loss);
    assert.is(losses(wasm).length, STEPS);
    // JSON numbers round-trip exactly, so equal JSON is equal bits
    assert.equal(JSON.stringify(losses(wasm)), JSON.stringify(losses(withoutTiming(node.metrics))), "page (2 threads) = Node (1 thread), bit for bit");

    // the checkpoint downloaded from the page loads in Node and evaluates to the page's last evaluation
    await page.click("#download");
    await page.waitForFunction(() => document.querySelectorAll("#downloads a").length === 4, null, { timeout: 20_000 });
    const dl = await mkdtemp(join(tmpdir(), "jreg-web-download-"));
    for (const name of ["config.json", "model.safetensors", "tokenizer.json", "metrics.jsonl"]) {
      const [download] = await Promise.all([page.waitForEvent("download"), page.click(`#downloads a[download="${name}"]`)]);
      await download.saveAs(join(dl, name));
    }
    const engine = await createEngine({ backend: "wasm", threads: 1 });
    const model = engine.loadModel(await readCheckpoint(dl));
    const e = await evaluateSubset(model, node.validation, node.cfg.jreg);
    const last = wasm.filter((r) => r.val_ce !== undefined).at(-1);
    assert.is(bits(e.ce), bits(last.val_ce), "downloaded checkpoint: same validation CE in Node");
    assert.equal(e.D_angular.map(bits), last.D_angular.map(bits));
    await engine.dispose();
    // metrics.jsonl from the page = Node's, every field but the timing
    assert.equal(withoutTiming(await readFile(join(dl, "metrics.jsonl"), "utf8")), withoutTiming(node.metrics));

    // loading those files from disk shows their jump profile
    await page.setInputFiles("#checkpoint-files", ["config.json", "model.safetensors", "tokenizer.json"].map((n) => join(dl, n)));
    await page.waitForFunction(() => window.jregPage.profile || window.jregPage.errors.length > 0, null, { timeout: 20_000 });
    const profile = await page.evaluate(() => window.jregPage.profile);
    assert.is(profile.D_angular.length, 3);
    assert.ok(profile.D_angular.every((d) => d > 0 && d < 1) && Number.isFinite(profile.J_angular), JSON.stringify(profile));
    assert.match(await page.textContent("#loaded-summary"), /J angular/);

    // stop, then resume: the same losses as a run that never stopped (the wasm run above)
    await page.selectOption("#size", "micro");
    for (const [id, v] of Object.entries(FORM)) if (!["size", "distance", "normalize"].includes(id)) await page.fill(`#${id}`, v);
    await page.fill("#run-name", "resumed");
    await page.click("#train");
    // Queued behind "start", so it applies to this run whatever the timing.
    await page.evaluate(() => window.jregPage.send({ type: "stop", atStep: 2 }));
    await page.waitForFunction(() => window.jregPage.stoppedAt !== undefined || window.jregPage.errors.length > 0, null, { timeout: 30_000 });
    const stoppedAt = await page.evaluate(() => window.jregPage.stoppedAt);
    assert.is(stoppedAt, 2, "stopped after step 2");
    await page.selectOption("#saved-runs", "resumed");
    await page.click("#resume");
    const resumed = await finish(page, "resumed");
    assert.equal(JSON.stringify(losses(resumed)), JSON.stringify(losses(wasm)), "stopped and resumed = uninterrupted, bit for bit");

    // the run is kept in IndexedDB: after a reload it is offered for resuming
    await page.reload();
    await page.waitForFunction(() => window.jregPage?.ready, null, { timeout: 30_000 });
    await page.waitForFunction(() => document.querySelector("#saved-runs")?.textContent.includes("wasm-run (step 4 of 4)"), null, { timeout: 10_000 });

    // a .txt file picked (or dropped) becomes a corpus the form offers
    const txt = join(dl, "my corpus.txt");
    await writeFile(txt, "A small corpus.\n\nWith two paragraphs.\n");
    await page.setInputFiles("#corpus-file", txt);
    await page.waitForFunction(() => [...document.querySelectorAll("#corpus option")].some((o) => o.value === "/corpora/my_corpus.txt"), null, { timeout: 10_000 });

    // accessibility: axe-core reports no serious or critical violation
    await page.addScriptTag({ path: join(root, "node_modules/axe-core/axe.min.js") });
    const violations = await page.evaluate(async () => (await window.axe.run(document)).violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length })));
    const bad = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
    assert.equal(bad, [], `axe: ${JSON.stringify(bad)}`);
    await page.close();

    // WebGPU on SwiftShader: the same run within 1e-4 of wasm
    const gpuPage = await openPage(browser, `${server.url}?backend=webgpu`, consoleErrors);
    const gpuInfo = await gpuPage.evaluate(() => window.jregPage);
    assert.equal(gpuInfo.errors, [], "webgpu page errors");
    assert.is(gpuInfo.info.backend, "webgpu");
    const gpu = await trainOnPage(gpuPage, "gpu-run");
    const diff = Math.max(...losses(gpu).map((l, i) => Math.abs(l - losses(wasm)[i])));
    assert.ok(diff <= 1e-4, `webgpu vs wasm loss: max difference ${diff}`);
    await mkdir(ARTIFACTS, { recursive: true });
    await gpuPage.screenshot({ path: join(ARTIFACTS, "web.png"), fullPage: true });
    await gpuPage.close();
    assert.equal(consoleErrors, [], "console errors");
  } finally {
    await browser.close();
    await server.close();
  }
});

test("without COOP/COEP the page says so and trains on one thread", async () => {
  const server = await serveWeb({ isolation: false });
  const browser = await launchChromium();
  try {
    const consoleErrors = [];
    const page = await openPage(browser, `${server.url}?backend=wasm`, consoleErrors);
    const info = await page.evaluate(() => window.jregPage.info);
    assert.is(info.crossOriginIsolated, false);
    assert.is(info.threads, 1);
    assert.match(await page.textContent("#isolation"), /Not cross-origin isolated/);
    assert.equal(consoleErrors, []);
  } finally {
    await browser.close();
    await server.close();
  }
});

test.run();
