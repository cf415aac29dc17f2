// Loading tokenizers from the file system (Node and Deno; browsers pass text to
// the parse/load functions instead). node:fs is imported lazily so the bundle
// stays runtime-neutral.
import { loadTokenizerJson } from "./load-hf.ts";
import { loadGpt2Files } from "./load-gpt2.ts";
import { loadTiktokenRanks } from "./load-tiktoken.ts";
import type { PreTokenizerPattern } from "./pre-tokenizer.ts";
import type { Tokenizer } from "./tokenizer.ts";
import { fileExists, joinPath, readText } from "../io/files.ts";


/**
 * Loads a tokenizer from PATH: a tokenizer.json file; a directory holding
 * tokenizer.json or encoder.json + vocab.bpe; or a tiktoken rank file (*.tiktoken;
 * the pattern is cl100k when the name says so, else `pattern`, else gpt2).
 */
export async function loadTokenizerFile(path: string, options: { pattern?: PreTokenizerPattern } = {}): Promise<Tokenizer> {
  const { stat } = await import("node:fs/promises");
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new Error(`tokenizer: ${path} does not exist`);
  }
  if (info.isDirectory()) {
    const file = (name: string) => joinPath(path, name);
    if (await fileExists(file("tokenizer.json"))) return loadTokenizerJson(await readText(file("tokenizer.json")));
    if ((await fileExists(file("encoder.json"))) && (await fileExists(file("vocab.bpe")))) {
      return loadGpt2Files(await readText(file("encoder.json")), await readText(file("vocab.bpe")));
    }
    throw new Error(`tokenizer: directory ${path} has neither tokenizer.json nor encoder.json + vocab.bpe`);
  }
  const text = await readText(path);
  if (path.endsWith(".tiktoken")) {
    const pattern = options.pattern ?? (/cl100k/.test(path) ? "cl100k" : "gpt2");
    return loadTiktokenRanks(text, { pattern });
  }
  return loadTokenizerJson(text);
}
