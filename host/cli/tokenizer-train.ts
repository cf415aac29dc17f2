// `jreg tokenizer train`: learn a byte-level BPE tokenizer from a text file and
// write it as Hugging Face tokenizer.json. Progress goes to stderr; a one-line
// summary to stdout.
import { parseFlags, requireString, numberFlag, choiceFlag, UsageError } from "./args.ts";
import { trainBpe, DEFAULT_MIN_FREQUENCY } from "../tokenizer/train.ts";
import type { BpeTrainProgress } from "../tokenizer/train.ts";
import { saveTokenizerJson } from "../tokenizer/save.ts";

const USAGE = `usage: jreg tokenizer train --file TEXT --vocab-size N --out tokenizer.json [options]
  --file PATH            UTF-8 text to learn from (one document)
  --vocab-size N         target vocabulary: 256 bytes + learned tokens + special tokens
  --out PATH             where to write tokenizer.json (written atomically)
  --min-frequency F      stop when the best pair occurs fewer than F times (default ${DEFAULT_MIN_FREQUENCY})
  --special TOKEN        a special token (repeatable), e.g. --special "<|endoftext|>"
  --pattern gpt2|cl100k  pre-tokenizer (default gpt2)
Ties between equally frequent pairs go to the smaller left token bytes, then the smaller right token bytes.`;

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

export async function tokenizerTrainCommand(argv: string[]): Promise<number> {
  const values = await parseFlags(argv, {
    file: { type: "string" },
    "vocab-size": { type: "string" },
    out: { type: "string" },
    "min-frequency": { type: "string" },
    special: { type: "string", multiple: true },
    pattern: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const file = requireString(values, "file");
  const out = requireString(values, "out");
  const vocabSize = numberFlag(values, "vocab-size");
  if (vocabSize === undefined) throw new UsageError("--vocab-size is required");
  if (!Number.isInteger(vocabSize)) throw new UsageError(`--vocab-size must be an integer, got ${vocabSize}`);
  const minFrequency = numberFlag(values, "min-frequency", DEFAULT_MIN_FREQUENCY);
  if (!Number.isInteger(minFrequency) || minFrequency < 0) {
    throw new UsageError(`--min-frequency must be a non-negative integer, got ${minFrequency}`);
  }
  const specialTokens = (values.special as string[] | undefined) ?? [];
  const pattern = choiceFlag(values, "pattern", ["gpt2", "cl100k"] as const, "gpt2");
  const min = 256 + specialTokens.length;
  if (vocabSize < min) {
    throw new UsageError(`--vocab-size ${vocabSize} is below ${min} (256 byte tokens + ${specialTokens.length} special tokens)`);
  }

  const fs = await import("node:fs/promises");
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (e) {
    throw new Error(`cannot read --file ${file}: ${(e as Error).message}`);
  }
  const started = performance.now();
  console.error(`reading ${file} (${text.length} characters), pattern ${pattern}`);
  const trained = await trainBpe(text, { vocabSize, minFrequency, specialTokens, pattern, onProgress: progressPrinter() });
  const seconds = (performance.now() - started) / 1000;
  console.error(
    `  ${trained.stats.pieces} pieces, ${trained.stats.uniquePieces} unique; stopped by ${trained.stoppedBy} after ${seconds.toFixed(1)} s`,
  );
  await saveTokenizerJson(out, trained);
  const learned = trained.tokens.length - 256;
  console.log(
    `wrote ${out}: vocab ${trained.vocabSize} (256 bytes + ${learned} learned + ${trained.specialTokens.length} special), ` +
      `${trained.merges.length} merges` +
      (trained.vocabSize < vocabSize ? `; fewer than ${vocabSize} because ${trained.stoppedBy === "min-frequency" ? `no pair occurs ${minFrequency}+ times` : "no pairs are left"}` : ""),
  );
  return 0;
}
