// The same training code in headless Chromium gives the bit-identical loss trace
// that Node gives: on the page's thread, and in a module worker with 2 threads.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { chromiumAvailable, launchChromium, serveRepo } from "./helpers/browser.mjs";
import { lossTrace } from "./runtime/loss-trace.mjs";

test("Chromium (page and worker, 1 and 2 threads) = Node, bit for bit", async () => {
  assert.ok(chromiumAvailable(), "Chromium is required for this test (.ci/run installs Debian's chromium)");
  const node = await lossTrace(1, 20);
  const server = await serveRepo();
  const browser = await launchChromium();
  try {
    for (const [where, threads, wantThreads] of [["main", 1, 1], ["worker", 2, 2]]) {
      const page = await browser.newPage();
      const errors = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.goto(`${server.url}/test/runtime/browser.html?where=${where}&threads=${threads}&steps=20`);
      await page.waitForFunction(() => window.result !== undefined, null, { timeout: 120_000 });
      const r = await page.evaluate(() => window.result);
      assert.is(r.error, undefined, `${where}: ${r.error} ${errors.join("\n")}`);
      assert.ok(r.crossOriginIsolated, "the test server sends COOP/COEP");
      assert.is(r.threads, wantThreads, `${where} threads`);
      assert.equal(r.trace, node.trace, `${where} trace`);
      assert.is(r.weightsHash, node.weightsHash);
      await page.close();
    }
  } finally {
    await browser.close();
    await server.close();
  }
});

test.run();
