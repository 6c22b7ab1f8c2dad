// `aigw epp`: the Endpoint Picker as a standalone process. It takes the GIE v1.0.x EPP's flags plus two of its own:
//   --endpoints-file FILE   the pool's endpoints (and objectives) outside Kubernetes; see file-discovery.ts
//   --bind-address ADDR     where the three listeners bind (default 127.0.0.1)
// and runs until SIGINT/SIGTERM.
import { asUsage, processIo, UsageError, type CommandIo } from "../cli/usage.js";
import { startEpp } from "./epp.js";
import { FileDiscovery } from "./file-discovery.js";
import { EPP_FLAG_DEFS, parseEppFlags } from "./flags.js";

const CLI_ONLY = ["endpoints-file", "bind-address"];

export const EPP_USAGE = `usage: aigw epp --pool-name NAME --endpoints-file FILE [flags]
  --endpoints-file FILE  YAML/JSON list of {name, address: "ip:port", labels, ready} (or {endpoints, objectives}),
                         re-read when it changes
  --bind-address ADDR    bind address of the gRPC, health and metrics listeners (default 127.0.0.1)
EPP flags (as registry.k8s.io/gateway-api-inference-extension/epp:v1.0.x):
${EPP_FLAG_DEFS.map((d) => `  --${d.name}${d.kind === "bool" ? "" : ` ${d.kind}`}  ${d.help}${d.def === "" ? "" : ` (default ${d.kind === "duration" ? `${d.def}ms` : d.def})`}`).join("\n")}`;

/** Separates the CLI's own flags from the EPP's (both `--flag value` and `--flag=value`). */
export function splitCliArgs(argv: readonly string[]): { own: Record<string, string>; epp: string[] } {
  const own: Record<string, string> = {};
  const epp: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const m = /^--?([^=]+)(?:=(.*))?$/s.exec(arg);
    if (m && CLI_ONLY.includes(m[1])) {
      if (m[2] !== undefined) own[m[1]] = m[2];
      else if (i + 1 < argv.length) own[m[1]] = argv[++i];
      else throw new Error(`flag needs an argument: -${m[1]}`);
    } else {
      epp.push(arg);
    }
  }
  return { own, epp };
}

export interface EppCliOptions {
  /** Stops the EPP like SIGINT does (for embedding and tests). */
  signal?: AbortSignal;
  /** Where --help goes (default: stdout). */
  io?: CommandIo;
  /** Log sink (default: stderr). */
  log?: (line: string) => void;
}

export async function runEppCli(argv: string[], opts: EppCliOptions = {}): Promise<void> {
  if (argv.includes("-h") || argv.includes("--help") || argv.includes("-help")) {
    (opts.io ?? processIo).stdout(`${EPP_USAGE}\n`);
    return;
  }
  const { own, epp: eppArgs } = asUsage(() => splitCliArgs(argv));
  const flags = asUsage(() => parseEppFlags(eppArgs)); // validate before touching the file
  const file = own["endpoints-file"];
  if (!file) throw new UsageError("aigw epp needs --endpoints-file FILE to find its pool outside Kubernetes");
  const log = opts.log ?? ((line: string) => process.stderr.write(line + "\n"));
  const discovery = new FileDiscovery(file, flags.poolName, flags.poolNamespace, (err) => log(`aigw epp: ${err.message} (keeping the previous endpoints)`));
  discovery.watch();
  const epp = await startEpp({ args: eppArgs, discovery, host: own["bind-address"] || "127.0.0.1", log }).catch((err: unknown) => {
    discovery.close();
    throw err;
  });
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      opts.signal?.removeEventListener("abort", stop);
      discovery.close();
      void epp.close().then(resolve);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
    if (opts.signal?.aborted) stop();
    else opts.signal?.addEventListener("abort", stop);
  });
}
