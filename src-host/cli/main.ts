// The aigw commands. Exit codes: 0 done (and for --help), 1 failed (bad manifests, a busy port, an
// unhealthy gateway), 2 a command line aigw cannot run (unknown command or flag, a bad flag value).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { runEppCli } from "../epp/cli.js";
import { runSimCli } from "../sim/cli.js";
import { runHealthcheckCli } from "./healthcheck.js";
import { ROOT, runCli } from "./run.js";
import { runTranslateCli } from "./translate.js";
import { processIo, UsageError, type CommandIo } from "./usage.js";

export const AIGW_USAGE = `usage: aigw <command> [flags]
commands:
  run [FILE|DIR ...]        serve Kubernetes manifests on this machine (default: the seed example)
  translate [FILE|DIR ...]  the same manifests for a real Envoy or for Envoy Gateway
  epp                       an Endpoint Picker, with the inference extension's EPP flags
  sim vllm|testupstream     one simulated model server
  healthcheck               exit 0 when a local aigw run answers /health (a Docker HEALTHCHECK)
  version                   print aigw's version
Run "aigw <command> --help" for the command's flags.`;

type Command = (argv: string[], io: CommandIo) => Promise<void>;

const COMMANDS: Record<string, Command> = {
  run: runCli,
  translate: runTranslateCli,
  epp: (argv, io) => runEppCli(argv, { io }),
  sim: runSimCli,
  healthcheck: runHealthcheckCli,
  version: async (argv, io) => {
    if (argv.length) throw new UsageError(`unexpected argument "${argv[0]}"`);
    io.stdout(`aigw ${version()}\n`);
  },
};

/** Runs one aigw command line and returns its exit code. */
export async function runAigw(argv: string[], io: CommandIo = processIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "help" || name === "-h" || name === "--help") {
    const topic = name === "help" ? rest[0] : undefined;
    if (topic !== undefined) return runAigw([topic, "--help"], io);
    (name === undefined ? io.stderr : io.stdout)(`${AIGW_USAGE}\n`);
    return name === undefined ? 2 : 0;
  }
  if (name === "--version") return runAigw(["version", ...rest], io);
  const command = COMMANDS[name];
  if (!command) {
    io.stderr(`aigw: unknown command "${name}"\n${AIGW_USAGE}\n`);
    return 2;
  }
  try {
    await command(rest, io);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`aigw ${name}: ${err.message}\nRun "aigw ${name} --help" for usage.\n`);
      return 2;
    }
    io.stderr(`aigw ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

function version(): string {
  return (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
}
