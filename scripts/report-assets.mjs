// An esbuild plugin that provides the virtual module "jreg:report-assets": the
// report page's script (host/report/page.ts with uPlot, bundled as a minified
// browser IIFE), uPlot's CSS and uPlot's licence, as strings. host/report/html.ts
// inlines them into report.html, so the file opens from disk with no network, and
// dist/ needs no extra files at run time: the strings live inside the bundle,
// which works the same in Node, Deno and browsers.
import { build } from "esbuild";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const PAGE_ENTRY = `${root}host/report/page.ts`;
const UPLOT_CSS = `${root}node_modules/uplot/dist/uPlot.min.css`;
const UPLOT_LICENSE = `${root}node_modules/uplot/LICENSE`;

/** Bundles the report page script; returns its text and the files it was built from. */
export async function buildReportScript({ minify = true } = {}) {
  const result = await build({
    entryPoints: [PAGE_ENTRY],
    bundle: true,
    write: false,
    format: "iife",
    platform: "browser",
    target: "es2020",
    minify,
    // uPlot's licence is inlined whole, once, by html.ts; comments would only add
    // URLs (the report must hold none) and bytes.
    legalComments: "none",
    metafile: true,
    logLevel: "warning",
  });
  return { js: result.outputFiles[0].text, inputs: Object.keys(result.metafile.inputs).map((p) => `${root}${p}`) };
}

export function reportAssetsPlugin(options = {}) {
  return {
    name: "jreg-report-assets",
    setup(b) {
      b.onResolve({ filter: /^jreg:report-assets$/ }, (args) => ({ path: args.path, namespace: "jreg-report-assets" }));
      b.onLoad({ filter: /.*/, namespace: "jreg-report-assets" }, async () => {
        const { js, inputs } = await buildReportScript(options);
        const css = await readFile(UPLOT_CSS, "utf8");
        const license = await readFile(UPLOT_LICENSE, "utf8");
        return {
          contents: [
            `export const chartsScript = ${JSON.stringify(js)};`,
            `export const chartsCss = ${JSON.stringify(css)};`,
            `export const chartsLicense = ${JSON.stringify(license)};`,
          ].join("\n"),
          loader: "js",
          watchFiles: [...inputs, UPLOT_CSS, UPLOT_LICENSE],
        };
      });
    },
  };
}
