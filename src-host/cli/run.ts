// `aigw run`: Kubernetes manifests served on one machine. Loads the manifests, starts the workloads the
// project knows (test upstreams, vLLM simulators, Endpoint Pickers) on their own loopback addresses,
// loads build/ai-gateway.wasm into the proxy-wasm host, and serves the data plane in front of it.

import { existsSync } from "node:fs";
import { dirname, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_ADMIN_PORT, DEFAULT_PORT } from "../config/build/build-gateway.js";
import { costProblem } from "../config/build/costs.js";
import { DEFAULT_POD_BLOCK, MAX_POD_BLOCK } from "../config/model/loopback.js";
import { loadConfig, type LoadedConfig } from "../config/load-config.js";
import type { PlannedPod } from "../config/build/workloads.js";
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
  /** Materialized pods on 127.<podBlock>.0.0/16; default: the first of 127.10, 127.11, … whose addresses are free. */
  podBlock?: number;
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

/** Pod blocks an aigw run without --pod-block tries, from DEFAULT_POD_BLOCK on. */
const AUTO_POD_BLOCKS = 16;

/** A pod's address is taken: most likely by another aigw run's pod in the same block. */
class PodAddressInUse extends Error {}

/**
 * Starts everything; on any failure, stops what was already started and throws. Without `podBlock`, a
 * pod address in use (another aigw run on this machine) moves every pod to the next block and starts again.
 */
export async function runGateway(opts: RunOptions): Promise<RunningGateway> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (opts.podBlock !== undefined) return startInstance(opts, opts.podBlock, log, true);
  for (let block = DEFAULT_POD_BLOCK; ; block++) {
    try {
      return await startInstance(opts, block, log, block === DEFAULT_POD_BLOCK);
    } catch (err) {
      if (!(err instanceof PodAddressInUse) || block + 1 >= DEFAULT_POD_BLOCK + AUTO_POD_BLOCKS) throw err;
      log(`${err.message.split(";")[0]}: trying pod block ${block + 1} (127.${block + 1}.0.0/16)`);
    }
  }
}

async function startInstance(opts: RunOptions, podBlock: number, log: (line: string) => void, first: boolean): Promise<RunningGateway> {
  const config = loadConfig(opts.paths.length ? opts.paths : [DEFAULT_EXAMPLE], {
    port: opts.port,
    adminPort: opts.adminPort,
    workers: opts.workers,
    modulePath: opts.modulePath ?? DEFAULT_MODULE,
    podBlock,
  });
  // The same manifests say the same on every attempt.
  if (first) {
    for (const w of config.warnings) log(`warning: ${w}`);
    for (const s of config.workloads.skipped) log(`not started: ${s.owner} (${s.images.join(", ")}): ${s.reason}`);
  }

  const started: Closable[] = [];
  const stopAll = async () => {
    for (const c of started.reverse()) await c.close().catch(() => {});
  };
  try {
    // The filter first: a configuration it refuses stops the start before any pod listens.
    const stats = new StatsStore({ tags: config.gateway.statsTags, bucketSettings: config.gateway.histogramBuckets });
    const filter = opts.noFilter || !config.gateway.wasm ? undefined : await loadFilter(config, stats, log);
    if (filter) started.push(filter);

    const pods = new Map<string, string>();
    // Model servers first, so the EPPs find ready pods when they start scraping.
    const ordered = [...config.workloads.pods].sort((a, b) => Number(a.kind === "epp") - Number(b.kind === "epp"));
    for (const pod of ordered) {
      started.push(
        await startPod(pod, config, log).catch((err: unknown) => {
          const where = `${pod.ip} (ports ${pod.ports.map((p) => p.containerPort).join(", ")})`;
          const problem = busy(
            err,
            `pod ${pod.namespace}/${pod.name} (${pod.owner})`,
            "another aigw run on this machine uses the same pod addresses: give each its own --pod-block",
            where,
          );
          throw problem === err ? err : new PodAddressInUse((problem as Error).message);
        }),
      );
      config.setPodReady(pod.namespace, pod.name, true);
      pods.set(`${pod.namespace}/${pod.name}`, pod.ip);
      log(`started ${pod.kind} ${pod.namespace}/${pod.name} on ${pod.ip} (${pod.owner})`);
    }

    config.gateway.accessLog ??= { path: "-" };
    const l = config.gateway.listener.address;
    const gateway = await startGateway(config.gateway, { filter, stats, log, accessLog: opts.accessLog }).catch((err: unknown) => {
      const admin = (err as NodeJS.ErrnoException & { port?: number }).port === config.gateway.admin.port;
      throw admin
        ? busy(err, "the admin listener", "choose another with --admin-port N (0: any free port)")
        : busy(err, `the Gateway listener ${config.gateway.listener.name}`, "choose another with --port N (0: any free port)", `${l.address}:${l.port}`);
    });
    started.push(gateway);
    const bound = gateway.listenerAddress;
    const a = gateway.adminAddress;
    log(`listening on http://${bound.address}:${bound.port} (admin http://${a.address}:${a.port})`);
    return { config, gateway, stats, pods, close: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** An address already in use, said with who wanted it and what frees it; other errors as they are. */
function busy(err: unknown, who: string, remedy: string, where?: string): unknown {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  // Node's servers set code, address and port; grpc-js only names the code in its message.
  if (e.code !== "EADDRINUSE" && !/EADDRINUSE/.test(e.message ?? "")) return err;
  const at = e.address !== undefined && e.port !== undefined ? `${e.address}:${e.port}` : where;
  return new Error(`${who} cannot listen on ${at}: the address is in use; ${remedy}`);
}

const LEVELS = ["trace", "debug", "info", "warn", "error", "critical"];
const LOG_ERROR = LEVELS.indexOf("error");

/**
 * Loads the wasm filter. Its log lines while configuring are held back: when it refuses a cost expression,
 * the refusal becomes a configuration error naming the manifest's file, object and field instead.
 */
async function loadFilter(config: LoadedConfig, stats: StatsStore, log: (line: string) => void) {
  const wasm = config.gateway.wasm!;
  if (!existsSync(wasm.modulePath)) {
    throw new Error(`the filter module ${wasm.modulePath} does not exist: build it with make (or pass --module PATH)`);
  }
  const held: Array<[number, string]> = [];
  let loading = true;
  const line = (level: number, message: string) => `wasm log ${wasm.name} [${LEVELS[level] ?? level}]: ${message}`;
  try {
    const filter = await loadWasmFilter({
      config: wasm,
      clusters: config.gateway.clusters,
      bufferLimitBytes: config.gateway.listener.bufferLimitBytes,
      // Envoy's host_env_keys: the variables it names, from the process (here: the Secrets' keys).
      environment: Object.fromEntries((wasm.hostEnvKeys ?? []).flatMap((k) => (k in config.hostEnvironment ? [[k, config.hostEnvironment[k]!]] : []))),
      stats,
      log: (level, message) => (loading ? held.push([level, message]) : log(line(level, message))),
    });
    return filter;
  } catch (err) {
    for (const [level, message] of held) {
      const problem = level >= LOG_ERROR ? costProblem(config.costOrigins, message) : undefined;
      if (problem) {
        held.length = 0;
        throw problem;
      }
    }
    throw err;
  } finally {
    loading = false;
    for (const [level, message] of held.splice(0)) log(line(level, message));
  }
}

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
  --pod-block N      start the pods on 127.N.0.0/16 (1-${MAX_POD_BLOCK}); default: the first of 127.${DEFAULT_POD_BLOCK}, 127.${DEFAULT_POD_BLOCK + 1}, …
                     whose addresses are free, so that several aigw run share a machine
  -h, --help         this text`;

/** Parses `aigw run` arguments; undefined after --help. */
export function parseRunArgs(argv: string[]): RunOptions | undefined {
  const { values, positionals, help } = parseFlags(argv, {
    port: { type: "string" },
    "admin-port": { type: "string" },
    workers: { type: "string" },
    module: { type: "string" },
    "pod-block": { type: "string" },
  });
  if (help) return undefined;
  return {
    paths: positionals,
    port: intFlag("port", values.port, 0, 65535),
    adminPort: intFlag("admin-port", values["admin-port"], 0, 65535),
    workers: intFlag("workers", values.workers, 1, 64),
    modulePath: values.module as string | undefined,
    podBlock: intFlag("pod-block", values["pod-block"], 1, MAX_POD_BLOCK),
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
