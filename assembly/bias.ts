// Bias of a linear layer (Qwen2's q/k/v projections): x[i, j] += bias[j] over n
// rows of width c, and its backward, the column sum dbias[j] += Σ_i dout[i, j].
// The column sum walks the rows in order for every column, so its result does not
// depend on how the host splits the columns.

/** x[i·c + j] += bias[j] for i in [0, n), j in [0, c). */
export function biasAddInPlace(x: usize, bias: usize, n: i32, c: i32): void {
  const rowBytes = (<usize>c) << 2;
  const vecBytes = rowBytes & ~(<usize>15);
  for (let i = 0; i < n; i++) {
    const row = x + (<usize>i) * rowBytes;
    let o: usize = 0;
    for (; o < vecBytes; o += 16) v128.store(row + o, f32x4.add(v128.load(row + o), v128.load(bias + o)));
    for (; o < rowBytes; o += 4) store<f32>(row + o, load<f32>(row + o) + load<f32>(bias + o));
  }
}

/**
 * dbias[j] += Σ_i dout[i·c + j], the rows summed in order 0..n−1 (per lane, so a
 * column gets the same bits in the vector body and in the tail).
 */
export function biasBackward(dbias: usize, dout: usize, n: i32, c: i32): void {
  const rowBytes = (<usize>c) << 2;
  const vecBytes = rowBytes & ~(<usize>15);
  let o: usize = 0;
  for (; o < vecBytes; o += 16) {
    let s = f32x4.splat(0);
    for (let i = 0; i < n; i++) s = f32x4.add(s, v128.load(dout + (<usize>i) * rowBytes + o));
    v128.store(dbias + o, f32x4.add(v128.load(dbias + o), s));
  }
  for (; o < rowBytes; o += 4) {
    let s: f32 = 0;
    for (let i = 0; i < n; i++) s += load<f32>(dout + (<usize>i) * rowBytes + o);
    store<f32>(dbias + o, load<f32>(dbias + o) + s);
  }
}
