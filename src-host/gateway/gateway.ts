// The embedded data plane: one listener whose HTTP connection manager runs one filter before the router,
// the clusters it routes to, and the admin listener — Envoy's shape for a single machine.
import { createWriteStream, type WriteStream } from "node:fs";
import http from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { compileFormat, defaultFormatter, type LogEntry } from "./access-log.js";
import { startAdmin, type AdminServer } from "./admin.js";
import { ClusterManager } from "./cluster-manager.js";
import type { DataPlaneConfig } from "../dataplane-api/bootstrap.js";
import type { HttpFilterFactory, SocketAddress } from "../dataplane-api/http-filter.js";
import { RouteTable } from "./route-table.js";
import { StatsStore, TagExtractor } from "../stats/index.js";
import { downstreamStats, DownstreamStream, type ListenerContext } from "./stream.js";

export interface GatewayOptions {
  /** The HTTP filter before the router (the wasm filter); none means the router alone. */
  filter?: HttpFilterFactory;
  /** Where the data plane's stats go (shared with the wasm filter's metrics); default: a store of its own
   * with config.statsTags. */
  stats?: StatsStore;
  /** Operational messages (warnings, filter misuse); default: stderr. */
  log?: (line: string) => void;
  /** Destination of access log lines, instead of config.accessLog.path. */
  accessLog?: (line: string) => void;
  /** Conditions that must be set with setReady(name, true) before /ready answers LIVE (e.g. "wasm"). */
  readyConditions?: string[];
}

export interface Gateway {
  readonly listenerAddress: SocketAddress;
  readonly adminAddress: SocketAddress;
  readonly stats: StatsStore;
  /** Sets a readiness condition; /ready is LIVE once the listener is up and every condition holds. */
  setReady(condition: string, ready: boolean): void;
  /** Stops both listeners, resets streams still running and closes upstream connections. */
  close(): Promise<void>;
}

/** Envoy's stat-name form of an address: dots kept, ':' → '_' (listener.127.0.0.1_1975.*). */
function statAddress(a: SocketAddress): string {
  return `${a.address}_${a.port}`.replace(/:/g, "_");
}

function validateAddress(a: SocketAddress | undefined, where: string): void {
  if (!a || typeof a.address !== "string" || !a.address) throw new Error(`${where}.address is required`);
  if (!Number.isInteger(a.port) || a.port < 0 || a.port > 65535) throw new Error(`${where}.port must be 0..65535`);
}

/** Everything wrong with the configuration is reported here, before anything listens. */
function validate(config: DataPlaneConfig, clusters: ClusterManager, routes: RouteTable, log: (l: string) => void): void {
  const l = config.listener;
  if (!l?.name) throw new Error("listener.name is required");
  validateAddress(l.address, "listener.address");
  validateAddress(config.admin, "admin");
  if (!Number.isFinite(l.requestTimeoutMs) || l.requestTimeoutMs < 0) {
    throw new Error("listener.requestTimeoutMs must be >= 0 (0 disables the route timeout)");
  }
  for (const name of routes.referencedClusters) {
    const c = clusters.get(name);
    if (!c) log(`warning: a route sends to cluster "${name}", which is not defined (requests get 503 cluster_not_found)`);
    else if (c.config.http2) {
      throw new Error(`a route sends to cluster "${name}", an HTTP/2 cluster; the data plane proxies HTTP/1.1 upstreams only`);
    }
  }
}

function listen(server: http.Server, a: SocketAddress, what: string): Promise<SocketAddress> {
  return new Promise((resolve, reject) => {
    server.once("error", (err) => reject(new Error(`${what}: cannot listen on ${a.address}:${a.port}: ${err.message}`)));
    server.listen(a.port, a.address, () => {
      const bound = server.address() as AddressInfo;
      resolve({ address: bound.address, port: bound.port });
    });
  });
}

export async function startGateway(config: DataPlaneConfig, opts: GatewayOptions = {}): Promise<Gateway> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  if (!Array.isArray(config.statsTags)) throw new Error("statsTags must be an array");
  new TagExtractor(config.statsTags); // a bad stats_tags regex is a start-up error, not a /metrics one
  const stats = opts.stats ?? new StatsStore({ tags: config.statsTags, bucketSettings: config.histogramBuckets });
  const routes = new RouteTable(config.routes);
  const clusters = new ClusterManager(config.clusters, stats);
  validate(config, clusters, routes, log);

  const accessLog = openAccessLog(config, opts, log);
  const statPrefix = config.listener.name.replace(/[.:]/g, "_");
  // Streams in flight, so close() returns only after every one of them completed.
  let inFlight = 0;
  let drained: (() => void) | undefined;
  const ctx: ListenerContext = {
    listener: config.listener,
    routes,
    clusters,
    filter: opts.filter,
    stats: downstreamStats(stats, statPrefix),
    onStreamEnd(entry) {
      accessLog.write(entry);
      if (--inFlight === 0) drained?.();
    },
    log,
  };

  const server = http.createServer({ maxHeaderSize: 60 * 1024, noDelay: true, requestTimeout: 0 }, (req, res) => {
    inFlight++;
    new DownstreamStream(ctx, req, res).start();
  });
  // Envoy keeps idle downstream connections far longer than node's 5 s default.
  server.keepAliveTimeout = 60_000;
  const hcmCx = {
    total: stats.counter(`http.${statPrefix}.downstream_cx_total`),
    active: stats.gauge(`http.${statPrefix}.downstream_cx_active`),
  };
  const sockets = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    hcmCx.total.inc();
    hcmCx.active.add(1);
    socket.once("close", () => {
      sockets.delete(socket);
      hcmCx.active.add(-1);
    });
  });

  const conditions = new Map<string, boolean>((opts.readyConditions ?? []).map((c) => [c, false]));
  let listening = false;
  let admin: AdminServer | undefined;
  try {
    admin = await startAdmin(config.admin, {
      notReady: () => {
        if (!listening) return "PRE_INITIALIZING";
        for (const ok of conditions.values()) if (!ok) return "INITIALIZING";
        return undefined;
      },
      prometheus: () => stats.prometheus(),
      statsText: () => stats.text(),
      configDump: () => config,
    });
    const listenerAddress = await listen(server, config.listener.address, `listener "${config.listener.name}"`);
    // Envoy names listener stats after the bound address.
    const listenerCx = {
      total: stats.counter(`listener.${statAddress(listenerAddress)}.downstream_cx_total`),
      active: stats.gauge(`listener.${statAddress(listenerAddress)}.downstream_cx_active`),
    };
    server.on("connection", (socket: Socket) => {
      listenerCx.total.inc();
      listenerCx.active.add(1);
      socket.once("close", () => listenerCx.active.add(-1));
    });
    listening = true;
    const adminServer = admin;
    return {
      listenerAddress,
      adminAddress: admin.address,
      stats,
      setReady(condition, ready) {
        conditions.set(condition, ready);
      },
      async close() {
        listening = false;
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          for (const s of sockets) s.destroy();
        });
        if (inFlight > 0) await new Promise<void>((resolve) => (drained = resolve));
        clusters.close();
        await adminServer.close();
        await accessLog.close();
      },
    };
  } catch (err) {
    server.close();
    clusters.close();
    await admin?.close();
    await accessLog.close();
    throw err;
  }
}

interface AccessLog {
  write(entry: LogEntry): void;
  close(): Promise<void>;
}

/** The access log sink: a function from the options, stdout for "-", or a file appended to. */
function openAccessLog(config: DataPlaneConfig, opts: GatewayOptions, log: (l: string) => void): AccessLog {
  if (!config.accessLog) return { write: () => {}, close: async () => {} };
  // Envoy formats usually end in a newline; lines get exactly one here.
  const format = config.accessLog.format ? compileFormat(config.accessLog.format.replace(/\n$/, "")) : defaultFormatter();
  const path = config.accessLog.path;
  let file: WriteStream | undefined;
  let out: (line: string) => void;
  if (opts.accessLog) out = opts.accessLog;
  else if (path === "-") out = (line) => process.stdout.write(`${line}\n`);
  else {
    const f = (file = createWriteStream(path, { flags: "a" }));
    f.on("error", (err) => log(`access log ${path}: ${err.message}`));
    out = (line) => f.write(`${line}\n`);
  }
  return {
    write: (entry) => out(format(entry)),
    close: () => new Promise<void>((resolve) => (file ? file.end(resolve) : resolve())),
  };
}
