// The layer-wise jump profile of a model on a batch: D_l for both distances, the
// jump strength J, and per-token statistics of every transition. The device makes
// the per-token distances; the shared CPU module (host/cpu) reduces them.
import { DistanceKind } from "../backend/backend.ts";
import { loadCpuModule, type CpuModule } from "../cpu/cpu-module.ts";
import type { TokenBatch } from "../model/batch.ts";
import { jumpStrength } from "../model/jreg.ts";
import type { LlamaModel } from "../model/model.ts";
import { tokenDistances } from "./hidden-states.ts";

export const PROFILE_QUANTILES = [0.05, 0.25, 0.5, 0.75, 0.95] as const;
export const HISTOGRAM_BINS = 20;

export interface TokenStats {
  mean: number;
  min: number;
  max: number;
  /** values at PROFILE_QUANTILES */
  quantiles: number[];
  /** HISTOGRAM_BINS counts over [0, 1] (angular) or [0, 2] (cosine) */
  histogram: number[];
}

export interface JumpProfile {
  /** per transition l = 1..L */
  D_angular: number[];
  D_cosine: number[];
  J_angular: number;
  J_cosine: number;
  ce: number;
  tokens: number;
  perToken: { angular: TokenStats[]; cosine: TokenStats[] };
}

/** Per-layer statistics of per-token distances ([L][tokens]) of one kind. */
export function tokenStats(cpu: CpuModule, perLayer: Float32Array[], kind: "angular" | "cosine"): TokenStats[] {
  return perLayer.map((d) => {
    const q = cpu.quantiles(d, [0, ...PROFILE_QUANTILES, 1]);
    return {
      mean: cpu.mean(d),
      min: q[0]!,
      max: q[q.length - 1]!,
      quantiles: q.slice(1, -1),
      histogram: cpu.histogram(d, 0, kind === "angular" ? 1 : 2, HISTOGRAM_BINS),
    };
  });
}

export async function jumpProfile(model: LlamaModel, batch: TokenBatch): Promise<JumpProfile> {
  const cpu = await loadCpuModule();
  const [angular, cosine, losses] = await tokenDistancesAndLosses(model, batch);
  const stats = (perLayer: Float32Array[], kind: "angular" | "cosine") => tokenStats(cpu, perLayer, kind);
  const perToken = { angular: stats(angular, "angular"), cosine: stats(cosine, "cosine") };
  // D_l is the token mean, reduced on the CPU like the other statistics.
  const D_angular = perToken.angular.map((t) => t.mean);
  const D_cosine = perToken.cosine.map((t) => t.mean);
  return {
    D_angular,
    D_cosine,
    J_angular: jumpStrength(D_angular),
    J_cosine: jumpStrength(D_cosine),
    ce: cpu.mean(losses),
    tokens: losses.length,
    perToken,
  };
}

/** Per-token angular and cosine distances of every transition, and the per-token losses, of one forward. */
async function tokenDistancesAndLosses(model: LlamaModel, batch: TokenBatch): Promise<[Float32Array[], Float32Array[], Float32Array]> {
  const a = model.run(batch);
  const distances = tokenDistances(model.backend, a, [DistanceKind.Angular, DistanceKind.Cosine]);
  const losses = model.backend.read(a.losses);
  const [angular, cosine] = await distances;
  return [angular!, cosine!, await losses];
}
