/// <reference types="@webgpu/types" />
// The WebGPU backend: every op is one or a few compute dispatches of the WGSL in
// shaders/, on tensors that are GPUBuffers (a view is a buffer plus a 256-byte
// aligned offset). Ops only encode work: dispatches accumulate in one command
// encoder (one compute pass while no copy intervenes) and are submitted when a
// `write` or `read` needs the queue, or every MAX_DISPATCHES_PER_SUBMIT dispatches.
// `read` encodes its copy at call time and resolves after mapAsync, so work
// enqueued after it does not delay it.
//
// Per-dispatch parameters go into slots of one uniform "ring" buffer, uploaded
// with queue.writeBuffer just before the submit that uses them (queue order makes
// reuse across submits safe).
//
// WebGPU forbids binding one GPUBuffer both read-only and writable in a dispatch,
// even through disjoint ranges. Views of one arena often meet in one op
// (matmul(out, x) on the activation arena), so such a dispatch uses a variant of
// the shader module whose read-only storage bindings are declared read_write
// (disjoint writable ranges of one buffer are allowed).
import type {
  AdamWHyper,
  Backend,
  BackendCapabilities,
  DistanceKind,
  DType,
  JregScalarsSpec,
  MatmulLayout,
  MatmulOperands,
  StepControlSpec,
  Tensor,
} from "../backend.ts";
import { resolveMatmulOperands, type StoredMatrix } from "../matmul-operands.ts";
import { describeAdapter, requestAdapter } from "./adapter.ts";
import { SHADERS, type ShaderName } from "./shader-sources.ts";

const VIEW_ALIGNMENT = 256;
const MAX_WORKGROUPS_PER_DIMENSION = 65535;
const MAX_DISPATCHES_PER_SUBMIT = 1024;
const RING_BYTES = 1 << 20;
const PARAM_SLOT_BYTES = 256;
/** StepParams in shaders/step.wgsl: 4 words + two arrays of 64 vec4 */
const STEP_PARAM_BYTES = 16 + 2 * 64 * 16;
const MAX_JREG_LAYERS = 256;
/** shaders/attention.wgsl MAX_HEAD_DIM */
const MAX_HEAD_DIM = 128;
/** workgroup sizes of the 1-D kernels (WORKGROUP_SIZE in the shaders) */
const WG = 256;
const REDUCE_ITEMS_PER_WORKGROUP = 1024;
const RMSNORM_ROWS_PER_PARTIAL = 64;
const ATTENTION_BLOCK_ROWS = 64;
const MATMUL_TILE = 64;

/** The device was lost or reported an error; the message names the cause. */
export class WebGpuDeviceError extends Error {
  override name = "WebGpuDeviceError";
}

interface Allocation {
  buffer: GPUBuffer;
  bytes: number;
  label: string;
  freed: boolean;
}

export class GpuTensor implements Tensor {
  constructor(
    readonly allocation: Allocation,
    /** bytes from the buffer's start, a multiple of VIEW_ALIGNMENT */
    readonly byteOffset: number,
    readonly length: number,
    readonly dtype: DType,
    readonly label: string,
    readonly isView: boolean,
  ) {}
  get buffer(): GPUBuffer {
    return this.allocation.buffer;
  }
}

type Access = "r" | "rw";
/** A binding number and the byte range of a buffer bound there. */
interface Bind {
  binding: number;
  tensor: GpuTensor;
  access: Access;
  /** byte range inside the tensor; whole tensor by default */
  start?: number;
  bytes?: number;
}

const bind = (binding: number, tensor: Tensor, access: Access, start?: number, bytes?: number): Bind => ({
  binding,
  tensor: tensor as GpuTensor,
  access,
  start,
  bytes,
});

/** Little-endian parameter words: "u" u32, "f" f32. */
function paramWords(types: string, values: number[]): ArrayBuffer {
  const buf = new ArrayBuffer(Math.max(16, Math.ceil((types.length * 4) / 16) * 16));
  const view = new DataView(buf);
  for (let i = 0; i < types.length; i++) {
    if (types[i] === "u") view.setUint32(i * 4, values[i] >>> 0, true);
    else view.setFloat32(i * 4, values[i], true);
  }
  return buf;
}

export interface WebGpuBackendOptions {
  /** an adapter already chosen (e.g. by `backend: "auto"`); default: request one */
  adapter?: GPUAdapter;
  /**
   * Bind at most this many bytes per buffer binding (default: the device's
   * maxStorageBufferBindingSize). Lower values make the backend and the model
   * split their work into more pieces (tests use it to exercise the splits).
   */
  maxBindingBytes?: number;
}

export class WebGpuBackend implements Backend {
  readonly name = "webgpu" as const;
  readonly threads = 1;
  readonly capabilities: BackendCapabilities;

  private encoder: GPUCommandEncoder | undefined;
  private pass: GPUComputePassEncoder | undefined;
  private dispatches = 0;
  private readonly ring: GPUBuffer;
  private readonly ringData = new Uint8Array(RING_BYTES);
  private ringUsed = 0;
  private readonly modules = new Map<string, GPUShaderModule>();
  private readonly pipelines = new Map<string, { pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }>();
  private readonly scratch = new Map<string, GpuTensor>();
  private readonly live = new Set<Allocation>();
  private pendingDestroy: GPUBuffer[] = [];
  private failure: Error | undefined;
  private liveBytes = 0;
  private disposed = false;

  private constructor(
    readonly device: GPUDevice,
    readonly adapterDescription: string,
    f16: boolean,
    bindingLimit: number | undefined,
  ) {
    const deviceBinding = device.limits.maxStorageBufferBindingSize;
    this.capabilities = {
      viewAlignment: VIEW_ALIGNMENT,
      maxBindingBytes: bindingLimit ? Math.min(deviceBinding, Math.max(VIEW_ALIGNMENT, Math.floor(bindingLimit / VIEW_ALIGNMENT) * VIEW_ALIGNMENT)) : deviceBinding,
      maxBufferBytes: device.limits.maxBufferSize,
      maxWorkgroupsPerDimension: Math.min(MAX_WORKGROUPS_PER_DIMENSION, device.limits.maxComputeWorkgroupsPerDimension),
      f16,
      device: adapterDescription,
    };
    this.ring = device.createBuffer({ size: RING_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST, label: "parameter ring" });
    device.lost.then((info) => {
      if (!this.disposed) this.failure ??= new WebGpuDeviceError(`WebGPU device lost (${info.reason}): ${info.message}`);
    });
    device.addEventListener("uncapturederror", (ev) => {
      const err = (ev as GPUUncapturedErrorEvent).error;
      this.failure ??= new WebGpuDeviceError(`WebGPU error: ${err.message}`);
    });
  }

  /** Requests an adapter (unless given) and a device with the limits the model needs. */
  static async create(opts: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
    const adapter = opts.adapter ?? (await requestAdapter()).adapter;
    const a = adapter.limits;
    const need = (name: keyof GPUSupportedLimits, min: number) => {
      if ((a[name] as number) < min) {
        throw new WebGpuDeviceError(`the WebGPU adapter's ${String(name)} is ${a[name]}, below the ${min} this backend needs`);
      }
    };
    need("maxStorageBuffersPerShaderStage", 8);
    need("maxComputeWorkgroupStorageSize", 16384);
    need("maxComputeInvocationsPerWorkgroup", 256);
    const f16 = adapter.features.has("shader-f16");
    const device = await adapter.requestDevice({
      label: "jreg",
      requiredFeatures: f16 ? ["shader-f16"] : [],
      requiredLimits: {
        // As large as the adapter allows: the logits and the parameter arena are big.
        maxStorageBufferBindingSize: a.maxStorageBufferBindingSize,
        maxBufferSize: a.maxBufferSize,
        maxComputeWorkgroupStorageSize: a.maxComputeWorkgroupStorageSize,
        maxStorageBuffersPerShaderStage: a.maxStorageBuffersPerShaderStage,
      },
    });
    return new WebGpuBackend(device, describeAdapter(adapter), f16, opts.maxBindingBytes);
  }

  // ---- memory ----
  alloc(length: number, dtype: DType, label: string): GpuTensor {
    this.check();
    if (!Number.isInteger(length) || length < 0) throw new RangeError(`alloc ${label}: invalid length ${length}`);
    // Rounded to the view alignment so that views near the end stay bindable.
    const bytes = Math.max(VIEW_ALIGNMENT, Math.ceil((length * 4) / VIEW_ALIGNMENT) * VIEW_ALIGNMENT);
    if (bytes > this.capabilities.maxBufferBytes) {
      throw new RangeError(
        `allocating ${label} (${length} values, ${bytes} bytes): exceeds the device's maxBufferSize (${this.capabilities.maxBufferBytes} bytes); use a smaller batch, sequence, vocabulary or hidden size`,
      );
    }
    const buffer = this.device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      label,
    });
    const allocation: Allocation = { buffer, bytes, label, freed: false };
    this.live.add(allocation);
    this.liveBytes += bytes;
    return new GpuTensor(allocation, 0, length, dtype, label, false);
  }

  view(base: Tensor, offset: number, length: number, label: string): GpuTensor {
    const b = base as GpuTensor;
    if (!Number.isInteger(offset) || !Number.isInteger(length) || offset < 0 || length < 0 || offset + length > b.length) {
      throw new RangeError(`view ${label}: [${offset}, ${offset + length}) is outside ${b.label} (${b.length})`);
    }
    const byteOffset = b.byteOffset + offset * 4;
    if (byteOffset % VIEW_ALIGNMENT !== 0) {
      throw new RangeError(`view ${label}: byte offset ${byteOffset} in ${b.label} is not a multiple of the view alignment ${VIEW_ALIGNMENT}`);
    }
    return new GpuTensor(b.allocation, byteOffset, length, b.dtype, label, true);
  }

  free(t: Tensor): void {
    const g = t as GpuTensor;
    if (g.isView) throw new Error(`free ${g.label}: a view cannot be freed, only its allocation`);
    if (g.allocation.freed) return;
    this.release(g.allocation);
  }

  private release(a: Allocation): void {
    a.freed = true;
    this.live.delete(a);
    this.liveBytes -= a.bytes;
    // Work that uses the buffer may still be encoded: destroy it after that submit.
    if (this.encoder) this.pendingDestroy.push(a.buffer);
    else a.buffer.destroy();
  }

  write(t: Tensor, data: Float32Array | Int32Array, offset = 0): void {
    this.check();
    const g = t as GpuTensor;
    this.assertLive(g, "write");
    if (offset < 0 || offset + data.length > g.length) {
      throw new RangeError(`write ${g.label}: ${data.length} values at ${offset} exceed its length ${g.length}`);
    }
    if (data.length === 0) return;
    // queue.writeBuffer runs before any submit that follows it: submit what is encoded first.
    this.flush();
    this.device.queue.writeBuffer(g.buffer, g.byteOffset + offset * 4, data.buffer, data.byteOffset, data.byteLength);
  }

  async read(t: Tensor): Promise<Float32Array> {
    return new Float32Array(await this.readBytes(t as GpuTensor));
  }

  /** The contents of an i32 tensor (tests and token checks). */
  async readInt(t: Tensor): Promise<Int32Array> {
    return new Int32Array(await this.readBytes(t as GpuTensor));
  }

  private async readBytes(g: GpuTensor): Promise<ArrayBuffer> {
    this.check();
    this.assertLive(g, "read");
    const bytes = g.length * 4;
    if (bytes === 0) return new ArrayBuffer(0);
    const staging = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: `read ${g.label}` });
    this.endPass();
    this.commandEncoder().copyBufferToBuffer(g.buffer, g.byteOffset, staging, 0, bytes);
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (e) {
      this.check();
      throw new WebGpuDeviceError(`reading ${g.label}: ${(e as Error).message}`);
    }
    const copy = staging.getMappedRange().slice(0);
    staging.unmap();
    staging.destroy();
    this.check();
    return copy;
  }

  memoryBytes(): number {
    return this.liveBytes;
  }

  /** Resolves when all submitted work has run (benchmarks). */
  async finish(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.check();
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    try {
      if (!this.failure) await this.finish();
    } finally {
      this.disposed = true;
      for (const a of [...this.live]) this.release(a);
      for (const b of this.pendingDestroy) b.destroy();
      this.pendingDestroy = [];
      this.ring.destroy();
      this.device.destroy();
    }
  }

  // ---- elementwise ----
  fill(t: Tensor, value: number): void {
    this.chunked(t, (start, n) => {
      this.run("elementwise", "fill", this.linear(Math.ceil(n / WG)), paramWords("uf", [n, value]), [bind(1, t, "rw", start, n * 4)]);
    });
  }

  copy(dst: Tensor, src: Tensor): void {
    sameLength(dst, src);
    const d = dst as GpuTensor;
    const s = src as GpuTensor;
    this.check();
    this.assertLive(d, "copy");
    this.assertLive(s, "copy");
    if (d.length === 0) return;
    this.endPass();
    this.commandEncoder().copyBufferToBuffer(s.buffer, s.byteOffset, d.buffer, d.byteOffset, d.length * 4);
  }

  accumulate(dst: Tensor, src: Tensor): void {
    sameLength(dst, src);
    this.chunked(dst, (start, n) => {
      this.run("elementwise", "accumulate", this.linear(Math.ceil(n / WG)), paramWords("u", [n]), [
        bind(1, dst, "rw", start, n * 4),
        bind(2, src, "r", start, n * 4),
      ]);
    });
  }

  // ---- embedding ----
  embeddingForward(out: Tensor, tokens: Tensor, table: Tensor, n: number, c: number): void {
    if (n * c === 0) return;
    need(out, n * c, "embeddingForward out");
    need(tokens, n, "embeddingForward tokens");
    const vocab = Math.floor(table.length / c);
    this.run("embedding", "embedding_forward", this.linear(Math.ceil((n * c) / WG)), paramWords("uuuu", [n, c, vocab, n * c]), [
      bind(1, tokens, "r"),
      bind(2, out, "rw"),
      bind(3, table, "r"),
    ]);
  }

  embeddingBackward(dtable: Tensor, tokens: Tensor, dout: Tensor, n: number, c: number): void {
    if (n * c === 0) return;
    need(dout, n * c, "embeddingBackward dout");
    need(tokens, n, "embeddingBackward tokens");
    const vocab = Math.floor(dtable.length / c);
    const counts = this.scratchTensor("embedding counts", vocab);
    const offsets = this.scratchTensor("embedding offsets", vocab);
    const sorted = this.scratchTensor("embedding positions", n);
    const params = paramWords("uuuu", [n, c, vocab, vocab * c]);
    this.endPass();
    this.commandEncoder().clearBuffer(counts.buffer, counts.byteOffset, Math.ceil((vocab * 4) / 4) * 4);
    this.run("embedding", "embedding_count", this.linear(Math.ceil(n / WG)), params, [bind(1, tokens, "r"), bind(4, counts, "rw")]);
    this.run("embedding", "embedding_offsets", [1, 1], params, [bind(5, offsets, "rw"), bind(6, counts, "r")]);
    this.run("embedding", "embedding_place", this.linear(Math.ceil(n / WG)), params, [
      bind(1, tokens, "r"),
      bind(7, sorted, "rw"),
      bind(8, offsets, "r"),
    ]);
    this.run("embedding", "embedding_backward", this.linear(Math.ceil((vocab * c) / WG)), params, [
      bind(6, counts, "r"),
      bind(8, offsets, "r"),
      bind(9, sorted, "r"),
      bind(10, dtable, "rw"),
      bind(11, dout, "r"),
    ]);
  }

  // ---- rmsnorm ----
  rmsnormForward(out: Tensor, rstd: Tensor, x: Tensor, w: Tensor, n: number, c: number, eps: number): void {
    if (n * c === 0) return;
    need(x, n * c, "rmsnormForward x");
    need(out, n * c, "rmsnormForward out");
    need(rstd, n, "rmsnormForward rstd");
    this.run("rmsnorm", "rmsnorm_forward", this.linear(n), paramWords("uufu", [n, c, eps, 0]), [
      bind(1, x, "r"),
      bind(2, w, "r"),
      bind(3, rstd, "rw"),
      bind(4, out, "rw"),
    ]);
  }

  rmsnormBackward(dx: Tensor, dw: Tensor, dout: Tensor, x: Tensor, w: Tensor, rstd: Tensor, n: number, c: number): void {
    if (n * c === 0) return;
    need(dx, n * c, "rmsnormBackward dx");
    need(dout, n * c, "rmsnormBackward dout");
    const partialCount = Math.ceil(n / RMSNORM_ROWS_PER_PARTIAL);
    const partials = this.scratchTensor("rmsnorm dw partials", partialCount * c);
    const params = paramWords("uufu", [n, c, 0, partialCount]);
    this.run("rmsnorm", "rmsnorm_backward_dx", this.linear(n), params, [
      bind(1, x, "r"),
      bind(2, w, "r"),
      bind(5, dout, "r"),
      bind(6, rstd, "r"),
      bind(7, dx, "rw"),
    ]);
    const colGroups = Math.ceil(c / WG);
    this.checkGrid([colGroups, partialCount], "rmsnormBackward");
    this.run("rmsnorm", "rmsnorm_dw_partials", [colGroups, partialCount], params, [
      bind(1, x, "r"),
      bind(5, dout, "r"),
      bind(6, rstd, "r"),
      bind(8, partials, "rw"),
    ]);
    this.run("rmsnorm", "rmsnorm_dw_reduce", [colGroups, 1], params, [bind(9, dw, "rw"), bind(10, partials, "r")]);
  }

  // ---- matmul ----
  matmul(c: Tensor, a: Tensor, b: Tensor, m: number, n: number, k: number, layout: MatmulLayout, accumulate: boolean, operands?: MatmulOperands): void {
    const o = resolveMatmulOperands(c, a, b, m, n, k, layout, operands);
    // with k = 0 the shader's depth loop is empty and it writes zeros (or adds nothing)
    if (m * n === 0 || (k === 0 && accumulate)) return;
    const aTransposed = layout === "tn";
    const bTransposed = layout === "nt";
    const grid: [number, number] = [Math.ceil(n / MATMUL_TILE), Math.ceil(m / MATMUL_TILE)];
    this.checkGrid(grid, "matmul");
    const binds = [bind(1, c, "rw"), bind(2, a, "r"), bind(3, b, "r")];
    const quad = (x: StoredMatrix) => x.cols % 4 === 0 && x.ld % 4 === 0 && x.offset % 4 === 0;
    const vec4 = quad(o.a) && quad(o.b) && !this.needsAliasVariant(binds);
    if (vec4) binds.push(bind(4, a, "r"), bind(5, b, "r"));
    const params = paramWords("uuuuuuuuuu", [m, n, k, accumulate ? 1 : 0, o.a.ld, o.b.ld, o.c.ld, o.a.offset, o.b.offset, o.c.offset]);
    this.run("matmul", vec4 ? "matmul_vec4" : "matmul", grid, params, binds, {
      A_TRANSPOSED: aTransposed ? 1 : 0,
      B_TRANSPOSED: bTransposed ? 1 : 0,
    });
  }

  // ---- rope ----
  ropeInPlace(x: Tensor, cos: Tensor, sin: Tensor, b: number, t: number, heads: number, headDim: number, inverse: boolean): void {
    if (headDim % 2 !== 0) throw new RangeError(`ropeInPlace: head dimension ${headDim} must be even`);
    const half = headDim / 2;
    const pairs = b * t * heads * half;
    if (pairs === 0) return;
    need(x, 2 * pairs, "ropeInPlace x");
    need(cos, t * half, "ropeInPlace cos");
    this.run("rope", "rope_in_place", this.linear(Math.ceil(pairs / WG)), paramWords("uuuuf", [pairs, t, heads, half, inverse ? -1 : 1]), [
      bind(1, x, "rw"),
      bind(2, cos, "r"),
      bind(3, sin, "r"),
    ]);
  }

  // ---- attention ----
  attentionStateLength(b: number, t: number, heads: number, _kvHeads: number, _headDim: number): number {
    return b * heads * t;
  }

  private attentionParams(b: number, t: number, heads: number, kvHeads: number, hd: number, op: string): ArrayBuffer {
    if (hd > MAX_HEAD_DIM) throw new RangeError(`${op}: head dimension ${hd} exceeds the WebGPU kernels' MAX_HEAD_DIM ${MAX_HEAD_DIM}`);
    if (kvHeads < 1 || heads % kvHeads !== 0) throw new RangeError(`${op}: heads ${heads} is not a multiple of kvHeads ${kvHeads}`);
    return paramWords("uuuuuf", [b, t, heads, kvHeads, hd, 1 / Math.sqrt(hd)]);
  }

  attentionForward(out: Tensor, state: Tensor, q: Tensor, k: Tensor, v: Tensor, b: number, t: number, heads: number, kvHeads: number, headDim: number): void {
    const params = this.attentionParams(b, t, heads, kvHeads, headDim, "attentionForward");
    if (b * t * heads === 0) return;
    need(out, b * t * heads * headDim, "attentionForward out");
    need(state, this.attentionStateLength(b, t, heads, kvHeads, headDim), "attentionForward state");
    const grid: [number, number] = [Math.ceil(t / ATTENTION_BLOCK_ROWS), b * heads];
    this.checkGrid(grid, "attentionForward");
    this.run("attention", "attention_forward", grid, params, [
      bind(1, q, "r"),
      bind(2, k, "r"),
      bind(3, v, "r"),
      bind(4, out, "rw"),
      bind(5, state, "rw"),
    ]);
  }

  attentionBackward(dq: Tensor, dk: Tensor, dv: Tensor, dout: Tensor, out: Tensor, state: Tensor, q: Tensor, k: Tensor, v: Tensor, b: number, t: number, heads: number, kvHeads: number, headDim: number): void {
    const params = this.attentionParams(b, t, heads, kvHeads, headDim, "attentionBackward");
    if (b * t * heads === 0) return;
    const rows = b * heads * t;
    const rowDot = this.scratchTensor("attention row dot", rows);
    this.run("attention", "attention_row_dot", this.linear(Math.ceil(rows / ATTENTION_BLOCK_ROWS)), params, [
      bind(6, dout, "r"),
      bind(7, out, "r"),
      bind(8, rowDot, "rw"),
    ]);
    const qGrid: [number, number] = [Math.ceil(t / ATTENTION_BLOCK_ROWS), b * heads];
    this.checkGrid(qGrid, "attentionBackward");
    this.run("attention", "attention_backward_dq", qGrid, params, [
      bind(1, q, "r"),
      bind(2, k, "r"),
      bind(3, v, "r"),
      bind(6, dout, "r"),
      bind(9, state, "r"),
      bind(10, rowDot, "r"),
      bind(11, dq, "rw"),
    ]);
    this.run("attention", "attention_backward_dkdv", [Math.ceil(t / ATTENTION_BLOCK_ROWS), b * kvHeads], params, [
      bind(1, q, "r"),
      bind(2, k, "r"),
      bind(3, v, "r"),
      bind(6, dout, "r"),
      bind(9, state, "r"),
      bind(10, rowDot, "r"),
      bind(12, dk, "rw"),
      bind(13, dv, "rw"),
    ]);
  }

  // ---- bias ----
  biasAddInPlace(x: Tensor, bias: Tensor, n: number, c: number): void {
    if (n * c === 0) return;
    need(x, n * c, "biasAddInPlace x");
    need(bias, c, "biasAddInPlace bias");
    this.run("bias", "bias_add", this.linear(Math.ceil((n * c) / WG)), paramWords("uu", [n, c]), [bind(1, x, "rw"), bind(2, bias, "r")]);
  }

  biasBackward(dbias: Tensor, dout: Tensor, n: number, c: number): void {
    if (n * c === 0) return;
    need(dbias, c, "biasBackward dbias");
    need(dout, n * c, "biasBackward dout");
    this.run("bias", "bias_backward", this.linear(Math.ceil(c / WG)), paramWords("uu", [n, c]), [bind(3, dbias, "rw"), bind(4, dout, "r")]);
  }

  // ---- swiglu ----
  swigluForward(out: Tensor, gateUp: Tensor, n: number, f: number): void {
    if (n * f === 0) return;
    need(out, n * f, "swigluForward out");
    need(gateUp, 2 * n * f, "swigluForward gateUp");
    this.run("swiglu", "swiglu_forward", this.linear(Math.ceil((n * f) / WG)), paramWords("uu", [n * f, f]), [
      bind(1, out, "rw"),
      bind(2, gateUp, "r"),
    ]);
  }

  swigluBackward(dGateUp: Tensor, act: Tensor, dout: Tensor, gateUp: Tensor, n: number, f: number): void {
    if (n * f === 0) return;
    need(dGateUp, 2 * n * f, "swigluBackward dGateUp");
    need(act, n * f, "swigluBackward act");
    need(dout, n * f, "swigluBackward dout");
    need(gateUp, 2 * n * f, "swigluBackward gateUp");
    this.run("swiglu", "swiglu_backward", this.linear(Math.ceil((n * f) / WG)), paramWords("uu", [n * f, f]), [
      bind(1, act, "rw"),
      bind(2, gateUp, "r"),
      bind(4, dGateUp, "rw"),
      bind(6, dout, "r"),
    ]);
  }

  // ---- cross-entropy ----
  crossEntropyForward(losses: Tensor, lse: Tensor, logits: Tensor, targets: Tensor, n: number, v: number): void {
    if (n === 0) return;
    need(logits, n * v, "crossEntropyForward logits");
    need(losses, n, "crossEntropyForward losses");
    this.run("crossEntropy", "cross_entropy_forward", this.linear(n), paramWords("uufu", [n, v, 1, 0]), [
      bind(1, targets, "r"),
      bind(2, logits, "r"),
      bind(3, losses, "rw"),
      bind(4, lse, "rw"),
    ]);
  }

  crossEntropyBackwardInPlace(logits: Tensor, lse: Tensor, targets: Tensor, n: number, v: number, scale: number): void {
    if (n * v === 0) return;
    need(logits, n * v, "crossEntropyBackwardInPlace logits");
    const blocksPerRow = Math.ceil(v / WG);
    this.run("crossEntropy", "cross_entropy_backward_in_place", this.linear(n * blocksPerRow), paramWords("uufu", [n, v, scale, blocksPerRow]), [
      bind(1, targets, "r"),
      bind(5, logits, "rw"),
      bind(6, lse, "r"),
    ]);
  }

  // ---- JREG ----
  cosineForward(cos: Tensor, normA: Tensor, normB: Tensor, a: Tensor, b: Tensor, n: number, c: number): void {
    if (n === 0) return;
    need(a, n * c, "cosineForward a");
    need(b, n * c, "cosineForward b");
    this.run("jreg", "cosine_forward", this.linear(n), jregParams(n, c, 0, 1, 1, 0), [
      bind(1, a, "r"),
      bind(2, b, "r"),
      bind(3, cos, "rw"),
      bind(4, normA, "rw"),
      bind(5, normB, "rw"),
    ]);
  }

  cosineBackward(da: Tensor, db: Tensor, dcos: Tensor, a: Tensor, b: Tensor, cos: Tensor, normA: Tensor, normB: Tensor, n: number, c: number): void {
    if (n * c === 0) return;
    need(da, n * c, "cosineBackward da");
    need(db, n * c, "cosineBackward db");
    this.run("jreg", "cosine_backward", this.linear(Math.ceil((n * c) / WG)), jregParams(n, c, 0, 1, 1, 0), [
      bind(1, a, "r"),
      bind(2, b, "r"),
      bind(6, dcos, "r"),
      bind(12, cos, "r"),
      bind(13, normA, "r"),
      bind(14, normB, "r"),
      bind(7, da, "rw"),
      bind(8, db, "rw"),
    ]);
  }

  distanceFromCos(out: Tensor, cos: Tensor, n: number, kind: DistanceKind): void {
    if (n === 0) return;
    need(out, n, "distanceFromCos out");
    this.run("jreg", "distance_from_cos", this.linear(Math.ceil(n / WG)), jregParams(n, 0, kind, clampLimit(kind), 1, 0), [
      bind(9, cos, "r"),
      bind(10, out, "rw"),
    ]);
  }

  distanceGrad(dcos: Tensor, cos: Tensor, n: number, kind: DistanceKind, scalars: Tensor, index: number, scale: number): void {
    if (n === 0) return;
    need(dcos, n, "distanceGrad dcos");
    need(scalars, index + 1, "distanceGrad scalars");
    this.run("jreg", "distance_grad", this.linear(Math.ceil(n / WG)), jregParams(n, 0, kind, clampLimit(kind), scale, index), [
      bind(9, cos, "r"),
      bind(10, dcos, "rw"),
      bind(11, scalars, "r"),
    ]);
  }

  // ---- reductions ----
  meanInto(out: Tensor, index: number, x: Tensor): void {
    this.reduceInto(out, index, x, false, x.length);
  }

  sumSquaresInto(out: Tensor, index: number, x: Tensor): void {
    this.reduceInto(out, index, x, true, 1);
  }

  private reduceInto(out: Tensor, index: number, x: Tensor, squares: boolean, divisor: number): void {
    need(out, index + 1, "reduction out");
    const groups = Math.ceil(x.length / REDUCE_ITEMS_PER_WORKGROUP);
    const partials = this.scratchTensor("reduction partials", Math.max(1, groups));
    let partialOffset = 0;
    // chunks of whole workgroups, so partial slots never straddle a chunk
    this.chunked(
      x,
      (start, n) => {
        const g = Math.ceil(n / REDUCE_ITEMS_PER_WORKGROUP);
        this.run("reduce", "reduce_partials", this.linear(g), paramWords("uuuuuf", [n, squares ? 1 : 0, partialOffset, 0, 0, 1]), [
          bind(1, x, "r", start, n * 4),
          bind(2, partials, "rw"),
        ]);
        partialOffset += g;
      },
      REDUCE_ITEMS_PER_WORKGROUP,
    );
    this.run("reduce", "reduce_finish", [1, 1], paramWords("uuuuuf", [0, 0, 0, groups, index, divisor]), [
      bind(3, partials, "r"),
      bind(4, out, "rw"),
    ]);
  }

  jregScalars(s: Tensor, spec: JregScalarsSpec): void {
    const L = spec.numLayers;
    if (L > MAX_JREG_LAYERS) throw new RangeError(`jregScalars: ${L} layers exceed the WebGPU kernel's ${MAX_JREG_LAYERS}`);
    need(s, 8 + 2 * L, "jregScalars scalars");
    this.run("step", "jreg_scalars", [1, 1], stepParams(L, spec.alpha, spec.numerator, spec.denominator, 0), [bind(1, s, "rw")]);
  }

  stepControl(s: Tensor, spec: StepControlSpec): void {
    need(s, 8, "stepControl scalars");
    this.run("step", "step_control", [1, 1], stepParams(0, 0, [], null, spec.clip), [bind(1, s, "rw")]);
  }

  // ---- optimizer ----
  adamwStep(p: Tensor, g: Tensor, m: Tensor, v: Tensor, h: AdamWHyper, s: Tensor): void {
    sameLength(p, g);
    sameLength(p, m);
    sameLength(p, v);
    const lr = Math.fround(h.lr);
    const wd = Math.fround(h.weightDecay);
    const beta1 = Math.fround(h.beta1);
    const beta2 = Math.fround(h.beta2);
    this.chunked(p, (start, n) => {
      const params = paramWords("uuuufffffff", [
        n,
        start / 4,
        h.decayLength,
        wd !== 0 ? 1 : 0,
        lr,
        beta1,
        beta2,
        h.eps,
        1 - lr * wd,
        1 - beta1,
        1 - beta2,
      ]);
      this.run("optimizer", "adamw_step", this.linear(Math.ceil(n / WG)), params, [
        bind(1, p, "rw", start, n * 4),
        bind(2, g, "r", start, n * 4),
        bind(3, m, "rw", start, n * 4),
        bind(4, v, "rw", start, n * 4),
        bind(5, s, "r"),
      ]);
    });
  }

  sgdStep(p: Tensor, g: Tensor, lr: number, s: Tensor): void {
    sameLength(p, g);
    this.chunked(p, (start, n) => {
      const params = paramWords("uuuufffffff", [n, start / 4, 0, 0, lr, 0, 0, 0, 0, 0, 0]);
      this.run("optimizer", "sgd_step", this.linear(Math.ceil(n / WG)), params, [
        bind(1, p, "rw", start, n * 4),
        bind(2, g, "r", start, n * 4),
        bind(5, s, "r"),
      ]);
    });
  }

  // ---- encoding machinery ----

  /** Throws the device's failure, if any, so that the next op reports it. */
  private check(): void {
    if (this.failure) throw this.failure;
    if (this.disposed) throw new WebGpuDeviceError("the WebGPU backend was disposed");
  }

  private assertLive(t: GpuTensor, op: string): void {
    if (t.allocation.freed) throw new Error(`${op}: ${t.label} was freed`);
  }

  private commandEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder({ label: "jreg ops" });
    return this.encoder;
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = undefined;
  }

  /** Submits everything encoded so far (with the parameters it uses). */
  private flush(): void {
    if (!this.encoder) return;
    this.endPass();
    if (this.ringUsed > 0) this.device.queue.writeBuffer(this.ring, 0, this.ringData.buffer, 0, this.ringUsed);
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = undefined;
    this.ringUsed = 0;
    this.dispatches = 0;
    for (const b of this.pendingDestroy) b.destroy();
    this.pendingDestroy = [];
  }

  /** A workgroup count as a 2-D grid (x ≤ 65,535), for kernels that linearize wid. */
  private linear(workgroups: number): [number, number] {
    const x = Math.min(Math.max(workgroups, 1), MAX_WORKGROUPS_PER_DIMENSION);
    const grid: [number, number] = [x, Math.ceil(Math.max(workgroups, 1) / x)];
    this.checkGrid(grid, "dispatch");
    return grid;
  }

  private checkGrid(grid: [number, number], op: string): void {
    if (grid[0] > MAX_WORKGROUPS_PER_DIMENSION || grid[1] > MAX_WORKGROUPS_PER_DIMENSION) {
      throw new RangeError(`${op}: ${grid[0]}×${grid[1]} workgroups exceed the ${MAX_WORKGROUPS_PER_DIMENSION} per dimension that WebGPU allows`);
    }
  }

  /**
   * Calls fn(startByte, count) for pieces of t that each fit one binding
   * (maxStorageBufferBindingSize), aligned to the view alignment and to `multiple` elements.
   */
  private chunked(t: Tensor, fn: (startByte: number, count: number) => void, multiple = 1): void {
    const total = t.length;
    if (total === 0) return;
    const unit = lcm(VIEW_ALIGNMENT / 4, multiple);
    const chunk = Math.max(unit, Math.floor(this.capabilities.maxBindingBytes / 4 / unit) * unit);
    for (let start = 0; start < total; start += chunk) fn(start * 4, Math.min(chunk, total - start));
  }

  /** A backend-owned work buffer of at least `length` values, grown on demand. */
  private scratchTensor(name: string, length: number): GpuTensor {
    const have = this.scratch.get(name);
    if (have && have.length >= length) return have;
    if (have) this.release(have.allocation);
    const t = this.alloc(Math.max(length, 64), "f32", `${name} (scratch)`);
    this.scratch.set(name, t);
    return t;
  }

  private needsAliasVariant(binds: Bind[]): boolean {
    const seen = new Map<GPUBuffer, Access[]>();
    for (const b of binds) {
      const list = seen.get(b.tensor.buffer) ?? [];
      list.push(b.access);
      seen.set(b.tensor.buffer, list);
    }
    for (const list of seen.values()) if (list.length > 1 && list.includes("rw")) return true;
    return false;
  }

  private module(shader: ShaderName, aliased: boolean): GPUShaderModule {
    const key = `${shader}${aliased ? ":aliased" : ""}`;
    let m = this.modules.get(key);
    if (!m) {
      let code: string = SHADERS[shader];
      if (aliased) code = code.replace(/var<storage,\s*read>/g, "var<storage, read_write>");
      m = this.device.createShaderModule({ code, label: key });
      this.modules.set(key, m);
    }
    return m;
  }

  private pipeline(shader: ShaderName, entry: string, binds: Bind[], paramBytes: number, aliased: boolean, constants?: Record<string, number>) {
    const signature = binds.map((b) => `${b.binding}${aliased ? "rw" : b.access}`).join(",");
    const key = `${shader}/${entry}/${aliased}/${signature}/${constants ? JSON.stringify(constants) : ""}/${paramBytes}`;
    let p = this.pipelines.get(key);
    if (!p) {
      const layout = this.device.createBindGroupLayout({
        label: `${shader}/${entry}`,
        entries: [
          { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: "uniform" } },
          ...binds.map((b) => ({
            binding: b.binding,
            visibility: GPUShaderStage.COMPUTE,
            buffer: { type: aliased || b.access === "rw" ? ("storage" as const) : ("read-only-storage" as const) },
          })),
        ],
      });
      const pipeline = this.device.createComputePipeline({
        label: `${shader}/${entry}`,
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module: this.module(shader, aliased), entryPoint: entry, constants },
      });
      p = { pipeline, layout };
      this.pipelines.set(key, p);
    }
    return p;
  }

  /** Encodes one dispatch of `entry` in shaders/<shader>.wgsl. */
  private run(shader: ShaderName, entry: string, grid: [number, number], params: ArrayBuffer, binds: Bind[], constants?: Record<string, number>): void {
    this.check();
    for (const b of binds) {
      this.assertLive(b.tensor, `${entry}`);
      const bytes = b.bytes ?? b.tensor.length * 4;
      if (bytes > this.capabilities.maxBindingBytes) {
        throw new RangeError(
          `${entry}: ${b.tensor.label} is ${bytes} bytes, more than the binding limit (maxStorageBufferBindingSize, ${this.capabilities.maxBindingBytes} bytes); use a smaller batch, sequence or vocabulary (or chunk the op over rows)`,
        );
      }
    }
    const slotBytes = Math.ceil(params.byteLength / PARAM_SLOT_BYTES) * PARAM_SLOT_BYTES;
    if (this.dispatches >= MAX_DISPATCHES_PER_SUBMIT || this.ringUsed + slotBytes > RING_BYTES) this.flush();
    const slot = this.ringUsed;
    this.ringData.set(new Uint8Array(params), slot);
    this.ringUsed += slotBytes;
    const aliased = this.needsAliasVariant(binds);
    const { pipeline, layout } = this.pipeline(shader, entry, binds, params.byteLength, aliased, constants);
    const group = this.device.createBindGroup({
      layout,
      entries: [
        { binding: 0, resource: { buffer: this.ring, offset: slot, size: params.byteLength } },
        ...binds.map((b) => ({
          binding: b.binding,
          resource: {
            buffer: b.tensor.buffer,
            offset: b.tensor.byteOffset + (b.start ?? 0),
            // at least 4 bytes: WebGPU rejects empty bindings
            size: Math.max(4, b.bytes ?? b.tensor.length * 4),
          },
        })),
      ],
    });
    const encoder = this.commandEncoder();
    this.pass ??= encoder.beginComputePass({ label: "jreg ops" });
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, group);
    this.pass.dispatchWorkgroups(grid[0], grid[1]);
    this.dispatches++;
  }
}

function jregParams(n: number, c: number, kind: number, limit: number, scale: number, index: number): ArrayBuffer {
  return paramWords("uuuffu", [n, c, kind, limit, scale, index]);
}

function stepParams(L: number, alpha: number, numerator: readonly number[], denominator: readonly number[] | null, clip: number): ArrayBuffer {
  const buf = new ArrayBuffer(STEP_PARAM_BYTES);
  const view = new DataView(buf);
  view.setUint32(0, L, true);
  view.setFloat32(4, alpha, true);
  view.setUint32(8, denominator ? 1 : 0, true);
  view.setFloat32(12, clip, true);
  const f = new Float32Array(buf);
  for (let l = 0; l < L; l++) {
    f[4 + l] = numerator[l] ?? 0;
    f[4 + 4 * 64 + l] = denominator?.[l] ?? 0;
  }
  return buf;
}

/** The clamp bound of a distance kind (the loss's angular variant: f32(1 − 1e-7), as PyTorch). */
function clampLimit(kind: number): number {
  if (kind !== 0 && kind !== 1 && kind !== 2) throw new RangeError(`distance kind must be 0, 1 or 2, got ${kind}`);
  return kind === 2 ? Math.fround(1 - 1e-7) : 1;
}

function sameLength(a: Tensor, b: Tensor): void {
  if (a.length !== b.length) throw new RangeError(`length mismatch: ${a.label} (${a.length}) vs ${b.label} (${b.length})`);
}

function need(t: Tensor, length: number, what: string): void {
  if (t.length < length) throw new RangeError(`${what}: ${t.label} has ${t.length} values, needs ${length}`);
}

function lcm(a: number, b: number): number {
  const gcd = (x: number, y: number): number => (y === 0 ? x : gcd(y, x % y));
  return (a / gcd(a, b)) * b;
}
