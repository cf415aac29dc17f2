// The jump-suppressing regularizer on per-layer mean distances (DESIGN.md "JREG").
// Per-token cosines come from the backend; this file holds the small scalar part:
// which transitions count, R itself, and dR/dD_l for the backward pass (the host
// reference `regularizer`, and `jregScalarsSpec`, its form for the device).
import { DistanceKind, type JregScalarsSpec } from "../backend/backend.ts";

export type JregDistance = "cosine" | "angular";
export type JregNormalize = "none" | "middle";
/**
 * Which transitions R weighs: "last-k" averages the last `lastK` (the paper's
 * form), "all" averages every transition, and an array gives one weight per
 * transition (R's numerator is then Σ w_l·D_l, the weights taken as given).
 */
export type JregLayers = "last-k" | "all" | number[];

export interface JregOptions {
  /** weight of R in the loss; 0 reproduces plain cross-entropy exactly */
  alpha: number;
  distance: JregDistance;
  /** R averages the last k transitions (with layers "last-k") */
  lastK: number;
  normalize: JregNormalize;
  /** the transitions R weighs; "last-k" (the default) uses lastK */
  layers: JregLayers;
}

export const DEFAULT_JREG: JregOptions = { alpha: 0, distance: "cosine", lastK: 1, normalize: "none", layers: "last-k" };

export class JregOptionError extends Error {
  override name = "JregOptionError";
}

export function validateJreg(opts: Partial<JregOptions>, numLayers: number): JregOptions {
  const o = { ...DEFAULT_JREG, ...opts };
  if (typeof o.alpha !== "number" || !Number.isFinite(o.alpha) || o.alpha < 0) {
    throw new JregOptionError(`jreg.alpha must be a finite number ≥ 0, got ${String(opts.alpha)}`);
  }
  if (o.distance !== "cosine" && o.distance !== "angular") {
    throw new JregOptionError(`jreg.distance must be "cosine" or "angular", got ${JSON.stringify(opts.distance)}`);
  }
  if (!Number.isInteger(o.lastK) || o.lastK < 1 || o.lastK > numLayers) {
    throw new JregOptionError(`jreg.lastK must be an integer in [1, ${numLayers}] (the number of layers), got ${String(opts.lastK)}`);
  }
  if (o.normalize !== "none" && o.normalize !== "middle") {
    throw new JregOptionError(`jreg.normalize must be "none" or "middle", got ${JSON.stringify(opts.normalize)}`);
  }
  return { ...o, layers: validateLayers(o.layers, numLayers) };
}

function validateLayers(layers: unknown, numLayers: number): JregLayers {
  if (layers === "last-k" || layers === "all") return layers;
  if (!Array.isArray(layers)) {
    throw new JregOptionError(`jreg.layers must be "last-k", "all" or an array of ${numLayers} weights (one per transition), got ${JSON.stringify(layers)}`);
  }
  if (layers.length !== numLayers) {
    throw new JregOptionError(`jreg.layers must have one weight per transition: ${numLayers} (the number of layers), got ${layers.length}`);
  }
  for (let i = 0; i < layers.length; i++) {
    const w: unknown = layers[i];
    if (typeof w !== "number" || !Number.isFinite(w) || w < 0) {
      throw new JregOptionError(`jreg.layers[${i}] must be a finite number ≥ 0, got ${JSON.stringify(w)}`);
    }
  }
  if (!layers.some((w: number) => w > 0)) throw new JregOptionError("jreg.layers must have at least one weight > 0 (all are 0: use jreg.alpha = 0 instead)");
  return [...(layers as number[])];
}

/**
 * R's numerator weights w_l, one per transition (R = Σ w_l·D_l before any
 * normalization): 1/k on the last k, 1/L on all, or the given array.
 */
export function layerWeights(opts: Pick<JregOptions, "lastK" | "layers">, numLayers: number): number[] {
  if (Array.isArray(opts.layers)) return [...opts.layers];
  const w = new Array<number>(numLayers).fill(0);
  const on = opts.layers === "all" ? Array.from({ length: numLayers }, (_, l) => l) : lastLayers(numLayers, opts.lastK);
  for (const l of on) w[l] = 1 / on.length;
  return w;
}

/** 0-based indices of the middle transitions: {2..L−1} (1-based) for L ≥ 3, else {1}. */
export function middleLayers(numLayers: number): number[] {
  if (numLayers <= 2) return [0];
  const out: number[] = [];
  for (let l = 1; l < numLayers - 1; l++) out.push(l);
  return out;
}

/** 0-based indices of the last k transitions. */
export function lastLayers(numLayers: number, k: number): number[] {
  const out: number[] = [];
  for (let l = numLayers - k; l < numLayers; l++) out.push(l);
  return out;
}

function meanOf(values: readonly number[], idx: readonly number[]): number {
  let s = 0;
  for (const i of idx) s += values[i]!;
  return s / idx.length;
}

/** Jump strength J = D_L / mean_{l∈M} D_l. */
export function jumpStrength(profile: readonly number[]): number {
  const L = profile.length;
  return profile[L - 1]! / meanOf(profile, middleLayers(L));
}

/**
 * R and dR/dD_l for every transition, given the per-layer means D_l of the loss
 * distance. A = Σ w_l·D_l (layerWeights). With normalize "middle", R = A / Mid
 * and the gradient flows through both: dR/dD_l = w_l/Mid − [l∈M]·A/(|M|·Mid²).
 */
export function regularizer(profile: readonly number[], opts: JregOptions): { R: number; dR: number[] } {
  const L = profile.length;
  const w = layerWeights(opts, L);
  let A = 0;
  for (let l = 0; l < L; l++) A += w[l]! * profile[l]!;
  if (opts.normalize === "none") return { R: A, dR: w };
  const mid = middleLayers(L);
  const Mid = meanOf(profile, mid);
  const dR = w.map((x) => x / Mid);
  for (const l of mid) dR[l]! -= A / (mid.length * Mid * Mid);
  return { R: A / Mid, dR };
}

/**
 * The device form of `regularizer`: the weights that turn the profile into R
 * (backend jregScalars). R = Σ num[l]·D_l, divided by Σ den[l]·D_l for "middle".
 */
export function jregScalarsSpec(opts: JregOptions, numLayers: number): JregScalarsSpec {
  const numerator = layerWeights(opts, numLayers);
  let denominator: number[] | null = null;
  if (opts.normalize === "middle") {
    denominator = new Array<number>(numLayers).fill(0);
    const mid = middleLayers(numLayers);
    for (const l of mid) denominator[l] = 1 / mid.length;
  }
  return { numLayers, alpha: opts.alpha, numerator, denominator };
}

/**
 * Transitions whose α·dR/dD_l is structurally nonzero: those of weight ≠ 0, plus the middle
 * set with normalize "middle"; none when α = 0, so α = 0 runs no JREG op at all.
 */
export function jregLayers(spec: JregScalarsSpec): boolean[] {
  return Array.from({ length: spec.numLayers }, (_, l) => spec.alpha !== 0 && (spec.numerator[l] !== 0 || (spec.denominator?.[l] ?? 0) !== 0));
}

/** The distance kernel the loss uses (angular clamps away from ±1 for a finite gradient). */
export function lossDistanceKind(opts: JregOptions): DistanceKind {
  return opts.distance === "cosine" ? DistanceKind.Cosine : DistanceKind.AngularLoss;
}
