// A small self-contained SVG of a checkpoint's jump profile: two panels side by
// side, D_l against layer for both distances (angular and cosine, each on its own
// scale), and the early-exit CE against layer. No fonts, scripts or external
// references: the file opens anywhere.
import type { CheckpointAnalysis } from "./analyze-checkpoint.ts";

const W = 360;
const H = 240;
const PAD = { left: 52, right: 16, top: 30, bottom: 40 };

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const fmt = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(2));

interface Series {
  label: string;
  color: string;
  values: number[];
}

/** One panel at x offset `x0`: a line per series over layers 1..L, a shared y range. */
function panel(x0: number, title: string, yLabel: string, series: Series[]): string {
  const all = series.flatMap((s) => s.values).filter(Number.isFinite);
  const lo = Math.min(0, ...all);
  let hi = Math.max(...all);
  if (!(hi > lo)) hi = lo + 1;
  const L = Math.max(...series.map((s) => s.values.length));
  const px = (i: number) => x0 + PAD.left + (L === 1 ? 0.5 : i / (L - 1)) * (W - PAD.left - PAD.right);
  const py = (v: number) => PAD.top + (1 - (v - lo) / (hi - lo)) * (H - PAD.top - PAD.bottom);
  const out: string[] = [];
  out.push(`<text x="${x0 + W / 2}" y="18" text-anchor="middle" font-size="13">${esc(title)}</text>`);
  out.push(`<line x1="${x0 + PAD.left}" y1="${H - PAD.bottom}" x2="${x0 + W - PAD.right}" y2="${H - PAD.bottom}" stroke="#444"/>`);
  out.push(`<line x1="${x0 + PAD.left}" y1="${PAD.top}" x2="${x0 + PAD.left}" y2="${H - PAD.bottom}" stroke="#444"/>`);
  for (let k = 0; k <= 4; k++) {
    const v = lo + ((hi - lo) * k) / 4;
    out.push(`<text x="${x0 + PAD.left - 4}" y="${py(v) + 4}" text-anchor="end" font-size="10">${fmt(v)}</text>`);
    out.push(`<line x1="${x0 + PAD.left}" y1="${py(v)}" x2="${x0 + W - PAD.right}" y2="${py(v)}" stroke="#ddd"/>`);
  }
  const every = Math.max(1, Math.ceil(L / 8));
  for (let i = 0; i < L; i += every) out.push(`<text x="${px(i)}" y="${H - PAD.bottom + 14}" text-anchor="middle" font-size="10">${i + 1}</text>`);
  out.push(`<text x="${x0 + W / 2}" y="${H - 8}" text-anchor="middle" font-size="11">layer l</text>`);
  out.push(`<text x="${x0 + 12}" y="${H / 2}" text-anchor="middle" font-size="11" transform="rotate(-90 ${x0 + 12} ${H / 2})">${esc(yLabel)}</text>`);
  series.forEach((s, k) => {
    const pts = s.values.map((v, i) => `${px(i).toFixed(1)},${py(v).toFixed(1)}`).join(" ");
    out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${pts}"/>`);
    for (const [i, v] of s.values.entries()) out.push(`<circle cx="${px(i).toFixed(1)}" cy="${py(v).toFixed(1)}" r="2.5" fill="${s.color}"/>`);
    out.push(`<text x="${x0 + PAD.left + 8}" y="${PAD.top + 12 + 13 * k}" font-size="11" fill="${s.color}">${esc(s.label)}</text>`);
  });
  return out.join("\n");
}

/** The SVG document for an analysis (without the early-exit panel when it was not computed). */
export function profileSvg(a: CheckpointAnalysis): string {
  const panels = [
    panel(0, `jump profile (${a.final_state} final state)`, "D_l", [
      { label: `angular, J = ${fmt(a.J_angular)}`, color: "#1f77b4", values: a.D_angular },
      { label: `cosine, J = ${fmt(a.J_cosine)}`, color: "#d62728", values: a.D_cosine },
    ]),
  ];
  if (a.early_exit_ce) panels.push(panel(W, "early-exit CE", "CE of lm_head(norm(h_l))", [{ label: `final CE ${fmt(a.ce)}`, color: "#2ca02c", values: a.early_exit_ce }]));
  const body = panels.join("\n");
  const width = panels.length * W;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${H}" viewBox="0 0 ${width} ${H}" font-family="sans-serif">\n` +
    `<title>${esc(`${a.checkpoint}: ${a.tokens} tokens`)}</title>\n<rect width="100%" height="100%" fill="white"/>\n${body}\n</svg>\n`
  );
}
