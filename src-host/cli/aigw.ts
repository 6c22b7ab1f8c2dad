#!/usr/bin/env node
// aigw: the embedded gateway and its companions.
//   aigw run [FILE|DIR ...] [--port 1975] [--admin-port 1064] [--workers 2]   serve Kubernetes manifests
//   aigw epp --pool-name NAME [flags]                                         an Endpoint Picker
//   aigw sim vllm|testupstream [flags]                                         a model-server simulator
//   aigw translate [FILE|DIR ...] [--target envoy|envoy-gateway] [-o DIR]     artefacts for real Envoy
import { runCli } from "./run.js";
import { runEppCli } from "../epp/cli.js";
import { runSimCli } from "../sim/cli.js";
import { runTranslateCli } from "./translate.js";

const usage = `usage: aigw <command> [args]
commands:
  run [FILE|DIR ...] [--port N] [--admin-port N] [--workers N] [--module PATH]
  epp --pool-name NAME [--grpc-port 9002] [--grpc-health-port 9003] [--config-file F] ...
  sim vllm|testupstream [flags]
  translate [FILE|DIR ...] [--target envoy|envoy-gateway] [-o DIR] [--docker]`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case "run":
      return runCli(rest);
    case "epp":
      return runEppCli(rest);
    case "sim":
      return runSimCli(rest);
    case "translate":
      return runTranslateCli(rest);
    case "-h":
    case "--help":
    case "help":
      console.log(usage);
      return;
    default:
      throw new Error(command ? `unknown command "${command}"\n${usage}` : usage);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  console.error(`aigw: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
