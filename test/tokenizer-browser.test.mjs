// The same API gives the same ids in Deno and in headless Chromium as in Node
// (the wasm is embedded in the bundle; no runtime-specific code paths).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { writeFile, rm, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { brownDocuments } from "../dist/data/index.js";
import { chromiumAvailable, launchChromium, serveRepo } from "./helpers/browser.mjs";
import { adversarialStrings, ourTokenizer } from "./tokenizer-reference.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const docs = (await brownDocuments()).slice(200, 208).map((d) => d.text);
const adversarial = Object.entries(adversarialStrings()).filter(([k]) => k !== "oneMegabyteLine").map(([, v]) => v);
const inputs = [...docs, ...adversarial, docs.join("<|endoftext|>")];

/**
 * Runs in any runtime (serialised into the page; imported by the Deno script):
 * encodes every input with both encodings, whole and streamed, plus a decode.
 */
async function encodeEverywhere({ distUrl, rankUrls, inputs }) {
  const { createTokenizer, parseJsTiktokenRanks } = await import(distUrl);
  const out = {};
  for (const [name, url] of Object.entries(rankUrls)) {
    const tok = await createTokenizer(parseJsTiktokenRanks((await import(url)).default, name));
    const ids = inputs.map((s) => Array.from(tok.encode(s, { allowedSpecial: "all" })));
    const streamed = [];
    // Streamed without allowedSpecial: special-token text stays text.
    for await (const part of tok.encodeStream(inputs.map((s) => s + "\n"), { chunkBytes: 1024 })) streamed.push(...part);
    const decoded = ids.map((x) => Array.from(tok.decode(x)));
    out[name] = { ids, streamed, decoded };
  }
  return out;
}

function rankUrls(base) {
  return {
    gpt2: `${base}/node_modules/js-tiktoken/dist/ranks/gpt2.js`,
    cl100k: `${base}/node_modules/js-tiktoken/dist/ranks/cl100k_base.js`,
  };
}

const base = pathToFileURL(root).href.replace(/\/$/, "");
const expected = await encodeEverywhere({ distUrl: `${base}/dist/tokenizer/index.js`, rankUrls: rankUrls(base), inputs });

test("Node reference run is itself exact (sanity)", async () => {
  const tok = await ourTokenizer("cl100k");
  assert.equal(expected.cl100k.ids[0], Array.from(tok.encode(inputs[0], { allowedSpecial: "all" })));
  assert.equal(expected.cl100k.streamed, Array.from(tok.encode(inputs.map((s) => s + "\n").join(""))));
});

test("Deno gives Node's ids and bytes", async () => {
  const dir = await mkdtemp(join(tmpdir(), "jreg-tok-deno-"));
  try {
    const script = join(dir, "run.mjs");
    await writeFile(join(dir, "inputs.json"), JSON.stringify(inputs));
    await writeFile(
      script,
      `const encodeEverywhere = ${encodeEverywhere.toString()};\n` +
        `const inputs = JSON.parse(await Deno.readTextFile(${JSON.stringify(join(dir, "inputs.json"))}));\n` +
        `const out = await encodeEverywhere({ distUrl: ${JSON.stringify(`${base}/dist/tokenizer/index.js`)}, rankUrls: ${JSON.stringify(rankUrls(base))}, inputs });\n` +
        `await Deno.writeTextFile(${JSON.stringify(join(dir, "out.json"))}, JSON.stringify(out));\n`,
    );
    await new Promise((resolve, reject) =>
      execFile(join(root, "node_modules/.bin/deno"), ["run", "-A", script], { cwd: root }, (err, _o, errOut) => (err ? reject(new Error(errOut || err.message)) : resolve())),
    );
    const { readFile } = await import("node:fs/promises");
    const deno = JSON.parse(await readFile(join(dir, "out.json"), "utf8"));
    assert.ok(deno.gpt2.ids.length === inputs.length);
    assert.equal(deno, expected);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("Chromium gives Node's ids and bytes", async () => {
  assert.ok(chromiumAvailable(), "Chromium is required for this test (.ci/run installs Debian's chromium)");
  const server = await serveRepo();
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/package.json`);
    const chromium = await page.evaluate(encodeEverywhere, { distUrl: `${server.url}/dist/tokenizer/index.js`, rankUrls: rankUrls(server.url), inputs });
    assert.ok(chromium.cl100k.ids.length === inputs.length);
    assert.equal(chromium, expected);
  } finally {
    await browser.close();
    await server.close();
  }
});

test.run();
