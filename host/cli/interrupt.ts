// Ctrl-C for long commands: the first SIGINT asks the work to stop cleanly (the
// training job finishes its step and saves a checkpoint); a second one exits at
// once with 130 (the shell's code for "killed by SIGINT"). Node and Deno.

type Listener = () => void;
type DenoSignals = { addSignalListener(s: "SIGINT", f: Listener): void; removeSignalListener(s: "SIGINT", f: Listener): void; exit(code: number): never };
type NodeProcess = { on(ev: "SIGINT", f: Listener): void; off(ev: "SIGINT", f: Listener): void; exit(code: number): never };

export const INTERRUPTED_EXIT = 130;

export interface Interrupt {
  signal: AbortSignal;
  dispose(): void;
}

/** Installs the handler; `onFirst` says what happens now (e.g. "saving a checkpoint…"). */
export function installInterrupt(onFirst: () => void): Interrupt {
  const controller = new AbortController();
  const deno = (globalThis as { Deno?: DenoSignals }).Deno;
  const proc = (globalThis as { process?: NodeProcess }).process;
  const exit = (code: number) => (deno ? deno.exit(code) : proc?.exit(code));
  const handler = () => {
    if (controller.signal.aborted) exit(INTERRUPTED_EXIT);
    controller.abort();
    onFirst();
  };
  if (deno?.addSignalListener) deno.addSignalListener("SIGINT", handler);
  else proc?.on?.("SIGINT", handler);
  return {
    signal: controller.signal,
    dispose() {
      if (deno?.removeSignalListener) deno.removeSignalListener("SIGINT", handler);
      else proc?.off?.("SIGINT", handler);
    },
  };
}
