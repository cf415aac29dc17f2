// Compiles every AssemblyScript entry point in assembly/ to build/*.wasm.
// Each module is listed with its asconfig.json target; a module whose entry file
// does not exist yet is skipped so the build works while parts are in progress.
import { existsSync, mkdirSync } from "node:fs";
import { main } from "assemblyscript/asc";

const modules = [
  { entry: "assembly/kernels.ts", target: "engine" },
  { entry: "assembly/kernels.ts", target: "engine-threads" },
  // the opt-in relaxed-SIMD (FMA) variants of both: assembly/mul-add.ts
  { entry: "assembly/kernels.ts", target: "engine-relaxed" },
  { entry: "assembly/kernels.ts", target: "engine-threads-relaxed" },
  { entry: "assembly/tokenizer.ts", target: "tokenizer" },
];

mkdirSync("build", { recursive: true });
let failed = false;
for (const { entry, target } of modules) {
  if (!existsSync(entry)) continue;
  const { error, stderr } = await main([entry, "--config", "asconfig.json", "--target", target]);
  if (error) {
    console.error(`asc ${entry} --target ${target} failed:\n${stderr.toString()}`);
    failed = true;
  }
}
if (failed) process.exit(1);
