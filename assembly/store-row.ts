// Writing one 16-wide row of results held in four f32x4 registers, shared by the
// matmul and attention micro-kernels (not a kernel: kernels.ts does not export it).

/** Writes (or adds, when `add`) a 16-wide row of results, only the first `cols` columns. */
// @ts-ignore: decorator
@inline
export function storeRow(c: usize, cols: i32, add: bool, v0: v128, v1: v128, v2: v128, v3: v128): void {
  if (cols == 16) {
    if (add) {
      v0 = f32x4.add(v128.load(c), v0);
      v1 = f32x4.add(v128.load(c, 16), v1);
      v2 = f32x4.add(v128.load(c, 32), v2);
      v3 = f32x4.add(v128.load(c, 48), v3);
    }
    v128.store(c, v0);
    v128.store(c, v1, 16);
    v128.store(c, v2, 32);
    v128.store(c, v3, 48);
  } else {
    storePartial(c, cols, add, v0, v1, v2, v3);
  }
}

/** Column q (< 16) of a 16-wide row held in four registers. */
// @ts-ignore: decorator
@inline
export function rowLane(q: i32, v0: v128, v1: v128, v2: v128, v3: v128): f32 {
  const v = q < 4 ? v0 : q < 8 ? v1 : q < 12 ? v2 : v3;
  switch (q & 3) {
    case 0: return f32x4.extract_lane(v, 0);
    case 1: return f32x4.extract_lane(v, 1);
    case 2: return f32x4.extract_lane(v, 2);
    default: return f32x4.extract_lane(v, 3);
  }
}

/** The first `cols` (< 16) columns of a row, one lane at a time. */
export function storePartial(c: usize, cols: i32, add: bool, v0: v128, v1: v128, v2: v128, v3: v128): void {
  for (let q = 0; q < cols; q++) {
    let x = rowLane(q, v0, v1, v2, v3);
    const dst = c + ((<usize>q) << 2);
    if (add) x = load<f32>(dst) + x;
    store<f32>(dst, x);
  }
}
