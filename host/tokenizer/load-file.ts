// Loading tokenizers from the file system (Node and Deno; browsers pass text to
// the parse/load functions instead). node:fs is imported lazily so the bundle
// stays runtime-neutral. Files are read with a size bound (a link to /dev/zero,
// a directory or a runaway file is refused at once) and must be UTF-8; every
// error names the file (after `label`, e.g. "--tokenizer", when given).
import { loadTokenizerJson } from "./load-hf.ts";
import { loadGpt2Files } from "./load-gpt2.ts";
import { loadTiktokenRanks } from "./load-tiktoken.ts";
import type { PreTokenizerPattern } from "./pre-tokenizer.ts";
import type { Tokenizer } from "./tokenizer.ts";
import { TokenizerFileError } from "./file-fields.ts";
import { describeFileError, fileExists, joinPath, readBoundedFile } from "../io/files.ts";

/**
 * The largest tokenizer file read (256 MiB). The largest public tokenizer.json
 * files are a few tens of MB (Gemma 3's is 33 MB); a JavaScript string holds
 * at most ~512 MiB of text.
 */
export const MAX_TOKENIZER_FILE_BYTES = 256 * 2 ** 20;

export interface TokenizerFileOptions {
  /** Pre-tokenizer of a *.tiktoken file (default: cl100k when the name says so, else gpt2). */
  pattern?: PreTokenizerPattern;
  /** Where the path came from, put before it in errors (e.g. "--tokenizer"). */
  label?: string;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

async function readTokenizerText(path: string, where: string): Promise<string> {
  const bytes = await readBoundedFile(path, MAX_TOKENIZER_FILE_BYTES, where);
  try {
    return utf8.decode(bytes);
  } catch {
    throw new TokenizerFileError(where, "not valid UTF-8 text");
  }
}

/**
 * Loads a tokenizer from PATH: a tokenizer.json file; a directory holding
 * tokenizer.json or encoder.json + vocab.bpe; or a tiktoken rank file (*.tiktoken;
 * the pattern is cl100k when the name says so, else `pattern`, else gpt2).
 */
export async function loadTokenizerFile(path: string, options: TokenizerFileOptions = {}): Promise<Tokenizer> {
  const { stat } = await import("node:fs/promises");
  const named = (p: string) => (options.label ? `${options.label} ${p}` : p);
  let info;
  try {
    info = await stat(path);
  } catch (e) {
    if ((e as { code?: string })?.code === "ENOENT") throw new Error(`${options.label ?? "tokenizer:"} ${path} does not exist`);
    throw new Error(`cannot read ${named(path)}: ${describeFileError(e)}`);
  }
  if (info.isDirectory()) {
    const file = (name: string) => joinPath(path, name);
    if (await fileExists(file("tokenizer.json"))) {
      const where = named(file("tokenizer.json"));
      return loadTokenizerJson(await readTokenizerText(file("tokenizer.json"), where), { source: where });
    }
    if ((await fileExists(file("encoder.json"))) && (await fileExists(file("vocab.bpe")))) {
      const encoder = named(file("encoder.json"));
      const merges = named(file("vocab.bpe"));
      return loadGpt2Files(await readTokenizerText(file("encoder.json"), encoder), await readTokenizerText(file("vocab.bpe"), merges), { encoder, merges });
    }
    throw new Error(`${options.label ?? "tokenizer:"} directory ${path} has neither tokenizer.json nor encoder.json + vocab.bpe`);
  }
  const where = named(path);
  const text = await readTokenizerText(path, where);
  if (path.endsWith(".tiktoken")) {
    const pattern = options.pattern ?? (/cl100k/.test(path) ? "cl100k" : "gpt2");
    return loadTiktokenRanks(text, { pattern, source: where });
  }
  return loadTokenizerJson(text, { source: where });
}
