// Where a JSON text stops being valid, as line:column, for error messages that a
// person can act on. JSON.parse's own messages differ between engines and
// versions, and some give no position at all. Only called after JSON.parse has
// failed, so it needs to find the first error, not to build values.

export interface JsonErrorLocation {
  /** 1-based */
  line: number;
  /** 1-based, in UTF-16 code units */
  column: number;
  reason: string;
}

class Stop {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {}
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** The first syntax error in `text`, or undefined if it is valid JSON. */
export function locateJsonError(text: string): JsonErrorLocation | undefined {
  let i = 0;
  const stop = (reason: string): never => {
    throw new Stop(i, reason);
  };
  const ws = () => {
    while (i < text.length && (text[i] === " " || text[i] === "\t" || text[i] === "\n" || text[i] === "\r")) i++;
  };
  const unexpected = () => stop(i >= text.length ? "unexpected end of the text" : `unexpected ${JSON.stringify(text[i])}`);
  const string = () => {
    i++;
    for (;;) {
      const c = text[i];
      if (c === undefined) stop("unterminated string");
      if (c === '"') return void i++;
      if (c === "\\") {
        const e = text[i + 1];
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) stop("invalid \\u escape");
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else stop("invalid escape in a string");
      } else if (c! < " ") stop("control character in a string (write it as an escape)");
      else i++;
    }
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') stop("expected a double-quoted property name");
        string();
        ws();
        if (text[i] !== ":") stop("expected ':' after the property name");
        i++;
        value();
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "}") return void i++;
        else stop("expected ',' or '}' after a property value");
      }
    }
    if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ",") i++;
        else if (text[i] === "]") return void i++;
        else stop("expected ',' or ']' after an array element");
      }
    }
    if (c === '"') return string();
    NUMBER.lastIndex = i;
    if ((c === "-" || (c !== undefined && c >= "0" && c <= "9")) && NUMBER.test(text)) return void (i = NUMBER.lastIndex);
    for (const word of ["true", "false", "null"]) if (text.startsWith(word, i)) return void (i += word.length);
    unexpected();
  };
  try {
    value();
    ws();
    if (i < text.length) stop("unexpected text after the JSON value");
    return undefined;
  } catch (e) {
    if (!(e instanceof Stop)) throw e;
    const before = text.slice(0, e.offset).split("\n");
    return { line: before.length, column: before[before.length - 1]!.length + 1, reason: e.reason };
  }
}
