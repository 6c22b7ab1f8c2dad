// `aigw sim vllm [llm-d-inference-sim flags]` and `aigw sim testupstream [--host H] [--port N]`: run one
// simulator in the foreground until SIGINT or SIGTERM. The test upstream reads TESTUPSTREAM_ID,
// LISTENER_PORT and STREAMING_INTERVAL (a Go duration) like the image; the vLLM simulator reads POD_NAME
// and POD_NAMESPACE.
import type { ListeningServer } from "./http-server.js";
import { startTestUpstream } from "./testupstream.js";
import { asUsage, intFlag, parseFlags, UsageError, type CommandIo } from "../cli/usage.js";
import { parseDuration, parseSimArgs } from "./vllm/flags.js";
import { startVllmSim } from "./vllm/server.js";

export const SIM_USAGE = `usage: aigw sim vllm --model NAME [--port 8000] [--host 127.0.0.1] [llm-d-inference-sim flags]
       aigw sim testupstream [--host 127.0.0.1] [--port 8080]
Runs one simulated model server in the foreground until SIGINT or SIGTERM.
  vllm          llm-d-inference-sim: its flags (--model, --port, --time-to-first-token, --max-num-seqs, ...)
                and POD_NAME / POD_NAMESPACE
  testupstream  Envoy AI Gateway's test upstream: TESTUPSTREAM_ID, LISTENER_PORT, STREAMING_INTERVAL
  --host ADDR   the address to listen on (default 127.0.0.1)`;

export async function runSimCli(argv: string[], io: CommandIo): Promise<void> {
  const [kind, ...rest] = argv;
  if (kind === "-h" || kind === "--help" || rest.includes("-h") || rest.includes("--help")) return io.stdout(`${SIM_USAGE}\n`);
  let server: ListeningServer;
  let what: string;
  switch (kind) {
    case "vllm": {
      const { host, args } = takeHost(rest);
      asUsage(() => parseSimArgs(args)); // a bad flag is a usage error, before anything listens
      const sim = await startVllmSim({ host, args, env: stringEnv() });
      server = sim;
      what = `vLLM simulator for ${sim.config.servedModelNames.join(", ")}`;
      break;
    }
    case "testupstream": {
      const { values } = parseFlags(rest, { host: { type: "string" }, port: { type: "string" } }, false);
      const env = process.env.LISTENER_PORT;
      if (values.port === undefined && env !== undefined && !/^\d{1,5}$/.test(env)) throw new UsageError(`LISTENER_PORT must be a port number, got "${env}"`);
      const port = intFlag("port", values.port ?? env, 0, 65535) ?? 8080;
      const interval = process.env.STREAMING_INTERVAL;
      server = await startTestUpstream({
        host: (values.host as string | undefined) ?? "127.0.0.1",
        port,
        id: process.env.TESTUPSTREAM_ID ?? "",
        podName: process.env.POD_NAME,
        sseIntervalMs: interval ? parseDuration(interval, "STREAMING_INTERVAL") : undefined,
      });
      what = `test upstream "${process.env.TESTUPSTREAM_ID ?? ""}"`;
      break;
    }
    case undefined:
      throw new UsageError("which simulator? vllm or testupstream");
    default:
      throw new UsageError(`unknown simulator "${kind}" (vllm or testupstream)`);
  }
  console.log(`aigw sim: ${what} listening on http://${server.address.address}:${server.address.port}`);
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      console.log(`aigw sim: ${signal}, stopping`);
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await server.close();
}

/** Removes `--host H` / `--host=H` from the simulator's arguments (the real image listens on every address). */
function takeHost(args: string[]): { host: string; args: string[] } {
  let host = "127.0.0.1";
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--host") {
      if (i + 1 >= args.length) throw new UsageError("flag --host needs a value");
      host = args[++i];
    } else if (a.startsWith("--host=")) {
      host = a.slice("--host=".length);
    } else {
      out.push(a);
    }
  }
  return { host, args: out };
}

function stringEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  return env;
}
