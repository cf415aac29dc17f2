// Rotary position embedding, Hugging Face `rotate_half` convention: dimension i
// is paired with i + hd/2 (not with its neighbour), and
//   out = x·cos + rotate_half(x)·sin,  rotate_half(x) = [−x₂, x₁].
// The cos/sin tables hold hd/2 columns per position because HF's table repeats
// the same angles for both halves. The tables are made once on the host CPU path
// (host/cpu) with ropeTable and uploaded to whichever backend runs the model.

/**
 * inv_freq[i] = 1 / theta^(2i/hd) for i in [0, hd/2), rounded to f32 as HF does
 * (the unscaled frequencies; the host applies any rope_scaling to these).
 */
export function ropeInvFreq(out: usize, hd: i32, theta: f32): void {
  const half = hd >> 1;
  for (let i = 0; i < half; i++) {
    const exponent: f32 = <f32>(i << 1) / <f32>hd;
    store<f32>(out + ((<usize>i) << 2), <f32>1.0 / <f32>Math.pow(<f64>theta, <f64>exponent));
  }
}

/**
 * Fills cos and sin ([t, half]) with angle(pos, i) = pos · invFreq[i], the f32
 * product (HF multiplies f32 inv_freq by f32 positions).
 */
export function ropeTableFromInvFreq(cos: usize, sin: usize, t: i32, half: i32, invFreq: usize): void {
  for (let i = 0; i < half; i++) {
    const f = load<f32>(invFreq + ((<usize>i) << 2));
    for (let pos = 0; pos < t; pos++) {
      const angle: f32 = <f32>pos * f;
      const at = ((<usize>pos) * (<usize>half) + (<usize>i)) << 2;
      store<f32>(cos + at, <f32>Math.cos(<f64>angle));
      store<f32>(sin + at, <f32>Math.sin(<f64>angle));
    }
  }
}

/**
 * Fills cos and sin ([t, hd/2]) with angle(pos, i) = pos · inv_freq[i], where
 * inv_freq[i] = 1 / theta^(2i/hd) is rounded to f32 as HF does, and the angle is
 * the f32 product (HF multiplies f32 inv_freq by f32 positions).
 */
export function ropeTable(cos: usize, sin: usize, t: i32, hd: i32, theta: f32): void {
  const half = hd >> 1;
  for (let i = 0; i < half; i++) {
    const twoI: i32 = i << 1;
    const exponent: f32 = <f32>twoI / <f32>hd;
    const invFreq: f32 = <f32>1.0 / <f32>Math.pow(<f64>theta, <f64>exponent);
    for (let pos = 0; pos < t; pos++) {
      const angle: f32 = <f32>pos * invFreq;
      const at = ((<usize>pos) * (<usize>half) + (<usize>i)) << 2;
      store<f32>(cos + at, <f32>Math.cos(<f64>angle));
      store<f32>(sin + at, <f32>Math.sin(<f64>angle));
    }
  }
}

/**
 * Rotates x ([b, t, heads, hd]) in place by +angle (inverse = 0, the forward) or by
 * −angle (inverse ≠ 0). The rotation is orthogonal, so rotating by −angle is its
 * transpose: the backward of the forward rotation, applied to the gradient.
 *   forward:  x₁' = x₁·cos − x₂·sin,  x₂' = x₂·cos + x₁·sin
 *   inverse:  x₁' = x₁·cos + x₂·sin,  x₂' = x₂·cos − x₁·sin
 * Both halves are loaded before either is stored.
 */
export function ropeInPlace(x: usize, cos: usize, sin: usize, b: i32, t: i32, heads: i32, hd: i32, inverse: i32): void {
  const half = hd >> 1;
  const halfBytes = (<usize>half) << 2;
  const vecBytes = halfBytes & ~(<usize>15);
  const headBytes = (<usize>hd) << 2;
  // The inverse negates sin; negation is exact, so both directions round alike.
  const sign: f32 = inverse != 0 ? -1.0 : 1.0;
  const signV = f32x4.splat(sign);
  for (let bi = 0; bi < b; bi++) {
    for (let pos = 0; pos < t; pos++) {
      const cr = cos + (<usize>pos) * halfBytes;
      const sr = sin + (<usize>pos) * halfBytes;
      const rowBase = ((<usize>bi) * (<usize>t) + (<usize>pos)) * (<usize>heads) * headBytes;
      for (let h = 0; h < heads; h++) {
        const xa = x + rowBase + (<usize>h) * headBytes;
        let o: usize = 0;
        for (; o < vecBytes; o += 16) {
          const c = v128.load(cr + o);
          const s = f32x4.mul(v128.load(sr + o), signV);
          const x1 = v128.load(xa + o);
          const x2 = v128.load(xa + halfBytes + o);
          v128.store(xa + o, f32x4.sub(f32x4.mul(x1, c), f32x4.mul(x2, s)));
          v128.store(xa + halfBytes + o, f32x4.add(f32x4.mul(x2, c), f32x4.mul(x1, s)));
        }
        for (; o < halfBytes; o += 4) {
          const c = load<f32>(cr + o);
          const s = load<f32>(sr + o) * sign;
          const x1 = load<f32>(xa + o);
          const x2 = load<f32>(xa + halfBytes + o);
          store<f32>(xa + o, x1 * c - x2 * s);
          store<f32>(xa + halfBytes + o, x2 * c + x1 * s);
        }
      }
    }
  }
}
