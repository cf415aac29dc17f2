// Runs the loss trace inside a module worker (see browser.html).
import { lossTrace } from "./loss-trace.mjs";

self.onmessage = async (e) => {
  try {
    self.postMessage(await lossTrace(e.data.threads, e.data.steps));
  } catch (err) {
    self.postMessage({ error: String(err && err.stack || err) });
  }
};
