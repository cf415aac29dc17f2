// The virtual module that scripts/report-assets.mjs (an esbuild plugin) provides
// at bundle time: the report page's browser script and uPlot's CSS and licence.
declare module "jreg:report-assets" {
  /** host/report/page.ts with uPlot, as a minified browser IIFE. */
  export const chartsScript: string;
  /** uPlot's stylesheet (uplot/dist/uPlot.min.css). */
  export const chartsCss: string;
  /** uPlot's MIT licence text, which must travel with its code. */
  export const chartsLicense: string;
}
