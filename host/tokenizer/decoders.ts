// Hugging Face tokenizer.json decoders for character-level (SentencePiece-style)
// BPE: they turn the vocabulary strings of ids back into text. Byte-level BPE
// needs none of this (its tokens are bytes; see Tokenizer.decode).
import { patternRegExp } from "./normalizers.ts";
import { checkDepth, component, describeValue, fail, listField, optionalBoolean, optionalCount, optionalString } from "./file-fields.ts";

type Json = Record<string, any>;

/** Maps the token strings of a sequence to the strings that are joined into text. */
export type DecodeChain = (tokens: string[]) => string[];

export interface DecoderPlan {
  chain: DecodeChain;
  description: string;
}

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

function one(value: unknown, where: string, depth: number): DecoderPlan {
  const { config, type } = component(value, where);
  switch (type) {
    case "Replace": {
      const content = optionalString(config, "content", where);
      if (content === undefined) fail(`${where}: decoder Replace needs a string "content"`);
      const literal = typeof config.pattern?.String === "string" ? (config.pattern.String as string) : undefined;
      const re = literal === undefined ? patternRegExp(config.pattern, `${where} Replace`) : undefined;
      return {
        chain: (tokens) => tokens.map((t) => (literal !== undefined ? t.replaceAll(literal, content) : t.replace(re!, () => content))),
        description: "Replace",
      };
    }
    case "ByteFallback": {
      // Runs of <0xXX> tokens become the text of their bytes. ignoreBOM keeps a
      // U+FEFF that the bytes spell (as Rust's String::from_utf8 does).
      const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
      return {
        chain: (tokens) => {
          const out: string[] = [];
          let bytes: number[] = [];
          for (const t of tokens) {
            const m = t.length === 6 ? BYTE_TOKEN.exec(t) : null;
            if (m) {
              bytes.push(parseInt(m[1], 16));
              continue;
            }
            if (bytes.length) out.push(decoder.decode(Uint8Array.from(bytes)));
            bytes = [];
            out.push(t);
          }
          if (bytes.length) out.push(decoder.decode(Uint8Array.from(bytes)));
          return out;
        },
        description: "ByteFallback",
      };
    }
    case "Fuse":
      return { chain: (tokens) => [tokens.join("")], description: "Fuse" };
    case "Strip": {
      const content = optionalString(config, "content", where);
      const start = optionalCount(config, "start", where) ?? 0;
      const stop = optionalCount(config, "stop", where) ?? 0;
      if (content === undefined || content.length !== 1) fail(`${where}: decoder Strip needs a one-character "content", got ${describeValue(content)}`);
      return {
        chain: (tokens) =>
          tokens.map((t) => {
            let a = 0;
            while (a < start && t[a] === content) a++;
            let b = t.length;
            while (t.length - b < stop && b > a && t[b - 1] === content) b--;
            return t.slice(a, b);
          }),
        description: "Strip",
      };
    }
    case "Metaspace": {
      const replacement = optionalString(config, "replacement", where) ?? "▁";
      if (replacement.length === 0) fail(`${where}: decoder Metaspace replacement is empty`);
      const addPrefixSpace = optionalBoolean(config, "add_prefix_space", where);
      const scheme = optionalString(config, "prepend_scheme", where) ?? (addPrefixSpace === false ? "never" : "always");
      if (!["always", "never", "first"].includes(scheme)) fail(`${where} Metaspace prepend_scheme ${describeValue(scheme)} is not always, never or first`);
      return {
        chain: (tokens) =>
          tokens.map((t, i) => {
            const s = t.replaceAll(replacement, " ");
            return i === 0 && scheme !== "never" && s.startsWith(" ") ? s.slice(1) : s;
          }),
        description: "Metaspace",
      };
    }
    case "Sequence": {
      checkDepth(depth, where);
      const plans = listField(config, "decoders", where, "decoders").map((d, i) => one(d, `${where}.decoders[${i}]`, depth + 1));
      return {
        chain: (tokens) => plans.reduce((t: string[], p: DecoderPlan) => p.chain(t), tokens),
        description: `Sequence(${plans.map((p: DecoderPlan) => p.description).join(", ")})`,
      };
    }
    default:
      fail(`${where}: unsupported decoder ${describeValue(type)} for character-level BPE (supported: Replace, ByteFallback, Fuse, Strip, Metaspace, Sequence)`);
  }
}

/** The decoder of a character-level tokenizer.json (null: tokens are joined as they are). */
export function readDecoder(config: Json | null | undefined): DecoderPlan {
  if (config == null) return { chain: (t) => t, description: "none" };
  return one(config, "decoder", 0);
}
