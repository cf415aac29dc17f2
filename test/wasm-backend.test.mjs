// The wasm backend's own rules (host/backend/backend.ts): capabilities, aligned
// views, free(), attention state linear in t, and the attention backward split
// over threads (one scratch region per task) giving the single-thread bits.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { WasmBackend } from "../dist/internal.js";
import { rng } from "./helpers/engine.mjs";

const bits = (x) => Array.from(new Uint32Array(Float32Array.from(x).buffer));

test("capabilities, 256-byte view alignment, and free() of allocations only", async () => {
  const be = await WasmBackend.create({ threads: 1, maxBindingBytes: 1 << 20 });
  assert.is(be.capabilities.viewAlignment, 256);
  assert.is(be.capabilities.maxBindingBytes, 1 << 20);
  assert.is(be.capabilities.f16, false);
  assert.match(be.capabilities.device, /CPU/);
  const t = be.alloc(1000, "f32", "t");
  const v = be.view(t, 64, 100, "v");
  assert.throws(() => be.view(t, 10, 10, "odd"), /not a multiple of 256 bytes/);
  assert.throws(() => be.free(v), /a view cannot be freed/);
  be.free(t);
  assert.throws(() => be.free(t), /not a live allocation/);
  let error;
  await WasmBackend.create({ maxBindingBytes: 5 }).catch((e) => (error = e));
  assert.match(error?.message ?? "", /maxBindingBytes must be an integer/);
  await be.dispose();
});

test("read captures the tensor when it is called, not when it is awaited", async () => {
  const be = await WasmBackend.create({ threads: 1 });
  const t = be.alloc(4, "f32", "t");
  be.write(t, Float32Array.of(1, 2, 3, 4));
  const first = be.read(t);
  be.fill(t, 9);
  assert.equal(Array.from(await first), [1, 2, 3, 4]);
  assert.equal(Array.from(await be.read(t)), [9, 9, 9, 9]);
  await be.dispose();
});

test("attention through the backend: state is one value per query row; 1, 2 and 3 threads give the same bits (uneven unit splits)", async () => {
  const shapes = [
    { b: 3, t: 37, heads: 2, kvHeads: 1, hd: 8 }, // 3 units over 2 tasks
    { b: 1, t: 64, heads: 6, kvHeads: 3, hd: 12 },
    { b: 5, t: 20, heads: 4, kvHeads: 4, hd: 16 },
  ];
  const results = [];
  for (const threads of [1, 2, 3]) {
    const be = await WasmBackend.create({ threads });
    const out = [];
    for (const { b, t, heads, kvHeads, hd } of shapes) {
      assert.is(be.attentionStateLength(b, t, heads, kvHeads, hd), b * heads * t);
      const r = rng(5);
      const nq = b * t * heads * hd, nk = b * t * kvHeads * hd;
      const f = (n, label, data) => {
        const x = be.alloc(n, "f32", label);
        if (data) be.write(x, data);
        else be.fill(x, 0);
        return x;
      };
      const q = f(nq, "q", r.array(nq)), k = f(nk, "k", r.array(nk)), v = f(nk, "v", r.array(nk)), dout = f(nq, "dout", r.array(nq));
      const o = f(nq, "out"), state = f(be.attentionStateLength(b, t, heads, kvHeads, hd), "lse");
      const dq = f(nq, "dq"), dk = f(nk, "dk"), dv = f(nk, "dv");
      be.attentionForward(o, state, q, k, v, b, t, heads, kvHeads, hd);
      be.attentionBackward(dq, dk, dv, dout, o, state, q, k, v, b, t, heads, kvHeads, hd);
      for (const x of [o, state, dq, dk, dv]) out.push(bits(await be.read(x)));
      for (const x of [q, k, v, dout, o, state, dq, dk, dv]) be.free(x);
    }
    results.push({ threads: be.threads, out });
    await be.dispose();
  }
  assert.equal(results.map((r) => r.threads), [1, 2, 3]);
  assert.equal(results[1].out, results[0].out, "2 threads");
  assert.equal(results[2].out, results[0].out, "3 threads");
  assert.ok(results[0].out[2].some((x) => x !== 0), "dq is not zero");
});

test.run();
