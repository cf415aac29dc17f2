// The browser bundle (scripts/build-web.mjs): no Node-only API anywhere in it,
// the binaries load by URL (or are inlined with --inline, and that build runs
// too), and its size stays within the budget the README states.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromiumAvailable, launchChromium } from "./helpers/browser.mjs";
import { serveWeb } from "../scripts/serve-web.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const DIST = join(root, "dist/web");

/** The README's budget (section "In the browser"). */
const BUDGET = { jsMinified: 240 * 1024, jsGzip: 84 * 1024, assetsGzip: 80 * 1024 };

async function jsFiles(dir) {
  const names = (await readdir(dir)).filter((n) => n.endsWith(".js"));
  return Promise.all(names.map(async (n) => ({ name: n, text: await readFile(join(dir, n), "utf8") })));
}

/** Node-only names used as free identifiers (not as a property such as globalThis.process). */
const NODE_GLOBALS = /(?<![\w$.])(process|Buffer|require|__dirname|__filename|module\.exports)(?![\w$])/;
const IMPORT_SPECIFIER = /(?:\bfrom|\bimport)\s*\(?\s*["']([\w@./:+-]+)["']/g;

function checkNoNodeApis(files, where) {
  assert.ok(files.length >= 4, `${where}: expected the entry points and chunks, found ${files.map((f) => f.name)}`);
  for (const { name, text } of files) {
    const m = NODE_GLOBALS.exec(text);
    assert.not.ok(m, `${where}/${name} uses ${m?.[1]}: …${m ? text.slice(Math.max(0, m.index - 40), m.index + 40) : ""}…`);
    for (const [, spec] of text.matchAll(IMPORT_SPECIFIER)) {
      assert.ok(spec.startsWith("./"), `${where}/${name} imports ${spec}: the bundle must import only its own chunks`);
    }
  }
}

test("dist/web: no Node-only API, only relative imports; wasm and wgsl are separate files fetched by URL", async () => {
  const files = await jsFiles(DIST);
  checkNoNodeApis(files, "dist/web");
  const all = await readdir(DIST);
  for (const kind of ["engine-", "engine-threads-", "tokenizer-"]) assert.ok(all.some((n) => n.startsWith(kind) && n.endsWith(".wasm")), `${kind}*.wasm emitted`);
  assert.ok(all.filter((n) => n.endsWith(".wgsl")).length >= 10, "the shaders are emitted as files");
  const api = files.filter((f) => f.name !== "pool-worker.js").map((f) => f.text).join("");
  assert.ok(api.includes("import.meta.url"), "assets resolve against the module's URL");
  assert.not.ok(api.includes("AGFzbQ"), "no base64 WebAssembly inside the URL build's JS");
});

test("dist/web size is within budget", async () => {
  const sizes = JSON.parse(await readFile(join(DIST, "sizes.json"), "utf8"));
  assert.ok(sizes.hostApiJs.bytes <= BUDGET.jsMinified, `host API JS ${sizes.hostApiJs.bytes} B > ${BUDGET.jsMinified}`);
  assert.ok(sizes.hostApiJs.gzip <= BUDGET.jsGzip, `host API JS gzip ${sizes.hostApiJs.gzip} B > ${BUDGET.jsGzip}`);
  const assets = Object.values(sizes.assets).reduce((n, a) => n + a.gzip, 0);
  assert.ok(assets <= BUDGET.assetsGzip, `wasm + wgsl gzip ${assets} B > ${BUDGET.assetsGzip}`);
});

test("--inline: one self-contained set of modules, still free of Node APIs, and it runs in Chromium", async () => {
  const out = await mkdtemp(join(tmpdir(), "jreg-web-inline-"));
  execFileSync(process.execPath, [join(root, "scripts/build-web.mjs"), "--inline", "--out", out], { stdio: "pipe" });
  const all = await readdir(out);
  assert.not.ok(all.some((n) => n.endsWith(".wasm") || n.endsWith(".wgsl")), `no separate assets: ${all}`);
  checkNoNodeApis(await jsFiles(out), "inline build");
  assert.ok(chromiumAvailable(), "Chromium is required for this test (.ci/run installs Debian's chromium)");
  const server = await serveWeb({ root: out });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${server.url}?backend=wasm&threads=2`);
    await page.waitForFunction(() => window.jregPage?.ready || window.jregPage?.errors?.length > 0, null, { timeout: 30_000 });
    const { info, errors: pageErrors } = await page.evaluate(() => window.jregPage);
    assert.equal([...errors, ...pageErrors], []);
    assert.is(info.threads, 2, "the inlined engine runs its thread pool");
  } finally {
    await browser.close();
    await server.close();
  }
});

test.run();
