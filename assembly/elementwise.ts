// Elementwise kernels over flat f32 arrays: gradient accumulation, copies and
// fills. (Clipping scales the gradient inside the fused optimizer, optimizer.ts.)
// Each works on f32x4 lanes with a scalar tail, so any length is accepted and
// every element is computed the same way whatever the length.

/** out[i] = a[i] + b[i]. out may alias a or b. */
function add(out: usize, a: usize, b: usize, n: i32): void {
  const bytes = (<usize>n) << 2;
  const vecBytes = bytes & ~(<usize>15);
  let o: usize = 0;
  for (; o < vecBytes; o += 16) {
    v128.store(out + o, f32x4.add(v128.load(a + o), v128.load(b + o)));
  }
  for (; o < bytes; o += 4) {
    store<f32>(out + o, load<f32>(a + o) + load<f32>(b + o));
  }
}

/** dst[i] += src[i]: how backward passes sum gradients that meet at one tensor. */
export function accumulate(dst: usize, src: usize, n: i32): void {
  add(dst, dst, src, n);
}

/** dst[i] = src[i]. The ranges must not overlap unless dst == src. */
export function copy(dst: usize, src: usize, n: i32): void {
  if (dst == src || n <= 0) return;
  memory.copy(dst, src, (<usize>n) << 2);
}

/** dst[i] = value. */
export function fill(dst: usize, n: i32, value: f32): void {
  const bytes = (<usize>n) << 2;
  const vecBytes = bytes & ~(<usize>15);
  const v = f32x4.splat(value);
  let o: usize = 0;
  for (; o < vecBytes; o += 16) v128.store(dst + o, v);
  for (; o < bytes; o += 4) store<f32>(dst + o, value);
}
