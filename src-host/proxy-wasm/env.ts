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
}
