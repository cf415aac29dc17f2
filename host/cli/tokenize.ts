// `jreg tokenize`: encode a text file with a tokenizer and write the ids as a JSON
// array (the default), as the JSON rows `jreg eval` / `jreg step` read (--rows B
// --seq T), or as a binary token shard (--out FILE.bin, data/shards.ts). The file
// is read and encoded in chunks (Tokenizer.encodeStream); the JSON array is
// written as the ids come, so neither the whole text nor all ids are held.
import { UsageError } from "./args.ts";
import { defineCommand } from "./command.ts";
import { loadTokenizerFile } from "../tokenizer/load-file.ts";
import type { StreamOptions, Tokenizer } from "../tokenizer/tokenizer.ts";
import { formatTokenizerSummary, tokenizerSummary } from "../tokenizer/summary.ts";
import { writeShard } from "../data/shards.ts";
import { sha256Hex } from "../data/hash.ts";
import { documentSeparator } from "../data/document-separator.ts";
import { describeFileError, describeOutputError, openAtomicWriter, writeFileAtomic, type AtomicWriter } from "../io/files.ts";

/** SHA-256 of the file(s) the tokenizer was read from: it names the tokenizer in a shard header. */
async function tokenizerFileSha256(path: string): Promise<string> {
  const fs = await import("node:fs/promises");
  if (!(await fs.stat(path)).isDirectory()) return sha256Hex(new Uint8Array(await fs.readFile(path)));
  const json = `${path}/tokenizer.json`;
  if (await fs.stat(json).then(() => true, () => false)) return sha256Hex(new Uint8Array(await fs.readFile(json)));
  const parts = await Promise.all(["encoder.json", "vocab.bpe"].map((n) => fs.readFile(`${path}/${n}`)));
  const all = new Uint8Array(parts[0]!.length + parts[1]!.length);
  all.set(parts[0]!, 0);
  all.set(parts[1]!, parts[0]!.length);
  return sha256Hex(all);
}

const READ_CHUNK = 1 << 20;

export const tokenizeCommand = defineCommand(
  {
    name: "tokenize",
    summary: "encode a text file with a tokenizer (JSON ids, eval/step rows, or a .bin shard)",
    description:
      "Writes the ids as one JSON array (default), as B rows of T+1 consecutive ids (--rows B --seq T: the tokens\n" +
      "file of jreg eval / jreg step; row r starts at id r·T, so it needs B·T+1 ids), or as a binary token shard\n" +
      "when --out ends in .bin (the format training reads; the file is one document). The file is read in chunks.",
    flags: {
      tokenizer: {
        type: "string",
        required: true,
        metavar: "PATH",
        help: "tokenizer.json, a directory with tokenizer.json or encoder.json + vocab.bpe, or a *.tiktoken rank file",
      },
      file: { type: "string", required: true, metavar: "PATH", help: "text to encode (UTF-8; invalid bytes are encoded as bytes)" },
      out: { type: "string", metavar: "PATH", defaultText: "stdout", help: "where to write the ids; a name ending in .bin writes a token shard" },
      rows: { type: "integer", min: 1, metavar: "B", help: "with --seq: write B rows of T+1 ids" },
      seq: { type: "integer", min: 1, metavar: "T", help: "sequence length of each row (with --rows)" },
      "add-special-tokens": { type: "boolean", help: "add the tokenizer's post-processor special tokens (e.g. BOS) around the text, as HF's add_special_tokens" },
      "allow-special": { type: "boolean", help: "recognise the tokenizer's special tokens in the text (off: they are encoded as plain text)" },
      pattern: { type: "choice", choices: ["gpt2", "cl100k"], defaultText: "from the file name", help: "pre-tokenizer for a .tiktoken file" },
    },
  },
  async ({ values }) => {
    const { tokenizer: tokenizerPath, file, pattern, rows, seq } = values;
    if ((rows === undefined) !== (seq === undefined)) throw new UsageError(`--${rows === undefined ? "seq" : "rows"} needs --${rows === undefined ? "rows" : "seq"} too`);
    const outPath = values.out;
    const binary = outPath !== undefined && outPath.endsWith(".bin");
    if (binary && rows !== undefined) throw new UsageError("--rows/--seq write JSON rows; they cannot go to a .bin shard (--out FILE.bin)");
    const tokenizer = await loadTokenizerFile(tokenizerPath, { pattern, label: "--tokenizer" });

    const fs = await import("node:fs/promises");
    let input;
    try {
      input = await fs.open(file, "r");
      if ((await input.stat()).isDirectory()) throw Object.assign(new Error("it is a directory"), { code: "EISDIR" });
    } catch (e) {
      await input?.close();
      throw new Error(`cannot read --file ${file}: ${describeFileError(e)}`);
    }
    async function* chunks(): AsyncGenerator<Uint8Array> {
      const buf = new Uint8Array(READ_CHUNK);
      for (;;) {
        const { bytesRead } = await input!.read(buf, 0, buf.length, null);
        if (bytesRead === 0) return;
        yield buf.slice(0, bytesRead);
      }
    }

    const options = { allowedSpecial: values["allow-special"] ? ("all" as const) : undefined, addSpecialTokens: values["add-special-tokens"] ?? false };
    // Never silently slow: say when a pre-tokenizer regex runs as a JavaScript RegExp.
    if (tokenizer.regexFallback) console.error(`jreg tokenize: ${formatTokenizerSummary(tokenizerSummary(tokenizer), options.addSpecialTokens)}`);
    try {
      if (binary || rows !== undefined) {
        const ids = await collectIds(tokenizer, chunks(), options, rows !== undefined ? rows * seq! + 1 : Infinity);
        if (binary) await writeBinary(outPath!, ids, tokenizer, await tokenizerFileSha256(tokenizerPath));
        else await writeRows(outPath, ids, rows!, seq!, file);
        return 0;
      }
      // The JSON array is streamed: to a temporary file that becomes --out only when complete, or to stdout.
      let output: AtomicWriter | undefined;
      if (outPath !== undefined) {
        try {
          output = await openAtomicWriter(outPath);
        } catch (e) {
          throw new Error(`cannot write --out ${outPath}: ${await describeOutputError(e, outPath)}`);
        }
      }
      const write = output ? (s: string) => output!.write(s) : writeStdout;
      let count = 0;
      try {
        await write("[");
        for await (const ids of tokenizer.encodeStream(chunks(), options)) {
          if (ids.length === 0) continue;
          await write((count > 0 ? "," : "") + ids.join(","));
          count += ids.length;
        }
        await write("]\n");
        await output?.commit();
      } catch (e) {
        await output?.abort();
        if (output && (e as { code?: string }).code) throw new Error(`cannot write --out ${outPath}: ${await describeOutputError(e, outPath!)}; nothing was written`);
        throw e;
      }
      if (outPath) console.error(`wrote ${outPath}: ${count} ids`);
      return 0;
    } finally {
      await input.close();
    }
  },
);

/** Writes to stdout, waiting when the pipe is full, so ids are never gathered in memory. */
async function writeStdout(s: string): Promise<void> {
  const deno = (globalThis as { Deno?: { stdout: { write(b: Uint8Array): Promise<number> } } }).Deno;
  if (deno) {
    let bytes = new TextEncoder().encode(s);
    while (bytes.length > 0) bytes = bytes.subarray(await deno.stdout.write(bytes));
    return;
  }
  const stdout = (globalThis as { process?: { stdout?: { write(s: string): boolean; once(ev: string, f: () => void): void } } }).process?.stdout;
  if (!stdout) {
    console.log(s);
    return;
  }
  if (!stdout.write(s)) await new Promise<void>((resolve) => stdout.once("drain", resolve));
}

/** All ids of the stream (or the first `limit`), as one array. */
async function collectIds(
  tokenizer: Tokenizer,
  chunks: AsyncIterable<Uint8Array>,
  options: StreamOptions,
  limit: number,
): Promise<Uint32Array> {
  const parts: Uint32Array[] = [];
  let count = 0;
  for await (const ids of tokenizer.encodeStream(chunks, options)) {
    parts.push(ids);
    count += ids.length;
    if (count >= limit) break;
  }
  const all = new Uint32Array(Math.min(count, limit));
  let at = 0;
  for (const p of parts) {
    const take = Math.min(p.length, all.length - at);
    all.set(p.subarray(0, take), at);
    at += take;
  }
  return all;
}

async function writeBinary(out: string, ids: Uint32Array, tokenizer: Tokenizer, tokenizerSha256: string): Promise<void> {
  const vocab = tokenizer.vocabSize;
  const tokens = vocab <= 65536 ? Uint16Array.from(ids) : ids;
  const eot = documentSeparator(tokenizer)?.id ?? null;
  await writeShard(out, { documents: 1, eot, vocab_size: vocab, tokenizer_sha256: tokenizerSha256 }, tokens);
  console.error(`wrote ${out}: ${ids.length} tokens (${tokens instanceof Uint16Array ? "uint16" : "uint32"} shard, 1 document)`);
}

async function writeRows(out: string | undefined, ids: Uint32Array, rows: number, seq: number, file: string): Promise<void> {
  const need = rows * seq + 1;
  if (ids.length < need) {
    throw new Error(`--file ${file} gives ${ids.length} ids; --rows ${rows} --seq ${seq} needs ${need} (B·T + 1); use fewer rows, a shorter --seq or a longer text`);
  }
  const lines: string[] = [];
  for (let r = 0; r < rows; r++) lines.push(`[${Array.from(ids.subarray(r * seq, r * seq + seq + 1)).join(",")}]`);
  const text = `[${lines.join(",\n")}]\n`;
  if (out) {
    try {
      await writeFileAtomic(out, text);
    } catch (e) {
      throw new Error(`cannot write --out ${out}: ${await describeOutputError(e, out)}; nothing was written`);
    }
    console.error(`wrote ${out}: ${rows} rows of ${seq + 1} ids`);
  } else {
    console.log(text.trimEnd());
  }
}
