// `jreg tokenizer train`: learn a byte-level BPE tokenizer from a text file and
// write it as Hugging Face tokenizer.json. Progress goes to stderr; a one-line
// summary to stdout.
import { UsageError } from "./args.ts";
import { defineCommand } from "./command.ts";
import { trainBpe, DEFAULT_MIN_FREQUENCY } from "../tokenizer/train.ts";
import type { BpeTrainProgress } from "../tokenizer/train.ts";
import { saveTokenizerJson } from "../tokenizer/save.ts";
import { describeOutputError, MAX_TEXT_BYTES, readBoundedFile } from "../io/files.ts";

/** Byte offset of the first invalid UTF-8 sequence (for the error message only). */
function firstInvalidUtf8(bytes: Uint8Array): number {
  const text = new TextDecoder().decode(bytes); // invalid sequences become U+FFFD
  const encoder = new TextEncoder();
  for (let i = text.indexOf("\uFFFD"); i >= 0; i = text.indexOf("\uFFFD", i + 1)) {
    const at = encoder.encode(text.slice(0, i)).length;
    // A U+FFFD that the file spells out (EF BF BD) is valid text.
    if (!(bytes[at] === 0xef && bytes[at + 1] === 0xbf && bytes[at + 2] === 0xbd)) return at;
  }
  return bytes.length;
}

/** Throttled progress lines on stderr. */
function progressPrinter(): (p: BpeTrainProgress) => void {
  let lastPhase = "";
  let lastTenth = -1;
  return (p) => {
    if (p.phase === "count") return;
    const tenth = p.total > 0 ? Math.floor((10 * p.done) / p.total) : 10;
    if (p.phase === lastPhase && tenth === lastTenth) return;
    lastPhase = p.phase;
    lastTenth = tenth;
    console.error(`  merges: ${p.done} / ${p.total}`);
  };
}

export const tokenizerTrainCommand = defineCommand(
  {
    name: "tokenizer train",
    summary: "learn a byte-level BPE tokenizer from a text file",
    description:
      "Writes Hugging Face tokenizer.json. Ties between equally frequent pairs go to the smaller left token bytes,\n" +
      "then the smaller right token bytes. Progress goes to stderr, a one-line summary to stdout.",
    flags: {
      file: { type: "string", required: true, metavar: "PATH", help: "UTF-8 text to learn from (one document)" },
      "vocab-size": { type: "integer", required: true, min: 1, help: "target vocabulary: 256 bytes + learned tokens + special tokens" },
      out: { type: "string", required: true, metavar: "PATH", help: "where to write tokenizer.json (written atomically)" },
      "min-frequency": { type: "integer", min: 0, default: DEFAULT_MIN_FREQUENCY, metavar: "F", help: "stop when the best pair occurs fewer than F times" },
      special: { type: "repeated", metavar: "TOKEN", help: 'a special token (repeatable), e.g. --special "<|endoftext|>"' },
      pattern: { type: "choice", choices: ["gpt2", "cl100k"], default: "gpt2", help: "pre-tokenizer" },
    },
  },
  async ({ values }) => {
    const { file, out, pattern } = values;
    const vocabSize = values["vocab-size"];
    const minFrequency = values["min-frequency"];
    const specialTokens = values.special;
    const seen = new Set<string>();
    for (const t of specialTokens) {
      if (t === "") throw new UsageError(`--special "" is empty; a special token needs at least one character`);
      if (seen.has(t)) throw new UsageError(`--special ${JSON.stringify(t)} is given twice`);
      seen.add(t);
    }
    const min = 256 + specialTokens.length;
    if (vocabSize < min) {
      throw new UsageError(`--vocab-size ${vocabSize} is below ${min} (256 byte tokens + ${specialTokens.length} special tokens)`);
    }

    const bytes = await readBoundedFile(file, MAX_TEXT_BYTES, `--file ${file}`);
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch {
      // Replacement characters would be learned as merges of EF BF BD: refuse, as the corpus reader does.
      throw new Error(`--file ${file} is not valid UTF-8 (the first invalid byte is at offset ${firstInvalidUtf8(bytes)})`);
    }
    // An empty text has no pairs: the result would be the 256 byte tokens alone, never what was asked for.
    if (text.length === 0) throw new Error(`--file ${file} is empty; a tokenizer needs text to learn merges from`);
    const started = performance.now();
    console.error(`reading ${file} (${text.length} characters), pattern ${pattern}`);
    const trained = await trainBpe(text, { vocabSize, minFrequency, specialTokens, pattern, onProgress: progressPrinter() });
    const seconds = (performance.now() - started) / 1000;
    console.error(
      `  ${trained.stats.pieces} pieces, ${trained.stats.uniquePieces} unique; stopped by ${trained.stoppedBy} after ${seconds.toFixed(1)} s`,
    );
    try {
      await saveTokenizerJson(out, trained);
    } catch (e) {
      throw new Error(`cannot write --out ${out}: ${await describeOutputError((e as { cause?: unknown }).cause ?? e, out)}; nothing was written`);
    }
    const learned = trained.tokens.length - 256;
    console.log(
      `wrote ${out}: vocab ${trained.vocabSize} (256 bytes + ${learned} learned + ${trained.specialTokens.length} special), ` +
        `${trained.merges.length} merges` +
        (trained.vocabSize < vocabSize ? `; fewer than ${vocabSize} because ${trained.stoppedBy === "min-frequency" ? `no pair occurs ${minFrequency}+ times` : "no pairs are left"}` : ""),
    );
    return 0;
  },
);
