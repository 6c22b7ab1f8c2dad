// Clusters: endpoint choice (round robin, least request, ORIGINAL_DST from a request header) and one
// keep-alive connection pool per cluster (an http.Agent with Envoy's default circuit-breaker size of
// 1024 connections). The pool counts connections and enforces the cluster's connect timeout, which
// node's Agent does not have, and closes idle connections before the upstream does.
import http from "node:http";
import https from "node:https";
import { isIP, type Socket } from "node:net";
import type { ClusterConfig, ClusterEndpoint } from "../dataplane-api/bootstrap.js";
import { getHeader } from "./headers.js";
import type { HeaderList, SocketAddress } from "../dataplane-api/http-filter.js";
import { clusterStats, type ClusterStats, type StatsStore } from "../stats/index.js";

/** Envoy's default circuit breakers allow 1024 connections per cluster. */
const MAX_CONNECTIONS = 1024;

/**
 * How long a pooled connection may stay idle: Envoy's default upstream idle_timeout, 1 h
 * (HttpProtocolOptions.idle_timeout, envoyproxy/envoy v1.35 api/envoy/config/core/v3/protocol.proto). Setting
 * it also makes node's Agent heed an upstream's `Keep-Alive: timeout=N` (ignored without an agent timeout) and
 * close the connection a second before the upstream does: otherwise a request could be written onto a
 * connection just as the upstream closed it for idleness (node's servers, so the simulators, after 5 s), and
 * got 503 "connection termination", as Envoy answers then (UC, retried only under retry_on reset).
 */
const IDLE_TIMEOUT_MS = 3_600_000;

/** Error code of a connection that did not connect within the cluster's connect timeout. */
export const CONNECT_TIMEOUT_CODE = "UPSTREAM_CONNECT_TIMEOUT";

const CONNECTED = Symbol("connected");
type TrackedSocket = Socket & { [CONNECTED]?: boolean };

/** Whether the socket a request ran on ever finished connecting (false: a connect failure). */
export function socketConnected(socket: Socket | null | undefined): boolean {
  return (socket as TrackedSocket | null | undefined)?.[CONNECTED] === true;
}

/** An endpoint the load balancer handed out; `active` counts its requests in flight. */
export interface Host {
  address: string;
  port: number;
  hostname?: string;
  active: number;
}

export type PickResult = { host: Host } | { failure: "no_healthy_upstream" | "original_dst_host_invalid" };

export class Cluster {
  readonly name: string;
  readonly config: ClusterConfig;
  readonly agent: http.Agent;
  readonly request: typeof http.request;
  readonly stats: ClusterStats;
  /** One host per configured endpoint; an endpoint's `ready` is read at every pick, so readiness changed
   * in place on the configuration (a pod that stops or starts) takes effect on the next request. */
  private readonly hosts: Array<{ endpoint: ClusterEndpoint; host: Host }>;
  private next = 0;

  constructor(config: ClusterConfig, where: string, stats: StatsStore) {
    validateCluster(config, where);
    this.name = config.name;
    this.config = config;
    this.hosts = config.endpoints.map((endpoint) => ({
      endpoint,
      host: { address: endpoint.address, port: endpoint.port, hostname: endpoint.hostname, active: 0 },
    }));
    this.stats = clusterStats(stats, config.name);
    const agentOptions: https.AgentOptions = {
      keepAlive: true,
      maxSockets: MAX_CONNECTIONS,
      maxTotalSockets: MAX_CONNECTIONS,
      timeout: IDLE_TIMEOUT_MS,
      scheduling: "lifo",
    };
    if (config.tls) {
      this.agent = new https.Agent({
        ...agentOptions,
        rejectUnauthorized: !config.tls.insecureSkipVerify,
        servername: config.tls.sni,
      });
      this.request = https.request;
    } else {
      this.agent = new http.Agent(agentOptions);
      this.request = http.request;
    }
    this.instrumentConnections();
  }

  /**
   * The upstream host for a request with these (final) headers. A retry passes the hosts already tried: the
   * header's list is walked one entry per attempt and then the cluster's own endpoints are used, as Envoy's
   * override_host policy does, and a host already tried is re-selected up to `maxSelections` times (Envoy's
   * previous_hosts retry host predicate with host_selection_retry_max_attempts).
   */
  pick(headers: HeaderList, retry?: { tried: readonly Host[]; maxSelections: number }): PickResult {
    if (this.config.type === "ORIGINAL_DST" && this.config.originalDstHeader) {
      const value = getHeader(headers, this.config.originalDstHeader);
      if (value !== undefined) {
        const listed = addressList(value);
        if (listed.length === 0) {
          this.stats.originalDstHostInvalid.inc();
          return { failure: "original_dst_host_invalid" };
        }
        const next = listed[retry?.tried.length ?? 0];
        if (next) return { host: { ...next, active: 0 } };
      }
    }
    let host = this.balance();
    for (let i = 0; host && retry && i < retry.maxSelections && retry.tried.some((t) => sameHost(t, host!)); i++) host = this.balance();
    if (!host) {
      this.stats.cxNoneHealthy.inc();
      return { failure: "no_healthy_upstream" };
    }
    return { host };
  }

  private balance(): Host | undefined {
    return this.config.lbPolicy === "LEAST_REQUEST" ? this.leastRequest() : this.roundRobin();
  }

  /** The next ready host after the previous pick. */
  private roundRobin(): Host | undefined {
    const n = this.hosts.length;
    for (let i = 0; i < n; i++) {
      const at = (this.next + i) % n;
      if (this.hosts[at].endpoint.ready === false) continue;
      this.next = (at + 1) % n;
      return this.hosts[at].host;
    }
    return undefined;
  }

  /** The ready host with the fewest requests in flight; ties go round robin so idle hosts share the load. */
  private leastRequest(): Host | undefined {
    const n = this.hosts.length;
    let best: Host | undefined;
    for (let i = 0; i < n; i++) {
      const { endpoint, host } = this.hosts[(this.next + i) % n];
      if (endpoint.ready !== false && (!best || host.active < best.active)) best = host;
    }
    if (n > 0) this.next = (this.next + 1) % n;
    return best;
  }

  /** Counts connections and fails the ones that do not connect within connectTimeoutMs. */
  private instrumentConnections(): void {
    const agent = this.agent as http.Agent & {
      createConnection(options: unknown, cb?: unknown): Socket;
    };
    const create = agent.createConnection.bind(agent);
    const stats = this.stats;
    const timeoutMs = this.config.connectTimeoutMs;
    agent.createConnection = (options: unknown, cb?: unknown) => {
      const socket = create(options, cb) as TrackedSocket;
      stats.cxTotal.inc();
      stats.cxActive.add(1);
      const timer = setTimeout(() => {
        stats.cxConnectTimeout.inc();
        socket.destroy(Object.assign(new Error(`connect timeout after ${timeoutMs} ms`), { code: CONNECT_TIMEOUT_CODE }));
      }, timeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        socket[CONNECTED] = true;
      });
      socket.once("close", () => {
        clearTimeout(timer);
        stats.cxActive.add(-1);
        if (!socket[CONNECTED]) stats.cxConnectFail.inc();
        stats.cxRxBytes.inc(socket.bytesRead);
        stats.cxTxBytes.inc(socket.bytesWritten);
      });
      return socket;
    };
  }
}

export class ClusterManager {
  private readonly clusters = new Map<string, Cluster>();

  constructor(configs: ClusterConfig[], stats: StatsStore) {
    if (!Array.isArray(configs)) throw new Error("clusters must be an array");
    configs.forEach((c, i) => {
      const cluster = new Cluster(c, `clusters[${i}]`, stats);
      if (this.clusters.has(cluster.name)) throw new Error(`clusters[${i}].name: "${c.name}" is defined twice`);
      this.clusters.set(cluster.name, cluster);
    });
  }

  get(name: string): Cluster | undefined {
    return this.clusters.get(name);
  }

  close(): void {
    for (const c of this.clusters.values()) c.agent.destroy();
  }
}

/**
 * `ip:port` or `[v6]:port`; of a comma-separated list the first valid entry (the endpoint picker
 * protocol lists fallbacks after it). Undefined when no entry is a valid address.
 */
export function firstAddress(value: string): SocketAddress | undefined {
  return addressList(value)[0];
}

/** The valid "ip:port" entries of a comma list, in order (invalid ones are skipped, as override_host does). */
function addressList(value: string): SocketAddress[] {
  const out: SocketAddress[] = [];
  for (const entry of value.split(",")) {
    const a = parseAddress(entry.trim());
    if (a) out.push(a);
  }
  return out;
}

const sameHost = (a: SocketAddress, b: SocketAddress): boolean => a.address === b.address && a.port === b.port;

function parseAddress(s: string): SocketAddress | undefined {
  let host: string;
  let portText: string;
  if (s.startsWith("[")) {
    const end = s.indexOf("]:");
    if (end < 0) return undefined;
    host = s.slice(1, end);
    portText = s.slice(end + 2);
    if (isIP(host) !== 6) return undefined;
  } else {
    const colon = s.lastIndexOf(":");
    if (colon < 0) return undefined;
    host = s.slice(0, colon);
    portText = s.slice(colon + 1);
    if (isIP(host) !== 4) return undefined;
  }
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  if (port < 1 || port > 65535) return undefined;
  return { address: host, port };
}

function validateCluster(c: ClusterConfig, where: string): void {
  if (!c || typeof c.name !== "string" || !c.name) throw new Error(`${where}.name is required`);
  const at = `${where} ("${c.name}")`;
  if (!["STATIC", "STRICT_DNS", "ORIGINAL_DST"].includes(c.type)) {
    throw new Error(`${at}.type must be STATIC, STRICT_DNS or ORIGINAL_DST, not "${c.type}"`);
  }
  if (!Array.isArray(c.endpoints)) throw new Error(`${at}.endpoints must be an array`);
  c.endpoints.forEach((e: ClusterEndpoint, i) => {
    if (typeof e.address !== "string" || !e.address) throw new Error(`${at}.endpoints[${i}].address is required`);
    if (c.type === "STATIC" && !isIP(e.address)) {
      throw new Error(`${at}.endpoints[${i}].address "${e.address}" must be an IP address in a STATIC cluster`);
    }
    if (!Number.isInteger(e.port) || e.port < 1 || e.port > 65535) {
      throw new Error(`${at}.endpoints[${i}].port must be 1..65535, not ${e.port}`);
    }
  });
  if (c.type === "ORIGINAL_DST" && !c.originalDstHeader) {
    throw new Error(`${at}.originalDstHeader is required for an ORIGINAL_DST cluster`);
  }
  if (c.lbPolicy !== undefined && c.lbPolicy !== "ROUND_ROBIN" && c.lbPolicy !== "LEAST_REQUEST") {
    throw new Error(`${at}.lbPolicy must be ROUND_ROBIN or LEAST_REQUEST, not "${c.lbPolicy}"`);
  }
  if (!Number.isFinite(c.connectTimeoutMs) || c.connectTimeoutMs <= 0) {
    throw new Error(`${at}.connectTimeoutMs must be a positive number of milliseconds`);
  }
}
