// Starts a module worker in any runtime (Node worker_threads, or a web Worker in
// Deno and browsers) behind one small interface, and turns every way the runtime
// says a worker has died into one callback with a reason in words. The thread
// pool's caller and its supervisor (pool-supervisor.ts) both start workers this way.

/** A started worker, whichever runtime it runs in. */
export interface SpawnedWorker {
  postMessage(message: unknown): void;
  /** Stops the worker; resolves once the runtime has stopped it (Node) or at once (web). */
  terminate(): Promise<void>;
  /** Every message the worker posts. */
  onMessage(handler: (message: any) => void): void;
  /**
   * Called (at most once) when the runtime reports that the worker died or can no
   * longer talk: an uncaught error, an exit (Node: process.exit, terminate, out of
   * memory), a script that could not load, or a message that could not be read.
   */
  onFailure(handler: (reason: string) => void): void;
  /** Lets the process exit while this worker still runs (a no-op on the web). */
  unref(): void;
}

export function isNode(): boolean {
  const g = globalThis as { Deno?: unknown; process?: { versions?: { node?: string } } };
  return g.Deno === undefined && typeof g.process?.versions?.node === "string";
}

/** The options a Node ERR_WORKER_INVALID_EXEC_ARGV names ("… invalid execArgv flags: A, B"), else undefined. */
function invalidExecArgv(e: unknown): Set<string> | undefined {
  const { code, message } = (e ?? {}) as { code?: string; message?: string };
  if (code !== "ERR_WORKER_INVALID_EXEC_ARGV" || typeof message !== "string") return undefined;
  const list = message.slice(message.lastIndexOf(": ") + 2);
  return new Set(list.split(", ").filter((arg) => arg !== ""));
}

export async function spawnWorker(url: URL): Promise<SpawnedWorker> {
  let failed: ((reason: string) => void) | undefined;
  let reported = false;
  const fail = (reason: string) => {
    if (reported) return;
    reported = true;
    failed?.(reason);
  };
  if (isNode()) {
    const { Worker } = await import("node:worker_threads");
    // Workers inherit the parent's CLI options; --input-type (from `node -e`) would
    // make the worker's file entry fail to load.
    let execArgv = process.execArgv.filter((arg) => !arg.startsWith("--input-type"));
    let worker: InstanceType<typeof Worker>;
    try {
      worker = new Worker(url, { execArgv });
    } catch (e) {
      // Node refuses V8's flags in a worker's execArgv (--max-old-space-size,
      // --experimental-wasm-relaxed-simd, …) and names them; V8's flags are
      // process-wide, so the worker has them anyway: start it without them.
      const refused = invalidExecArgv(e);
      if (refused === undefined) throw e;
      execArgv = execArgv.filter((arg) => !refused.has(arg));
      worker = new Worker(url, { execArgv });
    }
    // An uncaught error comes first with its message, then the exit.
    worker.on("error", (e: Error & { code?: string }) =>
      // Node stops a worker whose heap is full (its near-heap-limit handler) and says so in the code.
      fail(e.code === "ERR_WORKER_OUT_OF_MEMORY" ? `ran out of memory (${e.code}: ${e.message})` : `failed: ${e.message}`),
    );
    worker.on("exit", (code: number) => fail(`exited (code ${code})`));
    worker.on("messageerror", (e: Error) => fail(`sent a message that could not be read: ${e.message}`));
    return {
      postMessage: (m) => worker.postMessage(m),
      terminate: async () => {
        await worker.terminate();
      },
      onMessage: (h) => worker.on("message", h),
      onFailure: (h) => (failed = h),
      unref: () => worker.unref(),
    };
  }
  const worker = new Worker(url, { type: "module" });
  worker.onerror = (e: ErrorEvent) => {
    e.preventDefault?.();
    // A module that fails to load raises a plain Event without a message.
    fail(`failed: ${e.message || `the script could not be loaded (${url})`}`);
  };
  worker.onmessageerror = () => fail("sent a message that could not be read");
  return {
    postMessage: (m) => worker.postMessage(m),
    terminate: async () => worker.terminate(),
    onMessage: (h) => (worker.onmessage = (e: MessageEvent) => h(e.data)),
    onFailure: (h) => (failed = h),
    unref: () => {},
  };
}
