// A dying thread-pool worker in headless Chromium: the engine runs in a module
// worker with 2 threads (test/runtime/pool-death.html), and its kernel worker
// throws in its job loop outside any kernel, or is terminated by its supervisor
// while it holds a chunk, in parallelFor and mid training step (test/helpers/
// pool-fault.mjs, set through the worker URL). Web workers have no exit event:
// the supervisor learns of the death from the worker's Web Lock (or the worker's
// own record). Each time the page's call rejects with the pool's clear Error, a
// later call fails at once, dispose() resolves — all within a bound, so a hang
// fails the test. A worker that calls self.close() while it holds a chunk is not
// dead (Chromium closes it when its task ends, and the job loop never ends): the
// pool goes on working and dispose() still stops it.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { chromiumAvailable, launchChromium, serveRepo } from "./helpers/browser.mjs";
import { assertFailsClearly } from "./helpers/pool-death.mjs";

const PAGE_BOUND_MS = 60_000;

test("Chromium: a kernel worker that throws outside a kernel or is terminated while it holds a chunk fails the call; one that closes itself goes on", async () => {
  assert.ok(chromiumAvailable(), "Chromium is required for this test (.ci/run installs Debian's chromium)");
  const server = await serveRepo();
  const browser = await launchChromium();
  try {
    const cases = [
      ["throw:_:5", "pool", "worker 1 of 1 failed outside a kernel: injected fault in the job loop"],
      ["terminate:_:5", "pool", "worker 1 of 1 stopped"],
      ["terminate:_:40", "train", "worker 1 of 1 stopped"],
      // close() takes effect when the worker's current task ends, and a kernel
      // worker's task (its job loop) never ends: it is not dead, and goes on serving.
      ["close:_:5", "pool", null],
    ];
    for (const [fault, how, reason] of cases) {
      const label = `chromium ${fault} ${how}`;
      const page = await browser.newPage();
      const errors = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.goto(`${server.url}/test/runtime/pool-death.html?threads=2&how=${how}&fault=${encodeURIComponent(fault)}`);
      await page.waitForFunction(() => window.result !== undefined, null, { timeout: PAGE_BOUND_MS });
      const r = await page.evaluate(() => window.result);
      assert.is(r.error, undefined, `${label}: ${r.error} ${errors.join("\n")}`);
      assert.is(r.threads, 2, `${label}: the pool has its worker`);
      if (reason !== null) assertFailsClearly(r, reason, label);
      else {
        assert.is(r.first, undefined, `${label}: every call succeeds`);
        assert.is(r.calls, 2000, label);
        assert.is(r.disposed, true);
      }
      await page.close();
    }
  } finally {
    await browser.close();
    await server.close();
  }
});

test.run();
