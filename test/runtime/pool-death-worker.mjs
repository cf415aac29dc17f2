// poolDeath() (pool-death.mjs) in a browser module worker, where the pool's caller
// may block: the page posts { threads, how, fault } and gets the result back.
import { poolDeath } from "./pool-death.mjs";

self.onmessage = async (e) => {
  const { threads, how, fault } = e.data;
  try {
    const workerUrl = new URL(`../helpers/pool-fault-worker.mjs?fault=${encodeURIComponent(fault)}`, import.meta.url);
    self.postMessage(await poolDeath(threads, how, workerUrl));
  } catch (err) {
    self.postMessage({ error: String((err && err.stack) || err) });
  }
};
