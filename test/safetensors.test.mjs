import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseSafetensors, serializeSafetensors, SafetensorsError } from "../dist/index.js";

const enc = new TextEncoder();

/** A safetensors file from header text and data bytes; headerLen overrides the length field. */
function raw(header, data = new Uint8Array(0), headerLen) {
  const h = typeof header === "string" ? enc.encode(header) : header;
  const out = new Uint8Array(8 + h.length + data.length);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerLen ?? h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}
const file = (obj, dataBytes) => raw(JSON.stringify(obj), new Uint8Array(dataBytes));
const f32 = (name, shape, begin, end) => ({ [name]: { dtype: "F32", shape, data_offsets: [begin, end] } });

function rejects(bytes, pattern, source = "weights.safetensors") {
  try {
    parseSafetensors(bytes, { source });
  } catch (e) {
    assert.instance(e, SafetensorsError, `expected SafetensorsError, got ${e}`);
    assert.ok(e.message.startsWith(`${source}: `), `message names the source: ${e.message}`);
    assert.match(e.message, pattern);
    return e.message;
  }
  assert.unreachable(`expected SafetensorsError matching ${pattern}`);
}

test("files shorter than the 8-byte length field", () => {
  for (const n of [0, 1, 7]) rejects(new Uint8Array(n), new RegExp(`file is ${n} bytes, shorter than the 8-byte header length`));
});

test("header length past the end of the file", () => {
  rejects(raw("{}", new Uint8Array(0), 3), /header length 3 bytes runs past the end of the file \(10 bytes/);
  rejects(raw("{}", new Uint8Array(0), 2n ** 64n - 1n), /header length 18446744073709552000 bytes runs past the end/);
});

test("a header claiming 1e15 bytes is rejected before anything is decoded or allocated", () => {
  const RealDecoder = globalThis.TextDecoder;
  let decodes = 0;
  globalThis.TextDecoder = class extends RealDecoder {
    decode(...args) {
      decodes++;
      return super.decode(...args);
    }
  };
  try {
    rejects(raw('{"a": 1}', new Uint8Array(16), 1e15), /header length 1000000000000000 bytes runs past the end of the file \(32 bytes/);
  } finally {
    globalThis.TextDecoder = RealDecoder;
  }
  assert.is(decodes, 0, "the header must not be decoded");
});

test("header not UTF-8, not JSON, not an object", () => {
  rejects(raw(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])), /header is not valid UTF-8/);
  rejects(raw("{abc"), /header is not valid JSON/);
  rejects(raw("[1, 2]"), /header must be a JSON object, got an array/);
  rejects(raw("null"), /header must be a JSON object, got null/);
  rejects(raw('"x"'), /header must be a JSON object, got "x"/);
  rejects(raw("0"), /too short to hold a JSON object/);
});

test("__metadata__ must map strings to strings", () => {
  rejects(file({ __metadata__: { format: 1 } }, []), /__metadata__\.format must be a string, got 1/);
  rejects(file({ __metadata__: "pt" }, []), /__metadata__ must be an object of strings/);
  rejects(file({ __metadata__: ["pt"] }, []), /__metadata__ must be an object of strings/);
  assert.is(parseSafetensors(file({ __metadata__: { format: "pt" } }, [])).size, 0);
});

test("unknown and unsupported dtypes", () => {
  rejects(file({ w: { dtype: "F33", shape: [1], data_offsets: [0, 4] } }, [0, 0, 0, 0]), /tensor "w": unknown dtype "F33"/);
  rejects(file({ w: { shape: [1], data_offsets: [0, 4] } }, [0, 0, 0, 0]), /tensor "w": unknown dtype missing/);
  rejects(file({ w: { dtype: "I64", shape: [1], data_offsets: [0, 8] } }, new Array(8).fill(0)), /tensor "w": dtype I64 is not supported; only F32, F16, BF16 can be read/);
  rejects(file({ w: { dtype: "F64", shape: [1], data_offsets: [0, 8] } }, new Array(8).fill(0)), /dtype F64 is not supported/);
});

test("shape must be non-negative integers", () => {
  for (const shape of [[-1], [1.5], "4", [2, "2"], null, [NaN]]) {
    rejects(file({ w: { dtype: "F32", shape, data_offsets: [0, 4] } }, [0, 0, 0, 0]), /tensor "w": shape must be an array of non-negative integers/);
  }
  rejects(file({ w: "x" }, []), /tensor "w": entry must be an object/);
});

test("data_offsets must be [begin, end] integers within the data section", () => {
  for (const off of [[0], [0, 4, 8], ["0", 4], [-4, 0], [0, 4.5], null]) {
    rejects(file({ w: { dtype: "F32", shape: [1], data_offsets: off } }, [0, 0, 0, 0]), /tensor "w": data_offsets must be \[begin, end\] non-negative integers/);
  }
  rejects(file(f32("w", [1], 8, 4), [0, 0, 0, 0]), /data_offsets \[8, 4\] has begin after end/);
  rejects(file(f32("w", [4], 0, 16), [0, 0, 0, 0, 0, 0, 0, 0]), /tensor "w": data_offsets \[0, 16\] out of range; the data section is 8 bytes/);
});

test("byte span must equal numel * dtype size", () => {
  rejects(file(f32("w", [2], 0, 4), [0, 0, 0, 0]), /tensor "w": data_offsets span 4 bytes but shape \[2\] of F32 needs 8 bytes/);
  rejects(file({ w: { dtype: "F16", shape: [2, 2], data_offsets: [0, 4] } }, [0, 0, 0, 0]), /span 4 bytes but shape \[2, 2\] of F16 needs 8 bytes/);
  // A shape whose element count overflows float64 precision must not wrap around.
  rejects(file(f32("w", [2 ** 40, 2 ** 40, 2 ** 40], 0, 4), [0, 0, 0, 0]), /needs more than the file holds/);
});

test("overlapping tensors, holes, uncovered trailing bytes", () => {
  const twelve = new Array(12).fill(0);
  const overlap = rejects(file({ ...f32("a", [2], 0, 8), ...f32("b", [2], 4, 12) }, twelve), /overlaps/);
  assert.match(overlap, /tensor "b" \[4, 12\] overlaps tensor "a" \[0, 8\]/);
  rejects(file({ ...f32("a", [1], 0, 4), ...f32("b", [1], 8, 12) }, twelve), /hole in the data section: bytes \[4, 8\) before tensor "b"/);
  rejects(file({ ...f32("a", [1], 4, 8), ...f32("b", [1], 8, 12) }, twelve), /hole in the data section: bytes \[0, 4\) before tensor "a"/);
  rejects(file(f32("a", [2], 0, 8), twelve), /data section is 12 bytes but the tensors cover only 8/);
  rejects(file({}, [1, 2, 3, 4]), /data section is 4 bytes but the tensors cover only 0/);
  // The same span twice is an overlap too.
  rejects(file({ ...f32("a", [1], 0, 4), ...f32("b", [1], 0, 4) }, [0, 0, 0, 0]), /overlaps/);
});

test("duplicate tensor names are rejected (JSON.parse would keep only the last)", () => {
  const header = '{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "w" : {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}';
  rejects(raw(header, new Uint8Array(8)), /duplicate tensor name "w"/);
  // Escaped spellings of the same name are the same key.
  const escaped = '{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "\\u0077": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}';
  rejects(raw(escaped, new Uint8Array(8)), /duplicate tensor name "w"/);
  // Nested keys named like tensors are not duplicates.
  const nested = '{"__metadata__": {"w": "x", "a": "y"}, "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}';
  assert.is(parseSafetensors(raw(nested, new Uint8Array(4))).size, 1);
});

test("default source name appears in messages", () => {
  try {
    parseSafetensors(new Uint8Array(3));
    assert.unreachable();
  } catch (e) {
    assert.match(e.message, /^safetensors data: file is 3 bytes/);
  }
});

/** Independent reference: the value of an IEEE half (5-bit exponent, 10-bit mantissa). */
function halfValue(h) {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  if (exp === 0) return sign * mant * 2 ** -24;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
/** Independent reference: the value of a bfloat16 (8-bit exponent, 7-bit mantissa). */
function bf16Value(h) {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 7) & 0xff;
  const mant = h & 0x7f;
  if (exp === 0xff) return mant === 0 ? sign * Infinity : NaN;
  if (exp === 0) return sign * mant * 2 ** -133;
  return sign * (1 + mant / 128) * 2 ** (exp - 127);
}

function allHalves(dtype) {
  const data = new Uint8Array(65536 * 2);
  const view = new DataView(data.buffer);
  for (let h = 0; h < 65536; h++) view.setUint16(2 * h, h, true);
  return parseSafetensors(file({ x: { dtype, shape: [256, 256], data_offsets: [0, data.length] } }, data)).get("x");
}

function checkAll(t, reference, name) {
  assert.equal(t.shape, [256, 256]);
  assert.instance(t.data, Float32Array);
  let checked = 0;
  for (let h = 0; h < 65536; h++) {
    const want = reference(h);
    const got = t.data[h];
    if (Number.isNaN(want)) assert.ok(Number.isNaN(got), `${name} ${h.toString(16)} should be NaN`);
    else if (got !== want || Object.is(got, -0) !== Object.is(want, -0)) assert.unreachable(`${name} 0x${h.toString(16)}: got ${got}, want ${want}`);
    checked++;
  }
  assert.is(checked, 65536);
}

test("F16 -> f32 is exact for all 65536 values (subnormals, ±0, ±inf, NaN)", () => {
  const t = allHalves("F16");
  assert.is(t.dtype, "F16");
  checkAll(t, halfValue, "F16");
  assert.is(t.data[0x0001], 2 ** -24, "smallest subnormal");
  assert.is(t.data[0x03ff], 1023 * 2 ** -24, "largest subnormal");
  assert.is(t.data[0x7bff], 65504, "largest finite");
  assert.is(t.data[0x7c00], Infinity);
  assert.is(t.data[0xfc00], -Infinity);
  assert.ok(Object.is(t.data[0x8000], -0));
  // NaN payload: the quiet bit survives widening.
  const bits = new Uint32Array(t.data.buffer);
  assert.is(bits[0x7e00], 0x7fc00000);
});

test("BF16 -> f32 is exact for all 65536 values", () => {
  const t = allHalves("BF16");
  assert.is(t.dtype, "BF16");
  checkAll(t, bf16Value, "BF16");
  assert.is(t.data[0x3f80], 1);
  assert.is(t.data[0x0001], 2 ** -133);
});

test("F32 data at an unaligned byte offset and inside a larger buffer", () => {
  const values = new Float32Array([1.5, -2.25, 3e-40, -0]);
  const bytes = serializeSafetensors([{ name: "v", shape: [2, 2], data: values }]);
  const big = new Uint8Array(bytes.length + 3);
  big.set(bytes, 1);
  const t = parseSafetensors(big.subarray(1, 1 + bytes.length)).get("v");
  assert.equal(Array.from(t.data), Array.from(values));
  assert.ok(Object.is(t.data[3], -0));
});

test("a Node Buffer (possibly from the shared pool) parses to independent, correctly sized arrays", async () => {
  const { Buffer } = await import("node:buffer");
  const bytes = serializeSafetensors([
    { name: "a", shape: [3], data: new Float32Array([1, 2, 3]) },
    { name: "b", shape: [2], data: new Float32Array([4, 5]) },
  ]);
  // Buffer.from(string) of a small payload lives in Node's shared 8 KiB pool.
  const pooled = Buffer.from(Buffer.from(bytes).toString("latin1"), "latin1");
  assert.ok(pooled.buffer.byteLength > pooled.length, "the buffer is a view into a larger pool");
  const t = parseSafetensors(pooled);
  assert.equal(Array.from(t.get("a").data), [1, 2, 3]);
  assert.equal(Array.from(t.get("b").data), [4, 5]);
  assert.is(t.get("a").data.buffer.byteLength, 12, "data owns its own buffer");
});

test("serialize -> parse round trip: names sorted, 8-byte aligned data, metadata, bit-exact values", () => {
  const rng = (() => {
    let s = 12345;
    return () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  })();
  const tensors = [
    { name: "zeta", shape: [3, 5], data: Float32Array.from({ length: 15 }, rng) },
    { name: "alpha", shape: [7], data: Float32Array.from({ length: 7 }, rng) },
    { name: "empty", shape: [0, 4], data: new Float32Array(0) },
    { name: "scalar", shape: [], data: new Float32Array([42]) },
    { name: "special", shape: [4], data: new Float32Array([NaN, Infinity, -Infinity, 1e-45]) },
  ];
  const bytes = serializeSafetensors(tensors, { format: "pt", note: "ünïcode" });
  const headerLen = new DataView(bytes.buffer).getUint32(0, true);
  assert.is(headerLen % 8, 0, "data section starts 8-byte aligned");
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
  assert.equal(header.__metadata__, { format: "pt", note: "ünïcode" });
  const names = Object.keys(header).filter((k) => k !== "__metadata__");
  assert.equal(names, ["alpha", "empty", "scalar", "special", "zeta"]);
  assert.equal(header.alpha.data_offsets, [0, 28]);
  for (const n of names) assert.is(header[n].dtype, "F32");

  const back = parseSafetensors(bytes);
  assert.is(back.size, tensors.length);
  for (const t of tensors) {
    const got = back.get(t.name);
    assert.equal(got.shape, t.shape);
    assert.is(got.dtype, "F32");
    assert.equal(Array.from(new Uint32Array(got.data.buffer, got.data.byteOffset, got.data.length)), Array.from(new Uint32Array(t.data.buffer)));
  }
  // The parsed data does not alias the file bytes.
  back.get("alpha").data[0] = 99;
  assert.is.not(parseSafetensors(bytes).get("alpha").data[0], 99);
});

test("serialize rejects inconsistent input", () => {
  assert.throws(() => serializeSafetensors([{ name: "a", shape: [3], data: new Float32Array(2) }]), /tensor "a": shape \[3\] needs 3 f32 values, got 2/);
  assert.throws(
    () => serializeSafetensors([{ name: "a", shape: [1], data: new Float32Array(1) }, { name: "a", shape: [1], data: new Float32Array(1) }]),
    /"a" is reserved or used twice/,
  );
  assert.throws(() => serializeSafetensors([{ name: "__metadata__", shape: [1], data: new Float32Array(1) }]), /reserved/);
  assert.throws(() => serializeSafetensors([{ name: "a", shape: [-1], data: new Float32Array(0) }]), /shape must be non-negative integers/);
  assert.throws(() => serializeSafetensors([], { k: 3 }), /metadata "k" must be a string/);
  assert.is(parseSafetensors(serializeSafetensors([])).size, 0);
});

test.run();
