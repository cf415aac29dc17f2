import { test } from "uvu";
import * as assert from "uvu/assert";
import { instantiateEngine, Arena } from "../dist/internal.js";

test("plain build instantiates and the arena grows on demand", async () => {
  const engine = await instantiateEngine({ shared: false });
  const arena = new Arena(engine);
  const before = engine.memory.buffer.byteLength;
  const off = arena.alloc(before * 2);
  assert.ok(off >= engine.exports.heapBase());
  assert.ok(engine.memory.buffer.byteLength >= off + before * 2);
  assert.throws(() => arena.alloc(-1), /invalid allocation size/);
});

test("threaded build imports a shared memory", async () => {
  const engine = await instantiateEngine({ shared: true });
  assert.is(engine.memory.buffer.constructor.name, "SharedArrayBuffer");
});

test.run();
