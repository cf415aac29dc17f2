// The CLI's flag parser (host/cli/args.ts) and progress display (host/cli/progress.ts),
// tested as modules: values, negative numbers, errors that name the flag, generated help.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { importHost } from "./helpers/bundle.mjs";

const args = await importHost("host/cli/args.ts");
const progress = await importHost("host/cli/progress.ts");
const { parseCommandLine, helpText, UsageError, renameFields } = args;

const spec = {
  name: "demo",
  summary: "a command for tests",
  flags: {
    steps: { type: "integer", min: 1, default: 30, help: "optimizer steps" },
    lr: { type: "number", default: 1e-3, help: "learning rate" },
    shift: { type: "number", help: "any number, negative ones included" },
    mode: { type: "choice", choices: ["fast", "exact"], default: "fast", help: "how" },
    model: { type: "string", required: true, metavar: "DIR", help: "checkpoint directory" },
    json: { type: "boolean", help: "JSON output" },
    special: { type: "repeated", metavar: "TOKEN", help: "a special token" },
    rate: { type: "number", min: 0, max: 1, maxExclusive: true, default: 0.1, short: "r", help: "a fraction" },
  },
};
const parse = (...argv) => parseCommandLine(spec, argv);
const usageError = (argv, pattern) => {
  try {
    parseCommandLine(spec, argv);
  } catch (e) {
    assert.instance(e, UsageError, String(e));
    assert.match(e.message, pattern);
    return e.message;
  }
  assert.unreachable(`${argv.join(" ")} should fail`);
};

test("values, defaults and types", () => {
  const { values, given } = parse("--model", "m", "--steps", "12", "--mode=exact", "--json", "--special", "a", "--special", "b");
  assert.equal(values, { model: "m", steps: 12, lr: 1e-3, mode: "exact", json: true, special: ["a", "b"], rate: 0.1 });
  assert.equal([...given].sort(), ["json", "mode", "model", "special", "steps"]);
  assert.is(parse("--model", "m").values.shift, undefined, "no default: absent");
  assert.throws(() => parse("--model", "m", "--json", "--no-json"), /--json was given more than once/);
  assert.is(parse("--model", "m", "--no-json").values.json, false);
  assert.is(parse("--model", "m", "-r", "0.5").values.rate, 0.5);
});

test("negative numbers are values, not flags", () => {
  assert.is(parse("--model", "m", "--lr", "-1e-3").values.lr, -1e-3);
  assert.is(parse("--model", "m", "--shift", "-2").values.shift, -2);
  assert.is(parse("--model", "m", "--shift=-0.5").values.shift, -0.5);
  assert.is(parse("--model", "m", "--shift", "-.5").values.shift, -0.5);
  // a negative number where a flag could stand is still no flag
  usageError(["--model", "m", "-1"], /unexpected argument "-1"/);
});

test("errors name the user's flag and the expected type or range", () => {
  assert.is(usageError(["--model", "m", "--steps", "2.5"], /steps/), '--steps must be an integer ≥ 1, got "2.5"');
  usageError(["--model", "m", "--steps", "0"], /--steps must be an integer ≥ 1, got "0"/);
  usageError(["--model", "m", "--lr", "fast"], /--lr must be a number, got "fast"/);
  usageError(["--model", "m", "--lr", ""], /--lr must be a number/);
  usageError(["--model", "m", "--rate", "1"], /--rate must be a number in \[0, 1\), got "1"/);
  usageError(["--model", "m", "--mode", "slow"], /--mode must be one of fast, exact, got "slow"/);
  usageError(["--model", "m", "--json=maybe"], /--json must be true or false/);
  usageError(["--steps", "3"], /--model is required \(checkpoint directory\)/);
  usageError(["--model", "m", "--steps"], /--steps needs a value \(an integer ≥ 1\)/);
  usageError(["--model", "m", "--steps", "--json"], /--steps needs a value/);
  usageError(["--model", "m", "--steps", "1", "--steps", "2"], /--steps was given more than once/);
  usageError(["--model", "m", "extra"], /unexpected argument "extra"/);
});

test("unknown flags suggest the closest existing one", () => {
  assert.is(usageError(["--setps", "3"], /unknown flag/), "unknown flag --setps (did you mean --steps?)");
  usageError(["--mod=m"], /unknown flag --mod \(did you mean --mode\?\)|\(did you mean --model\?\)/);
  usageError(["--jsn"], /did you mean --json\?/);
  assert.is(usageError(["--completely-different"], /unknown flag/), "unknown flag --completely-different");
  usageError(["-x"], /unknown flag -x/);
});

test("-h / --help anywhere asks for help, even on an otherwise broken line", () => {
  assert.equal(parse("--help"), { help: true });
  assert.equal(parse("--bogus", "-h"), { help: true });
  assert.equal(parse("--steps", "2.5", "--help"), { help: true });
  // after --, it is an argument
  const pos = parseCommandLine({ ...spec, positionals: { name: "X", help: "x" } }, ["--model", "m", "--", "--help"]);
  assert.equal(pos.positionals, ["--help"]);
});

test("positionals are accepted only where declared, up to max", () => {
  const s = { name: "bench", summary: "s", flags: {}, positionals: { name: "SUITE", help: "suite", max: 2 } };
  assert.equal(parseCommandLine(s, ["a", "b"]).positionals, ["a", "b"]);
  assert.throws(() => parseCommandLine(s, ["a", "b", "c"]), /unexpected argument "c"/);
});

test("help lists every flag, its type and its default", () => {
  const h = helpText(spec);
  assert.match(h, /^usage: jreg demo --model DIR \[options\]/);
  for (const [name, f] of Object.entries(spec.flags)) {
    assert.ok(h.includes(`--${name}`), `--${name} in help`);
    assert.ok(h.includes(f.help), `help text of --${name}`);
  }
  assert.match(h, /--steps N\s+optimizer steps \(default: 30\)/);
  assert.match(h, /--lr N\s+learning rate \(default: 0\.001\)/);
  assert.match(h, /--mode fast\|exact\s+how \(default: fast\)/);
  assert.match(h, /--model DIR\s+checkpoint directory \(required\)/);
  assert.match(h, /--json\s+JSON output \(default: off\)/);
  assert.match(h, /-r, --rate N\s+a fraction \(default: 0\.1\)/);
  assert.match(h, /-h, --help\s+show this help/);
  assert.not.match(h, /--shift N[^\n]*default/, "no default shown where there is none");
});

test("library errors that name a field are renamed to the flag", () => {
  const err = (name, message) => Object.assign(new Error(message), { name });
  const map = { "jreg.lastK": "--jreg-last-k", "train.lr": "--lr", "train.weightDecay": "--wd" };
  const a = renameFields(err("JregOptionError", "jreg.lastK must be an integer in [1, 3] (the number of layers), got 9"), map);
  assert.instance(a, UsageError);
  assert.is(a.message, "--jreg-last-k must be an integer in [1, 3] (the number of layers), got 9");
  assert.is(renameFields(err("TrainConfigError", "train.weightDecay must be in [0, 1), got 2"), map).message, "--wd must be in [0, 1), got 2");
  assert.is(renameFields(err("TrainConfigError", "train.lrMin must be …"), map).name, "TrainConfigError", "no partial-name match");
  const other = new Error("train.lr went wrong");
  assert.is(renameFields(other, map), other, "other errors pass through");
});

test("progress on a pipe: plain lines every logEvery steps, first and last included", () => {
  let t = 0;
  const lines = [];
  const p = progress.createProgress({ total: 10, label: "run", logEvery: 4, tty: false, now: () => t, stream: { write: (s) => lines.push(s) } });
  for (let s = 1; s <= 10; s++) {
    t += 500; // 0.5 s per step
    p.update(s, { loss: 5 - s / 10, tokens: s * 1000 });
  }
  p.log("eval: val_ce 4.2");
  p.done();
  const steps = lines.filter((l) => l.startsWith("run ")).map((l) => Number(/run\s+(\d+)\/10/.exec(l)[1]));
  assert.equal(steps, [1, 4, 8, 10]);
  assert.ok(lines.every((l) => l.endsWith("\n") && !l.includes("\r")));
  const last = lines.find((l) => /10\/10/.test(l));
  assert.match(last, /loss 4 /);
  assert.match(lines.find((l) => / 4\/10/.test(l)), /loss 4\.6000/);
  assert.match(last, /2000 tok\/s/, "1000 tokens per 0.5 s, measured from the first update");
  assert.match(last, /ETA 0:00/);
  const at4 = lines.find((l) => / 4\/10/.test(l));
  assert.match(at4, /ETA 0:03/, "6 steps left at 0.5 s each");
  assert.ok(lines.includes("eval: val_ce 4.2\n"));
});

test("progress on a TTY: one line redrawn with \\r, throttled, logs kept above it", () => {
  let t = 0;
  const out = [];
  const p = progress.createProgress({ total: 100, label: "jreg", tty: true, minIntervalMs: 1000, now: () => t, stream: { write: (s) => out.push(s), columns: 200 } });
  for (let s = 1; s <= 100; s++) {
    t += 100;
    p.update(s, { loss: 1.5, tokens: s * 512 });
    if (s === 50) p.log("checkpoint-50 saved");
  }
  p.done();
  const draws = out.filter((s) => s.startsWith("\r"));
  assert.ok(draws.length >= 10 && draws.length <= 14, `throttled to about 1 per second: ${draws.length}`);
  assert.ok(out.some((s) => s.includes("checkpoint-50 saved\n")));
  assert.match(draws[draws.length - 1], /\[#{20}\]\s+100\/100/);
  assert.match(draws[draws.length - 1], /5120 tok\/s/);
  assert.is(out[out.length - 1], "\n", "done() ends the bar line");
  assert.ok(!out.some((s) => /\n./.test(s.replace(/^\r\x1b\[2K/, ""))), "no stray line breaks inside a redraw");
});

test("progress keeps working when its stream breaks", () => {
  const p = progress.createProgress({ total: 3, tty: false, stream: { write: () => { throw new Error("EPIPE"); } } });
  p.update(1, {});
  p.log("x");
  p.done();
});

test("durations and rates format compactly", () => {
  assert.is(progress.formatDuration(75), "1:15");
  assert.is(progress.formatDuration(3725), "1:02:05");
  assert.is(progress.formatDuration(NaN), "?");
  assert.is(progress.formatRate(950.4), "950");
  assert.is(progress.formatRate(12345), "12.3k");
  assert.is(progress.formatRate(2.5e6), "2.50M");
});

test.run();
