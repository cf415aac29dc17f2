// Serves dist/web/ (scripts/build-web.mjs) on 127.0.0.1 and prints the URL.
//   node scripts/serve-web.mjs [--port N] [--no-isolation]
// By default every response carries COOP/COEP, which makes the page cross-origin
// isolated: SharedArrayBuffer exists and WebAssembly trains on several threads.
// --no-isolation leaves the headers out, to see the page fall back to one thread.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { extname, join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";

const TYPES = {
  ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css", ".json": "application/json",
  ".wasm": "application/wasm", ".wgsl": "text/plain; charset=utf-8", ".map": "application/json",
};

/** Starts the server; resolves with { url, close }. */
export async function serveWeb({ port = 0, isolation = true, root = fileURLToPath(new URL("../dist/web", import.meta.url)) } = {}) {
  if (!existsSync(join(root, "index.html"))) throw new Error(`${root}/index.html is missing: run npm run build:web first`);
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname));
    const file = join(root, path.endsWith("/") ? `${path}index.html` : path);
    if (file !== root && !file.startsWith(root + sep)) return res.writeHead(403).end();
    const headers = { "content-type": TYPES[extname(file)] ?? "application/octet-stream", "cache-control": "no-cache" };
    if (isolation) Object.assign(headers, { "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" });
    try {
      const body = await readFile(file);
      res.writeHead(200, headers).end(body);
    } catch {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    }
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((r) => server.close(r)) };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const at = args.indexOf("--port");
  const port = at >= 0 ? Number(args[at + 1]) : 8080;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port: expected a port number, got ${args[at + 1]}`);
    process.exit(2);
  }
  const isolation = !args.includes("--no-isolation");
  try {
    const { url } = await serveWeb({ port, isolation });
    console.log(`JREG page: ${url}  (${isolation ? "COOP/COEP on: threaded WebAssembly" : "no COOP/COEP: one thread"}; Ctrl-C stops)`);
  } catch (e) {
    console.error(e.code === "EADDRINUSE" ? `port ${port} is in use; pass --port N` : e.message);
    process.exit(1);
  }
}
