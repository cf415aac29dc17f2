// Hugging Face tokenizer.json post-processors for one sequence: the special
// tokens (BOS, CLS/SEP, ...) that `add_special_tokens=True` wraps around the
// ids. The tokenizer applies them only when asked (EncodeOptions.addSpecialTokens).

type Json = Record<string, any>;

export interface PostProcessorPlan {
  /** Ids placed before and after a single sequence. */
  before: number[];
  after: number[];
  description: string;
}

function fail(problem: string): never {
  throw new Error(`tokenizer.json: ${problem}`);
}

function pairId(value: unknown, where: string): number {
  if (!Array.isArray(value) || typeof value[0] !== "string" || !Number.isInteger(value[1])) {
    fail(`${where} must be ["token", id]`);
  }
  return value[1] as number;
}

function one(config: Json): PostProcessorPlan {
  switch (config?.type) {
    case "ByteLevel":
      return { before: [], after: [], description: "ByteLevel" };
    case "BertProcessing":
    case "RobertaProcessing":
      return {
        before: [pairId(config.cls, `${config.type} "cls"`)],
        after: [pairId(config.sep, `${config.type} "sep"`)],
        description: config.type,
      };
    case "TemplateProcessing": {
      const single = config.single;
      if (!Array.isArray(single)) fail('TemplateProcessing needs a "single" template');
      const specials: Json = config.special_tokens ?? {};
      const before: number[] = [];
      const after: number[] = [];
      let seen = false;
      for (const item of single) {
        if (item?.Sequence) {
          if (item.Sequence.id !== "A") fail(`TemplateProcessing single template names sequence ${JSON.stringify(item.Sequence.id)}`);
          if (seen) fail("TemplateProcessing single template names sequence A twice");
          seen = true;
        } else if (item?.SpecialToken) {
          const name = item.SpecialToken.id;
          const ids = specials[name]?.ids;
          if (!Array.isArray(ids) || !ids.every((i: unknown) => Number.isInteger(i))) {
            fail(`TemplateProcessing special token ${JSON.stringify(name)} has no ids in "special_tokens"`);
          }
          (seen ? after : before).push(...ids);
        } else {
          fail(`TemplateProcessing template item ${JSON.stringify(item)} is neither Sequence nor SpecialToken`);
        }
      }
      if (!seen) fail("TemplateProcessing single template has no sequence A");
      return { before, after, description: "TemplateProcessing" };
    }
    case "Sequence": {
      if (!Array.isArray(config.processors)) fail('post-processor Sequence needs a "processors" list');
      const plans = config.processors.map(one);
      // Each processor wraps the result of the previous one.
      const before = plans.reduceRight((acc: number[], p: PostProcessorPlan) => [...acc, ...p.before], [] as number[]);
      const after = plans.reduce((acc: number[], p: PostProcessorPlan) => [...acc, ...p.after], [] as number[]);
      return { before, after, description: `Sequence(${plans.map((p: PostProcessorPlan) => p.description).join(", ")})` };
    }
    default:
      fail(`unsupported post_processor ${JSON.stringify(config?.type ?? config)} (supported: TemplateProcessing, ByteLevel, BertProcessing, RobertaProcessing, Sequence)`);
  }
}

/** The post-processor of a tokenizer.json, or undefined when it has none. */
export function readPostProcessor(config: Json | null | undefined): PostProcessorPlan | undefined {
  if (config == null) return undefined;
  return one(config);
}
