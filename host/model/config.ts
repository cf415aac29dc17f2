// The Llama model configuration, its validation and the named presets.
//
// Every field is checked against a documented range so that a bad value (from a
// CLI flag, a config.json or a caller) fails here, with the field named, instead
// of surfacing later as a NaN, a wrong shape or an out-of-memory.

export interface ModelConfig {
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  intermediateSize: number;
  ropeTheta: number;
  rmsEps: number;
  tiedEmbeddings: boolean;
  maxSeqLen: number;
}

/** Thrown for any invalid model configuration; the message names the field. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/**
 * Upper bounds for the integer fields. They are far above any Llama released so
 * far (Llama 3.1 405B: vocab 128,256, hidden 16,384, 126 layers, 128 heads,
 * intermediate 53,248, 131,072 positions) yet small enough that every product the
 * engine forms from them (e.g. vocab × hidden, seq × hidden × layers) stays an
 * exact integer in a float64.
 */
export const CONFIG_LIMITS = {
  vocabSize: 1 << 21, // 2,097,152
  hiddenSize: 1 << 16, // 65,536
  numLayers: 1024,
  numHeads: 1024,
  intermediateSize: 1 << 18, // 262,144
  maxSeqLen: 1 << 21, // 2,097,152
} as const;

const FIELDS: readonly (keyof ModelConfig)[] = [
  "vocabSize",
  "hiddenSize",
  "numLayers",
  "numHeads",
  "numKvHeads",
  "intermediateSize",
  "ropeTheta",
  "rmsEps",
  "tiedEmbeddings",
  "maxSeqLen",
];

/** Dimension of one attention head. */
export function headDim(c: ModelConfig): number {
  return c.hiddenSize / c.numHeads;
}

function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number") return String(v);
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  return String(v);
}

function isInteger(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v);
}

/** An integer field in [1, max]; `extra` describes an additional constraint for the message. */
function checkInteger(o: Record<string, unknown>, field: string, max: number, ok = (_: number) => true, extra = ""): number {
  const v = o[field];
  const rule = `config.${field} must be an integer in [1, ${max}]${extra}`;
  if (v === undefined) throw new ConfigError(`${rule}, but it is missing`);
  if (!isInteger(v) || v < 1 || v > max || !ok(v)) throw new ConfigError(`${rule}, got ${describe(v)}`);
  return v;
}

/**
 * Checks an untrusted value and returns it as a ModelConfig (a fresh object).
 * Rules: integers are ≥ 1 and below CONFIG_LIMITS; hiddenSize is divisible by
 * numHeads and the head dim is even (RoPE rotates pairs); numKvHeads divides
 * numHeads (grouped-query attention); ropeTheta is finite and > 0; rmsEps is
 * finite in (0, 1); tiedEmbeddings is a boolean; unknown fields are rejected so
 * that a typo never silently falls back to something else.
 */
export function validateConfig(c: unknown): ModelConfig {
  if (typeof c !== "object" || c === null || Array.isArray(c)) {
    throw new ConfigError(`config must be an object with fields ${FIELDS.join(", ")}, got ${describe(c)}`);
  }
  const o = c as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!(FIELDS as readonly string[]).includes(key)) {
      throw new ConfigError(`config.${key} is not a known field; allowed fields: ${FIELDS.join(", ")}`);
    }
  }
  const vocabSize = checkInteger(o, "vocabSize", CONFIG_LIMITS.vocabSize);
  const numHeads = checkInteger(o, "numHeads", CONFIG_LIMITS.numHeads);
  const hiddenSize = checkInteger(
    o,
    "hiddenSize",
    CONFIG_LIMITS.hiddenSize,
    (h) => h % numHeads === 0 && (h / numHeads) % 2 === 0,
    ` divisible by numHeads (${numHeads}) with an even head dim (hiddenSize / numHeads)`,
  );
  const numKvHeads = checkInteger(
    o,
    "numKvHeads",
    numHeads,
    (k) => numHeads % k === 0,
    ` that divides numHeads (${numHeads})`,
  );
  const numLayers = checkInteger(o, "numLayers", CONFIG_LIMITS.numLayers);
  const intermediateSize = checkInteger(o, "intermediateSize", CONFIG_LIMITS.intermediateSize);
  const maxSeqLen = checkInteger(o, "maxSeqLen", CONFIG_LIMITS.maxSeqLen);

  const ropeTheta = o.ropeTheta;
  if (typeof ropeTheta !== "number" || !Number.isFinite(ropeTheta) || !(ropeTheta > 0)) {
    const got = ropeTheta === undefined ? "but it is missing" : `got ${describe(ropeTheta)}`;
    throw new ConfigError(`config.ropeTheta must be a finite number > 0, ${got}`);
  }
  const rmsEps = o.rmsEps;
  if (typeof rmsEps !== "number" || !Number.isFinite(rmsEps) || !(rmsEps > 0 && rmsEps < 1)) {
    const got = rmsEps === undefined ? "but it is missing" : `got ${describe(rmsEps)}`;
    throw new ConfigError(`config.rmsEps must be a finite number in (0, 1), ${got}`);
  }
  const tiedEmbeddings = o.tiedEmbeddings;
  if (typeof tiedEmbeddings !== "boolean") {
    const got = tiedEmbeddings === undefined ? "but it is missing" : `got ${describe(tiedEmbeddings)}`;
    throw new ConfigError(`config.tiedEmbeddings must be true or false, ${got}`);
  }
  return {
    vocabSize,
    hiddenSize,
    numLayers,
    numHeads,
    numKvHeads,
    intermediateSize,
    ropeTheta,
    rmsEps,
    tiedEmbeddings,
    maxSeqLen,
  };
}

/** Total number of trainable scalars (closed form; equals the sum over parameterSpecs). */
export function parameterCount(c: ModelConfig): number {
  const d = c.hiddenSize;
  const kvDim = c.numKvHeads * headDim(c);
  const perLayer =
    2 * d + // input and post-attention RMSNorm weights
    d * d * 2 + // q_proj and o_proj
    kvDim * d * 2 + // k_proj and v_proj
    c.intermediateSize * d * 3; // gate, up, down
  const embeddings = c.vocabSize * d * (c.tiedEmbeddings ? 1 : 2);
  return embeddings + c.numLayers * perLayer + d;
}

/** Named configurations used by tests, the demo and the benchmarks (frozen: copy to modify). */
export const PRESETS: Record<string, ModelConfig> = Object.freeze({
  tiny: Object.freeze({
    vocabSize: 256,
    hiddenSize: 64,
    numLayers: 4,
    numHeads: 4,
    numKvHeads: 2,
    intermediateSize: 172,
    ropeTheta: 10000,
    rmsEps: 1e-5,
    tiedEmbeddings: false,
    maxSeqLen: 128,
  }),
  "bench-tiny": Object.freeze({
    vocabSize: 4096,
    hiddenSize: 256,
    numLayers: 6,
    numHeads: 4,
    numKvHeads: 4,
    intermediateSize: 688,
    ropeTheta: 10000,
    rmsEps: 1e-5,
    tiedEmbeddings: false,
    maxSeqLen: 256,
  }),
});
