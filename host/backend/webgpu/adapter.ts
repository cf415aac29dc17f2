/// <reference types="@webgpu/types" />
// Finding a WebGPU adapter with one code path: `navigator.gpu` where the runtime
// has it (Deno, browsers), else the npm package `webgpu` (Dawn) in Node. Also
// decides whether an adapter is a software one, for `backend: "auto"`.

export interface AdapterChoice {
  adapter: GPUAdapter;
  /** where the GPU object came from, for messages */
  source: string;
}

/** Why no adapter was found: every source that was tried, in words. */
export class NoAdapterError extends Error {
  override name = "NoAdapterError";
}

/** Node's `webgpu` module keeps its GPU object alive for the process: create it once. */
let nodeGpu: Promise<GPU | undefined> | undefined;

/** Node's `process` (not Deno's, which also has one), or undefined elsewhere. */
function nodeProcess(): { platform?: string } | undefined {
  const proc = (globalThis as { process?: { platform?: string; versions?: { node?: string; deno?: string } } }).process;
  return proc?.versions?.node && !proc.versions.deno ? proc : undefined;
}

async function nodeWebGpu(tried: string[]): Promise<GPU | undefined> {
  if (!nodeProcess()) return undefined;
  nodeGpu ??= (async () => {
    // A variable specifier keeps bundlers from resolving the Node-only package.
    const specifier = "webgpu";
    try {
      const mod = (await import(specifier)) as { create(options: string[]): GPU; globals: object };
      Object.assign(globalThis, mod.globals);
      return mod.create([]);
    } catch (e) {
      tried.push(`the npm package "webgpu" could not be loaded (${(e as Error).message})`);
      return undefined;
    }
  })();
  return nodeGpu;
}

/**
 * For `backend: "auto"`: false when this is Node on Linux and the machine has
 * no GPU device node (/dev/dri or /dev/nvidia0), so the only adapter Dawn could
 * offer is a software one (lavapipe) that "auto" would refuse anyway. Asking
 * Dawn regardless loads it and makes it print two "artificially reduced" limit
 * warnings to stderr from native code, on commands that end up on wasm.
 * Elsewhere (browsers, Deno, macOS, Windows) it is true: only the adapter can tell.
 */
export async function hardwareGpuMayExist(): Promise<boolean> {
  if (nodeProcess()?.platform !== "linux") return true;
  const { existsSync } = await import("node:fs");
  return existsSync("/dev/dri") || existsSync("/dev/nvidia0");
}

export async function requestAdapter(): Promise<AdapterChoice> {
  const tried: string[] = [];
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  const candidates: { gpu: GPU | undefined; source: string }[] = [];
  if (nav?.gpu) candidates.push({ gpu: nav.gpu, source: "navigator.gpu" });
  else tried.push("navigator.gpu is not defined in this runtime");
  if (!nav?.gpu) {
    const gpu = await nodeWebGpu(tried);
    if (gpu) candidates.push({ gpu, source: 'npm "webgpu" (Dawn)' });
  }
  for (const c of candidates) {
    try {
      const adapter = await c.gpu!.requestAdapter({ powerPreference: "high-performance" });
      if (adapter) return { adapter, source: c.source };
      tried.push(`${c.source}.requestAdapter() returned no adapter`);
    } catch (e) {
      tried.push(`${c.source}.requestAdapter() failed: ${(e as Error).message}`);
    }
  }
  throw new NoAdapterError(`no WebGPU adapter: ${tried.join("; ")}`);
}

const SOFTWARE_NAMES = /llvmpipe|lavapipe|swiftshader|software|warp|microsoft basic render/i;

/** The adapter, in words (vendor, architecture, device, description). */
export function describeAdapter(adapter: GPUAdapter): string {
  const info = adapter.info;
  const parts = [info?.vendor, info?.architecture, info?.device, info?.description].filter((s) => s && s.length > 0);
  return parts.length > 0 ? parts.join(" / ") : "unknown WebGPU adapter";
}

/** A fallback or CPU-emulated adapter (llvmpipe, lavapipe, SwiftShader, WARP). */
export function isSoftwareAdapter(adapter: GPUAdapter): boolean {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const legacy = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter;
  if (info?.isFallbackAdapter || legacy) return true;
  return SOFTWARE_NAMES.test(describeAdapter(adapter));
}
