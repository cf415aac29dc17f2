// Writes a trained byte-level BPE tokenizer as Hugging Face `tokenizer.json`.
//
// Vocabulary strings use GPT-2's byte-to-unicode alphabet (byte 0x20 → "Ġ", …),
// as the ByteLevel pre-tokenizer/decoder of Hugging Face tokenizers expects;
// special tokens are stored as their text, both in `added_tokens` and in the
// model vocabulary. Merges are "left right" strings (readable by every
// tokenizers version; byte-level tokens never contain a literal space).
import type { TrainedBpe } from "./train.ts";
import { bytesToByteLevel } from "./byte-level.ts";
import { preTokenizerJson } from "./load-hf.ts";
import { writeFileAtomic } from "../io/files.ts";
import { describeStorageError } from "../run/storage.ts";

/** The `tokenizer.json` object (Hugging Face tokenizers format, version "1.0"). */
export function tokenizerJson(trained: TrainedBpe): Record<string, unknown> {
  const vocab: Record<string, number> = Object.create(null);
  const names: string[] = [];
  const claim = (name: string, id: number) => {
    if (name in vocab) {
      throw new Error(`tokenizer.json: token ${JSON.stringify(name)} would have two ids (${vocab[name]} and ${id}); rename the special token`);
    }
    vocab[name] = id;
    names[id] = name;
  };
  trained.tokens.forEach((bytes, id) => claim(bytesToByteLevel(bytes), id));
  for (const { id, content } of trained.specialTokens) claim(content, id);
  const merges = trained.merges.map(({ left, right }, rank) => {
    const l = names[left];
    const r = names[right];
    if (l === undefined || r === undefined) throw new Error(`tokenizer.json: merge ${rank} references an unknown id (${left}, ${right})`);
    return `${l} ${r}`;
  });
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: trained.specialTokens.map(({ id, content }) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: preTokenizerJson(trained.pattern),
    post_processor: null,
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges,
    },
  };
}

/**
 * The `tokenizer.json` text (2-space indented, like the files tokenizers writes),
 * with the vocabulary in id order: a JS object would put integer-like tokens
 * ("0", "10", …) first.
 */
export function tokenizerJsonText(trained: TrainedBpe): string {
  const json = tokenizerJson(trained);
  const model = json.model as { vocab: Record<string, number> };
  const entries = Object.entries(model.vocab).sort((a, b) => a[1] - b[1]);
  const placeholder = "\u0000vocab";
  const text = JSON.stringify({ ...json, model: { ...model, vocab: placeholder } }, null, 2);
  const vocab = entries.length === 0 ? "{}" : `{\n${entries.map(([k, id]) => `      ${JSON.stringify(k)}: ${id}`).join(",\n")}\n    }`;
  return text.replace(`"vocab": ${JSON.stringify(placeholder)}`, () => `"vocab": ${vocab}`) + "\n";
}

/** Writes `tokenizer.json` atomically (io/files.ts: a fsync'd temporary file, then a rename). */
export async function saveTokenizerJson(path: string, trained: TrainedBpe): Promise<void> {
  const text = tokenizerJsonText(trained);
  try {
    await writeFileAtomic(path, text);
  } catch (e) {
    throw new Error(`could not write ${path}: ${describeStorageError(e)}`, { cause: e });
  }
}
