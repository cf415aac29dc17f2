// Bundles the TypeScript host into dist/ as ESM. The WASM binaries are embedded
// (esbuild's binary loader), so the same files load in Node, Deno and browsers
// without any file-system or fetch logic for the modules themselves. The WGSL
// shaders are embedded the same way, as text.
import { build } from "esbuild";
import { existsSync, rmSync } from "node:fs";
import { reportAssetsPlugin } from "./report-assets.mjs";

const entryPoints = [
  "host/index.ts",
  "host/internal.ts",
  "host/backend/wasm/worker.ts",
  // the WebGPU backend on its own, for its tests and benchmarks
  "host/backend/webgpu/webgpu-backend.ts",
  "host/cli/main.ts",
  "host/tokenizer/index.ts",
  "host/data/index.ts",
  "host/run/index.ts",
].filter((p) => existsSync(p));

// Chunk names change with content: start clean so stale chunks never pile up.
rmSync("dist", { recursive: true, force: true });

await build({
  entryPoints,
  outdir: "dist",
  outbase: "host",
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "neutral",
  target: "es2022",
  mainFields: ["module", "main"],
  loader: { ".wasm": "binary", ".wgsl": "text" },
  // "webgpu" (Dawn) is imported only in Node, where no navigator.gpu exists.
  external: ["node:*", "webgpu"],
  // "jreg:report-assets": the report page's script and CSS as strings (host/report/html.ts).
  plugins: [reportAssetsPlugin()],
  sourcemap: true,
  logLevel: "warning",
});
