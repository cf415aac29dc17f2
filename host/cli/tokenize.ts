// `jreg tokenize`: encode a text file with a tokenizer and write the ids as a JSON
// array. The file is read and encoded in chunks (Tokenizer.encodeStream), and the
// ids are written as they come, so neither the whole text nor all ids are held.
import { choiceFlag, parseFlags, requireString } from "./args.ts";
import { loadTokenizerFile } from "../tokenizer/load-file.ts";
import type { PreTokenizerPattern } from "../tokenizer/pre-tokenizer.ts";

const USAGE = `usage: jreg tokenize --tokenizer PATH --file TEXT [--out ids.json] [options]
  --tokenizer PATH   tokenizer.json, a directory with tokenizer.json or encoder.json + vocab.bpe,
                     or a tiktoken rank file (*.tiktoken)
  --file PATH        text to encode (UTF-8; invalid bytes are encoded as bytes)
  --out PATH         where to write the JSON array of ids (default: stdout)
  --allow-special    recognise the tokenizer's special tokens in the text (default: encode them as text)
  --pattern P        pre-tokenizer for a .tiktoken file: gpt2 or cl100k (default: from the file name)`;

const READ_CHUNK = 1 << 20;

export async function tokenizeCommand(argv: string[]): Promise<number> {
  const values = await parseFlags(argv, {
    tokenizer: { type: "string" },
    file: { type: "string" },
    out: { type: "string" },
    "allow-special": { type: "boolean" },
    pattern: { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const tokenizerPath = requireString(values, "tokenizer");
  const file = requireString(values, "file");
  // Absent means "from the file"; present, it must be a known pattern.
  const pattern: PreTokenizerPattern | undefined =
    values.pattern === undefined ? undefined : choiceFlag(values, "pattern", ["gpt2", "cl100k"] as const, "gpt2");
  const tokenizer = await loadTokenizerFile(tokenizerPath, { pattern });

  const fs = await import("node:fs/promises");
  let input;
  try {
    input = await fs.open(file, "r");
  } catch (e) {
    throw new Error(`cannot read --file ${file}: ${(e as Error).message}`);
  }
  async function* chunks(): AsyncGenerator<Uint8Array> {
    const buf = new Uint8Array(READ_CHUNK);
    for (;;) {
      const { bytesRead } = await input!.read(buf, 0, buf.length, null);
      if (bytesRead === 0) return;
      yield buf.slice(0, bytesRead);
    }
  }

  const out = typeof values.out === "string" ? values.out : undefined;
  const tmp = out ? `${out}.tmp-${Date.now()}` : undefined;
  const output = tmp ? await fs.open(tmp, "w") : undefined;
  const stdoutParts: string[] = [];
  const write = async (s: string) => {
    if (output) await output.write(s);
    else stdoutParts.push(s);
  };
  let count = 0;
  try {
    await write("[");
    for await (const ids of tokenizer.encodeStream(chunks(), { allowedSpecial: values["allow-special"] ? "all" : undefined })) {
      if (ids.length === 0) continue;
      await write((count > 0 ? "," : "") + ids.join(","));
      count += ids.length;
    }
    await write("]\n");
  } finally {
    await input.close();
    await output?.close();
  }
  if (out && tmp) {
    await fs.rename(tmp, out);
    console.error(`wrote ${out}: ${count} ids`);
  } else {
    // console.log adds the newline itself.
    console.log(stdoutParts.join("").trimEnd());
  }
  return 0;
}
