// Token embedding: a row gather in the forward pass and a scatter-add in the
// backward pass. Token ids are i32 and must already be checked by the host to lie
// in [0, vocab): a kernel cannot report errors, so an out-of-range id would read
// or write outside the table.

/** out[i, :] = table[tokens[i], :] for i in [0, n); rows have c floats. */
export function embeddingForward(out: usize, tokens: usize, table: usize, n: i32, c: i32): void {
  const rowBytes = (<usize>c) << 2;
  for (let i = 0; i < n; i++) {
    const tok = <usize>load<i32>(tokens + ((<usize>i) << 2));
    memory.copy(out + (<usize>i) * rowBytes, table + tok * rowBytes, rowBytes);
  }
}

/**
 * dtable[tokens[i], :] += dout[i, :], visiting i in ascending order so that a
 * token that occurs several times always sums its gradients in the same order.
 */
export function embeddingBackward(dtable: usize, tokens: usize, dout: usize, n: i32, c: i32): void {
  const rowBytes = (<usize>c) << 2;
  const vecBytes = rowBytes & ~(<usize>15);
  for (let i = 0; i < n; i++) {
    const tok = <usize>load<i32>(tokens + ((<usize>i) << 2));
    const dst = dtable + tok * rowBytes;
    const src = dout + (<usize>i) * rowBytes;
    let o: usize = 0;
    for (; o < vecBytes; o += 16) {
      v128.store(dst + o, f32x4.add(v128.load(dst + o), v128.load(src + o)));
    }
    for (; o < rowBytes; o += 4) store<f32>(dst + o, load<f32>(dst + o) + load<f32>(src + o));
  }
}
