// RoPE frequency scaling, as Hugging Face's rope_scaling (transformers
// modeling_rope_utils): "linear" divides every inverse frequency by the factor
// (position interpolation); "llama3" (Llama 3.1+) divides only the low
// frequencies, keeps the high ones and blends the band between. Both leave the
// attention scale at 1. The arithmetic is plain f32 (+, −, ×, ÷, compare, each
// rounded with Math.fround), so every JS engine gives the same bits.

export type RopeScaling =
  | { type: "linear"; factor: number }
  | { type: "llama3"; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositionEmbeddings: number };

const f = Math.fround;

/** The scaled inverse frequencies (a new array); `invFreq` holds the unscaled f32 ones. */
export function scaleInvFreq(invFreq: Float32Array, s: RopeScaling): Float32Array {
  if (s.type === "linear") return invFreq.map((v) => f(v / f(s.factor)));
  const factor = f(s.factor);
  const lowWavelen = f(f(s.originalMaxPositionEmbeddings) / f(s.lowFreqFactor));
  const highWavelen = f(f(s.originalMaxPositionEmbeddings) / f(s.highFreqFactor));
  return invFreq.map((v) => {
    const wavelen = f(f(2 * Math.PI) / v);
    if (wavelen > lowWavelen) return f(v / factor);
    if (wavelen < highWavelen) return v;
    const smooth = f(f(f(f(s.originalMaxPositionEmbeddings) / wavelen) - f(s.lowFreqFactor)) / f(f(s.highFreqFactor) - f(s.lowFreqFactor)));
    return f(f(f(f(1 - smooth) * v) / factor) + f(smooth * v));
  });
}
