// Loading tokenizers from the file system (Node and Deno; browsers pass text to
// the parse/load functions instead). node:fs is imported lazily so the bundle
// stays runtime-neutral.
import { loadTokenizerJson } from "./load-hf.ts";
import { loadGpt2Files } from "./load-gpt2.ts";
import { loadTiktokenRanks } from "./load-tiktoken.ts";
import type { PreTokenizerPattern } from "./pre-tokenizer.ts";
import type { Tokenizer } from "./tokenizer.ts";

async function fs() {
  return await import("node:fs/promises");
}

function join(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

/**
 * Loads a tokenizer from PATH: a tokenizer.json file; a directory holding
 * tokenizer.json or encoder.json + vocab.bpe; or a tiktoken rank file (*.tiktoken;
 * the pattern is cl100k when the name says so, else `pattern`, else gpt2).
 */
export async function loadTokenizerFile(path: string, options: { pattern?: PreTokenizerPattern } = {}): Promise<Tokenizer> {
  const { readFile, stat } = await fs();
  let info;
  try {
    info = await stat(path);
  } catch {
    throw new Error(`tokenizer: ${path} does not exist`);
  }
  if (info.isDirectory()) {
    const exists = async (p: string) => stat(p).then(() => true, () => false);
    if (await exists(join(path, "tokenizer.json"))) return loadTokenizerJson(await readFile(join(path, "tokenizer.json"), "utf8"));
    if ((await exists(join(path, "encoder.json"))) && (await exists(join(path, "vocab.bpe")))) {
      return loadGpt2Files(await readFile(join(path, "encoder.json"), "utf8"), await readFile(join(path, "vocab.bpe"), "utf8"));
    }
    throw new Error(`tokenizer: directory ${path} has neither tokenizer.json nor encoder.json + vocab.bpe`);
  }
  const text = await readFile(path, "utf8");
  if (path.endsWith(".tiktoken")) {
    const pattern = options.pattern ?? (/cl100k/.test(path) ? "cl100k" : "gpt2");
    return loadTiktokenRanks(text, { pattern });
  }
  return loadTokenizerJson(text);
}
