// A seeded pseudo-random generator whose whole state is one 32-bit integer, so
// it is trivially saved in a JSON cursor and gives the same numbers in every
// runtime (integer arithmetic only: Math.imul and shifts, no floats).
// SplitMix32: the 32-bit variant of SplitMix64's increment-and-mix design.

export class SplitMix32 {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** The next 32-bit unsigned integer. */
  nextU32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** A uniform integer in [0, n), 1 ≤ n ≤ 2^32, without modulo bias (rejection sampling). */
  nextBelow(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > 0x100000000) throw new RangeError(`nextBelow: n must be an integer in [1, 2^32], got ${n}`);
    const limit = 0x100000000 - (0x100000000 % n);
    for (;;) {
      const x = this.nextU32();
      if (x < limit) return x % n;
    }
  }
}

/** Mixes several 32-bit integers into one seed (order matters). */
export function mixSeed(...parts: number[]): number {
  let h = 0x243f6a88;
  for (const p of parts) {
    const g = new SplitMix32((h ^ (p >>> 0)) >>> 0);
    h = g.nextU32();
  }
  return h;
}
