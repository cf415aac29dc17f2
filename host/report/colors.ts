// Run colours, shared by the charts (browser) and the HTML tables (Node): kept
// apart from charts.ts so that the Node side never bundles uPlot.

/** Okabe–Ito colours: distinguishable with the common colour-vision deficiencies, dark enough on white. */
export const RUN_COLORS = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"];

export function runColor(index: number): string {
  return RUN_COLORS[index % RUN_COLORS.length];
}

/** `#rrggbb` mixed with white: t = 0 is the colour itself, t = 1 is white. */
export function tint(hex: string, t: number): string {
  const n = parseInt(hex.slice(1), 16);
  const mix = (c: number) => Math.round(c + (255 - c) * t).toString(16).padStart(2, "0");
  return `#${mix(n >> 16)}${mix((n >> 8) & 255)}${mix(n & 255)}`;
}
