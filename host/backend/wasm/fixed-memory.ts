// A fixed-size shared memory for the threaded engine where V8 checks bounds in
// software.
//
// Without V8's WebAssembly trap handler (Deno does not enable it:
// denoland/deno#35658) every load and store compares its index with the memory's
// size. For a memory that is shared AND can grow, V8's optimizing compiler does not
// keep that size in a register: it reloads it from the instance at every access
// (Turboshaft's InstanceCache caches it only when the memory is not shared or
// cannot grow), so each v128 load costs two loads, and the micro-kernel's depth
// loop becomes too large (in V8's operation count) for V8 to unroll it. A module
// whose memory import declares initial = maximum pages cannot grow, and V8 then
// caches the size. The threaded build declares (memory 1 65536 shared); this
// rewrites that declaration to (memory N N shared) before compiling, so the same
// build serves both. The kernels and their bits are unchanged: only how V8 checks
// the bounds differs.
//
// The price is that all N pages are committed at once (the operating system backs
// a page only when it is touched, so resident memory does not change), and a
// memory that cannot grow must be large enough from the start: the engine asks for
// the wasm32 maximum, 4 GiB, and falls back to the growable memory if the runtime
// refuses that allocation (engine-module.ts).

/** Thrown for bytes that are not a module with one shared memory import. */
export class FixedMemoryError extends Error {
  override name = "FixedMemoryError";
}

/** Reads an unsigned LEB128 at `pos`; returns [value, position after it]. */
function readU32(bytes: Uint8Array, pos: number): [number, number] {
  let value = 0;
  for (let shift = 0; shift < 35; shift += 7) {
    if (pos >= bytes.length) throw new FixedMemoryError("wasm module truncated inside a LEB128 number");
    const b = bytes[pos++]!;
    value += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) return [value, pos];
  }
  throw new FixedMemoryError("wasm module has an over-long LEB128 number");
}

function writeU32(value: number): number[] {
  const out: number[] = [];
  do {
    let b = value & 0x7f;
    value = Math.floor(value / 128);
    if (value !== 0) b |= 0x80;
    out.push(b);
  } while (value !== 0);
  return out;
}

const IMPORT_SECTION = 2;
const KIND_FUNC = 0;
const KIND_MEMORY = 2;
/** limits flags: bit 0 = has maximum, bit 1 = shared, bit 2 = 64-bit addresses */
const HAS_MAX = 1;
const SHARED = 2;
const MEMORY64 = 4;

/**
 * Returns a copy of `bytes` (a wasm module) whose shared memory import declares
 * `pages` as both its initial and maximum size. The module must import exactly one
 * 32-bit shared memory, and besides it only functions (as the engine's threaded
 * builds do); anything else is refused with a FixedMemoryError.
 */
export function withFixedMemoryImport(bytes: Uint8Array, pages: number): Uint8Array {
  if (!Number.isInteger(pages) || pages < 1 || pages > 65536) throw new FixedMemoryError(`pages must be an integer in [1, 65536], got ${pages}`);
  const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  if (bytes.length < 8 || header.some((b, i) => bytes[i] !== b)) throw new FixedMemoryError("not a wasm module (version 1)");
  let pos = 8;
  while (pos < bytes.length) {
    const id = bytes[pos]!;
    const [size, payload] = readU32(bytes, pos + 1);
    const end = payload + size;
    if (end > bytes.length) throw new FixedMemoryError("wasm module truncated inside a section");
    if (id !== IMPORT_SECTION) {
      pos = end;
      continue;
    }
    let [count, p] = readU32(bytes, payload);
    let found: { limitsAt: number; limitsEnd: number } | undefined;
    for (let i = 0; i < count; i++) {
      for (let name = 0; name < 2; name++) {
        const [len, q] = readU32(bytes, p);
        p = q + len;
      }
      const kind = bytes[p++];
      if (kind === KIND_FUNC) {
        p = readU32(bytes, p)[1];
      } else if (kind === KIND_MEMORY) {
        const limitsAt = p;
        const flags = bytes[p++]!;
        if (flags !== (HAS_MAX | SHARED) || flags & MEMORY64) throw new FixedMemoryError(`the memory import is not a 32-bit shared memory with a maximum (limits flags ${flags})`);
        p = readU32(bytes, p)[1];
        p = readU32(bytes, p)[1];
        if (found) throw new FixedMemoryError("the module imports more than one memory");
        found = { limitsAt, limitsEnd: p };
      } else {
        throw new FixedMemoryError(`unexpected import kind ${kind} (only functions and one memory are handled)`);
      }
      if (p > end) throw new FixedMemoryError("an import runs past the import section");
    }
    if (!found) throw new FixedMemoryError("the module imports no memory");
    const limits = [HAS_MAX | SHARED, ...writeU32(pages), ...writeU32(pages)];
    const newPayload = [
      ...bytes.subarray(payload, found.limitsAt),
      ...limits,
      ...bytes.subarray(found.limitsEnd, end),
    ];
    const out = new Uint8Array(pos + 1 + writeU32(newPayload.length).length + newPayload.length + (bytes.length - end));
    out.set(bytes.subarray(0, pos + 1), 0);
    let o = pos + 1;
    for (const b of writeU32(newPayload.length)) out[o++] = b;
    out.set(newPayload, o);
    out.set(bytes.subarray(end), o + newPayload.length);
    return out;
  }
  throw new FixedMemoryError("the module has no import section");
}

/**
 * True where the threaded engine should use a fixed-size memory: in Deno, whose V8
 * runs without the trap handler. Node and Chromium (64-bit) enable it, so there the
 * memory's size is never checked in the hot loops and a growable memory costs nothing.
 */
export function preferFixedSharedMemory(): boolean {
  return typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
}
