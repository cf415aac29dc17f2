// RMSNorm as Hugging Face's LlamaRMSNorm computes it in float32:
//   rstd = 1 / sqrt(mean(x²) + eps),   out = w * (x * rstd).
// The forward pass saves rstd per row for the backward pass.

/** Sum of squares of c floats at x: four f32 lanes, then the lanes, then the tail. */
@inline function sumOfSquares(x: usize, c: i32): f32 {
  const bytes = (<usize>c) << 2;
  const vecBytes = bytes & ~(<usize>15);
  let acc = f32x4.splat(0);
  let o: usize = 0;
  for (; o < vecBytes; o += 16) {
    const v = v128.load(x + o);
    acc = f32x4.add(acc, f32x4.mul(v, v));
  }
  let s: f32 =
    (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) +
    (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
  for (; o < bytes; o += 4) {
    const v = load<f32>(x + o);
    s += v * v;
  }
  return s;
}

/**
 * Normalises rows [rowStart, rowEnd) of x ([rows, c]) into out and writes each
 * row's rstd. Rows are independent, so any split across threads gives the same bits.
 */
export function rmsnormForward(
  out: usize, rstd: usize, x: usize, w: usize, c: i32, eps: f32, rowStart: i32, rowEnd: i32,
): void {
  const rowBytes = (<usize>c) << 2;
  const vecBytes = rowBytes & ~(<usize>15);
  for (let i = rowStart; i < rowEnd; i++) {
    const xr = x + (<usize>i) * rowBytes;
    const or = out + (<usize>i) * rowBytes;
    const r: f32 = <f32>1.0 / Mathf.sqrt(sumOfSquares(xr, c) / <f32>c + eps);
    store<f32>(rstd + ((<usize>i) << 2), r);
    const rv = f32x4.splat(r);
    let o: usize = 0;
    for (; o < vecBytes; o += 16) {
      v128.store(or + o, f32x4.mul(v128.load(w + o), f32x4.mul(v128.load(xr + o), rv)));
    }
    for (; o < rowBytes; o += 4) store<f32>(or + o, load<f32>(w + o) * (load<f32>(xr + o) * r));
  }
}

/**
 * Backward of rmsnormForward over all n rows. With y = x·rstd and g = dout·w:
 *   dx += rstd · g − x · (rstd³ / c) · Σ_j g_j x_j,    dw += Σ_rows dout · y.
 * dw is a reduction over rows, summed in ascending row order, which is why this
 * kernel takes the whole batch rather than a row range.
 */
export function rmsnormBackward(
  dx: usize, dw: usize, dout: usize, x: usize, w: usize, rstd: usize, n: i32, c: i32,
): void {
  const rowBytes = (<usize>c) << 2;
  const vecBytes = rowBytes & ~(<usize>15);
  for (let i = 0; i < n; i++) {
    const base = (<usize>i) * rowBytes;
    const xr = x + base;
    const dor = dout + base;
    const dxr = dx + base;
    const r = load<f32>(rstd + ((<usize>i) << 2));

    // Σ_j dout_j · w_j · x_j
    let acc = f32x4.splat(0);
    let o: usize = 0;
    for (; o < vecBytes; o += 16) {
      const g = f32x4.mul(v128.load(dor + o), v128.load(w + o));
      acc = f32x4.add(acc, f32x4.mul(g, v128.load(xr + o)));
    }
    let dot: f32 =
      (f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1)) +
      (f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3));
    for (; o < rowBytes; o += 4) dot += load<f32>(dor + o) * load<f32>(w + o) * load<f32>(xr + o);

    const k: f32 = r * r * r * dot / <f32>c;
    const rv = f32x4.splat(r);
    const kv = f32x4.splat(k);
    o = 0;
    for (; o < vecBytes; o += 16) {
      const d = v128.load(dor + o);
      const xv = v128.load(xr + o);
      const g = f32x4.mul(d, v128.load(w + o));
      const dxv = f32x4.sub(f32x4.mul(g, rv), f32x4.mul(xv, kv));
      v128.store(dxr + o, f32x4.add(v128.load(dxr + o), dxv));
      v128.store(dw + o, f32x4.add(v128.load(dw + o), f32x4.mul(d, f32x4.mul(xv, rv))));
    }
    for (; o < rowBytes; o += 4) {
      const d = load<f32>(dor + o);
      const xv = load<f32>(xr + o);
      const g = d * load<f32>(w + o);
      store<f32>(dxr + o, load<f32>(dxr + o) + (g * r - xv * k));
      store<f32>(dw + o, load<f32>(dw + o) + d * (xv * r));
    }
  }
}
