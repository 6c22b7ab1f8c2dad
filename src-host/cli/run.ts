// `aigw run`: Kubernetes manifests served on one machine. Loads the manifests, starts the workloads the
// project knows (test upstreams, vLLM simulators, Endpoint Pickers) on their own loopback addresses,
// loads build/ai-gateway.wasm into the proxy-wasm host, and serves the data plane in front of it.

import { dirname, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_ADMIN_PORT, DEFAULT_PORT } from "../config/build-gateway.js";
import { loadConfig, type LoadedConfig } from "../config/load-config.js";
import type { PlannedPod } from "../config/workloads.js";
import { startEpp } from "../epp/epp.js";
import { startRateLimitPod } from "../ratelimit/pod.js";
import { startGateway, type Gateway } from "../gateway/gateway.js";
import { loadWasmFilter } from "../proxy-wasm/index.js";
import { startTestUpstream } from "../sim/testupstream.js";
import { startVllmSim } from "../sim/vllm/server.js";
import { StatsStore } from "../stats/index.js";
import { intFlag, parseFlags, type CommandIo } from "./usage.js";

// The repository root, from src-host/cli (tests) or build/host/src-host/cli (compiled).
const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = HERE.includes(`${sep}build${sep}host${sep}`) ? resolve(HERE, "../../../..") : resolve(HERE, "../..");

export const DEFAULT_EXAMPLE = resolve(ROOT, "envoy/examples/inference-pool");
export const DEFAULT_MODULE = resolve(ROOT, "build/ai-gateway.wasm");

export interface RunOptions {
  paths: string[];
  port?: number;
  adminPort?: number;
  workers?: number;
  modulePath?: string;
  /** Where access-log lines go (default: stdout), one per finished request with its wasm.* filter state. */
  accessLog?: (line: string) => void;
  /** Serve without the wasm filter (benchmark-only configuration). */
  noFilter?: boolean;
  log?: (line: string) => void;
}

export interface RunningGateway {
  config: LoadedConfig;
  gateway: Gateway;
  stats: StatsStore;
  /** The materialized pods, name → loopback address. */
  pods: Map<string, string>;
  close(): Promise<void>;
}

interface Closable {
  close(): Promise<void>;
}

/** Starts everything; on any failure, stops what was already started and throws. */
export async function runGateway(opts: RunOptions): Promise<RunningGateway> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const modulePath = opts.modulePath ?? DEFAULT_MODULE;
  const config = loadConfig(opts.paths.length ? opts.paths : [DEFAULT_EXAMPLE], {
    port: opts.port,
    adminPort: opts.adminPort,
    workers: opts.workers,
    modulePath,
  });
  for (const w of config.warnings) log(`warning: ${w}`);
  for (const s of config.workloads.skipped) log(`not started: ${s.owner} (${s.images.join(", ")}): ${s.reason}`);

  const started: Closable[] = [];
  const stopAll = async () => {
    for (const c of started.reverse()) await c.close().catch(() => {});
  };
  try {
    const pods = new Map<string, string>();
    // Model servers first, so the EPPs find ready pods when they start scraping.
    const ordered = [...config.workloads.pods].sort((a, b) => Number(a.kind === "epp") - Number(b.kind === "epp"));
    for (const pod of ordered) {
      started.push(await startPod(pod, config, log));
      config.setPodReady(pod.namespace, pod.name, true);
      pods.set(`${pod.namespace}/${pod.name}`, pod.ip);
      log(`started ${pod.kind} ${pod.namespace}/${pod.name} on ${pod.ip} (${pod.owner})`);
    }

    const stats = new StatsStore({ tags: config.gateway.statsTags });
    const filter = opts.noFilter || !config.gateway.wasm
      ? undefined
      : await loadWasmFilter({
          config: config.gateway.wasm,
          clusters: config.gateway.clusters,
          bufferLimitBytes: config.gateway.listener.bufferLimitBytes,
          stats,
          log: (level, message) => log(`wasm log ${config.gateway.wasm!.name} [${LEVELS[level] ?? level}]: ${message}`),
        });
    if (filter) started.push(filter);

    config.gateway.accessLog ??= { path: "-" };
    const gateway = await startGateway(config.gateway, { filter, stats, log, accessLog: opts.accessLog });
    started.push(gateway);
    const l = gateway.listenerAddress;
    const a = gateway.adminAddress;
    log(`listening on http://${l.address}:${l.port} (admin http://${a.address}:${a.port})`);
    return { config, gateway, stats, pods, close: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

const LEVELS = ["trace", "debug", "info", "warn", "error", "critical"];

async function startPod(pod: PlannedPod, config: LoadedConfig, log: (line: string) => void): Promise<Closable> {
  const port = pod.ports[0]?.containerPort;
  switch (pod.kind) {
    case "testupstream":
      return startTestUpstream({ host: pod.ip, port: port ?? 8080, id: pod.env.TESTUPSTREAM_ID, podName: pod.name });
    case "vllm-sim":
      return startVllmSim({ host: pod.ip, port, args: pod.args, env: pod.env, podName: pod.name });
    case "epp": {
      if (!pod.pool) throw new Error(`${pod.owner}: the EPP serves no InferencePool (--pool-name missing)`);
      return startEpp({
        args: pod.args,
        files: pod.files,
        discovery: config.discovery(pod.pool),
        host: pod.ip,
        log: (line) => log(`epp ${pod.name}: ${line}`),
      });
    }
    case "ratelimit":
      return startRateLimitPod(pod, config.plugin.rateLimits);
    default:
      throw new Error(`${pod.owner}: no local implementation of workload kind "${pod.kind}"`);
  }
}

export const RUN_USAGE = `usage: aigw run [FILE|DIR ...] [flags]
Serves Kubernetes manifests on this machine: the Gateway's listener, the routes, and the workloads aigw
knows (vLLM simulators, test upstreams, Endpoint Pickers, a rate limit service) on their own loopback
addresses. Stops on SIGINT or SIGTERM.
  FILE|DIR ...       manifests; a directory: its *.yaml and *.yml files in lexical order
                     (default: envoy/examples/inference-pool)
  --port N           serve the Gateway's listener on 127.0.0.1:N, whatever its own port (default ${DEFAULT_PORT})
  --admin-port N     admin endpoints on 127.0.0.1:N (default ${DEFAULT_ADMIN_PORT}): /ready, /health, /metrics,
                     /stats, /config_dump
  --workers N        proxy-wasm VMs, as Envoy's --concurrency (default 2)
  --module PATH      the filter module (default build/ai-gateway.wasm)
  -h, --help         this text`;

/** Parses `aigw run` arguments; undefined after --help. */
export function parseRunArgs(argv: string[]): RunOptions | undefined {
  const { values, positionals, help } = parseFlags(argv, {
    port: { type: "string" },
    "admin-port": { type: "string" },
    workers: { type: "string" },
    module: { type: "string" },
  });
  if (help) return undefined;
  return {
    paths: positionals,
    port: intFlag("port", values.port, 0, 65535),
    adminPort: intFlag("admin-port", values["admin-port"], 0, 65535),
    workers: intFlag("workers", values.workers, 1, 64),
    modulePath: values.module as string | undefined,
  };
}

/** The `aigw run` command: serves until SIGINT/SIGTERM, then stops cleanly. */
export async function runCli(argv: string[], io: CommandIo): Promise<void> {
  const opts = parseRunArgs(argv);
  if (!opts) return io.stdout(`${RUN_USAGE}\n`);
  const running = await runGateway(opts);
  await new Promise<void>((done) => {
    const stop = (signal: string) => {
      process.stderr.write(`${signal}: stopping\n`);
      running.close().then(done, done);
    };
    process.once("SIGINT", () => stop("SIGINT"));
    process.once("SIGTERM", () => stop("SIGTERM"));
  });
}
