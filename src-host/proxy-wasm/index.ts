// The proxy-wasm host: loads a module the way Envoy does and runs it as the data plane's HTTP filter.
//
//   const filter = await loadWasmFilter({ config, clusters, bufferLimitBytes, stats, log });
//   const stream = filter.createStream(sink);   // one per request (HttpFilterFactory)
//   await filter.close();
import { readFile } from "node:fs/promises";
import type { ClusterConfig, WasmFilterConfig } from "../dataplane-api/bootstrap.js";
import type { StatsStore } from "../stats/store.js";
import { LogLevel } from "./abi.js";
import { utf8Bytes } from "./bytes.js";
import { EndpointPicker } from "./callouts/endpoints.js";
import { GrpcClients } from "./callouts/grpc.js";
import type { HostEnv, Instrumentation } from "./env.js";
import { wallClockNanos } from "./host-functions.js";
import { WasmFilter } from "./filter.js";
import { WasmLoadError, validateModule } from "./validate.js";

export { WasmFilter } from "./filter.js";
export { validateModule, WasmLoadError } from "./validate.js";
export type { ValidatedModule } from "./validate.js";
export type { Instrumentation } from "./env.js";
export { Vm } from "./vm.js";
export { encodePairs, decodePairs } from "./pairs.js";
export { WasmResult, LogLevel, HeadersStatus, DataStatus, TrailersStatus, BufferType, MapType } from "./abi.js";

export interface LoadWasmFilterOptions {
  config: WasmFilterConfig;
  /** The module bytes; read from config.modulePath when absent. */
  module?: Uint8Array;
  /** Clusters callouts may target (by name, as Envoy's cluster manager). */
  clusters: ClusterConfig[];
  /** per_connection_buffer_limit_bytes: a filter buffering more gets 413 (request) / 500 (response). */
  bufferLimitBytes: number;
  stats: StatsStore;
  /** proxy_log, stdout (info) and stderr (error) lines, and VM failures (critical). */
  log?: (level: number, message: string, vmIndex: number) => void;
  /** Envoy's wasm log level (proxy_get_log_level; lower levels are not logged). Default info. */
  logLevel?: number;
  /** VmConfig.environment_variables, visible through WASI environ_get. */
  environment?: Record<string, string>;
  /** VmConfig.configuration, readable in proxy_on_vm_start. Default empty. */
  vmConfiguration?: string;
  /** The module's clock (proxy_get_current_time_nanoseconds), wall-clock nanoseconds. Default the system's;
   * a test passes one it advances, so what the module times (periods, deadlines) does not race the machine. */
  clock?: () => bigint;
  /** A test build's hooks (env.ts Instrumentation). */
  instrumentation?: Instrumentation;
}

/** Validates, instantiates one VM per worker and starts each (on_vm_start, on_configure). Throws a
 * WasmLoadError, with Envoy's wording, for everything that would stop Envoy from starting. */
export async function loadWasmFilter(opts: LoadWasmFilterOptions): Promise<WasmFilter> {
  const { config } = opts;
  const workers = config.workers ?? 2;
  if (!Number.isInteger(workers) || workers < 1) throw new WasmLoadError(`wasm filter ${config.name}: workers must be a positive integer, got ${workers}`);
  if (!(opts.bufferLimitBytes > 0)) throw new WasmLoadError(`wasm filter ${config.name}: bufferLimitBytes must be positive`);
  const bytes = opts.module ?? new Uint8Array(await readFile(config.modulePath));
  const validated = validateModule(bytes, opts.instrumentation?.module);
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  } catch (err) {
    throw new WasmLoadError(`Failed to load Wasm bytecode: ${(err as Error).message}`);
  }
  const clusters = new Map<string, ClusterConfig>();
  for (const c of opts.clusters) clusters.set(c.name, c);
  const env: HostEnv = {
    config,
    clusters,
    stats: opts.stats,
    bufferLimitBytes: opts.bufferLimitBytes,
    logLevel: opts.logLevel ?? LogLevel.Info,
    log: opts.log ?? (() => {}),
    clock: opts.clock ?? wallClockNanos,
    environment: Object.entries(opts.environment ?? {}),
    vmConfiguration: utf8Bytes(opts.vmConfiguration ?? ""),
    pluginConfiguration: utf8Bytes(config.configuration),
    endpoints: new EndpointPicker(),
    grpc: new GrpcClients(),
    instrumentation: opts.instrumentation,
  };
  return WasmFilter.create(env, module, validated, workers);
}
