// What every VM of one loaded filter shares: configuration, clusters, stats, logging and the callout
// clients. (Shared data and queues are process-wide, see shared.ts.)
import type { ClusterConfig, WasmFilterConfig } from "../dataplane-api/bootstrap.js";
import type { StatsStore } from "../stats/store.js";
import type { EndpointPicker } from "./callouts/endpoints.js";
import type { GrpcClients } from "./callouts/grpc.js";

export type WasmLog = (level: number, message: string, vmIndex: number) => void;

export interface HostEnv {
  readonly config: WasmFilterConfig;
  readonly clusters: ReadonlyMap<string, ClusterConfig>;
  readonly stats: StatsStore;
  readonly bufferLimitBytes: number;
  /** Envoy's wasm log level (proxy_get_log_level); lower levels are dropped. */
  readonly logLevel: number;
  readonly log: WasmLog;
  /** proxy_get_current_time_nanoseconds: wall-clock nanoseconds. */
  readonly clock: () => bigint;
  readonly environment: ReadonlyArray<readonly [string, string]>;
  readonly vmConfiguration: Uint8Array;
  readonly pluginConfiguration: Uint8Array;
  readonly endpoints: EndpointPicker;
  readonly grpc: GrpcClients;
  /** Imports a test build of the module declares beside Envoy's ABI; aigw never sets it. */
  readonly instrumentation?: Instrumentation;
}

/**
 * Functions a test build imports under a module of their own, beside the ABI Envoy links: AssemblyScript's
 * rtrace hooks, through which the memory checker of `make memcheck` (test/assembly/memcheck.ts) sees every
 * allocation and store. A module importing them is one Envoy would refuse; only tests load it.
 */
export interface Instrumentation {
  /** The import module they come under. */
  readonly module: string;
  /** The functions for one VM; `memory` returns its linear memory once the VM is instantiated. */
  imports(memory: () => WebAssembly.Memory | undefined): Record<string, (...args: number[]) => number | undefined>;
}
