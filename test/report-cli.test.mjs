// `jreg report RUN_DIR… --out FILE` (host/cli/report.ts): default output path,
// atomic write, usage errors, and the same report from Node and Deno.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { bundleReport, writeSyntheticRuns } from "./helpers/report-runs.mjs";

const { cli, outdir } = await bundleReport();
const { base, dirs } = await writeSyntheticRuns();
const DENO = fileURLToPath(new URL("../node_modules/.bin/deno", import.meta.url));

/** Runs the command with console.log captured. */
async function report(argv) {
  const lines = [];
  const code = await cli.reportCommand.run(argv, { out: (line) => lines.push(line) });
  return { code, out: lines.join("\n") };
}

const withoutDate = (html) => html.replace(/ &nbsp;·&nbsp; generated [^<]*UTC/, "");

test("default --out is report.html beside the first run dir; prints the comparison table", async () => {
  const { code, out } = await report(dirs);
  assert.is(code, 0);
  const html = await readFile(join(base, "runs", "report.html"), "utf8");
  assert.match(html, /^<!doctype html>/);
  assert.ok(html.includes("jreg-a3"));
  assert.match(out, /val CE\s+\d\.\d{3}\s+\d\.\d{3}/);
  assert.match(out, /wrote .*runs\/report\.html \(2 runs, \d+ KiB\)/);
  assert.equal((await readdir(join(base, "runs"))).filter((f) => f.endsWith(".tmp")), [], "no temp file left");
});

test("--out and --title", async () => {
  const out = join(await mkdtemp(join(tmpdir(), "jreg-out-")), "cmp.html");
  const { code } = await report([dirs[1], "--out", out, "--title", "α sweep", dirs[0]]);
  assert.is(code, 0);
  const html = await readFile(out, "utf8");
  assert.ok(html.includes("<h1>α sweep</h1>"));
  assert.ok(html.indexOf("jreg-a3") < html.indexOf("baseline"), "runs in the order given");
});

test("--help gives the defaults; usage errors are UsageErrors", async () => {
  const { code, out } = await report(["--help"]);
  assert.is(code, 0);
  assert.match(out, /--out FILE.*default: report\.html beside the first RUN_DIR/s);
  for (const [argv, pattern] of [[[], /at least one RUN_DIR/], [["--bogus", dirs[0]], /bogus/], [[dirs[0], "--out"], /--out/], [[dirs[0], "--out", ""], /--out must not be empty/]]) {
    try {
      await cli.reportCommand.run(argv, { out: () => {} });
      assert.unreachable(`${argv.join(" ")} should fail`);
    } catch (e) {
      assert.is(e.name, "UsageError", `${argv.join(" ")}: ${e.message}`);
      assert.match(e.message, pattern);
    }
  }
});

test("a bad run dir fails before writing: the previous report stays intact", async () => {
  const out = join(await mkdtemp(join(tmpdir(), "jreg-out-")), "report.html");
  await writeFile(out, "previous");
  const missing = join(base, "runs", "nope");
  try {
    await report([dirs[0], missing, "--out", out]);
    assert.unreachable("should fail");
  } catch (e) {
    assert.match(e.message, /run directory .*nope does not exist/);
  }
  assert.is(await readFile(out, "utf8"), "previous");
});

test("an unwritable --out is named; the same run twice gets numbered names", async () => {
  const out = join(base, "no-such-dir", "r.html");
  try {
    await report([dirs[0], "--out", out]);
    assert.unreachable("should fail");
  } catch (e) {
    assert.match(e.message, new RegExp(`^cannot write --out ${out}: `));
  }
  const twice = join(await mkdtemp(join(tmpdir(), "jreg-out-")), "twice.html");
  const { out: text } = await report([dirs[0], dirs[0], "--out", twice]);
  assert.match(text, /baseline\s+baseline \(2\)/);
});

test("Deno writes the same report as Node from the same bundle", async () => {
  const dir = await mkdtemp(join(tmpdir(), "jreg-deno-"));
  const nodeOut = join(dir, "node.html");
  const denoOut = join(dir, "deno.html");
  await report([...dirs, "--out", nodeOut]);
  const runner = join(outdir, "run-report.mjs");
  await writeFile(runner, `import { reportCommand } from "./cli.js";\nconst code = await reportCommand.run(Deno.args, { out: (line) => console.log(line) });\nDeno.exit(code);\n`);
  const { stdout } = await promisify(execFile)(DENO, ["run", "-A", "--no-config", runner, ...dirs, "--out", denoOut], { cwd: dir, env: { ...process.env, NO_COLOR: "1" } });
  assert.match(stdout, /wrote .*deno\.html/);
  assert.is(withoutDate(await readFile(denoOut, "utf8")), withoutDate(await readFile(nodeOut, "utf8")));
});

test.run();
