// The fuzz suite, longer than npm test runs it:
//   npm run fuzz -- --mutants 20000 [--seed N] [--format NAME] [--show K]
// Prints the counts per format and the first K failures of each (with the
// mutant number and what was changed, so a failure can be replayed with --seed).
import { fuzzFormats } from "../test/fuzz/run.mjs";
import { FORMATS } from "../test/fuzz/formats.mjs";

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? fallback : args[i + 1];
};
const mutants = Number(opt("mutants", 2000));
const seed = Number(opt("seed", 1));
const show = Number(opt("show", 5));
const format = opt("format", undefined);
if (!Number.isSafeInteger(mutants) || mutants < 1 || !Number.isSafeInteger(seed)) {
  console.error("usage: npm run fuzz -- [--mutants N] [--seed N] [--format NAME] [--show K]");
  console.error(`formats: ${FORMATS.map((f) => f.name).join(" | ")}`);
  process.exit(2);
}
const started = performance.now();
const results = await fuzzFormats({ names: format ? [format] : undefined, mutants, seed, log: (line) => console.log(line) });
let bad = 0;
for (const [name, c] of Object.entries(results)) {
  bad += c.crashes + c.unclear;
  for (const f of c.failures.slice(0, show)) console.log(`  ${name} #${f.i} [${f.kind}] ${f.what}\n      ${f.why.slice(0, 300)}`);
}
console.log(`${Object.keys(results).length} formats × ${mutants} mutants, seed ${seed}: ${bad} failures, ${((performance.now() - started) / 1000).toFixed(1)} s`);
process.exit(bad === 0 ? 0 : 1);
