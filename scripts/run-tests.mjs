// Runs every test/*.test.mjs with uvu, streams its output, and ends with the plain
// summary line "N passed, M failed" that CI reads (uvu's own summary is a table).
import { spawn } from "node:child_process";

const uvu = spawn(process.execPath, ["node_modules/uvu/bin.js", "test", "\\.test\\.mjs$", ...process.argv.slice(2)], {
  stdio: ["ignore", "pipe", "inherit"],
});
let out = "";
uvu.stdout.on("data", (chunk) => {
  out += chunk;
  process.stdout.write(chunk);
});
uvu.on("close", (code) => {
  const plain = out.replace(/\x1b\[[0-9;]*m/g, "");
  const total = Number(/Total:\s+(\d+)/.exec(plain)?.[1] ?? 0);
  const passed = Number(/Passed:\s+(\d+)/.exec(plain)?.[1] ?? 0);
  console.log(`\n${passed} passed, ${total - passed} failed`);
  process.exit(code === 0 && total > 0 ? 0 : code || 1);
});
