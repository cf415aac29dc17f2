// Hardening of the writes (issue "Hardening"): a Hugging Face checkpoint
// directory is complete or absent under SIGKILL at any moment and on a full
// disk; stale files of an earlier checkpoint never sit beside new weights; no
// temporary file survives the next write; every CLI error names the flag and
// the path. Disk full is a real 1 MiB tmpfs where `mount` works (root in a
// container usually can), else an injected ENOSPC; permission denied is always
// injected, because root ignores file modes.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CheckpointError, PRESETS, parameterSpecs, readCheckpoint, writeCheckpoint } from "../dist/index.js";
import { FileStorage, MetricsLogger, mkdirRecursive } from "../dist/run/index.js";
import { tokenizerJsonText, trainBpe } from "../dist/tokenizer/index.js";

const repo = fileURLToPath(new URL("..", import.meta.url));
const jreg = (...args) => spawnSync(process.execPath, [join(repo, "bin/jreg.mjs"), ...args], { encoding: "utf8", timeout: 60_000, maxBuffer: 256 * 1024 * 1024 });
const fixture = join(repo, "test/fixtures/tiny-untied");
const root = mkdtempSync(join(tmpdir(), "jreg-writes-"));
let n = 0;
const fresh = (make = true) => {
  const d = join(root, `d${n++}`);
  if (make) mkdirSync(d);
  return d;
};

const micro = { vocabSize: 16, hiddenSize: 8, numLayers: 1, numHeads: 2, numKvHeads: 1, intermediateSize: 12, ropeTheta: 10000, rmsEps: 1e-5, tiedEmbeddings: false, maxSeqLen: 8 };

/** A checkpoint whose every weight is `value`, so config and weights can be matched after a crash. */
function filled(config, value) {
  const tensors = new Map();
  for (const s of parameterSpecs(config)) tensors.set(s.name, new Float32Array(s.size).fill(value));
  return { config: { ...config }, tensors };
}

async function rejectsWhere(promise, ok) {
  const e = await promise.then(() => null, (x) => x);
  assert.ok(e && ok(e), `expected a matching rejection, got ${e?.message ?? "success"}`);
}

/** Temporary files inside `dir` and temporary / old directories of a swap beside it. */
function leftovers(dir) {
  const inside = existsSync(dir) ? readdirSync(dir).filter((x) => x.endsWith(".tmp") || /\.tmp-\d+$/.test(x)) : [];
  const beside = readdirSync(dirname(dir)).filter((x) => x.startsWith(`.tmp-${basename(dir)}-`) || x.startsWith(`.old-${basename(dir)}-`));
  return [...inside, ...beside];
}

test("step --out into a directory with a stale sharded index: index and shards are gone, other files kept", async () => {
  const out = fresh();
  writeFileSync(join(out, "model.safetensors.index.json"), JSON.stringify({ weight_map: { "model.embed_tokens.weight": "old-shard.safetensors" } }));
  writeFileSync(join(out, "old-shard.safetensors"), "stale");
  writeFileSync(join(out, "model-00001-of-00002.safetensors"), "stale");
  writeFileSync(join(out, "tokenizer.json"), "{\"keep\": true}");
  writeFileSync(join(out, ".model.safetensors.1a2b.0.tmp"), "left by a killed write");
  const r = jreg("step", "--model", fixture, "--tokens", join(fixture, "tokens.json"), "--lr", "0.01", "--optimizer", "sgd", "--out", out, "--backend", "wasm");
  assert.is(r.status, 0, r.stderr);
  assert.equal(readdirSync(out).sort(), ["config.json", "model.safetensors", "tokenizer.json"]);
  assert.is(readFileSync(join(out, "tokenizer.json"), "utf8"), "{\"keep\": true}");
  assert.equal(leftovers(out), []);
  await readCheckpoint(out);
});

test("writeCheckpoint refuses a file or a directory with subdirectories, naming the flag", async () => {
  const file = join(fresh(), "ckpt");
  writeFileSync(file, "x");
  await rejectsWhere(writeCheckpoint(file, filled(micro, 0.1), { label: "--out" }), (e) => e instanceof CheckpointError && e.message.includes(`--out ${file} is a file, not a directory`));
  const dir = fresh();
  mkdirSync(join(dir, "checkpoint-5"));
  await rejectsWhere(writeCheckpoint(dir, filled(micro, 0.1), { label: "--out" }), (e) => /holds the directory checkpoint-5/.test(e.message));
  const r = jreg("step", "--model", fixture, "--tokens", join(fixture, "tokens.json"), "--lr", "0.01", "--optimizer", "sgd", "--out", file, "--backend", "wasm");
  assert.is(r.status, 1);
  assert.match(r.stderr, new RegExp(`--out ${file} is a file, not a directory`));
  assert.not.match(r.stderr, /EEXIST|\n\s+at /);
});

test("a write killed between its two renames is recovered by the next read", async () => {
  const dir = fresh(false);
  const a = filled(micro, 0.25);
  await writeCheckpoint(dir, a);
  // What the swap leaves at that moment: the previous checkpoint moved aside, the new one still a temporary directory.
  const old = join(dirname(dir), `.old-${basename(dir)}-0123abcd`);
  spawnSync("mv", [dir, old]);
  mkdirSync(join(dirname(dir), `.tmp-${basename(dir)}-deadbeef`));
  const got = await readCheckpoint(dir);
  assert.is(got.tensors.get("model.norm.weight")[0], 0.25);
  assert.equal(leftovers(dir), []);
});

/** A child that writes checkpoints A and B in turn into argv[1] until it is killed. */
const WRITER = `
  import { writeCheckpoint, parameterSpecs, PRESETS } from ${JSON.stringify(new URL("../dist/index.js", import.meta.url).href)};
  const config = { ...PRESETS.tiny, maxSeqLen: 64 };
  const make = (v, theta) => ({ config: { ...config, ropeTheta: theta }, tensors: new Map(parameterSpecs(config).map((s) => [s.name, new Float32Array(s.size).fill(v)])) });
  const both = [make(0.25, 10000), make(0.5, 20000)];
  process.stdout.write("r");
  for (let i = 0; ; i++) await writeCheckpoint(process.argv[1], both[i % 2]);`;

test("SIGKILL at random moments of writeCheckpoint: the directory always holds A or B whole, never B's weights with A's config", async () => {
  const dir = fresh(false);
  let r = 12345;
  const rand = () => ((r = (Math.imul(r, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const seen = new Set();
  for (let round = 0; round < 10; round++) {
    const child = spawn(process.execPath, ["--input-type=module", "-e", WRITER, dir], { stdio: ["ignore", "pipe", "inherit"] });
    const exited = new Promise((res) => child.once("exit", res));
    // Once the child has its checkpoints in memory, kill it at a random moment of its write loop.
    await Promise.race([new Promise((res) => child.stdout.once("data", res)), exited]);
    await new Promise((res) => setTimeout(res, (round === 0 ? 300 : 0) + rand() * 150));
    child.kill("SIGKILL");
    await exited;
    const ckpt = await readCheckpoint(dir);
    const v = ckpt.tensors.get("model.embed_tokens.weight")[0];
    assert.ok(v === 0.25 || v === 0.5, `weights ${v}`);
    assert.is(ckpt.config.ropeTheta, v === 0.25 ? 10000 : 20000, "config and weights come from the same write");
    for (const t of ckpt.tensors.values()) assert.ok(t.every((x) => x === v), "every tensor from the same write");
    assert.equal(leftovers(dir), [], "the read removed what the killed write left");
    seen.add(v);
  }
  assert.ok(seen.size >= 1);
});

test("SIGKILL during jreg init --out: the directory is absent or complete; a rerun succeeds and leaves nothing behind", async () => {
  let r = 777;
  const rand = () => ((r = (Math.imul(r, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const args = [join(repo, "bin/jreg.mjs"), "init", "--set", "model=bench-tiny", "--vocab-size", "4096", "--out"];
  const started = performance.now();
  assert.is(spawnSync(process.execPath, [...args, fresh(false)]).status, 0);
  const full = performance.now() - started;
  let hit = false;
  for (let round = 0; round < 12 && (round < 5 || !hit); round++) {
    const out = fresh(false);
    const child = spawn(process.execPath, [...args, out], { stdio: "ignore" });
    const exited = new Promise((res) => child.once("exit", res));
    // Even rounds: a random moment of the run. Odd rounds: a random moment after the write has begun
    // (its temporary directory appeared), which a timer alone hits only by luck.
    if (round % 2 === 0) await new Promise((res) => setTimeout(res, full * rand()));
    else {
      const deadline = performance.now() + 30_000;
      let done = false;
      exited.then(() => (done = true));
      while (!done && performance.now() < deadline && !readdirSync(dirname(out)).some((x) => x.startsWith(`.tmp-${basename(out)}-`))) {
        await new Promise((res) => setTimeout(res, 1));
      }
      await new Promise((res) => setTimeout(res, rand() * 30));
    }
    child.kill("SIGKILL");
    await exited;
    hit ||= leftovers(out).length > 0 || (existsSync(out) && !existsSync(join(out, "config.json")));
    if (existsSync(out)) {
      await readCheckpoint(out); // complete
    } else {
      const again = jreg("init", "--out", out, "--set", "model=bench-tiny", "--vocab-size", "4096");
      assert.is(again.status, 0, again.stderr);
      await readCheckpoint(out);
    }
    assert.equal(leftovers(out), []);
  }
  assert.ok(hit, "some kill struck mid-write (else this test proves nothing)");
});

const textDir = fresh();
const text = Array.from({ length: 40000 }, (_, i) => `word${i % 97} and the quick brown fox ${i % 13}.`).join(" ");
writeFileSync(join(textDir, "text.txt"), text);
writeFileSync(join(textDir, "tokenizer.json"), tokenizerJsonText(await trainBpe(text.slice(0, 20000), { vocabSize: 300 })));
const tokenize = (...args) => jreg("tokenize", "--tokenizer", join(textDir, "tokenizer.json"), "--file", join(textDir, "text.txt"), ...args);

test("SIGKILL during tokenize --out: ids.json is absent or complete, and the next run removes the temp file", async () => {
  let r = 99;
  const rand = () => ((r = (Math.imul(r, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const dir = fresh();
  const out = join(dir, "ids.json");
  const started = performance.now();
  assert.is(tokenize("--out", join(fresh(), "ids.json")).status, 0);
  const full = performance.now() - started;
  let tempSeen = false;
  for (let round = 0; round < 12 && (round < 5 || !tempSeen); round++) {
    rmSync(out, { force: true });
    const child = spawn(process.execPath, [join(repo, "bin/jreg.mjs"), "tokenize", "--tokenizer", join(textDir, "tokenizer.json"), "--file", join(textDir, "text.txt"), "--out", out], { stdio: "ignore" });
    const exited = new Promise((res) => child.once("exit", res));
    await new Promise((res) => setTimeout(res, full * (0.4 + 0.5 * rand())));
    child.kill("SIGKILL");
    await exited;
    if (existsSync(out)) assert.ok(Array.isArray(JSON.parse(readFileSync(out, "utf8"))), "a complete JSON array");
    tempSeen ||= readdirSync(dir).some((x) => x !== "ids.json");
  }
  assert.ok(tempSeen, "some kill struck mid-write (else this test proves nothing)");
  const done = tokenize("--out", out);
  assert.is(done.status, 0, done.stderr);
  assert.equal(readdirSync(dir), ["ids.json"], "no temp files left");
});

test("tokenize --out: a directory, a missing directory: named, no temp file, no leaked file handle", () => {
  const dir = fresh();
  let r = tokenize("--out", dir);
  assert.is(r.status, 1);
  assert.match(r.stderr, new RegExp(`cannot write --out ${dir}`));
  assert.equal(readdirSync(dir), []);
  assert.equal(readdirSync(dirname(dir)).filter((x) => x.includes(".tmp")), []);
  r = tokenize("--out", join(dir, "missing", "ids.json"));
  assert.is(r.status, 1);
  assert.match(r.stderr, /cannot write --out .*missing\/ids\.json: its directory .*missing does not exist/);
  assert.not.match(r.stderr, /Closing file descriptor|\n\s+at /);
  r = tokenize();
  assert.is(r.status, 0);
  assert.ok(JSON.parse(r.stdout).length > 1000, "stdout gets the whole array");
});

test("tokenize --out DIR/ (a trailing slash) is reported as a directory, not as a file in the path", () => {
  const dir = fresh();
  const r = tokenize("--out", `${dir}/`);
  assert.is(r.status, 1);
  assert.match(r.stderr, new RegExp(`cannot write --out ${dir}/: ${dir}/ is a directory; give a file name; nothing was written`));
  assert.equal(readdirSync(dirname(dir)).filter((x) => x.includes(".tmp")), []);
});

test("tokenizer train --out: a directory, a missing directory, a file as a directory: one line naming --out, no temp file", () => {
  const dir = fresh();
  writeFileSync(join(dir, "file"), "x");
  const train = (out) => jreg("tokenizer", "train", "--file", join(textDir, "text.txt"), "--vocab-size", "270", "--out", out);
  for (const [out, cause] of [
    [dir, `${dir} is a directory; give a file name`],
    [`${dir}/`, `${dir}/ is a directory; give a file name`],
    [join(dir, "missing", "tok.json"), `its directory ${join(dir, "missing")} does not exist`],
    [join(dir, "file", "tok.json"), "a part of the path is a file, not a directory \\(ENOTDIR\\)"],
  ]) {
    const r = train(out);
    assert.is(r.status, 1, out);
    const lines = r.stderr.split("\n").filter((l) => l.startsWith("jreg "));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], new RegExp(`^jreg tokenizer train: cannot write --out ${out.replace(/[.]/g, "\\.")}: ${cause}; nothing was written$`));
    assert.not.match(r.stderr, /\.tmp|rename|open '/, "no temp path in the message");
  }
  assert.equal(readdirSync(dir), ["file"]);
  assert.equal(readdirSync(dirname(dir)).filter((x) => x.includes(".tmp")), []);
});

test("tokenize to stdout streams: its peak memory is that of --out, not that of every id held at once", () => {
  const big = join(fresh(), "big.txt");
  writeFileSync(big, Array.from({ length: 10 }, () => text).join(" ")); // 16 MB, about 6 M ids
  // The child reports its own peak RSS as it exits (node --import of a data: URL).
  const report = `data:text/javascript,process.on("exit",()=>process.stderr.write("maxRSS "+process.resourceUsage().maxRSS+"\\n"))`;
  const peak = (...out) => {
    const r = spawnSync(process.execPath, ["--import", report, join(repo, "bin/jreg.mjs"), "tokenize", "--tokenizer", join(textDir, "tokenizer.json"), "--file", big, ...out], { encoding: "utf8", maxBuffer: 512 * 1024 * 1024, timeout: 120_000 });
    assert.is(r.status, 0, r.stderr);
    if (out.length === 0) assert.ok(r.stdout.length > 10_000_000 && r.stdout.startsWith("[") && r.stdout.endsWith("]\n"), "the whole array on stdout");
    return Number(/maxRSS (\d+)/.exec(r.stderr)[1]) / 1024;
  };
  const toFile = peak("--out", join(dirname(big), "ids.json"));
  const toStdout = peak();
  console.log(`  tokenize peak RSS: stdout ${toStdout.toFixed(0)} MB, --out ${toFile.toFixed(0)} MB`);
  assert.ok(toStdout < toFile * 1.5, `stdout peak ${toStdout.toFixed(0)} MB against --out ${toFile.toFixed(0)} MB`);
});

test("eval --tokens: a directory or a missing file is named with the flag", () => {
  const dir = fresh();
  let r = jreg("eval", "--model", fixture, "--tokens", dir, "--backend", "wasm");
  assert.is(r.status, 1);
  assert.match(r.stderr, new RegExp(`cannot read --tokens ${dir}: it is a directory`));
  r = jreg("eval", "--model", fixture, "--tokens", join(dir, "nope.json"), "--backend", "wasm");
  assert.match(r.stderr, /cannot read --tokens .*nope\.json: it does not exist \(ENOENT\)/);
  r = jreg("eval", "--model", join(dir, "nope"), "--tokens", join(fixture, "tokens.json"), "--backend", "wasm");
  assert.match(r.stderr, /--model .*nope does not exist/);
});

test("numbers on the command line are decimal: --lr 0x10 is refused, not read as 16", () => {
  for (const bad of ["0x10", "0b1", "Infinity", " 1", "1_000"]) {
    const r = jreg("step", "--model", fixture, "--tokens", join(fixture, "tokens.json"), "--lr", bad, "--optimizer", "sgd", "--out", fresh(false));
    assert.is(r.status, 2, bad);
    assert.match(r.stderr, /--lr must be a number/);
  }
  const r = jreg("demo", "--seed", "1.5", "--steps", "1");
  assert.is(r.status, 2);
  assert.match(r.stderr, /--seed must be an integer/);
});

test("tokenizer train on an empty file is an error, not a 256-token tokenizer", () => {
  const dir = fresh();
  writeFileSync(join(dir, "empty.txt"), "");
  const r = jreg("tokenizer", "train", "--file", join(dir, "empty.txt"), "--vocab-size", "300", "--out", join(dir, "tok.json"));
  assert.is(r.status, 1);
  assert.match(r.stderr, /--file .*empty\.txt is empty/);
  assert.not.ok(existsSync(join(dir, "tok.json")));
});

test("tokenizer train --special: an empty or repeated token is a usage error naming --special, before the text is read", () => {
  const dir = fresh();
  for (const [specials, re] of [[["a", "a"], /^jreg tokenizer train: --special "a" is given twice$/m], [[""], /^jreg tokenizer train: --special "" is empty/m]]) {
    const r = jreg("tokenizer", "train", "--file", join(textDir, "text.txt"), "--vocab-size", "300", ...specials.flatMap((t) => ["--special", t]), "--out", join(dir, "tok.json"));
    assert.is(r.status, 2, r.stderr);
    assert.match(r.stderr, re);
    assert.not.match(r.stderr, /trainBpe|reading /);
  }
  assert.equal(readdirSync(dir), []);
});

test("tokenizer train on text that is not valid UTF-8 is an error naming --file and the offset (the corpus reader refuses it too)", () => {
  const dir = fresh();
  writeFileSync(join(dir, "bad.txt"), Buffer.concat([Buffer.from("hello world hello world "), Buffer.from([0xff, 0xfe]), Buffer.from(" more text")]));
  const r = jreg("tokenizer", "train", "--file", join(dir, "bad.txt"), "--vocab-size", "300", "--out", join(dir, "tok.json"));
  assert.is(r.status, 1, r.stderr);
  assert.match(r.stderr, /^jreg tokenizer train: --file .*bad\.txt is not valid UTF-8 \(the first invalid byte is at offset 24\)$/m);
  assert.equal(readdirSync(dir), ["bad.txt"]);
});

/** A real small file system where the kernel allows it, else null. */
function smallTmpfs(bytes) {
  const dir = fresh();
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", `size=${bytes}`, "tmpfs", dir]);
  return r.status === 0 ? dir : null;
}

/** Storage whose writes fail with `code` after `allowed` successful ones: disk full or permission denied without a real disk. */
class FailingStorage extends FileStorage {
  constructor(code, allowed = 0) {
    super();
    this.code = code;
    this.allowed = allowed;
  }
  async writeDurable(path, data) {
    if (this.allowed-- <= 0) throw Object.assign(new Error(`${this.code}: injected, write '${path}'`), { code: this.code });
    return super.writeDurable(path, data);
  }
}

const medium = { ...micro, vocabSize: 256, hiddenSize: 64, numHeads: 4, numKvHeads: 2, intermediateSize: 128, numLayers: 2 }; // ~460 KB of weights

test("disk full: the previous checkpoint is intact, the message names the path and the cause, nothing is left", async () => {
  const fs = smallTmpfs(700 * 1024);
  console.log(fs ? "  disk full: a real 700 KiB tmpfs" : "  disk full: mount is not allowed here; ENOSPC injected through a Storage");
  const dir = join(fs ?? fresh(), "ckpt");
  try {
    const a = filled(medium, 0.25);
    await writeCheckpoint(dir, a, { label: "--out" });
    const storage = fs ? undefined : new FailingStorage("ENOSPC");
    const err = await writeCheckpoint(dir, filled(medium, 0.5), { label: "--out", storage }).then(() => null, (e) => e);
    assert.instance(err, CheckpointError);
    assert.match(err.message, new RegExp(`could not write the checkpoint --out ${dir}: writing .* failed: the disk is full \\(ENOSPC\\); the previous checkpoint there is intact`));
    assert.is((await readCheckpoint(dir)).tensors.get("model.norm.weight")[0], 0.25);
    assert.equal(leftovers(dir), []);
    if (fs) {
      // The CLI on the same full disk: exit 1, one line naming --out, no stack trace.
      writeFileSync(join(fs, "tokens.json"), "[[1,2,3,4,5]]");
      const r = jreg("step", "--model", dir, "--tokens", join(fs, "tokens.json"), "--lr", "0.01", "--optimizer", "sgd", "--out", dir, "--backend", "wasm");
      assert.is(r.status, 1, r.stderr);
      assert.match(r.stderr, /jreg step: could not write the checkpoint --out .*the disk is full \(ENOSPC\)/);
      assert.not.match(r.stderr, /\n\s+at /);
      assert.is((await readCheckpoint(dir)).tensors.get("model.norm.weight")[0], 0.25);
      assert.equal(leftovers(dir), []);
      // tokenize --out onto the full disk.
      const { appendFileSync } = await import("node:fs");
      try {
        for (;;) appendFileSync(join(fs, "filler"), new Uint8Array(4096));
      } catch (e) {
        assert.is(e.code, "ENOSPC");
      }
      const t = tokenize("--out", join(fs, "ids.json"));
      assert.is(t.status, 1, t.stderr);
      assert.match(t.stderr, /cannot write --out .*ids\.json: the disk is full \(ENOSPC\); nothing was written/);
      assert.equal(readdirSync(fs).filter((x) => x.includes("ids.json")), []);
      const k = jreg("tokenizer", "train", "--file", join(textDir, "text.txt"), "--vocab-size", "300", "--out", join(fs, "tok.json"));
      assert.is(k.status, 1, k.stderr);
      assert.match(k.stderr, /jreg tokenizer train: cannot write --out .*tok\.json: the disk is full \(ENOSPC\); nothing was written/);
      assert.equal(readdirSync(fs).filter((x) => x.includes("tok.json")), []);
    }
  } finally {
    if (fs) spawnSync("umount", [fs]);
  }
});

test("creating a directory reports the real cause: Node's recursive mkdir says ENOENT for a read-only file system", async () => {
  // The logic on a stand-in fs that behaves as Node's does on a read-only mount.
  const made = [];
  const fakeFs = {
    async mkdir(path, opts) {
      if (opts?.recursive) throw Object.assign(new Error(`ENOENT: no such file or directory, mkdir '${path}'`), { code: "ENOENT" });
      if (path === "/ro" || path === "/") throw Object.assign(new Error("EEXIST"), { code: "EEXIST" });
      if (path.startsWith("/ro/")) throw Object.assign(new Error(`EROFS: read-only file system, mkdir '${path}'`), { code: "EROFS" });
      made.push(path);
    },
  };
  await rejectsWhere(mkdirRecursive(fakeFs, "/ro/a/b"), (e) => e.code === "EROFS" && /'\/ro\/a'/.test(e.message));
  await mkdirRecursive({ mkdir: async (p, o) => (o?.recursive ? undefined : made.push(p)) }, "/x/y");
  assert.equal(made, []);
  // A real read-only tmpfs, where mount is allowed: every command that creates a directory names EROFS.
  const dir = fresh();
  if (spawnSync("mount", ["-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", dir]).status !== 0) {
    console.log("  read-only file system: mount is not allowed here; the stand-in fs above is the test");
    return;
  }
  try {
    const cases = [
      [["init", "--set", "model=tiny", "--vocab-size", "256", "--out", join(dir, "ck")], /^jreg init: could not write the checkpoint --out .*ck: .*the file system is read-only \(EROFS\); nothing was written$/m],
      [["step", "--model", fixture, "--tokens", join(fixture, "tokens.json"), "--lr", "0.01", "--optimizer", "sgd", "--out", join(dir, "ck"), "--backend", "wasm"], /the file system is read-only \(EROFS\)/],
      [["sweep", "--grid", "jreg.alpha=0", "--seeds", "1", "--out", join(dir, "sw")], /^jreg sweep: cannot create --out .*sw: the file system is read-only \(EROFS\)$/m],
      [["train", "--set", "steps=1", "--set", `out=${join(dir, "run")}`], /^jreg train: could not (create the run directory .*run|write the tokenizer cache .*): the file system is read-only \(EROFS\)$/m],
    ];
    for (const [args, re] of cases) {
      const r = jreg(...args);
      assert.is(r.status, 1, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, re, args[0]);
      assert.not.match(r.stderr, /ENOENT|does not exist/, args[0]);
    }
  } finally {
    spawnSync("umount", [dir]);
  }
});

test("a metrics log that cannot be appended to (disk full) names the log and the cause, not a bare ENOSPC", async () => {
  const dir = fresh();
  class FullAppends extends FileStorage {
    async openAppend(path) {
      const handle = await super.openAppend(path);
      return { ...handle, append: async () => Promise.reject(Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" })), sync: handle.sync, close: handle.close };
    }
  }
  const log = await MetricsLogger.open(new FullAppends(), join(dir, "metrics.jsonl"));
  await rejectsWhere(log.log({ step: 1, loss: 1 }), (e) => e.name === "MetricsError" && new RegExp(`^could not write the metrics log ${dir}/metrics\\.jsonl: the disk is full \\(ENOSPC\\)$`).test(e.message));
  await log.close();
  // jreg train on a real full disk, where mount is allowed.
  const fs = smallTmpfs(256 * 1024);
  if (!fs) return;
  writeFileSync(join(dir, "corpus.txt"), Array.from({ length: 20 }, (_, i) => text.slice(i * 3000, i * 3000 + 3000)).join("\n\n"));
  try {
    const { appendFileSync } = await import("node:fs");
    writeFileSync(join(fs, "run.json"), JSON.stringify({ model: { hidden_size: 32, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 64 }, steps: 50, saveEvery: 100, evalEvery: 100, batchSize: 2, seqLen: 16, logEvery: 1, data: { corpus: join(dir, "corpus.txt"), vocabSize: 300, cacheDir: join(dir, "cache") }, threads: 1, out: join(fs, "run") }));
    try {
      for (;;) appendFileSync(join(fs, "filler"), new Uint8Array(1024));
    } catch {}
    const r = jreg("train", "--config", join(fs, "run.json"));
    assert.is(r.status, 1, r.stderr);
    console.log("  train on a full disk: " + r.stderr.split("\n").filter((l) => l.startsWith("jreg train")).join(" / "));
    assert.match(r.stderr, /^jreg train: .*(metrics log|run directory|checkpoint).*: the disk is full \(ENOSPC\)/m);
    assert.not.match(r.stderr, /^jreg train: ENOSPC/m);
  } finally {
    spawnSync("umount", [fs]);
  }
});

test("permission denied (injected: root ignores file modes): previous checkpoint intact, EACCES in plain words", async () => {
  const dir = fresh(false);
  await writeCheckpoint(dir, filled(micro, 0.25));
  for (const allowed of [0, 1]) {
    const err = await writeCheckpoint(dir, filled(micro, 0.5), { label: "--out", storage: new FailingStorage("EACCES", allowed) }).then(() => null, (e) => e);
    assert.match(err?.message ?? "", new RegExp(`--out ${dir}: writing .* failed: permission denied \\(EACCES\\); the previous checkpoint there is intact`));
    assert.is((await readCheckpoint(dir)).tensors.get("model.norm.weight")[0], 0.25);
    assert.equal(leftovers(dir), []);
  }
});

test.after(() => rmSync(root, { recursive: true, force: true }));
test.run();
