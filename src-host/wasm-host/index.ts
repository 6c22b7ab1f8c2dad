// A proxy-wasm host that runs the filter module the way Envoy does (proxy-wasm.md §7): the module is
// checked like Envoy links it, compiled once, and instantiated once per worker; streams are spread over
// the VMs round robin. `aigw run` and the tests use loadWasmFilter.
import { readFile } from "node:fs/promises";
import type { ClusterConfig, WasmFilterConfig } from "../gateway/config.js";
import type { HttpFilterFactory, HttpFilterSink, HttpFilterStream } from "../gateway/http-filter.js";
import type { StatsStore } from "../stats/index.js";
import { checkModule } from "./abi.js";
import { CalloutHost } from "./callouts.js";
import { processSharedState } from "./shared.js";
import { WasmHttpStream } from "./stream.js";
import { LogLevel } from "./types.js";
import { WasmVm, type HostEnv } from "./vm.js";

export { checkModule, readModuleInterface } from "./abi.js";
export { encodePairs, decodePairs } from "./pairs.js";

export interface LoadWasmFilterOptions {
  config: WasmFilterConfig;
  /** The module bytes; read from config.modulePath when absent. */
  module?: Uint8Array;
  clusters: ClusterConfig[];
  /** Envoy's buffer limit for one stream (413 on the request side, 500 on the response side beyond it). */
  bufferLimitBytes: number;
  stats: StatsStore;
  /** Receives the module's log lines (proxy_log, stdout/stderr) and the host's own. Default: stderr from warn up. */
  log?: (level: number, message: string) => void;
  /** What proxy_get_log_level reports and the lowest level passed to `log` (default info = 2). */
  logLevel?: number;
}

export interface WasmFilter extends HttpFilterFactory {
  /** Number of VMs (one per worker). */
  readonly workers: number;
  close(): Promise<void>;
}

const LEVELS = ["trace", "debug", "info", "warn", "error", "critical"];

function defaultLog(level: number, message: string): void {
  if (level >= LogLevel.Warn) process.stderr.write(`wasm [${LEVELS[level] ?? level}] ${message}\n`);
}

export async function loadWasmFilter(opts: LoadWasmFilterOptions): Promise<WasmFilter> {
  const { config } = opts;
  const workers = config.workers === undefined || config.workers === 0 ? 2 : config.workers;
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`wasm filter ${config.name}: workers must be a positive integer, got ${config.workers}`);
  if (!(opts.bufferLimitBytes > 0)) throw new Error(`wasm filter ${config.name}: bufferLimitBytes must be positive, got ${opts.bufferLimitBytes}`);
  const bytes = opts.module ?? new Uint8Array(await readFile(config.modulePath));
  const { allocator } = checkModule(bytes);
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
  } catch (err) {
    throw new Error(`Failed to load Wasm code: ${(err as Error).message}`);
  }
  const clusters = new Map(opts.clusters.map((c) => [c.name, c]));
  const callouts = new CalloutHost(clusters, opts.bufferLimitBytes);
  const env: HostEnv = {
    config,
    clusters,
    bufferLimitBytes: opts.bufferLimitBytes,
    stats: opts.stats,
    log: opts.log ?? defaultLog,
    logLevel: opts.logLevel ?? LogLevel.Info,
    callouts,
  };
  const vms: WasmVm[] = [];
  const shutdown = (): void => {
    callouts.close();
    for (const vm of vms) vm.close();
    processSharedState.dropQueuesOf(new Set(vms));
  };
  try {
    for (let i = 0; i < workers; i++) {
      const vm = new WasmVm(env, processSharedState, i);
      vms.push(vm);
      await vm.start(module, allocator);
    }
  } catch (err) {
    shutdown();
    throw err;
  }
  const streamOptions = {
    allowOnHeadersStopIteration: config.allowOnHeadersStopIteration,
    failOpen: config.failOpen,
    bufferLimitBytes: opts.bufferLimitBytes,
  };
  let next = 0;
  let closed = false;
  return {
    workers,
    createStream(sink: HttpFilterSink): HttpFilterStream {
      const vm = vms[next++ % vms.length]!;
      return new WasmHttpStream(vm, sink, streamOptions);
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      shutdown();
    },
  };
}
