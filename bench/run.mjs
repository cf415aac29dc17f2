// `npm run bench`: every benchmark suite in bench/, one after another (each prints
// a markdown table). Pass suite names to run only some: node bench/run.mjs train matmul
const suites = {
  matmul: "./matmul.bench.mjs",
  train: "./train.bench.mjs",
  tokenizer: "./tokenizer.bench.mjs",
  "tokenizer-train": "./tokenizer-train.bench.mjs",
};
const wanted = process.argv.slice(2);
for (const [name, path] of Object.entries(suites)) {
  if (wanted.length && !wanted.includes(name)) continue;
  let mod;
  try {
    mod = await import(path);
  } catch (e) {
    if (e.code === "ERR_MODULE_NOT_FOUND" && e.message.includes(path.slice(2))) continue;
    throw e;
  }
  console.log(`\n## ${name}`);
  await mod.run();
}
