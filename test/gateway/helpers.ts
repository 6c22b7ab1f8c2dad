// Shared pieces of the data plane tests: real upstream servers on loopback, a gateway configuration
// builder, a plain HTTP client, and small JS filters that exercise the HttpFilterSink contract.
import http from "node:http";
import net, { type AddressInfo, type Socket } from "node:net";
import { Worker } from "node:worker_threads";
import type { ClusterConfig, DataPlaneConfig, Route } from "../../src-host/dataplane-api/bootstrap.js";
import { startGateway, type Gateway, type GatewayOptions } from "../../src-host/gateway/gateway.js";
import type { HeaderList, HttpFilterFactory, HttpFilterSink, HttpFilterStream } from "../../src-host/dataplane-api/http-filter.js";

export interface Upstream {
  address: string;
  port: number;
  /** host:port */
  endpoint: string;
  /** Connections accepted so far. */
  connections: number;
  /** Requests seen so far. */
  requests: http.IncomingMessage[];
  server: http.Server;
  close(): Promise<void>;
}

/** An HTTP server on a loopback address and an ephemeral port. */
export async function startUpstream(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void, address = "127.0.0.1"): Promise<Upstream> {
  const sockets = new Set<Socket>();
  const up: Upstream = {
    address,
    port: 0,
    endpoint: "",
    connections: 0,
    requests: [],
    server: http.createServer((req, res) => {
      up.requests.push(req);
      handler(req, res);
    }),
    close: () =>
      new Promise<void>((resolve) => {
        up.server.close(() => resolve());
        for (const s of sockets) s.destroy();
      }),
  };
  up.server.on("connection", (s: Socket) => {
    up.connections++;
    sockets.add(s);
    s.once("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => up.server.listen(0, address, resolve));
  up.port = (up.server.address() as AddressInfo).port;
  up.endpoint = `${address}:${up.port}`;
  return up;
}

/** An upstream that answers JSON describing what it received, tagged with `name`. */
export function echoUpstream(name: string, address?: string): Promise<Upstream> {
  return startUpstream((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      const reply = JSON.stringify({
        upstream: name,
        method: req.method,
        url: req.url,
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        bodyLength: body.length,
        body: body.length <= 4096 ? body.toString() : undefined,
      });
      res.writeHead(200, { "content-type": "application/json", "x-upstream": name });
      res.end(reply);
    });
  }, address);
}

export function cluster(
  name: string,
  endpoints: Array<Upstream | { address: string; port: number; ready?: boolean }>,
  extra: Partial<ClusterConfig> = {},
): ClusterConfig {
  return {
    name,
    type: "STATIC",
    endpoints: endpoints.map((e) => ({ address: e.address, port: e.port, ...("ready" in e ? { ready: e.ready } : {}) })),
    connectTimeoutMs: 2000,
    ...extra,
  };
}

export function config(routes: Route[], clusters: ClusterConfig[], extra: Partial<DataPlaneConfig> = {}): DataPlaneConfig {
  return {
    listener: {
      name: "test-listener",
      address: { address: "127.0.0.1", port: 0 },
      bufferLimitBytes: 1 << 20,
      requestTimeoutMs: 15_000,
    },
    admin: { address: "127.0.0.1", port: 0 },
    routes: { name: "test-routes", virtualHosts: [{ name: "all", domains: ["*"], routes }] },
    clusters,
    statsTags: [],
    ...extra,
  };
}

/** Starts a gateway that records every access log line and operational message. */
export async function gateway(cfg: DataPlaneConfig, opts: GatewayOptions = {}): Promise<Gateway & { accessLog: string[]; logs: string[]; url: string }> {
  const accessLog: string[] = [];
  const logs: string[] = [];
  if (!cfg.accessLog) cfg.accessLog = { path: "-" };
  const gw = await startGateway(cfg, {
    accessLog: (l) => accessLog.push(l),
    log: (l) => logs.push(l),
    ...opts,
  });
  return Object.assign(gw, { accessLog, logs, url: `http://127.0.0.1:${gw.listenerAddress.port}` });
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  body: Buffer;
  text: string;
}

export interface RequestOptions {
  method?: string;
  headers?: http.OutgoingHttpHeaders;
  body?: string | Buffer;
  agent?: http.Agent | false;
}

/** One request to `port` on 127.0.0.1; resolves with the whole response, rejects on a reset. */
export function request(port: number, path: string, opts: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, path, method: opts.method ?? (opts.body ? "POST" : "GET"), headers: opts.headers, agent: opts.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode!, headers: res.headers, rawHeaders: res.rawHeaders, body, text: body.toString() });
        });
        res.on("error", reject);
        res.on("close", () => {
          if (!res.complete) reject(new Error("response aborted"));
        });
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}

/** Parses an echo upstream's reply. */
export function echoed(r: Reply): {
  upstream: string;
  url: string;
  method: string;
  headers: Record<string, string>;
  rawHeaders: string[];
  bodyLength: number;
  body?: string;
} {
  if (r.status !== 200) throw new Error(`expected 200 from the echo upstream, got ${r.status}: ${r.text}`);
  return JSON.parse(r.text);
}

/** Resolves when `cond` holds, polling; rejects after `ms`. */
export async function until(cond: () => boolean, ms = 5000, what = "condition"): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Records what a filter saw; `complete` counts complete() calls per stream. */
export interface FilterRecord {
  streams: number;
  completes: Map<number, number>;
  events: string[];
}

/**
 * A filter built from per-stream hooks; every hook not given passes through. Each stream's complete()
 * calls are counted so tests can check "exactly once".
 */
export function testFilter(
  hooks: (sink: HttpFilterSink, rec: FilterRecord) => Partial<Omit<HttpFilterStream, "complete">>,
): HttpFilterFactory & { rec: FilterRecord } {
  const rec: FilterRecord = { streams: 0, completes: new Map(), events: [] };
  return {
    rec,
    createStream(sink) {
      rec.streams++;
      const id = sink.info.streamId;
      const h = hooks(sink, rec);
      return {
        requestHeaders: h.requestHeaders ?? ((x, eos) => sink.forwardRequestHeaders(x, eos)),
        requestData: h.requestData ?? ((d, eos) => sink.forwardRequestData(d, eos)),
        requestTrailers: h.requestTrailers ?? ((t) => sink.forwardRequestTrailers(t)),
        responseHeaders: h.responseHeaders ?? ((x, eos) => sink.forwardResponseHeaders(x, eos)),
        responseData: h.responseData ?? ((d, eos) => sink.forwardResponseData(d, eos)),
        responseTrailers: h.responseTrailers ?? ((t) => sink.forwardResponseTrailers(t)),
        complete: () => {
          rec.completes.set(id, (rec.completes.get(id) ?? 0) + 1);
        },
      };
    },
  };
}

export function setHeader(headers: HeaderList, name: string, value: string): HeaderList {
  return [...headers.filter(([n]) => n !== name), [name, value]];
}

export function without(headers: HeaderList, name: string): HeaderList {
  return headers.filter(([n]) => n !== name);
}

export function route(name: string, clusterName: string, match: Route["match"] = { prefix: "/" }, extra: Partial<Route> = {}): Route {
  return { name, match, action: { cluster: clusterName }, ...extra };
}

/**
 * A loopback port where new connections stall in the handshake: a worker thread listens with a backlog
 * of 1 and never accepts, and two filler connections fill the accept queue, so the kernel drops
 * further SYNs. `release()` lets the worker go.
 */
export async function stalledPort(): Promise<{ port: number; release(): Promise<void> }> {
  const gate = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const { parentPort, workerData } = require("node:worker_threads");
     const s = require("node:net").createServer();
     s.listen({ port: 0, host: "127.0.0.1", backlog: 1 }, () => {
       parentPort.postMessage(s.address().port);
       Atomics.wait(workerData, 0, 0, 30000);
       s.close();
     });`,
    { eval: true, workerData: gate },
  );
  const port = await new Promise<number>((resolve) => worker.once("message", resolve));
  const fillers = await Promise.all(
    [1, 2].map(
      () =>
        new Promise<Socket>((resolve, reject) => {
          const s = net.connect(port, "127.0.0.1", () => resolve(s));
          s.on("error", reject);
        }),
    ),
  );
  return {
    port,
    async release() {
      for (const f of fillers) f.destroy();
      Atomics.store(gate, 0, 1);
      Atomics.notify(gate, 0);
      await worker.terminate();
    },
  };
}
