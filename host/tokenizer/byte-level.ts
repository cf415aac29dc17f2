// GPT-2's byte-level alphabet: each byte is written as a printable character so
// that vocabularies and merge lists are text (encoder.json, vocab.bpe and
// Hugging Face tokenizer.json all store tokens this way). Printable Latin-1
// bytes map to themselves; the other 68 bytes map to U+0100 upwards, in order.

function buildByteToChar(): string[] {
  const keep = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const chars: string[] = new Array(256);
  let next = 256;
  for (let b = 0; b < 256; b++) chars[b] = String.fromCharCode(keep(b) ? b : next++);
  return chars;
}

export const BYTE_TO_CHAR: readonly string[] = buildByteToChar();
const CHAR_TO_BYTE = new Map<number, number>(BYTE_TO_CHAR.map((c, b) => [c.charCodeAt(0), b]));

/** Bytes of a token written in the byte-level alphabet, or null if it uses other characters. */
export function byteLevelToBytes(token: string): Uint8Array | null {
  const out = new Uint8Array(token.length);
  for (let i = 0; i < token.length; i++) {
    const b = CHAR_TO_BYTE.get(token.charCodeAt(i));
    if (b === undefined) return null;
    out[i] = b;
  }
  return out;
}

/** A token's bytes written in the byte-level alphabet. */
export function bytesToByteLevel(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += BYTE_TO_CHAR[b];
  return s;
}
