// `jreg analyze`: help, the table, --json (equal to the host API), --svg, --text
// with the checkpoint's tokenizer.json or --tokenizer, --data brown, and the error
// paths (exit 2 for usage, 1 with a one-line message naming the flag or file,
// never a stack trace).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync, copyFileSync, existsSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { analyzeCheckpoint, loadTokenizerFile } from "../dist/internal.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const jreg = (...args) => spawnSync(process.execPath, [join(root, "bin/jreg.mjs"), ...args], { encoding: "utf8", timeout: 120_000 });
const tmp = mkdtempSync(join(tmpdir(), "jreg-analyze-cli-"));
const TEXT = "The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs far away. ".repeat(12);
writeFileSync(join(tmp, "text.txt"), TEXT);

// a tokenizer (byte-level BPE, 300 ids) and a fresh checkpoint of that vocabulary, via the CLI itself
const ck = join(tmp, "ckpt");
let r = jreg("tokenizer", "train", "--file", join(tmp, "text.txt"), "--vocab-size", "300", "--out", join(tmp, "tokenizer.json"));
assert.is(r.status, 0, r.stderr);
r = jreg("init", "--out", ck, "--vocab-size", "300", "--set", "model=tiny", "--set", "seed=3");
assert.is(r.status, 0, r.stderr);
copyFileSync(join(tmp, "tokenizer.json"), join(ck, "tokenizer.json"));

test("--help lists the flags and the final-state choice", () => {
  const h = jreg("analyze", "--help");
  assert.is(h.status, 0);
  for (const s of ["CHECKPOINT_DIR", "--text FILE", "--data CORPUS", "--json", "--svg FILE", "--final-state pre-norm|post-norm", "output_hidden_states", "--no-early-exit"]) assert.ok(h.stdout.includes(s), s);
  assert.ok(jreg("--help").stdout.includes("analyze"), "listed in jreg --help");
});

test("--json equals the host API; the table has a row per layer; --svg writes a self-contained SVG", async () => {
  const svg = join(tmp, "profile.svg");
  const j = jreg("analyze", ck, "--text", join(tmp, "text.txt"), "--json", "--svg", svg, "--final-state", "post-norm");
  assert.is(j.status, 0, j.stderr);
  const out = JSON.parse(j.stdout);
  const api = await analyzeCheckpoint(ck, { text: TEXT, tokenizer: await loadTokenizerFile(join(ck, "tokenizer.json")), finalState: "post-norm" });
  assert.equal(out.D_angular, api.D_angular);
  assert.equal(out.early_exit_ce, api.early_exit_ce);
  assert.is(out.final_state, "post-norm");
  assert.is(out.D_angular.length, 4);
  assert.ok(out.per_token.cosine[0].histogram.length === 20);
  const s = readFileSync(svg, "utf8");
  assert.ok(s.startsWith("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  assert.is((s.match(/<polyline/g) ?? []).length, 3, "D_l angular, D_l cosine, early-exit CE");
  assert.not.ok(/href|<script/.test(s), "no external references");

  const t = jreg("analyze", ck, "--text", join(tmp, "text.txt"), "--tokenizer", join(tmp, "tokenizer.json"));
  assert.is(t.status, 0, t.stderr);
  const lines = t.stdout.trim().split("\n");
  assert.match(lines[0], /\d+ tokens in \d+ windows? of \d+, final state pre-norm, wasm/);
  assert.match(lines[1], /^tokenizer: byte-level BPE; normalizer none; pre-tokenizer .*; post-processor none$/);
  assert.match(lines[2], /D_ang .*ang p50 .*D_cos .*early-exit CE/);
  assert.is(lines.length, 3 + 4 + 1);
  assert.match(lines.at(-1), /^J_angular \d/);
});

test("--no-early-exit: the same profile and CE, early_exit_ce null, no early-exit column or panel", async () => {
  const svg = join(tmp, "profile-no-exit.svg");
  const j = jreg("analyze", ck, "--text", join(tmp, "text.txt"), "--json", "--no-early-exit", "--svg", svg);
  assert.is(j.status, 0, j.stderr);
  const out = JSON.parse(j.stdout);
  const api = await analyzeCheckpoint(ck, { text: TEXT, tokenizer: await loadTokenizerFile(join(ck, "tokenizer.json")) });
  assert.is(out.early_exit_ce, null);
  assert.equal(out.D_angular, api.D_angular);
  assert.equal(out.D_cosine, api.D_cosine);
  assert.is(out.ce, api.ce);
  const s = readFileSync(svg, "utf8");
  assert.is((s.match(/<polyline/g) ?? []).length, 2, "D_l angular and cosine only");
  assert.not.ok(s.includes("early-exit CE"));
  const t = jreg("analyze", ck, "--text", join(tmp, "text.txt"), "--no-early-exit");
  assert.is(t.status, 0, t.stderr);
  const lines = t.stdout.trim().split("\n");
  assert.match(lines[2], /D_ang .*D_cos /);
  assert.not.match(lines[2], /early-exit CE/);
  assert.is(lines.length, 3 + 4 + 1);
  assert.match(lines.at(-1), new RegExp(`CE ${api.ce.toFixed(4)}$`));
});

test("--data brown analyses the validation documents", () => {
  const d = jreg("analyze", ck, "--data", "brown", "--max-tokens", "64", "--json");
  assert.is(d.status, 0, d.stderr);
  const out = JSON.parse(d.stdout);
  assert.is(out.tokens, 64);
  assert.ok(Number.isFinite(out.ce));
});

test("errors name the flag or file, without stack traces", () => {
  const cases = [
    [["analyze", ck], 2, /exactly one of --text FILE or --data CORPUS/],
    [["analyze", "--text", join(tmp, "text.txt")], 2, /needs a CHECKPOINT_DIR/],
    [["analyze", ck, "--text", join(tmp, "missing.txt")], 1, /--text .*missing\.txt/],
    [["analyze", join(tmp, "nope"), "--text", join(tmp, "text.txt")], 1, /checkpoint directory .*nope does not exist/],
    [["analyze", ck, "--text", join(tmp, "text.txt"), "--final-state", "middle"], 2, /--final-state/],
    [["analyze", ck, "--text", join(tmp, "text.txt"), "--seq", "100000"], 1, /seq 100000 exceeds max_position_embeddings/],
    [["analyze", join(root, "test/fixtures/analyze/qwen2-bias"), "--text", join(tmp, "text.txt")], 1, /no tokenizer for .*--tokenizer PATH/],
  ];
  for (const [args, status, re] of cases) {
    const e = jreg(...args);
    assert.is(e.status, status, `${args.join(" ")}: ${e.stderr}`);
    assert.match(e.stderr, re);
    assert.not.match(e.stderr, /\n\s+at /, "no stack trace");
  }
  assert.not.ok(existsSync(join(tmp, "never.svg")));
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));
test.run();
