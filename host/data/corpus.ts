// The corpus a run trains on: the built-in Brown Corpus, or the user's text.
//
//  - "brown": the 500 Brown documents (data/brown.ts), grouped by genre.
//  - a `.txt` file (any file name works): UTF-8 text whose documents are separated
//    by one or more blank lines (lines empty or holding only spaces/tabs). Each
//    document keeps its lines and ends with one newline; ids are "NAME:1", "NAME:2", …
//  - a directory: every `*.txt` file directly inside it is one document (its
//    whole text, unchanged), id = the file name; other files are ignored.
// Errors name the path: missing, empty, binary (a NUL byte or invalid UTF-8), or
// too large to hold as one string.
import { brownDocuments } from "./brown.ts";
import { baseName, fileStorage, joinPath, type Storage } from "../run/storage.ts";

export interface CorpusDocument {
  id: string;
  text: string;
  /** Stratum for the split (the Brown genre). */
  group?: string;
}

export interface Corpus {
  /** "brown", or the path given. */
  name: string;
  documents: CorpusDocument[];
}

export class CorpusError extends Error {
  override name = "CorpusError";
}

export const BUILTIN_CORPORA = ["brown"] as const;
/** Larger files would not fit in one JS string; a directory of files has no such limit per file. */
const MAX_FILE_BYTES = 512 * 1024 * 1024;

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

function decodeText(bytes: Uint8Array, path: string): string {
  if (bytes.includes(0)) throw new CorpusError(`corpus: ${path} looks binary (it contains a NUL byte); expected UTF-8 text`);
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new CorpusError(`corpus: ${path} is not valid UTF-8 text`);
  }
}

async function readTextFile(storage: Storage, path: string, size: number): Promise<string> {
  if (size > MAX_FILE_BYTES) {
    throw new CorpusError(`corpus: ${path} is ${size} bytes, more than ${MAX_FILE_BYTES} in one file; split it into a directory of .txt files`);
  }
  return decodeText(await storage.readBytes(path), path);
}

/** Documents of one text: blank-line runs separate them. */
export function splitTextDocuments(text: string, name: string): CorpusDocument[] {
  const docs: CorpusDocument[] = [];
  for (const block of text.replace(/^\uFEFF/, "").split(/(?:\r?\n[ \t]*){2,}/)) {
    const body = block.replace(/^(?:[ \t]*\r?\n)+/, "").replace(/\s+$/, "");
    if (body.trim()) docs.push({ id: `${name}:${docs.length + 1}`, text: body + "\n" });
  }
  return docs;
}

/** Loads "brown", a text file or a directory of .txt files. */
export async function loadCorpus(source: string, storage: Storage = fileStorage): Promise<Corpus> {
  if (typeof source !== "string" || source === "") throw new CorpusError(`corpus: expected "brown" or a path, got ${JSON.stringify(source)}`);
  if (source === "brown") {
    const docs = await brownDocuments();
    return { name: "brown", documents: docs.map((d) => ({ id: d.id, text: d.text, group: d.genre })) };
  }
  const info = await storage.stat(source);
  if (!info) throw new CorpusError(`corpus: ${source} does not exist (expected "brown", a .txt file or a directory of .txt files)`);
  if (!info.isDirectory && info.isFile === false) throw new CorpusError(`corpus: ${source} is not a regular file (a device, pipe or socket)`);
  if (!info.isDirectory) {
    const docs = splitTextDocuments(await readTextFile(storage, source, info.size), baseName(source));
    if (docs.length === 0) throw new CorpusError(`corpus: ${source} is empty (no text besides whitespace)`);
    return { name: source, documents: docs };
  }
  const names = (await storage.list(source)).filter((n) => n.endsWith(".txt"));
  const documents: CorpusDocument[] = [];
  for (const name of names) {
    const path = joinPath(source, name);
    const entry = await storage.stat(path);
    if (!entry || entry.isDirectory) continue;
    if (entry.isFile === false) throw new CorpusError(`corpus: ${path} is not a regular file (a device, pipe or socket)`);
    const text = await readTextFile(storage, path, entry.size);
    if (!text.trim()) throw new CorpusError(`corpus: ${path} is empty (no text besides whitespace); remove it or add text`);
    documents.push({ id: name, text });
  }
  if (documents.length === 0) throw new CorpusError(`corpus: directory ${source} has no .txt files`);
  return { name: source, documents };
}
