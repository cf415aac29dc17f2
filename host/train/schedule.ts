// Learning-rate schedule: linear warm-up, then cosine decay to minLr (nanoGPT's).

export interface ScheduleConfig {
  lr: number;
  minLr: number;
  warmupSteps: number;
  /** step at which the cosine reaches minLr; 0 = constant lr after warm-up */
  decaySteps: number;
}

/** Learning rate for 0-based step `step`. */
export function learningRate(s: ScheduleConfig, step: number): number {
  if (step < s.warmupSteps) return (s.lr * (step + 1)) / s.warmupSteps;
  if (s.decaySteps <= 0) return s.lr;
  if (step >= s.decaySteps) return s.minLr;
  const progress = (step - s.warmupSteps) / Math.max(1, s.decaySteps - s.warmupSteps);
  return s.minLr + 0.5 * (1 + Math.cos(Math.PI * progress)) * (s.lr - s.minLr);
}
