// Hugging Face tokenizer.json decoders for character-level (SentencePiece-style)
// BPE: they turn the vocabulary strings of ids back into text. Byte-level BPE
// needs none of this (its tokens are bytes; see Tokenizer.decode).
import { patternRegExp } from "./normalizers.ts";

type Json = Record<string, any>;

/** Maps the token strings of a sequence to the strings that are joined into text. */
export type DecodeChain = (tokens: string[]) => string[];

export interface DecoderPlan {
  chain: DecodeChain;
  description: string;
}

function fail(problem: string): never {
  throw new Error(`tokenizer.json: ${problem}`);
}

const BYTE_TOKEN = /^<0x([0-9A-Fa-f]{2})>$/;

function one(config: Json): DecoderPlan {
  switch (config?.type) {
    case "Replace": {
      const content = config.content;
      if (typeof content !== "string") fail('decoder Replace needs a string "content"');
      const literal = typeof config.pattern?.String === "string" ? (config.pattern.String as string) : undefined;
      const re = literal === undefined ? patternRegExp(config.pattern, "decoder Replace") : undefined;
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
      const content: string = config.content;
      const start: number = config.start ?? 0;
      const stop: number = config.stop ?? 0;
      if (typeof content !== "string" || content.length !== 1) fail('decoder Strip needs a one-character "content"');
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
      const replacement: string = config.replacement ?? "▁";
      const scheme: string = config.prepend_scheme ?? (config.add_prefix_space === false ? "never" : "always");
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
      if (!Array.isArray(config.decoders)) fail('decoder Sequence needs a "decoders" list');
      const plans = config.decoders.map(one);
      return {
        chain: (tokens) => plans.reduce((t: string[], p: DecoderPlan) => p.chain(t), tokens),
        description: `Sequence(${plans.map((p: DecoderPlan) => p.description).join(", ")})`,
      };
    }
    default:
      fail(`unsupported decoder ${JSON.stringify(config?.type ?? config)} for character-level BPE (supported: Replace, ByteFallback, Fuse, Strip, Metaspace, Sequence)`);
  }
}

/** The decoder of a character-level tokenizer.json (null: tokens are joined as they are). */
export function readDecoder(config: Json | null | undefined): DecoderPlan {
  if (config == null) return { chain: (t) => t, description: "none" };
  return one(config);
}
