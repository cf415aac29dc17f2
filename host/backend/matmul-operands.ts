// The placement of matmul operands inside their tensors (backend.ts MatmulOperands),
// resolved and checked once for every backend: each operand as stored is a
// [rows, cols] matrix with a row stride `ld` from element `offset` of its tensor.
import type { MatmulLayout, MatmulOperands, Tensor } from "./backend.ts";

export interface StoredMatrix {
  offset: number;
  rows: number;
  cols: number;
  /** row stride in elements (≥ cols) */
  ld: number;
}

export interface ResolvedOperands {
  a: StoredMatrix;
  b: StoredMatrix;
  c: StoredMatrix;
}

/**
 * A, B and C as stored for `layout` (A [k,m] for "tn", B [n,k] for "nt"), with
 * the defaults filled in; throws a RangeError naming the operand when a stride or
 * offset is invalid or the matrix runs past the end of its tensor.
 */
export function resolveMatmulOperands(c: Tensor, a: Tensor, b: Tensor, m: number, n: number, k: number, layout: MatmulLayout, o: MatmulOperands = {}): ResolvedOperands {
  const what = `matmul ${layout} ${m}×${n}×${k}`;
  if (layout !== "nt" && layout !== "nn" && layout !== "tn") throw new RangeError(`matmul: unknown layout ${JSON.stringify(layout)}`);
  for (const [name, v] of [["m", m], ["n", n], ["k", k]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0x7fffffff) throw new RangeError(`${what}: ${name} must be a non-negative integer, got ${v}`);
  }
  const [aRows, aCols] = layout === "tn" ? [k, m] : [m, k];
  const [bRows, bCols] = layout === "nt" ? [n, k] : [k, n];
  return {
    a: stored(what, "A", a, aRows, aCols, o.aOffset, o.lda),
    b: stored(what, "B", b, bRows, bCols, o.bOffset, o.ldb),
    c: stored(what, "C", c, m, n, o.cOffset, o.ldc),
  };
}

function stored(what: string, name: string, t: Tensor, rows: number, cols: number, offset = 0, ld = cols): StoredMatrix {
  if (!Number.isInteger(offset) || offset < 0) throw new RangeError(`${what}: offset of ${name} must be a non-negative integer, got ${offset}`);
  if (!Number.isInteger(ld) || ld < cols || ld > 0x7fffffff) throw new RangeError(`${what}: row stride of ${name} must be an integer ≥ ${cols}, got ${ld}`);
  const end = rows === 0 || cols === 0 ? offset : offset + (rows - 1) * ld + cols;
  if (end > t.length) {
    throw new RangeError(`${what}: operand too small: ${name} [${rows}×${cols}, stride ${ld}] from element ${offset} needs ${end} elements, ${t.label} has ${t.length}`);
  }
  return { offset, rows, cols, ld };
}
