// Where the largest D_l sits, for each run, over training: the claim that
// penalising only the final transition may move the jump one layer earlier
// instead of removing it is checked by watching this index move.
import type { RunData } from "./run-data.ts";

/** 1-based transition of the largest D_l (first on ties). */
export function largestTransition(profile: readonly number[]): number {
  let best = 0;
  for (let l = 1; l < profile.length; l++) if (profile[l]! > profile[best]!) best = l;
  return best + 1;
}

export interface LargestJumpTrack {
  name: string;
  /** per evaluation: its step and the 1-based transitions of the largest D_angular and D_cosine */
  points: { step: number; angular: number; cosine: number }[];
}

export function largestJumpTracks(runs: readonly RunData[]): LargestJumpTrack[] {
  return runs.map((r) => ({
    name: r.name,
    points: r.evals.map((e) => ({ step: e.step, angular: largestTransition(e.D_angular), cosine: largestTransition(e.D_cosine) })),
  }));
}
