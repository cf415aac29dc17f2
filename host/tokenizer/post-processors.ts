// Hugging Face tokenizer.json post-processors for one sequence: the special
// tokens (BOS, CLS/SEP, ...) that `add_special_tokens=True` wraps around the
// ids. The tokenizer applies them only when asked (EncodeOptions.addSpecialTokens).
import { checkDepth, component, describeValue, fail, isObject, listField, own } from "./file-fields.ts";

type Json = Record<string, any>;

export interface PostProcessorPlan {
  /** Ids placed before and after a single sequence. */
  before: number[];
  after: number[];
  description: string;
}

/** Whether an id names a token of the file (so that an accepted post-processor never yields an id decode cannot read). */
type IsToken = (id: number) => boolean;

function checkId(id: unknown, where: string, isToken: IsToken): number {
  if (!Number.isSafeInteger(id) || (id as number) < 0) fail(`${where} must be a non-negative integer id, got ${describeValue(id)}`);
  if (!isToken(id as number)) fail(`${where} ${id} is not a token of model.vocab or added_tokens`);
  return id as number;
}

function pairId(config: Json, key: string, where: string, isToken: IsToken): number {
  const value = own(config, key);
  if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== "string") fail(`${where}.${key} must be ["token", id], got ${describeValue(value)}`);
  return checkId(value[1], `${where}.${key} id`, isToken);
}

function one(value: unknown, where: string, depth: number, isToken: IsToken): PostProcessorPlan {
  const { config, type } = component(value, where);
  switch (type) {
    case "ByteLevel":
      return { before: [], after: [], description: "ByteLevel" };
    case "BertProcessing":
    case "RobertaProcessing":
      return {
        before: [pairId(config, "cls", where, isToken)],
        after: [pairId(config, "sep", where, isToken)],
        description: type,
      };
    case "TemplateProcessing": {
      const single = own(config, "single");
      if (!Array.isArray(single)) fail(`${where}: TemplateProcessing needs a "single" template (a list), got ${describeValue(single)}`);
      const specials = own(config, "special_tokens") ?? {};
      if (!isObject(specials)) fail(`${where}.special_tokens must be an object of name -> {"ids": [...]}, got ${describeValue(specials)}`);
      const before: number[] = [];
      const after: number[] = [];
      let seen = false;
      single.forEach((item: unknown, i: number) => {
        const at = `${where}.single[${i}]`;
        const sequence = isObject(item) ? own(item, "Sequence") : undefined;
        const special = isObject(item) ? own(item, "SpecialToken") : undefined;
        if (isObject(sequence)) {
          if (sequence.id !== "A") fail(`${at}: TemplateProcessing single template names sequence ${describeValue(sequence.id)}`);
          if (seen) fail(`${at}: TemplateProcessing single template names sequence A twice`);
          seen = true;
        } else if (isObject(special)) {
          const name = special.id;
          const entry = typeof name === "string" ? own(specials, name) : undefined;
          const ids = isObject(entry) ? own(entry, "ids") : undefined;
          if (!Array.isArray(ids)) fail(`${at}: TemplateProcessing special token ${describeValue(name)} has no "ids" list in ${where}.special_tokens`);
          const out = seen ? after : before;
          ids.forEach((id: unknown, k: number) => out.push(checkId(id, `${where}.special_tokens[${describeValue(name)}].ids[${k}]`, isToken)));
        } else {
          fail(`${at}: TemplateProcessing template item ${describeValue(item)} is neither {"Sequence": {...}} nor {"SpecialToken": {...}}`);
        }
      });
      if (!seen) fail(`${where}: TemplateProcessing single template has no sequence A`);
      return { before, after, description: "TemplateProcessing" };
    }
    case "Sequence": {
      checkDepth(depth, where);
      const plans = listField(config, "processors", where, "post-processors").map((p, i) => one(p, `${where}.processors[${i}]`, depth + 1, isToken));
      // Each processor wraps the result of the previous one.
      const before: number[] = [];
      const after: number[] = [];
      for (let i = plans.length - 1; i >= 0; i--) for (const id of plans[i].before) before.push(id);
      for (const p of plans) for (const id of p.after) after.push(id);
      return { before, after, description: `Sequence(${plans.map((p: PostProcessorPlan) => p.description).join(", ")})` };
    }
    default:
      fail(`${where}: unsupported post_processor ${describeValue(type)} (supported: TemplateProcessing, ByteLevel, BertProcessing, RobertaProcessing, Sequence)`);
  }
}

/**
 * The post-processor of a tokenizer.json, or undefined when it has none.
 * `isToken` checks each id it adds (default: any id).
 */
export function readPostProcessor(config: Json | null | undefined, isToken: IsToken = () => true): PostProcessorPlan | undefined {
  if (config == null) return undefined;
  return one(config, "post_processor", 0, isToken);
}
