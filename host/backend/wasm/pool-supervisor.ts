// The thread pool's supervisor: a worker that starts the kernel workers and
// watches them, so that a worker that dies is noticed even while the caller is
// blocked in parallelFor. Only the thread that started a worker hears that it
// died (Node's error/exit events, a web Worker's error event), and it hears it
// on its event loop, which the caller's synchronous wait keeps from running. This
// thread does nothing else, so its event loop is always free: it writes the death
// into the control block (recordDeath), which wakes the caller and fails the job.
//
// Web workers have no exit event. Where navigator.locks exists (Deno, browsers),
// every kernel worker holds a lock for its whole life and the supervisor queues
// for it: the runtime releases a dead worker's locks, so the queued request is
// granted exactly when the worker is gone, however it stopped.
import { isNode, spawnWorker, type SpawnedWorker } from "./spawn-worker.ts";
import { CTRL_GENERATION, CTRL_QUIT, controlViews, recordDeath, workerName, type SuperviseInit, type WorkerInit, type WorkerReply } from "./worker-protocol.ts";

type Locks = { request(name: string, callback: () => unknown): Promise<unknown> };

function webLocks(): Locks | undefined {
  if (isNode()) return undefined; // Node reports every death as an exit event
  return (globalThis as { navigator?: { locks?: Locks } }).navigator?.locks;
}

/** Runs the supervisor role: resolves once every kernel worker is ready, with the function that stops them all. */
export async function supervise(init: SuperviseInit): Promise<() => Promise<void>> {
  const control = controlViews(init.control);
  const url = new URL(init.workerUrl);
  const locks = webLocks();
  const lockPrefix = `jreg-thread-pool-${Math.random().toString(36).slice(2)}-${Date.now()}`;
  const workers: SpawnedWorker[] = [];
  let quitting = false;
  const died = (index: number, how: string) => {
    if (!quitting) recordDeath(control, `${workerName(index, init.workers)} ${how}`);
  };
  try {
    await Promise.all(
      Array.from({ length: init.workers }, async (_, i) => {
        const index = i + 1;
        const worker = await spawnWorker(url);
        workers.push(worker);
        const lifeLock = locks ? `${lockPrefix}-${index}` : undefined;
        await new Promise<void>((resolve, reject) => {
          let ready = false;
          worker.onFailure((how) => (ready ? died(index, how) : reject(new Error(`thread pool worker ${index} ${how}`))));
          worker.onMessage((r: WorkerReply) => {
            if (r.type === "ready") {
              ready = true;
              // Queued behind the worker's own hold: granted once the worker is gone.
              if (lifeLock) void locks!.request(lifeLock, () => died(index, "stopped"));
              resolve();
            } else if (r.type === "error") reject(new Error(`thread pool worker ${index}: ${r.message}`));
          });
          const message: WorkerInit = {
            type: "init",
            module: init.module,
            memory: init.memory,
            control: init.control,
            index,
            workers: init.workers,
            kernels: init.kernels,
            lifeLock,
          };
          worker.postMessage(message);
        });
      }),
    );
  } catch (e) {
    quitting = true;
    await Promise.all(workers.map((w) => w.terminate()));
    throw e;
  }
  return async () => {
    quitting = true;
    const { ctrl } = control;
    Atomics.store(ctrl, CTRL_QUIT, 1);
    Atomics.add(ctrl, CTRL_GENERATION, 1);
    Atomics.notify(ctrl, CTRL_GENERATION);
    await Promise.all(workers.map((w) => w.terminate()));
  };
}
