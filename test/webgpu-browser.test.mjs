// The WebGPU backend in headless Chromium (navigator.gpu on its SwiftShader
// adapter, --enable-unsafe-webgpu): a short training loss trace agrees with Node's
// wasm backend within 1e-4. SwiftShader is slow, so the trace is short.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { chromiumAvailable, launchChromium, serveRepo } from "./helpers/browser.mjs";
import { backendTrace } from "./runtime/webgpu-trace.mjs";

const STEPS = 5;

test("Chromium WebGPU (SwiftShader) training trace = Node wasm within 1e-4", async () => {
  if (!chromiumAvailable()) {
    if (process.env.CI === "true") assert.unreachable("Chromium is required in CI (.ci/run installs Debian's chromium)");
    console.log("SKIPPED webgpu-browser: no Chromium at /usr/bin/chromium");
    return;
  }
  const wasm = await backendTrace("wasm", STEPS);
  const server = await serveRepo();
  const browser = await launchChromium(["--enable-unsafe-webgpu", "--use-webgpu-adapter=swiftshader", "--enable-features=Vulkan"]);
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${server.url}/test/runtime/webgpu-browser.html?steps=${STEPS}`);
    await page.waitForFunction(() => window.result !== undefined, null, { timeout: 240_000 });
    const r = await page.evaluate(() => window.result);
    if (r.error && /no WebGPU adapter/.test(r.error) && process.env.CI !== "true") {
      console.log(`SKIPPED webgpu-browser: ${r.error.split("\n")[0]}`);
      return;
    }
    assert.is(r.error, undefined, `${r.error} ${errors.join("\n")}`);
    assert.is(r.backend, "webgpu");
    console.log(`  Chromium adapter: ${r.device}`);
    r.trace.forEach((loss, i) => assert.ok(Math.abs(loss - wasm.trace[i]) <= 1e-4 * Math.abs(wasm.trace[i]), `step ${i}: ${loss} vs ${wasm.trace[i]}`));
  } finally {
    await browser.close();
    await server.close();
  }
});

test.run();
