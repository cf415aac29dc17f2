// GPT-2's original files: encoder.json (byte-level token text -> id) and
// vocab.bpe (a "#version" line, then one merge "a b" per line in rank order).
import type { BpeDefinition } from "./definition.ts";
import { byteLevelToBytes } from "./byte-level.ts";
import { createTokenizer, type Tokenizer } from "./tokenizer.ts";

const ENDOFTEXT = "<|endoftext|>";

export function parseGpt2Files(encoderJson: string | Record<string, number>, vocabBpe: string): BpeDefinition {
  let encoder: Record<string, number>;
  try {
    encoder = typeof encoderJson === "string" ? JSON.parse(encoderJson) : encoderJson;
  } catch (e) {
    throw new Error(`encoder.json: invalid JSON (${(e as Error).message})`);
  }
  if (!encoder || typeof encoder !== "object" || Array.isArray(encoder)) throw new Error("encoder.json: expected an object of token -> id");
  const tokens: (Uint8Array | null)[] = [];
  const idOf = new Map<string, number>();
  const specialTokens: Record<string, number> = {};
  for (const [text, id] of Object.entries(encoder)) {
    if (!Number.isInteger(id) || id < 0) throw new Error(`encoder.json: token ${JSON.stringify(text)} has invalid id ${id}`);
    while (tokens.length <= id) tokens.push(null);
    if (tokens[id] || Object.values(specialTokens).includes(id)) throw new Error(`encoder.json: duplicate id ${id}`);
    idOf.set(text, id);
    if (text === ENDOFTEXT) {
      specialTokens[text] = id;
      continue;
    }
    const bytes = byteLevelToBytes(text);
    if (!bytes) throw new Error(`encoder.json: token ${JSON.stringify(text)} is not in GPT-2's byte-level alphabet`);
    tokens[id] = bytes;
  }
  const merges: [number, number][] = [];
  const lines = vocabBpe.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, "");
    if (line === "" || (i === 0 && line.startsWith("#version"))) continue;
    const parts = line.split(" ");
    if (parts.length !== 2) throw new Error(`vocab.bpe line ${i + 1}: expected "a b", got ${JSON.stringify(line)}`);
    const a = idOf.get(parts[0]);
    const b = idOf.get(parts[1]);
    if (a === undefined || b === undefined) {
      throw new Error(`vocab.bpe line ${i + 1}: merge references unknown token ${JSON.stringify(a === undefined ? parts[0] : parts[1])}`);
    }
    merges.push([a, b]);
  }
  return { tokens, merges, pattern: "gpt2", specialTokens };
}

/** Loads GPT-2's encoder.json + vocab.bpe. */
export function loadGpt2Files(encoderJson: string | Record<string, number>, vocabBpe: string): Promise<Tokenizer> {
  return createTokenizer(parseGpt2Files(encoderJson, vocabBpe));
}
