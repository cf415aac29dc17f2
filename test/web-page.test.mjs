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
import { loadWebSession } from "./helpers/web-session-node.mjs";
import { serveWeb } from "../scripts/serve-web.mjs";
import { createEngine, readCheckpoint } from "../dist/index.js";
import { FileStorage } from "../dist/run/index.js";

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
  await page.waitForFunction(() => window.jregPage.errors.length > 0 || (!window.jregPage.training && window.jregPage.records.some((r) => r.step === window.jregPage.settings.steps - 1 && r.val_ce !== undefined)), null, { timeout: 60_000 });
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

/** The same run in Node: the session code of the page's worker, on the file system, one thread. */
async function nodeRun(web, pageSettings) {
  const dir = await mkdtemp(join(tmpdir(), "jreg-web-node-"));
  const corpus = join(dir, "brown-sample");
  await mkdir(corpus);
  for (const d of JSON.parse(await readFile(join(root, "dist/web/brown-sample.json"), "utf8"))) await writeFile(join(corpus, `${d.id}.txt`), d.text);
  const settings = { ...pageSettings, name: "node", corpus };
  const storage = new FileStorage();
  const s = await web.TrainingSession.create(storage, join(dir, "run"), settings, { backend: "wasm", threads: 1 }, join(dir, "cache"));
  const records = [await s.evaluate()];
  while (!s.done) {
    records.push(await s.trainStep());
    if (s.step % settings.evalEvery === 0 || s.done) records.push(await s.evaluate());
  }
  const validation = s.validation;
  await s.close();
  return { records, validation };
}

test("the page trains in Chromium: wasm = Node bit for bit, WebGPU within 1e-4, checkpoint, reload, axe, screenshot", async () => {
  assert.ok(chromiumAvailable(), "Chromium is required for this test (.ci/run installs Debian's chromium)");
  const web = await loadWebSession();
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
    // the settings the form made are the ones the Node run used (vocab from the tokenizer aside)
    const pageSettings = await page.evaluate(() => window.jregPage.settings);
    assert.equal(pageSettings.model, web.MODEL_SIZES.micro);
    assert.equal([pageSettings.alpha, pageSettings.distance, pageSettings.normalize, pageSettings.steps], [0.5, "angular", "middle", STEPS]);
    const node = await nodeRun(web, pageSettings);
    const strip = (rs) => rs.map(({ step, loss, ce, R, gradNorm, val_ce, D_angular, J_angular }) => ({ step, loss, ce, R, gradNorm, val_ce, D_angular, J_angular }));
    const asBits = (rs) => JSON.stringify(strip(rs), (k, v) => (typeof v === "number" && k !== "step" ? bits(v) : v));
    assert.is(wasm.filter((r) => r.loss !== undefined).length, STEPS);
    assert.is(asBits(wasm), asBits(node.records), "page (2 threads) = Node (1 thread), bit for bit");

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
    const e = await engine.evaluate(model, node.validation, { alpha: 0.5, distance: "angular", lastK: 1, normalize: "middle" });
    const last = wasm.at(-1);
    assert.is(bits(e.ce), bits(last.val_ce), "downloaded checkpoint: same validation CE in Node");
    assert.equal(e.D_angular.map(bits), last.D_angular.map(bits));
    await engine.dispose();
    const metrics = (await readFile(join(dl, "metrics.jsonl"), "utf8")).trim().split("\n").map((l) => JSON.parse(l));
    assert.is(metrics.length, wasm.length, "metrics.jsonl holds every record the page drew");

    // loading those files from disk shows their jump profile
    await page.setInputFiles("#checkpoint-files", ["config.json", "model.safetensors", "tokenizer.json"].map((n) => join(dl, n)));
    await page.waitForFunction(() => window.jregPage.profile || window.jregPage.errors.length > 0, null, { timeout: 20_000 });
    const profile = await page.evaluate(() => window.jregPage.profile);
    assert.is(profile.D_angular.length, web.MODEL_SIZES.micro.numLayers);
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
    const trainBits = (rs) => rs.filter((r) => r.loss !== undefined).map((r) => bits(r.loss));
    assert.equal(trainBits(resumed), trainBits(wasm), "stopped and resumed = uninterrupted, bit for bit");

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
    const losses = (rs) => rs.filter((r) => r.loss !== undefined).map((r) => r.loss);
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
