// host/web/session.ts (the page worker's training code) bundled for Node at test
// time, so a test runs the very code the page runs, on the file system instead of
// IndexedDB. Returns the module's exports.
import { build } from "esbuild";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

export async function loadWebSession() {
  const dir = await mkdtemp(join(tmpdir(), "jreg-web-session-"));
  await build({
    entryPoints: { session: `${root}host/web/session.ts`, settings: `${root}host/web/settings.ts` },
    outdir: dir,
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "es2022",
    loader: { ".wasm": "binary", ".wgsl": "text" },
    external: ["webgpu"],
    logLevel: "warning",
  });
  // The pool worker for threads > 1 is dist's (the same kernels).
  return { ...(await import(pathToFileURL(join(dir, "session.js")).href)), ...(await import(pathToFileURL(join(dir, "settings.js")).href)) };
}
