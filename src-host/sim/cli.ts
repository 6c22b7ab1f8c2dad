// `aigw sim vllm [llm-d-inference-sim flags]` and `aigw sim testupstream [--host H] [--port N]`: run one
// simulator in the foreground until SIGINT or SIGTERM. The test upstream reads TESTUPSTREAM_ID,
// LISTENER_PORT and STREAMING_INTERVAL (a Go duration) like the image; the vLLM simulator reads POD_NAME
// and POD_NAMESPACE.
import type { ListeningServer } from "./http-server.js";
import { startTestUpstream } from "./testupstream.js";
import { parseDuration } from "./vllm/flags.js";
import { startVllmSim } from "./vllm/server.js";

const usage = `usage: aigw sim vllm --model NAME [--port 8000] [--host 127.0.0.1] [llm-d-inference-sim flags]
       aigw sim testupstream [--host 127.0.0.1] [--port 8080]`;

export async function runSimCli(argv: string[]): Promise<void> {
  const [kind, ...rest] = argv;
  let server: ListeningServer;
  let what: string;
  switch (kind) {
    case "vllm": {
      const { host, args } = takeHost(rest);
      const env = stringEnv();
      const sim = await startVllmSim({ host, args, env });
      server = sim;
      what = `vLLM simulator for ${sim.config.servedModelNames.join(", ")}`;
      break;
    }
    case "testupstream": {
      const { host, args } = takeHost(rest);
      const port = testUpstreamPort(args);
      const interval = process.env.STREAMING_INTERVAL;
      server = await startTestUpstream({
        host,
        port,
        id: process.env.TESTUPSTREAM_ID ?? "",
        podName: process.env.POD_NAME,
        sseIntervalMs: interval ? parseDuration(interval, "STREAMING_INTERVAL") : undefined,
      });
      what = `test upstream "${process.env.TESTUPSTREAM_ID ?? ""}"`;
      break;
    }
    case "-h":
    case "--help":
    case undefined:
      console.log(usage);
      return;
    default:
      throw new Error(`unknown simulator "${kind}"\n${usage}`);
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

/** Removes `--host H` / `--host=H` from the arguments (the real images listen on every address). */
function takeHost(args: string[]): { host: string; args: string[] } {
  let host = "127.0.0.1";
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--host") {
      if (i + 1 >= args.length) throw new Error("flag --host needs a value");
      host = args[++i];
    } else if (a.startsWith("--host=")) {
      host = a.slice("--host=".length);
    } else {
      out.push(a);
    }
  }
  return { host, args: out };
}

function testUpstreamPort(args: string[]): number {
  let port = process.env.LISTENER_PORT ?? "8080";
  let portSource = process.env.LISTENER_PORT ? "LISTENER_PORT" : "--port";
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--port") {
      if (i + 1 >= args.length) throw new Error("flag --port needs a value");
      port = args[++i];
      portSource = "--port";
    } else if (a.startsWith("--port=")) {
      port = a.slice("--port=".length);
      portSource = "--port";
    } else {
      throw new Error(`unknown flag ${a} for the test upstream\n${usage}`);
    }
  }
  if (!/^\d+$/.test(port) || Number(port) > 65535) throw new Error(`invalid value "${port}" for ${portSource}: expected a port number`);
  return Number(port);
}

function stringEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  return env;
}
