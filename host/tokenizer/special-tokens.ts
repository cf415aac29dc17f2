// Finding allowed special tokens in UTF-8 input. At each position the longest
// allowed special token that starts there wins; scanning resumes after it.

export interface SpecialMatch {
  start: number;
  end: number;
  id: number;
}

export class SpecialMatcher {
  /** Specials grouped by first byte, longest first. */
  private readonly byFirst = new Map<number, { bytes: Uint8Array; id: number }[]>();
  readonly maxLength: number;

  constructor(specials: ReadonlyArray<{ bytes: Uint8Array; id: number }>) {
    let max = 0;
    for (const s of specials) {
      if (s.bytes.length === 0) continue;
      const list = this.byFirst.get(s.bytes[0]) ?? [];
      list.push(s);
      this.byFirst.set(s.bytes[0], list);
      max = Math.max(max, s.bytes.length);
    }
    for (const list of this.byFirst.values()) list.sort((a, b) => b.bytes.length - a.bytes.length);
    this.maxLength = max;
  }

  get empty(): boolean {
    return this.byFirst.size === 0;
  }

  /** All non-overlapping matches in bytes[from, to), left to right. */
  find(bytes: Uint8Array, from = 0, to = bytes.length): SpecialMatch[] {
    const out: SpecialMatch[] = [];
    if (this.empty) return out;
    let i = from;
    while (i < to) {
      const list = this.byFirst.get(bytes[i]);
      let matched = false;
      if (list) {
        for (const s of list) {
          const n = s.bytes.length;
          if (i + n > to) continue;
          let k = 1;
          while (k < n && bytes[i + k] === s.bytes[k]) k++;
          if (k === n) {
            out.push({ start: i, end: i + n, id: s.id });
            i += n;
            matched = true;
            break;
          }
        }
      }
      if (!matched) i++;
    }
    return out;
  }
}
