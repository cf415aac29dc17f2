// Builds the browser bundle into dist/web/ (run after build-host.mjs: the Brown
// sample is read through dist/data):
//   jreg.js         the host API (host/index.ts) as a browser ESM module
//   page.js, train-worker.js, pool-worker.js, index.html, page.css, uPlot.min.css
//   brown-sample.json  a few Brown documents, detokenized: the page's built-in corpus
//   *.wasm, *.wgsl  the engine's binaries and shaders, loaded by URL (fetch, relative
//                   to the module) instead of being inlined, which keeps the JS small
//   sizes.json      minified and gzip sizes, for the README's budget
//
//   node scripts/build-web.mjs [--inline] [--no-minify] [--out DIR]
// --inline embeds the .wasm and .wgsl in the JS (esbuild's binary/text loaders,
// as dist/ does), for bundler users who want one self-contained module.
import { build } from "esbuild";
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const args = process.argv.slice(2);
const outAt = args.indexOf("--out");
const out = outAt >= 0 ? args[outAt + 1] : `${root}dist/web`;
const inline = args.includes("--inline");
const minify = !args.includes("--no-minify");

/**
 * `import bytes from "x.wasm"` (and `text from "x.wgsl"`) become a module that
 * fetches the file by URL with a top-level await; the file itself is emitted by
 * esbuild's file loader beside the chunk, so `new URL(name, import.meta.url)` finds it.
 */
function assetsByUrl() {
  return {
    name: "jreg-assets-by-url",
    setup(b) {
      b.onResolve({ filter: /\.(wasm|wgsl)$/ }, (a) => {
        if (a.namespace === "asset-fetch") return { path: a.path, namespace: "asset-file" };
        return { path: fileURLToPath(new URL(a.path, `file://${a.resolveDir}/`)), namespace: "asset-fetch" };
      });
      b.onLoad({ filter: /.*/, namespace: "asset-fetch" }, (a) => {
        const text = a.path.endsWith(".wgsl");
        return {
          contents: `import url from ${JSON.stringify(a.path)};
const res = await fetch(new URL(url, import.meta.url));
if (!res.ok) throw new Error("could not load " + url + " (HTTP " + res.status + ")");
export default ${text ? "await res.text()" : "new Uint8Array(await res.arrayBuffer())"};`,
          loader: "js",
          resolveDir: root,
        };
      });
      b.onLoad({ filter: /.*/, namespace: "asset-file" }, async (a) => ({ contents: await readFile(a.path), loader: "file" }));
    },
  };
}

/**
 * Node's modules are imported only behind runtime checks (dynamic import() in a
 * Node branch). In the browser bundle they become a module that throws when
 * imported, so the bundle references none of them.
 */
function nodeModulesStubbed() {
  return {
    name: "jreg-node-stub",
    setup(b) {
      b.onResolve({ filter: /^(node:.*|webgpu)$/ }, (a) => ({ path: a.path, namespace: "node-stub" }));
      b.onLoad({ filter: /.*/, namespace: "node-stub" }, (a) => ({
        contents: `throw new Error(${JSON.stringify(`${a.path} is not available in a browser`)});`,
        loader: "js",
      }));
    },
  };
}

/** `import bytes from "x.wasm"` as an empty array, for code that is handed a compiled module instead. */
function binariesUnused() {
  return {
    name: "jreg-binaries-unused",
    setup(b) {
      b.onResolve({ filter: /\.wasm$/ }, (a) => ({ path: a.path, namespace: "binary-unused" }));
      b.onLoad({ filter: /.*/, namespace: "binary-unused" }, () => ({ contents: "export default new Uint8Array(0);", loader: "js" }));
    },
  };
}

/**
 * The relaxed-SIMD (FMA) engine builds (kernels: "relaxed", opt-in) stay out of
 * the browser bundle, which keeps it within its size budget: they become empty
 * arrays, and asking for them in a browser says that they are not in this build.
 */
function relaxedKernelsLeftOut() {
  return {
    name: "jreg-relaxed-left-out",
    setup(b) {
      b.onResolve({ filter: /-relaxed\.wasm$/ }, (a) => ({ path: a.path, namespace: "relaxed-left-out" }));
      b.onLoad({ filter: /.*/, namespace: "relaxed-left-out" }, () => ({ contents: "export default new Uint8Array(0);", loader: "js" }));
    },
  };
}

/** A few Brown documents (detokenized text), spread over the genres and cut at a sentence. */
async function brownSample() {
  const { brownDocuments } = await import(`${root}dist/data/index.js`);
  const docs = await brownDocuments();
  const picked = docs.filter((_, i) => i % 25 === 0);
  return picked.map((d) => {
    const cut = d.text.length > 6000 ? d.text.slice(0, d.text.indexOf(". ", 6000) + 1 || 6000) : d.text;
    return { id: d.id, text: cut };
  });
}

/** What the three browser builds below share. */
const browserBuild = {
  outdir: out,
  bundle: true,
  format: "esm",
  platform: "browser",
  target: "es2022",
  minify,
  sourcemap: true,
  entryNames: "[name]",
  legalComments: "none",
  logLevel: "warning",
};

await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
const result = await build({
  ...browserBuild,
  entryPoints: {
    jreg: `${root}host/index.ts`,
    "train-worker": `${root}host/web/train-worker.ts`,
  },
  splitting: true,
  metafile: true,
  chunkNames: "chunk-[hash]",
  assetNames: "[name]-[hash]",
  loader: inline ? { ".wasm": "binary", ".wgsl": "text" } : {},
  // The Node-only branch that spawns worker_threads reads process.execArgv; it
  // never runs in a browser, and this keeps `process` out of the bundle.
  define: { "process.execArgv": "[]" },
  plugins: inline ? [relaxedKernelsLeftOut(), nodeModulesStubbed()] : [relaxedKernelsLeftOut(), assetsByUrl(), nodeModulesStubbed()],
});

// The page on its own (no splitting): it draws and talks to the worker, and must
// not share chunks that fetch the engine's binaries.
await build({
  ...browserBuild,
  entryPoints: { page: `${root}host/web/page.ts` },
  plugins: [nodeModulesStubbed()],
});

// The thread-pool worker on its own, with no top-level await: the pool posts its
// init message as soon as the worker exists, and a module still awaiting a fetch
// could drop it. The worker instantiates the compiled module it is sent, never the
// bytes its imports name, so those become empty placeholders.
await build({
  ...browserBuild,
  entryPoints: { "pool-worker": `${root}host/backend/wasm/worker.ts` },
  define: { "process.execArgv": "[]" },
  plugins: [binariesUnused(), nodeModulesStubbed()],
});

await writeFile(`${out}/brown-sample.json`, JSON.stringify(await brownSample()));
for (const f of ["index.html", "page.css"]) await copyFile(`${root}host/web/${f}`, `${out}/${f}`);
await copyFile(`${root}node_modules/uplot/dist/uPlot.min.css`, `${out}/uPlot.min.css`);

// Sizes: the host API entry with every chunk it imports statically, and the assets it fetches.
const outputs = result.metafile.outputs;
const rel = (p) => p.slice(p.lastIndexOf("/") + 1);
function closure(entry, seen = new Set()) {
  if (seen.has(entry)) return seen;
  seen.add(entry);
  for (const imp of outputs[entry]?.imports ?? []) if (imp.kind === "import-statement" && outputs[imp.path]) closure(imp.path, seen);
  return seen;
}
const entryKey = Object.keys(outputs).find((k) => k.endsWith("/jreg.js"));
let js = 0, jsGz = 0;
for (const k of closure(entryKey)) {
  const bytes = await readFile(new URL(k, `file://${process.cwd()}/`));
  js += bytes.length;
  jsGz += gzipSync(bytes, { level: 9 }).length;
}
const assets = {};
for (const k of Object.keys(outputs).filter((k) => /\.(wasm|wgsl)$/.test(k))) {
  const bytes = await readFile(new URL(k, `file://${process.cwd()}/`));
  assets[rel(k)] = { bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
}
const sizes = { inline, minify, hostApiJs: { bytes: js, gzip: jsGz }, assets };
await writeFile(`${out}/sizes.json`, JSON.stringify(sizes, null, 2) + "\n");
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(`${out}: host API JS ${kib(js)} minified, ${kib(jsGz)} gzip${inline ? " (wasm/wgsl inlined)" : `; assets ${Object.entries(assets).map(([n, s]) => `${n} ${kib(s.bytes)} (${kib(s.gzip)} gz)`).join(", ")}`}`);
