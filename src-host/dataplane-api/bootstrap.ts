// The embedded data plane's configuration. It is shaped after Envoy's bootstrap (listener → route table →
// clusters, one wasm HTTP filter before the router) so that `aigw translate` can render the same object
// as an Envoy bootstrap field by field, and `aigw run` can serve it. Types only, a contract: src-host/config
// builds it, src-host/gateway serves it, src-host/translate renders it, the wasm host and the stats read parts.

import type { SocketAddress } from "./http-filter.js";

export interface DataPlaneConfig {
  listener: ListenerConfig;
  admin: SocketAddress;
  routes: RouteConfig;
  clusters: ClusterConfig[];
  /** The wasm filter in the listener's chain; absent means no filter (benchmark-only configuration). */
  wasm?: WasmFilterConfig;
  /** Envoy stats_config.stats_tags: turn parts of metric names into labels. */
  statsTags: StatsTag[];
  /** Envoy stats_config.histogram_bucket_settings (first match wins); other histograms get Envoy's defaults. */
  histogramBuckets?: HistogramBuckets[];
  /** One line per finished stream, Envoy access-log style; absent disables it. */
  accessLog?: { path: "-" | string; format?: string };
}

export interface ListenerConfig {
  name: string;
  address: SocketAddress;
  /** per_connection_buffer_limit_bytes: bounds what a filter may buffer (413 beyond it on requests). */
  bufferLimitBytes: number;
  /** Stream idle / request timeout in ms (Envoy route timeout default for AI routes: 60 s). */
  requestTimeoutMs: number;
}

export interface RouteConfig {
  name: string;
  virtualHosts: VirtualHost[];
}

export interface VirtualHost {
  name: string;
  /** "*" or host names, as Envoy matches :authority. */
  domains: string[];
  routes: Route[];
}

export interface HeaderMatcher {
  name: string;
  /** Exactly one of these. */
  exact?: string;
  /** RE2 syntax, full match (Envoy safe_regex). */
  regex?: string;
  present?: boolean;
  invert?: boolean;
}

export interface Route {
  name: string;
  /**
   * Exactly one path matcher, on the path without its query: `prefix`; `path` (exact); `pathSeparatedPrefix`
   * (the path equals it or continues with "/": Gateway API PathPrefix; no trailing "/"); `safeRegex` (RE2,
   * full match). Header matchers may also name pseudo-headers such as ":method".
   */
  match: { prefix?: string; path?: string; pathSeparatedPrefix?: string; safeRegex?: string; headers?: HeaderMatcher[] };
  action: RouteAction;
  /** Status when the chosen cluster does not exist (Envoy cluster_not_found_response_code; default 503). */
  clusterNotFoundStatus?: 404 | 500 | 503;
  /** Route metadata, surfaced as xds.route_metadata. */
  metadata?: Record<string, unknown>;
  /** Whether the wasm filter runs on this route (Envoy Gateway enables it per route). Default true. */
  filterEnabled?: boolean;
  timeoutMs?: number;
  retryPolicy?: RetryPolicy;
  /**
   * Envoy's route retry_policy.per_try_idle_timeout: each attempt is cut when no upstream byte arrives for
   * this long, from the end of the request on (504 before response headers, a reset after them).
   */
  perTryIdleTimeoutMs?: number;
}

/**
 * Envoy's route retry_policy, the part the data plane implements: retry_on "connect-failure" (a connection
 * that failed or timed out before a byte was exchanged), `numRetries` times, each on a host not tried before
 * (the previous_hosts retry host predicate, at most `hostSelectionRetryMaxAttempts` selections per retry).
 */
export interface RetryPolicy {
  retryOn: "connect-failure";
  numRetries: number;
  hostSelectionRetryMaxAttempts: number;
}

export type RouteAction =
  | { cluster: string }
  | { weightedClusters: Array<{ name: string; weight: number }> }
  | { directResponse: { status: number; body: string; contentType?: string } };

export interface ClusterEndpoint extends SocketAddress {
  /** Name shown in logs and the x-inference-pod header (pod name for materialized workloads). */
  hostname?: string;
  /** Endpoints that are not ready receive no traffic. Default true. */
  ready?: boolean;
}

export interface ClusterConfig {
  name: string;
  /**
   * STATIC / STRICT_DNS: the endpoints below, round robin (or least request).
   * ORIGINAL_DST: the endpoint named by the request header `originalDstHeader` ("ip:port"); without it the
   * request goes to `endpoints` (the pool's ready endpoints, round robin), which is what an InferencePool
   * needs when no EPP answered (FailOpen).
   */
  type: "STATIC" | "STRICT_DNS" | "ORIGINAL_DST";
  endpoints: ClusterEndpoint[];
  originalDstHeader?: string;
  lbPolicy?: "ROUND_ROBIN" | "LEAST_REQUEST";
  /** Speak HTTP/2 (prior knowledge over cleartext, ALPN h2 over TLS): gRPC clusters such as the EPP's. */
  http2?: boolean;
  /** Upstream TLS; insecureSkipVerify for the stock EPP's self-signed certificate. */
  tls?: { insecureSkipVerify: boolean; sni?: string };
  connectTimeoutMs: number;
  /** Cluster metadata (filter_metadata), surfaced as xds.cluster_metadata. */
  metadata?: Record<string, unknown>;
}

export interface WasmFilterConfig {
  /** PluginConfig.name */
  name: string;
  /** PluginConfig.root_id */
  rootId: string;
  /** VmConfig.vm_id */
  vmId: string;
  /** Path to the module (VmConfig.code.local.filename). */
  modulePath: string;
  /** PluginConfig.configuration, delivered raw (StringValue) to proxy_on_configure. */
  configuration: string;
  /** PluginConfig.allow_on_headers_stop_iteration (Envoy ≥ 1.35). */
  allowOnHeadersStopIteration: boolean;
  failOpen: boolean;
  /** Envoy --concurrency: one VM per worker. */
  workers: number;
  /**
   * VmConfig.environment_variables.host_env_keys: variables of the Envoy process the VMs see (WASI
   * environ_get); BackendSecurityPolicy keys travel so, never in a configuration.
   */
  hostEnvKeys?: string[];
}

/** One histogram_bucket_settings entry: histograms whose full stat name starts with `prefix` get `buckets`. */
export interface HistogramBuckets {
  prefix: string;
  buckets: readonly number[];
}

export interface StatsTag {
  tagName: string;
  /** Envoy stats_tags regex: the first capture group is the tag value, and is removed from the name. */
  regex: string;
}
