// `jreg tokenize`: encode a text file with a tokenizer and write the ids as a JSON
// array. The file is read and encoded in chunks (Tokenizer.encodeStream), and the
// ids are written as they come, so neither the whole text nor all ids are held.
import { defineCommand } from "./command.ts";
import { loadTokenizerFile } from "../tokenizer/load-file.ts";

const READ_CHUNK = 1 << 20;

export const tokenizeCommand = defineCommand(
  {
    name: "tokenize",
    summary: "encode a text file with a tokenizer",
    description: "Writes the ids as one JSON array. The file is read and encoded in chunks.",
    flags: {
      tokenizer: {
        type: "string",
        required: true,
        metavar: "PATH",
        help: "tokenizer.json, a directory with tokenizer.json or encoder.json + vocab.bpe, or a *.tiktoken rank file",
      },
      file: { type: "string", required: true, metavar: "PATH", help: "text to encode (UTF-8; invalid bytes are encoded as bytes)" },
      out: { type: "string", metavar: "PATH", defaultText: "stdout", help: "where to write the JSON array of ids" },
      "allow-special": { type: "boolean", help: "recognise the tokenizer's special tokens in the text (off: they are encoded as plain text)" },
      pattern: { type: "choice", choices: ["gpt2", "cl100k"], defaultText: "from the file name", help: "pre-tokenizer for a .tiktoken file" },
    },
  },
  async ({ values }) => {
    const { tokenizer: tokenizerPath, file, pattern } = values;
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

    const out = values.out;
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
  },
);
