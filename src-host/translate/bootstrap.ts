// DataPlaneConfig → an Envoy v3 bootstrap, field by field (DataPlaneConfig is shaped after it): one listener with
// the HTTP connection manager, the wasm filter (V8, allow_on_headers_stop_iteration) before the router,
// the route table, the clusters, stats tags and the admin interface.
//
// One rendering decision: a cluster that routes on a request header (ClusterConfig.originalDstHeader, the
// InferencePool clusters) becomes a STATIC/STRICT_DNS cluster of the pool's endpoints with the override_host
// LB policy, which sends the request to the endpoint the header names and, when the header is absent (the
// filter removes it when the EPP is down and the pool is FailOpen), round robin over the pool. ORIGINAL_DST
// would honour the header but has no endpoints to fall back to, and would connect to any address a request
// names. Plain ORIGINAL_DST clusters (no header) render as such.

import { isIP } from "node:net";
import type {
  ClusterConfig,
  ClusterEndpoint,
  DataPlaneConfig,
  HeaderMatcher,
  RetryPolicy,
  Route,
  StatsTag,
  WasmFilterConfig,
} from "../dataplane-api/bootstrap.js";
import { RUNTIME_MODULES } from "./runtime.js";

export interface EndpointAddress {
  /** An IP address or a DNS name (the cluster becomes STRICT_DNS). */
  address: string;
  port: number;
}

export interface BootstrapOptions {
  /** Where Envoy reaches an endpoint; default: the configured address. */
  endpoint?: (cluster: ClusterConfig, endpoint: ClusterEndpoint) => EndpointAddress;
  /** Bind address of the listener and the admin interface instead of the configured ones (Docker: 0.0.0.0). */
  bindAddress?: string;
  /** VmConfig.runtime; default V8. */
  vmRuntime?: string;
}

const TYPE = "type.googleapis.com/";
export const WASM_FILTER_NAME = "envoy.filters.http.wasm";
const HCM = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";

type Obj = Record<string, unknown>;

export function renderBootstrap(gateway: DataPlaneConfig, opts: BootstrapOptions = {}): Obj {
  const endpoint = opts.endpoint ?? ((_c: ClusterConfig, e: ClusterEndpoint) => ({ address: e.address, port: e.port }));
  const doc: Obj = {
    node: { id: "ai-gateway", cluster: "ai-gateway" },
    admin: { address: socketAddress(opts.bindAddress ?? gateway.admin.address, gateway.admin.port) },
  };
  const buckets = gateway.histogramBuckets ?? [];
  if (gateway.statsTags.length > 0 || buckets.length > 0) {
    const stats: Obj = {};
    if (gateway.statsTags.length > 0) stats.stats_tags = gateway.statsTags.map(statsTag);
    if (buckets.length > 0) stats.histogram_bucket_settings = buckets.map((b) => ({ match: { prefix: b.prefix }, buckets: [...b.buckets] }));
    doc.stats_config = stats;
  }
  doc.static_resources = {
    listeners: [listener(gateway, opts.bindAddress, opts.vmRuntime ?? RUNTIME_MODULES.v8.vmRuntime)],
    clusters: gateway.clusters.map((c) => renderCluster(c, gateway.listener.bufferLimitBytes, endpoint)),
  };
  return doc;
}

function socketAddress(address: string, port: number): Obj {
  return { socket_address: { address, port_value: port } };
}

function statsTag(t: StatsTag): Obj {
  return { tag_name: t.tagName, regex: t.regex };
}

/** Milliseconds as a protobuf JSON Duration ("60s", "0.250s"). */
export function duration(ms: number): string {
  if (!Number.isInteger(ms) || ms < 0) throw new Error(`duration must be a whole number of milliseconds, got ${ms}`);
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, "0")}s`;
}

function listener(gateway: DataPlaneConfig, bindAddress: string | undefined, vmRuntime: string): Obj {
  const l = gateway.listener;
  const hcm: Obj = {
    "@type": TYPE + HCM,
    stat_prefix: "ai_gateway",
    codec_type: "AUTO",
    route_config: routeConfig(gateway),
    http_filters: [...(gateway.wasm ? [wasmFilter(gateway.wasm, vmRuntime)] : []), routerFilter()],
  };
  if (gateway.accessLog) hcm.access_log = [accessLog(gateway.accessLog)];
  return {
    name: l.name,
    address: socketAddress(bindAddress ?? l.address.address, l.address.port),
    per_connection_buffer_limit_bytes: l.bufferLimitBytes,
    filter_chains: [{ filters: [{ name: "envoy.filters.network.http_connection_manager", typed_config: hcm }] }],
  };
}

function accessLog(log: NonNullable<DataPlaneConfig["accessLog"]>): Obj {
  const format = log.format === undefined ? undefined : { text_format_source: { inline_string: log.format } };
  if (log.path === "-") {
    const typed: Obj = { "@type": `${TYPE}envoy.extensions.access_loggers.stream.v3.StdoutAccessLog` };
    if (format) typed.log_format = format;
    return { name: "envoy.access_loggers.stdout", typed_config: typed };
  }
  const typed: Obj = { "@type": `${TYPE}envoy.extensions.access_loggers.file.v3.FileAccessLog`, path: log.path };
  if (format) typed.log_format = format;
  return { name: "envoy.access_loggers.file", typed_config: typed };
}

/** The filter as Envoy's wasm PluginConfig takes it (envoy.extensions.wasm.v3): the configuration raw, a StringValue. */
export function wasmPluginConfig(w: WasmFilterConfig, code: Obj, vmRuntime: string): Obj {
  const config: Obj = {
    name: w.name,
    root_id: w.rootId,
    vm_config: { vm_id: w.vmId, runtime: vmRuntime, code },
    configuration: { "@type": `${TYPE}google.protobuf.StringValue`, value: w.configuration },
  };
  // Names only: Envoy hands the VM these variables of its own process (the BackendSecurityPolicy keys).
  if (w.hostEnvKeys?.length) (config.vm_config as Obj).environment_variables = { host_env_keys: w.hostEnvKeys };
  if (w.failOpen) config.fail_open = true;
  if (w.allowOnHeadersStopIteration) config.allow_on_headers_stop_iteration = true;
  return config;
}

function wasmFilter(w: WasmFilterConfig, vmRuntime: string): Obj {
  return {
    name: WASM_FILTER_NAME,
    typed_config: {
      "@type": `${TYPE}envoy.extensions.filters.http.wasm.v3.Wasm`,
      config: wasmPluginConfig(w, { local: { filename: w.modulePath } }, vmRuntime),
    },
  };
}

function routerFilter(): Obj {
  return { name: "envoy.filters.http.router", typed_config: { "@type": `${TYPE}envoy.extensions.filters.http.router.v3.Router` } };
}

function routeConfig(gateway: DataPlaneConfig): Obj {
  const rc = gateway.routes;
  const out: Obj = {
    name: rc.name,
    virtual_hosts: rc.virtualHosts.map((vh) => ({
      name: vh.name,
      domains: vh.domains,
      routes: vh.routes.map((r) => route(r, gateway.listener.requestTimeoutMs)),
    })),
  };
  // Static route tables have their clusters checked at load; a route that answers for a missing cluster
  // (an HTTPRoute's invalid backends) refers to one on purpose, as Envoy Gateway's RDS tables may.
  if (rc.virtualHosts.some((vh) => vh.routes.some((r) => r.clusterNotFoundStatus !== undefined))) out.validate_clusters = false;
  return out;
}

const CLUSTER_NOT_FOUND_CODES = { 404: "NOT_FOUND", 500: "INTERNAL_SERVER_ERROR", 503: "SERVICE_UNAVAILABLE" } as const;

function route(r: Route, defaultTimeoutMs: number): Obj {
  const match: Obj = {};
  if (r.match.path !== undefined) match.path = r.match.path;
  else if (r.match.pathSeparatedPrefix !== undefined) match.path_separated_prefix = r.match.pathSeparatedPrefix;
  else if (r.match.safeRegex !== undefined) match.safe_regex = { regex: r.match.safeRegex };
  else match.prefix = r.match.prefix ?? "/";
  if (r.match.headers?.length) match.headers = r.match.headers.map(headerMatcher);
  const out: Obj = { name: r.name, match };
  const a = r.action;
  if ("directResponse" in a) {
    out.direct_response = a.directResponse.body
      ? { status: a.directResponse.status, body: { inline_string: a.directResponse.body } }
      : { status: a.directResponse.status };
    if (a.directResponse.body && a.directResponse.contentType) {
      out.response_headers_to_add = [{ header: { key: "content-type", value: a.directResponse.contentType }, append_action: "OVERWRITE_IF_EXISTS_OR_ADD" }];
    }
  } else {
    const action: Obj =
      "cluster" in a ? { cluster: a.cluster } : { weighted_clusters: { clusters: a.weightedClusters.map((c) => ({ name: c.name, weight: c.weight })) } };
    action.timeout = duration(r.timeoutMs ?? defaultTimeoutMs);
    if (r.retryPolicy) action.retry_policy = retryPolicy(r.retryPolicy);
    // A retry policy of its own when the route has none (no retry_on: no retries), as Envoy AI Gateway's extension server does.
    if (r.perTryIdleTimeoutMs !== undefined)
      action.retry_policy = { ...(action.retry_policy as Obj | undefined), per_try_idle_timeout: duration(r.perTryIdleTimeoutMs) };
    if (r.clusterNotFoundStatus !== undefined) action.cluster_not_found_response_code = CLUSTER_NOT_FOUND_CODES[r.clusterNotFoundStatus];
    out.route = action;
  }
  if (r.metadata) out.metadata = { filter_metadata: r.metadata };
  if (r.filterEnabled === false) {
    out.typed_per_filter_config = { [WASM_FILTER_NAME]: { "@type": `${TYPE}envoy.config.route.v3.FilterConfig`, disabled: true } };
  }
  return out;
}

function retryPolicy(p: RetryPolicy): Obj {
  return {
    retry_on: p.retryOn,
    num_retries: p.numRetries,
    retry_host_predicate: [
      {
        name: "envoy.retry_host_predicates.previous_hosts",
        typed_config: { "@type": `${TYPE}envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate` },
      },
    ],
    host_selection_retry_max_attempts: p.hostSelectionRetryMaxAttempts,
  };
}

function headerMatcher(h: HeaderMatcher): Obj {
  const m: Obj = { name: h.name };
  if (h.exact !== undefined) m.string_match = { exact: h.exact };
  else if (h.regex !== undefined) m.string_match = { safe_regex: { regex: h.regex } };
  else if (h.present !== undefined) m.present_match = h.present;
  else throw new Error(`header matcher on ${h.name}: needs exact, regex or present`);
  if (h.invert) m.invert_match = true;
  return m;
}

/** One cluster (also what the Envoy Gateway patches add); per_connection_buffer_limit_bytes as the listener's. */
export function renderCluster(c: ClusterConfig, bufferLimitBytes: number, endpoint: NonNullable<BootstrapOptions["endpoint"]>): Obj {
  const addresses = c.endpoints.map((e) => endpoint(c, e));
  const byName = addresses.some((a) => isIP(a.address) === 0);
  const out: Obj = { name: c.name };
  if (c.type === "ORIGINAL_DST" && c.originalDstHeader === undefined) {
    out.type = "ORIGINAL_DST";
    out.lb_policy = "CLUSTER_PROVIDED";
  } else {
    out.type = c.type === "STRICT_DNS" || byName ? "STRICT_DNS" : "STATIC";
  }
  out.connect_timeout = duration(c.connectTimeoutMs);
  out.per_connection_buffer_limit_bytes = bufferLimitBytes;
  if (c.originalDstHeader !== undefined) out.load_balancing_policy = overrideHost(c.originalDstHeader);
  else if (c.type !== "ORIGINAL_DST") out.lb_policy = c.lbPolicy ?? "ROUND_ROBIN";
  if (c.type !== "ORIGINAL_DST" || c.originalDstHeader !== undefined) {
    out.load_assignment = {
      cluster_name: c.name,
      endpoints: [
        {
          lb_endpoints: addresses.map((a, i) => {
            const ep: Obj = { address: socketAddress(a.address, a.port) };
            const hostname = c.endpoints[i]!.hostname;
            if (hostname) ep.hostname = hostname;
            return { endpoint: ep };
          }),
        },
      ],
    };
  }
  if (c.http2) {
    out.typed_extension_protocol_options = {
      "envoy.extensions.upstreams.http.v3.HttpProtocolOptions": {
        "@type": `${TYPE}envoy.extensions.upstreams.http.v3.HttpProtocolOptions`,
        explicit_http_config: { http2_protocol_options: {} },
      },
    };
  }
  if (c.tls) out.transport_socket = upstreamTls(c);
  if (c.metadata) out.metadata = { filter_metadata: c.metadata };
  return out;
}

function overrideHost(header: string): Obj {
  return {
    policies: [
      {
        typed_extension_config: {
          name: "envoy.load_balancing_policies.override_host",
          typed_config: {
            "@type": `${TYPE}envoy.extensions.load_balancing_policies.override_host.v3.OverrideHost`,
            override_host_sources: [{ header }],
            fallback_policy: {
              policies: [
                {
                  typed_extension_config: {
                    name: "envoy.load_balancing_policies.round_robin",
                    typed_config: { "@type": `${TYPE}envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin` },
                  },
                },
              ],
            },
          },
        },
      },
    ],
  };
}

/**
 * UpstreamTlsContext. Without a validation context Envoy does not verify the peer: that is what
 * insecureSkipVerify means (the stock EPP serves a self-signed certificate). Otherwise the system CAs of the
 * Envoy image are trusted.
 */
function upstreamTls(c: ClusterConfig): Obj {
  const tls = c.tls!;
  const common: Obj = {};
  if (c.http2) common.alpn_protocols = ["h2"];
  if (!tls.insecureSkipVerify) common.validation_context = { trusted_ca: { filename: "/etc/ssl/certs/ca-certificates.crt" } };
  const typed: Obj = { "@type": `${TYPE}envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext` };
  if (tls.sni) typed.sni = tls.sni;
  typed.common_tls_context = common;
  return { name: "envoy.transport_sockets.tls", typed_config: typed };
}
