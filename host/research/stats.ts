// The statistics of `jreg sweep`: mean and sample sd, Student's t distribution
// (CDF via the regularized incomplete beta function, quantiles by bisection),
// the paired t-test over seeds, and a seeded paired bootstrap over validation
// windows. Plain float64 code, no dependency: the numbers are few.

export function mean(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Sample standard deviation (n − 1); NaN for fewer than 2 values. */
export function sampleSd(xs: readonly number[]): number {
  if (xs.length < 2) return NaN;
  const m = mean(xs);
  let s = 0;
  for (const x of xs) s += (x - m) * (x - m);
  return Math.sqrt(s / (xs.length - 1));
}

// Lanczos approximation (g = 7, 9 terms): ln Γ(x) to ~1e-15 relative for x > 0.
const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905,
  -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
];

export function logGamma(x: number): number {
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x); // reflection
  x -= 1;
  let a = LANCZOS[0]!;
  const t = x + 7.5;
  for (let i = 1; i < 9; i++) a += LANCZOS[i]! / (x + i);
  return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const TINY = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 1000; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** The regularized incomplete beta function I_x(a, b). */
export function regularizedBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log1p(-x));
  // The continued fraction converges fast below the mean; use the symmetry above it.
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(a, b, x)) / a;
  return 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom. */
export function studentTCdf(t: number, df: number): number {
  if (!(df > 0)) throw new RangeError(`degrees of freedom must be > 0, got ${df}`);
  if (t === Infinity) return 1;
  if (t === -Infinity) return 0;
  const tail = 0.5 * regularizedBeta(df / (df + t * t), df / 2, 0.5); // P(T > |t|)
  return t > 0 ? 1 - tail : tail;
}

/** Two-sided p-value P(|T| ≥ |t|). */
export function studentTTwoSided(t: number, df: number): number {
  if (Number.isNaN(t)) return NaN;
  if (!Number.isFinite(t)) return 0;
  return regularizedBeta(df / (df + t * t), df / 2, 0.5);
}

/** The p-quantile of Student's t (bisection on the CDF; |error| < 1e-12). */
export function studentTQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`p must be in (0, 1), got ${p}`);
  let lo = -1;
  let hi = 1;
  while (studentTCdf(lo, df) > p) lo *= 2;
  while (studentTCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, Math.abs(lo)); i++) {
    const mid = (lo + hi) / 2;
    if (studentTCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

export interface PairedTest {
  method: string;
  /** pairs used */
  n: number;
  /** mean of (treatment − baseline) */
  meanDiff: number;
  /** 95 % confidence interval of the mean difference; null below 2 pairs */
  ci: [number, number] | null;
  t: number | null;
  df: number | null;
  /** two-sided; null below 2 pairs or when every difference is equal */
  p: number | null;
}

/**
 * Paired t-test of treatment[i] − baseline[i] (pairs = seeds: the same seed gives
 * the same initial weights and data order). Two-sided p from Student's t with n − 1
 * degrees of freedom; 95 % CI mean ± t_{0.975, n−1}·sd/√n.
 */
export function pairedTTest(treatment: readonly number[], baseline: readonly number[]): PairedTest {
  if (treatment.length !== baseline.length) throw new RangeError(`paired samples differ in length: ${treatment.length} vs ${baseline.length}`);
  const d = treatment.map((x, i) => x - baseline[i]!);
  const n = d.length;
  const method = "paired t-test over seeds (two-sided, Student's t with n − 1 df)";
  const m = mean(d);
  if (n < 2) return { method, n, meanDiff: m, ci: null, t: null, df: null, p: null };
  const se = sampleSd(d) / Math.sqrt(n);
  const df = n - 1;
  const half = studentTQuantile(0.975, df) * se;
  if (se === 0) return { method, n, meanDiff: m, ci: [m, m], t: null, df, p: m === 0 ? 1 : null };
  const t = m / se;
  return { method, n, meanDiff: m, ci: [m - half, m + half], t, df, p: studentTTwoSided(t, df) };
}

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface BootstrapResult {
  method: string;
  /** units (validation windows) resampled */
  n: number;
  resamples: number;
  seed: number;
  meanDiff: number;
  /** percentile 95 % CI of the mean difference */
  ci: [number, number];
  /** two-sided, from the bootstrap distribution recentred at 0 (null hypothesis of no difference) */
  p: number;
}

/**
 * Paired bootstrap over units: `diffs[u]` is the treatment − baseline difference
 * of unit u (here: a validation window's CE, averaged over seeds). Resamples the
 * units with replacement `resamples` times (seeded, so reproducible); the CI is
 * the 2.5/97.5 percentiles of the resampled means; p = (1 + #{|m*_b − m̄| ≥ |m̄|}) /
 * (B + 1), the share of recentred resamples at least as far from 0 as observed.
 */
export function pairedBootstrap(diffs: readonly number[], opts: { resamples?: number; seed?: number } = {}): BootstrapResult {
  const B = opts.resamples ?? 10_000;
  const seed = opts.seed ?? 1;
  const n = diffs.length;
  if (n === 0) throw new RangeError("paired bootstrap needs at least one unit");
  const rand = seededRandom(seed);
  const m = mean(diffs);
  const means = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += diffs[Math.floor(rand() * n)]!;
    means[b] = s / n;
  }
  let extreme = 0;
  for (let b = 0; b < B; b++) if (Math.abs(means[b]! - m) >= Math.abs(m)) extreme++;
  means.sort();
  const at = (q: number) => means[Math.min(B - 1, Math.max(0, Math.floor(q * B)))]!;
  return {
    method: `paired bootstrap over validation windows (${B} resamples of the windows with replacement, seed ${seed}; percentile 95 % CI; p from the recentred bootstrap distribution)`,
    n,
    resamples: B,
    seed,
    meanDiff: m,
    ci: [at(0.025), at(0.975)],
    p: (1 + extreme) / (B + 1),
  };
}
