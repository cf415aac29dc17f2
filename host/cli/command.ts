// What a `jreg` command is: its declared flags (host/cli/args.ts) and a function
// that runs with the parsed values. defineCommand wires --help, so every command
// and subcommand answers it the same way.
import { helpText, parseCommandLine, type CommandSpec, type FlagSpecs, type ParsedArgs } from "./args.ts";

export interface CommandIO {
  /** one line of the command's result on stdout */
  out(line: string): void;
}

export interface Command {
  readonly spec: CommandSpec;
  /** parses argv (printing help for -h/--help) and runs; resolves to the exit code */
  run(argv: string[], io: CommandIO): Promise<number>;
  /** the help text (some commands add text found at run time, e.g. bench's suites) */
  help(): Promise<string>;
}

/** A command word that only groups subcommands (`jreg tokenizer train`). */
export interface CommandGroup {
  readonly name: string;
  readonly summary: string;
  readonly subcommands: Record<string, Command>;
}

export function defineCommand<const F extends FlagSpecs>(
  spec: CommandSpec<F>,
  run: (args: ParsedArgs<F>, io: CommandIO) => Promise<number>,
  extraHelp?: () => Promise<string>,
): Command {
  const help = async () => helpText(spec as unknown as CommandSpec) + (extraHelp ? "\n\n" + (await extraHelp()) : "");
  return {
    spec: spec as unknown as CommandSpec,
    help,
    async run(argv, io) {
      const parsed = parseCommandLine(spec, argv);
      if ("help" in parsed) {
        io.out(await help());
        return 0;
      }
      return run(parsed, io);
    },
  };
}
