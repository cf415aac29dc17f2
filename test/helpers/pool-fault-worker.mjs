// The thread-pool worker script with test/helpers/pool-fault.mjs loaded first
// (pass its URL as workerUrl). Used where no preload flag reaches workers (Deno).
import "./pool-fault.mjs";
import "../../dist/backend/wasm/worker.js";
