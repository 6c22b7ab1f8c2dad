// What every aigw command shares: usage errors (exit 2, as Go's flag package and Envoy AI Gateway's aigw
// do) apart from failures (exit 1), `--help` on stdout with exit 0, and flags parsed by node:util parseArgs.
import { parseArgs, type ParseArgsConfig } from "node:util";

/** A command line the command cannot run: `aigw` prints it with a pointer to --help and exits 2. */
export class UsageError extends Error {}

export interface CommandIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

export const processIo: CommandIo = {
  stdout: (t) => void process.stdout.write(t),
  stderr: (t) => void process.stderr.write(t),
};

type Options = NonNullable<ParseArgsConfig["options"]>;

export interface ParsedFlags {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
  help: boolean;
}

/** Parses `argv` strictly (`-h`/`--help` always known); parseArgs' complaints become UsageErrors. */
export function parseFlags(argv: string[], options: Options, positionals = true): ParsedFlags {
  try {
    const { values, positionals: rest } = parseArgs({
      args: argv,
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals: positionals,
      strict: true,
    });
    const { help, ...own } = values as Record<string, string | boolean | undefined>;
    return { values: own, positionals: rest, help: help === true };
  } catch (err) {
    // "Option '--port <value>' argument missing" and friends, without parseArgs' advice about "--".
    throw new UsageError((err as Error).message.replace(/\.? To specify a positional argument.*$/s, ""));
  }
}

/** An integer flag value within [min, max], or undefined when the flag is absent. */
export function intFlag(name: string, value: string | boolean | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got "${String(value)}"`);
  }
  return Number(value);
}

/** Runs `parse` (a flag parser of another dialect, e.g. Go's) and turns what it throws into a UsageError. */
export function asUsage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw err instanceof UsageError ? err : new UsageError((err as Error).message);
  }
}
