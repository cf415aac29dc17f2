// The same seed and config give a bit-identical 20-step loss trace in Node and
// in Deno, on one thread and on two (test/runtime/loss-trace.mjs).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const script = "test/runtime/loss-trace.mjs";
const run = (cmd, args) => JSON.parse(execFileSync(cmd, args, { cwd: root, encoding: "utf8", timeout: 120_000 }));
const deno = `${root}node_modules/.bin/deno`;

test("20-step loss trace: Node 1 thread = Node 2 threads = Deno 2 threads (fixed-size memory) = Deno 1 thread, bit for bit", () => {
  const node1 = run(process.execPath, [script, "1", "20"]);
  const node2 = run(process.execPath, [script, "2", "20"]);
  const deno2 = run(deno, ["run", "-A", "--quiet", script, "2", "20"]);
  const deno1 = run(deno, ["run", "-A", "--quiet", script, "1", "20"]);
  assert.is(node1.threads, 1);
  assert.is(node2.threads, 2);
  assert.is(deno2.threads, 2);
  // Deno (no wasm trap handler) runs the threaded engine on a fixed 4 GiB memory, Node on a growable one
  assert.is(deno2.fixedMemory, 65536);
  assert.is(node2.fixedMemory, 0);
  assert.is(deno1.fixedMemory, 0);
  assert.is(node1.trace.length, 20);
  // training actually progressed (the trace is not constant)
  assert.ok(node1.trace[19].loss < node1.trace[0].loss - 0.5, "loss should fall over 20 steps");
  for (const other of [node2, deno2, deno1]) {
    assert.equal(other.trace, node1.trace);
    assert.is(other.weightsHash, node1.weightsHash);
  }
});

test.run();
