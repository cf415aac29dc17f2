// Content hashes that name cached tokenizers and shards. SHA-256 through Web
// Crypto (crypto.subtle), which Node ≥ 20, Deno and browsers all provide, so a
// cache key is the same in every runtime.

const encoder = new TextEncoder();

function hex(buffer: ArrayBuffer): string {
  return Array.from(new Uint8Array(buffer), (b) => b.toString(16).padStart(2, "0")).join("");
}

function subtle(): SubtleCrypto {
  const s = (globalThis as { crypto?: Crypto }).crypto?.subtle;
  if (!s) throw new Error("hash: Web Crypto (crypto.subtle) is not available in this runtime");
  return s;
}

/** SHA-256 of bytes or of a string's UTF-8, as 64 lowercase hex digits. */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  return hex(await subtle().digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
}

/**
 * SHA-256 of a list of documents that keeps their boundaries: each document is
 * hashed, and the hash of the ids and those hashes is the result, so moving text
 * from one document to the next changes it.
 */
export async function documentsSha256(docs: ReadonlyArray<{ id: string; text: string }>): Promise<string> {
  const parts: string[] = [];
  for (const d of docs) parts.push(`${JSON.stringify(d.id)} ${await sha256Hex(d.text)}`);
  return sha256Hex(parts.join("\n"));
}

/** 32-bit FNV-1a of a string's UTF-16 code units: a small, stable hash for ordering (not for cache keys). */
export function fnv1a32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}
