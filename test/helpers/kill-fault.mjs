// Test-only: SIGKILL a process at an exact point of its file writes, without any
// hook in the engine. A `node --import` preload; it wraps the mutating calls of
// node:fs/promises and of its file handles (open for writing, write, writeFile,
// appendFile, sync, close, rename, rm, unlink, mkdir, …) in the main thread, and
// counts those that touch a path matching PATTERN:
//   JREG_TEST_KILL="STEP:FRACTION:PATTERN"  kills itself (a real SIGKILL: no exit
//       handler runs, nothing is cleaned up) just before the STEP-th such call;
//       when that call writes data, it first writes the leading FRACTION of the
//       bytes, as a kill in the middle of a write leaves them. "STEP+" kills just
//       after that call has completed instead.
//   JREG_TEST_KILL="count::PATTERN"  kills nothing and prints "kill-fault: N calls"
//       to stderr as the process exits, so that a test can schedule STEP in [1, N].
// PATTERN is a regular expression, tested against every path the call names.
// JREG_TEST_KILL_TRACE=1 also prints each counted call.
import fsp from "node:fs/promises";
import { syncBuiltinESMExports } from "node:module";
import { isMainThread } from "node:worker_threads";

const spec = process.env.JREG_TEST_KILL;
if (spec && isMainThread) {
  const [stepText, fractionText, ...rest] = spec.split(":");
  const pattern = new RegExp(rest.join(":"));
  const counting = stepText === "count";
  const after = stepText.endsWith("+");
  const step = Number(after ? stepText.slice(0, -1) : stepText);
  const fraction = Number(fractionText || 0);
  let calls = 0;
  if (counting) process.on("exit", () => process.stderr.write(`kill-fault: ${calls} calls\n`));

  const bytesOf = (data) => (typeof data === "string" ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  const die = () => {
    process.kill(process.pid, "SIGKILL");
    // SIGKILL to oneself is delivered before kill() returns; never go on.
    for (;;);
  };
  /**
   * Runs `call` (the real one) unless the process is to die at it: before it
   * (after `partial`, the bytes a write cut short would leave), or after it.
   */
  const guard = async (paths, call, partial) => {
    if (!paths.some((p) => typeof p === "string" && pattern.test(p))) return call();
    calls++;
    if (process.env.JREG_TEST_KILL_TRACE) process.stderr.write(`kill-fault: call ${calls} ${new Error().stack.split("\n")[3]?.trim()} ${paths.join(" ")}\n`);
    if (counting || calls !== step) return call();
    if (!after) {
      if (partial) await partial();
      die();
    }
    await call();
    die();
  };

  const probe = await fsp.open(process.execPath, "r");
  const handleProto = Object.getPrototypeOf(probe);
  await probe.close();
  /** Handles opened for writing, by path: their calls count too. */
  const pathOf = new WeakMap();
  const realWrite = handleProto.write;

  const realOpen = fsp.open;
  fsp.open = function (path, flags = "r", ...more) {
    const writes = typeof flags === "string" ? /[wax+]/.test(flags) : (flags & 3) !== 0;
    if (!writes) return realOpen.call(this, path, flags, ...more);
    return guard([String(path)], async () => {
      const handle = await realOpen.call(this, path, flags, ...more);
      pathOf.set(handle, String(path));
      // close is the handle's own property, not its prototype's.
      const realClose = handle.close;
      handle.close = function (...args) {
        return guard([pathOf.get(this)], () => realClose.apply(this, args));
      };
      return handle;
    });
  };
  for (const name of ["rename", "copyFile", "link", "symlink"]) {
    const real = fsp[name];
    fsp[name] = function (from, to, ...more) {
      return guard([String(from), String(to)], () => real.call(this, from, to, ...more));
    };
  }
  for (const name of ["rm", "unlink", "rmdir", "mkdir", "truncate"]) {
    const real = fsp[name];
    fsp[name] = function (path, ...more) {
      return guard([String(path)], () => real.call(this, path, ...more));
    };
  }
  for (const name of ["writeFile", "appendFile"]) {
    const real = fsp[name];
    fsp[name] = function (path, data, ...more) {
      return guard([String(path)], () => real.call(this, path, data, ...more), () => real.call(this, path, bytesOf(data).subarray(0, Math.floor(fraction * bytesOf(data).length))));
    };
  }
  for (const name of ["write", "writeFile", "appendFile"]) {
    const real = handleProto[name];
    handleProto[name] = function (data, ...more) {
      return guard([pathOf.get(this)], () => real.call(this, data, ...more), () => realWrite.call(this, bytesOf(data).subarray(0, Math.floor(fraction * bytesOf(data).length))));
    };
  }
  for (const name of ["sync", "datasync", "truncate"]) {
    const real = handleProto[name];
    handleProto[name] = function (...args) {
      return guard([pathOf.get(this)], () => real.apply(this, args));
    };
  }
  syncBuiltinESMExports();
}
