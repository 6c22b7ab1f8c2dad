// One downstream request/response exchange, driven like Envoy's HTTP connection manager drives a stream
// through one filter and the router:
//   client → [filter.request*] → sink.forwardRequest* → router → upstream
//   upstream / local reply → [filter.response*] → sink.forwardResponse* → client
// The route is resolved from the request headers when the stream starts and cached; clearRouteCache()
// makes the router (or the next resolveRoute) evaluate the table again on the headers it is given.
// complete() reaches the filter exactly once, however the stream ends.
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { LogEntry } from "./access-log.js";
import type { Cluster, ClusterManager, Host } from "./cluster-manager.js";
import type { ListenerConfig } from "../dataplane-api/bootstrap.js";
import { downstreamResponseHeaders, getHeader, requestHeaderList, setHeader, trailerList, trailerObject } from "./headers.js";
import type {
  HeaderList,
  HttpFilterFactory,
  HttpFilterSink,
  HttpFilterStream,
  ResolvedRoute,
  SocketAddress,
  StreamInfo,
} from "../dataplane-api/http-filter.js";
import type { RouteMatch, RouteTable } from "./route-table.js";
import type { Counter, Gauge, Histogram, StatsStore } from "../stats/index.js";
import { UpstreamRequest, type UpstreamEvents, type UpstreamResetReason } from "./upstream-request.js";

const EMPTY = new Uint8Array(0);

/** What every stream of one listener shares. */
export interface ListenerContext {
  listener: ListenerConfig;
  routes: RouteTable;
  clusters: ClusterManager;
  filter?: HttpFilterFactory;
  stats: DownstreamStats;
  /** Called once per finished stream, after the filter's complete(). */
  onStreamEnd(entry: LogEntry): void;
  log(line: string): void;
}

export interface DownstreamStats {
  rqTotal: Counter;
  rqActive: Gauge;
  rqCompleted: Counter;
  rqRxReset: Counter;
  rqTxReset: Counter;
  noRoute: Counter;
  noCluster: Counter;
  rqDirectResponse: Counter;
  /** downstream_rq_time: ms from the stream's start to its end. */
  rqTime: Histogram;
  responseClass(code: number): void;
}

export function downstreamStats(stats: StatsStore, statPrefix: string): DownstreamStats {
  const p = `http.${statPrefix}.`;
  const classes = new Map<number, Counter>();
  return {
    rqTotal: stats.counter(`${p}downstream_rq_total`),
    rqActive: stats.gauge(`${p}downstream_rq_active`),
    rqCompleted: stats.counter(`${p}downstream_rq_completed`),
    rqRxReset: stats.counter(`${p}downstream_rq_rx_reset`),
    rqTxReset: stats.counter(`${p}downstream_rq_tx_reset`),
    noRoute: stats.counter(`${p}no_route`),
    noCluster: stats.counter(`${p}no_cluster`),
    rqDirectResponse: stats.counter(`${p}rq_direct_response`),
    rqTime: stats.histogram(`${p}downstream_rq_time`),
    responseClass(code) {
      const cls = Math.floor(code / 100);
      let c = classes.get(cls);
      if (!c) classes.set(cls, (c = stats.counter(`${p}downstream_rq_${cls}xx`)));
      c.inc();
    },
  };
}

let nextStreamId = 1;

/** Envoy's reset-before-headers body, e.g. "... reset reason: connection failure". */
function upstreamResetBody(reason: UpstreamResetReason): Uint8Array {
  return Buffer.from(`upstream connect error or disconnect/reset before headers. reset reason: ${reason.replace(/_/g, " ")}`);
}

/** Envoy replaces whitespace in response code details so access log fields stay single tokens. */
function sanitizeDetails(details: string): string {
  return details.replace(/\s/g, "_");
}

function socketAddress(address: string | undefined, port: number | undefined): SocketAddress {
  const a = address ?? "";
  return { address: a.startsWith("::ffff:") ? a.slice(7) : a, port: port ?? 0 };
}

function requestHasBody(req: IncomingMessage): boolean {
  if (req.headers["transfer-encoding"] !== undefined) return true;
  const cl = req.headers["content-length"];
  return cl !== undefined && cl !== "0";
}

export class DownstreamStream implements HttpFilterSink, UpstreamEvents {
  readonly info: StreamInfo;
  private readonly random = (Math.random() * 0x100000000) >>> 0;
  private filter?: HttpFilterStream;
  /** The request headers as they stand (original, then as the filter forwarded them). */
  private requestHeaders: HeaderList;
  private routeCached = false;
  private cachedRoute?: RouteMatch;
  private headersForwarded = false;
  /** No more request events go to the filter or upstream (local reply or reset happened). */
  private decodingStopped = false;
  private cluster?: Cluster;
  private host?: Host;
  private upstream?: UpstreamRequest;
  private upstreamHeadersReceived = false;
  private routeTimeoutMs = 0;
  private perTryIdleTimeoutMs = 0;
  private upstreamStartHr = 0n;
  private routeTimer?: NodeJS.Timeout;
  /** The per-try idle timer: armed once the request has been sent, re-armed by every upstream event. */
  private idleTimer?: NodeJS.Timeout;
  /** The route's connect-failure retries: what is left, the hosts tried, and the request to send again. */
  private retry?: {
    left: number;
    maxSelections: number;
    tried: Host[];
    headers: HeaderList;
    endOfStream: boolean;
    writes: Array<[Uint8Array, boolean]>;
    trailers?: HeaderList;
    bytes: number;
  };
  /** The filter has been given response headers (Envoy: encoding started). */
  private encodingStarted = false;
  /** A direct local reply owns the response; the filter's response forwards are ignored. */
  private filterResponseIgnored = false;
  private pendingResponseHeaders?: HeaderList;
  private responseHeaders?: HeaderList;
  private responseStarted = false;
  private requestPaused = false;
  private responsePaused = false;
  private flags = "";
  private done = false;

  constructor(
    private readonly ctx: ListenerContext,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
  ) {
    const socket = req.socket;
    this.info = {
      streamId: nextStreamId++,
      startTimeMs: Date.now(),
      startHr: process.hrtime.bigint(),
      protocol: `HTTP/${req.httpVersion}`,
      downstreamRemote: socketAddress(socket.remoteAddress, socket.remotePort),
      downstreamLocal: socketAddress(socket.localAddress, socket.localPort),
      requestBodyBytes: 0,
      responseBodyBytes: 0,
      filterState: new Map(),
    };
    this.requestHeaders = this.edgeRequestHeaders();
    this.resolveRoute(this.requestHeaders);
  }

  /** Envoy's HCM mutations before the filter chain: x-request-id, x-forwarded-for, x-forwarded-proto. */
  private edgeRequestHeaders(): HeaderList {
    const headers = requestHeaderList(this.req);
    let requestId = getHeader(headers, "x-request-id");
    if (!requestId) {
      requestId = randomUUID();
      setHeader(headers, "x-request-id", requestId);
    }
    this.info.requestId = requestId;
    const xff = getHeader(headers, "x-forwarded-for");
    const remote = this.info.downstreamRemote.address;
    setHeader(headers, "x-forwarded-for", xff ? `${xff}, ${remote}` : remote);
    if (getHeader(headers, "x-forwarded-proto") === undefined) headers.push(["x-forwarded-proto", "http"]);
    return headers;
  }

  start(): void {
    const { req, res } = this;
    this.ctx.stats.rqTotal.inc();
    this.ctx.stats.rqActive.add(1);
    res.on("finish", () => this.finish());
    res.on("close", () => this.onDownstreamClose());
    res.on("error", () => {}); // reported through "close"
    req.on("error", () => {});
    const endOfStream = !requestHasBody(req);
    if (!endOfStream) {
      req.on("data", (chunk: Buffer) => this.onRequestData(chunk));
      req.on("end", () => this.onRequestEnd());
    }
    const factory = this.ctx.filter;
    if (factory && this.cachedRoute?.config.filterEnabled !== false) {
      try {
        this.filter = factory.createStream(this);
        this.filter.requestHeaders(this.requestHeaders, endOfStream);
      } catch (err) {
        this.filterFailed(err);
      }
    } else {
      this.forwardRequestHeaders(this.requestHeaders, endOfStream);
    }
  }

  private onRequestData(chunk: Buffer): void {
    this.info.requestBodyBytes += chunk.length;
    if (this.decodingStopped || this.done) return;
    if (!this.filter) return this.forwardRequestData(chunk, false);
    try {
      this.filter.requestData(chunk, false);
    } catch (err) {
      this.filterFailed(err);
    }
  }

  private onRequestEnd(): void {
    if (this.decodingStopped || this.done) return;
    const trailers = trailerList(this.req);
    try {
      if (trailers.length > 0) {
        if (this.filter) this.filter.requestTrailers(trailers);
        else this.forwardRequestTrailers(trailers);
      } else if (this.filter) {
        this.filter.requestData(EMPTY, true);
      } else {
        this.forwardRequestData(EMPTY, true);
      }
    } catch (err) {
      this.filterFailed(err);
    }
  }

  // ---- HttpFilterSink: request direction ----

  resolveRoute(headers: HeaderList): ResolvedRoute | undefined {
    if (!this.routeCached) {
      this.cachedRoute = this.ctx.routes.match(headers, this.random);
      this.routeCached = true;
      this.info.route = this.cachedRoute?.resolved;
    }
    return this.cachedRoute?.resolved;
  }

  clearRouteCache(): void {
    this.routeCached = false;
    this.cachedRoute = undefined;
  }

  forwardRequestHeaders(headers: HeaderList, endOfStream: boolean): void {
    if (this.done || this.decodingStopped) return;
    if (this.headersForwarded) return this.misuse("forwardRequestHeaders called twice");
    this.headersForwarded = true;
    this.requestHeaders = headers;
    this.resolveRoute(headers);
    this.route(this.cachedRoute, headers, endOfStream);
  }

  forwardRequestData(data: Uint8Array, endOfStream: boolean): void {
    if (this.done || this.decodingStopped) return;
    if (!this.headersForwarded) return this.misuse("forwardRequestData before forwardRequestHeaders");
    const upstream = this.upstream;
    if (!upstream) return;
    this.keepForRetry(data, endOfStream);
    if (!upstream.write(data, endOfStream) && !this.requestPaused) {
      this.requestPaused = true;
      this.req.pause();
    }
    if (endOfStream) this.startRouteTimer();
  }

  forwardRequestTrailers(trailers: HeaderList): void {
    if (this.done || this.decodingStopped) return;
    if (!this.headersForwarded) return this.misuse("forwardRequestTrailers before forwardRequestHeaders");
    if (!this.upstream) return;
    this.keepForRetry(EMPTY, true, trailers);
    this.upstream.endWithTrailers(trailers);
    this.startRouteTimer();
  }

  /** The router: route → cluster → host → upstream request, or Envoy's local reply for each failure. */
  private route(route: RouteMatch | undefined, headers: HeaderList, endOfStream: boolean): void {
    const stats = this.ctx.stats;
    if (!route) {
      stats.noRoute.inc();
      return this.sendLocalReply(404, [], EMPTY, "route_not_found", "NR");
    }
    if (route.directResponse) {
      const d = route.directResponse;
      stats.rqDirectResponse.inc();
      const extra: HeaderList = d.body.length > 0 ? [["content-type", d.contentType]] : [];
      return this.sendLocalReply(d.status, extra, d.body, "direct_response", "");
    }
    const clusterName = route.resolved.cluster!;
    const cluster = this.ctx.clusters.get(clusterName);
    if (!cluster) {
      stats.noCluster.inc();
      return this.sendLocalReply(route.config.clusterNotFoundStatus ?? 503, [], EMPTY, "cluster_not_found", "NC");
    }
    this.cluster = cluster;
    this.routeTimeoutMs = route.config.timeoutMs ?? this.ctx.listener.requestTimeoutMs;
    this.perTryIdleTimeoutMs = route.config.perTryIdleTimeoutMs ?? 0;
    const policy = route.config.retryPolicy;
    if (policy && policy.numRetries > 0) {
      this.retry = { left: policy.numRetries, maxSelections: policy.hostSelectionRetryMaxAttempts, tried: [], headers, endOfStream, writes: [], bytes: 0 };
    }
    if (this.startUpstream(headers, endOfStream) && endOfStream) this.startRouteTimer();
  }

  /** Picks a host (one a retry has not tried) and starts the request on it; false after a local reply. */
  private startUpstream(headers: HeaderList, endOfStream: boolean): boolean {
    const cluster = this.cluster!;
    const r = this.retry;
    const pick = cluster.pick(headers, r && r.tried.length > 0 ? r : undefined);
    if ("failure" in pick) {
      this.sendLocalReply(503, [], Buffer.from("no healthy upstream"), "no_healthy_upstream", "UH");
      return false;
    }
    const host = pick.host;
    this.host = host;
    host.active++;
    this.info.upstreamAddress = { address: host.address, port: host.port };
    cluster.stats.rqTotal.inc();
    cluster.stats.rqActive.add(1);
    this.upstreamStartHr = process.hrtime.bigint();
    try {
      this.upstream = new UpstreamRequest(
        cluster,
        host,
        headers,
        getHeader(headers, ":method") ?? "GET",
        getHeader(headers, ":path") ?? "/",
        endOfStream,
        this,
      );
    } catch (err) {
      // node refuses header names or values that are not valid HTTP (a filter's mistake).
      this.releaseHost();
      this.ctx.log(`stream ${this.info.streamId}: invalid upstream request: ${(err as Error).message}`);
      this.sendLocalReply(500, [], EMPTY, "invalid_upstream_request_headers", "");
      return false;
    }
    return true;
  }

  /** Keeps what went upstream while a connect-failure retry may need to send it again. */
  private keepForRetry(data: Uint8Array, endOfStream: boolean, trailers?: HeaderList): void {
    const r = this.retry;
    if (!r) return;
    r.bytes += data.length;
    // Envoy buffers a request for retries up to the buffer limit and does not retry a larger one.
    if (r.bytes > this.ctx.listener.bufferLimitBytes) this.retry = undefined;
    else if (trailers) r.trailers = trailers;
    else r.writes.push([Buffer.from(data), endOfStream]);
  }

  /** The connection failed before a byte was exchanged: the request again on another host, if the route retries. */
  private retryUpstream(): boolean {
    const r = this.retry;
    if (!r || r.left === 0 || !this.upstream || !this.host) return false;
    r.left--;
    r.tried.push(this.host);
    this.cluster!.stats.rqRetry.inc();
    const failed = this.upstream;
    this.upstream = undefined;
    failed.abort();
    this.releaseHost();
    if (!this.startUpstream(r.headers, r.endOfStream)) return true;
    for (const [data, endOfStream] of r.writes) this.upstream!.write(data, endOfStream);
    if (r.trailers) this.upstream!.endWithTrailers(r.trailers);
    if (r.left === 0) this.retry = undefined; // the last attempt: nothing more to keep
    this.idleTimer?.refresh(); // a new attempt, a new per-try idle period
    return true;
  }

  /** Envoy's route timeout runs from the end of the request to the end of the response. */
  private startRouteTimer(): void {
    if (!this.upstream) return;
    this.armIdleTimer();
    if (this.routeTimer || this.routeTimeoutMs <= 0) return;
    this.routeTimer = setTimeout(() => this.onRouteTimeout(), this.routeTimeoutMs);
  }

  /**
   * Envoy's per-try idle timeout (router upstream_request.cc): set up when the whole request has gone
   * upstream and re-armed by each response event. On firing, the attempt is reset: a 504 before response
   * headers (a connect-failure retry does not cover it), a reset after them.
   */
  private armIdleTimer(): void {
    if (this.perTryIdleTimeoutMs <= 0) return;
    if (this.idleTimer) this.idleTimer.refresh();
    else this.idleTimer = setTimeout(() => this.onIdleTimeout(), this.perTryIdleTimeoutMs);
  }

  private onIdleTimeout(): void {
    this.idleTimer = undefined;
    if (this.done || !this.upstream) return;
    this.cluster!.stats.rqPerTryIdleTimeout.inc();
    this.cluster!.stats.rqTimeout.inc();
    if (this.upstreamHeadersReceived) return this.resetStream("upstream_per_try_idle_timeout", "UT");
    this.cluster!.stats.responseCode(504);
    this.sendLocalReply(504, [], Buffer.from("upstream request timeout"), "upstream_per_try_idle_timeout", "UT");
  }

  private onRouteTimeout(): void {
    this.routeTimer = undefined;
    if (this.done || !this.upstream) return;
    this.cluster!.stats.rqTimeout.inc();
    if (this.upstreamHeadersReceived) return this.resetStream("upstream_response_timeout", "UT");
    this.cluster!.stats.responseCode(504);
    this.sendLocalReply(504, [], Buffer.from("upstream request timeout"), "upstream_response_timeout", "UT");
  }

  // ---- UpstreamEvents ----

  onUpstreamHeaders(headers: HeaderList, endOfStream: boolean): void {
    if (this.done) return;
    this.idleTimer?.refresh();
    this.upstreamHeadersReceived = true;
    this.retry = undefined;
    this.cluster!.stats.responseCode(Number(getHeader(headers, ":status")));
    this.info.responseCodeDetails = "via_upstream";
    this.encodingStarted = true;
    if (!this.filter) return this.forwardResponseHeaders(headers, endOfStream);
    try {
      this.filter.responseHeaders(headers, endOfStream);
    } catch (err) {
      this.filterFailed(err);
    }
  }

  onUpstreamData(data: Uint8Array, endOfStream: boolean): void {
    if (this.done) return;
    this.idleTimer?.refresh();
    if (!this.filter) return this.forwardResponseData(data, endOfStream);
    try {
      this.filter.responseData(data, endOfStream);
    } catch (err) {
      this.filterFailed(err);
    }
  }

  onUpstreamTrailers(trailers: HeaderList): void {
    if (this.done) return;
    this.idleTimer?.refresh();
    if (!this.filter) return this.forwardResponseTrailers(trailers);
    try {
      this.filter.responseTrailers(trailers);
    } catch (err) {
      this.filterFailed(err);
    }
  }

  onUpstreamComplete(): void {
    const upstream = this.upstream;
    if (!upstream) return;
    this.cluster!.stats.rqCompleted.inc();
    this.cluster!.stats.rqTime.record(Number(process.hrtime.bigint() - this.upstreamStartHr) / 1e6);
    // A response that ends before the request did leaves the upstream connection unusable: close it.
    this.abandonUpstream();
  }

  onUpstreamFailure(reason: UpstreamResetReason, afterHeaders: boolean): void {
    if (this.done || !this.upstream) return;
    // retry_on connect-failure: a connection that failed or timed out (not one that broke after connecting).
    if (!afterHeaders && reason !== "connection_termination" && this.retryUpstream()) return;
    const stats = this.cluster!.stats;
    this.abandonUpstream();
    const flag = reason === "connection_termination" ? "UC" : "UF";
    if (afterHeaders) {
      stats.rqRxReset.inc();
      return this.resetStream(`upstream_reset_after_response_started{${reason}}`, flag);
    }
    if (reason === "connection_termination") stats.rqRxReset.inc();
    stats.responseCode(503);
    this.sendLocalReply(503, [], upstreamResetBody(reason), `upstream_reset_before_response_started{${reason}}`, flag);
  }

  onUpstreamDrain(): void {
    if (this.requestPaused) {
      this.requestPaused = false;
      this.req.resume();
    }
  }

  // ---- HttpFilterSink: response direction ----

  forwardResponseHeaders(headers: HeaderList, endOfStream: boolean): void {
    if (this.done || this.filterResponseIgnored) return;
    if (this.responseStarted || this.pendingResponseHeaders) return this.misuse("forwardResponseHeaders called twice");
    this.startResponse(headers, endOfStream);
  }

  forwardResponseData(data: Uint8Array, endOfStream: boolean): void {
    if (this.done || this.filterResponseIgnored) return;
    if (!this.responseStarted && !this.pendingResponseHeaders) {
      return this.misuse("forwardResponseData before forwardResponseHeaders");
    }
    this.writeResponseData(data, endOfStream);
  }

  forwardResponseTrailers(trailers: HeaderList): void {
    if (this.done || this.filterResponseIgnored) return;
    if (!this.responseStarted && !this.pendingResponseHeaders) {
      return this.misuse("forwardResponseTrailers before forwardResponseHeaders");
    }
    if (this.pendingResponseHeaders) this.writeHead(this.pendingResponseHeaders, undefined);
    if (this.done) return;
    this.res.addTrailers(trailerObject(trailers));
    this.res.end();
  }

  /** Headers with a body to follow wait one turn, so a body forwarded at once can fix content-length. */
  private startResponse(headers: HeaderList, endOfStream: boolean): void {
    this.responseHeaders = headers;
    if (endOfStream) {
      this.writeHead(headers, 0);
      if (!this.done) this.res.end();
      return;
    }
    this.pendingResponseHeaders = headers;
    setImmediate(() => {
      if (this.done || this.pendingResponseHeaders !== headers) return;
      this.writeHead(headers, undefined);
      if (!this.done) this.res.flushHeaders();
    });
  }

  /** Writes the status line and headers; `bodyLength` set when the whole body is known. */
  private writeHead(headers: HeaderList, bodyLength: number | undefined): void {
    this.pendingResponseHeaders = undefined;
    const status = Number(getHeader(headers, ":status"));
    if (!Number.isInteger(status) || status < 200 || status > 999) {
      return this.misuse(`response :status "${getHeader(headers, ":status")}" is not a final HTTP status`);
    }
    let out = headers;
    const bodyless = this.req.method === "HEAD" || status === 204 || status === 304;
    if (bodyLength !== undefined && !bodyless && getHeader(headers, "content-length") !== undefined) {
      out = headers.slice();
      setHeader(out, "content-length", String(bodyLength));
    }
    this.info.responseCode = status;
    this.responseStarted = true;
    try {
      this.res.writeHead(status, downstreamResponseHeaders(out));
    } catch (err) {
      this.ctx.log(`stream ${this.info.streamId}: invalid response headers: ${(err as Error).message}`);
      this.resetStream("invalid_response_headers", "LR");
    }
  }

  private writeResponseData(data: Uint8Array, endOfStream: boolean): void {
    if (this.pendingResponseHeaders) this.writeHead(this.pendingResponseHeaders, endOfStream ? data.length : undefined);
    if (this.done) return;
    this.info.responseBodyBytes += data.length;
    if (endOfStream) {
      if (data.length > 0) this.res.end(data);
      else this.res.end();
      return;
    }
    if (data.length > 0 && !this.res.write(data) && !this.responsePaused && this.upstream) {
      this.responsePaused = true;
      this.upstream.pauseResponse();
      this.res.once("drain", () => {
        this.responsePaused = false;
        this.upstream?.resumeResponse();
      });
    }
  }

  // ---- Local replies, resets, the end ----

  localReply(status: number, headers: HeaderList, body: Uint8Array, details: string): void {
    this.sendLocalReply(status, headers, body, sanitizeDetails(details), "");
  }

  reset(details: string): void {
    this.resetStream(sanitizeDetails(details), "LR");
  }

  /**
   * Envoy's sendLocalReply: drop the upstream request, then send the reply through the filter's response
   * path if the filter has not started encoding a response yet (delivered after the current call
   * returns, so a filter is never re-entered), else straight to the client. After response headers
   * reached the client the stream can only be reset.
   */
  private sendLocalReply(status: number, extra: HeaderList, body: Uint8Array, details: string, flag: string): void {
    if (this.done) return;
    if (this.responseStarted) return this.resetStream(details, flag);
    this.decodingStopped = true;
    this.abandonUpstream();
    this.addFlag(flag);
    this.info.responseCodeDetails = details;
    this.pendingResponseHeaders = undefined;
    const headers: HeaderList = [[":status", String(status)]];
    for (const h of extra) if (h[0] !== ":status") headers.push(h);
    if (body.length > 0 && getHeader(headers, "content-type") === undefined) headers.push(["content-type", "text/plain"]);
    setHeader(headers, "content-length", String(body.length));
    const filter = this.filter;
    if (filter && !this.encodingStarted) {
      this.encodingStarted = true;
      queueMicrotask(() => {
        if (this.done) return;
        try {
          filter.responseHeaders(headers, body.length === 0);
          if (body.length > 0 && !this.done) filter.responseData(body, true);
        } catch (err) {
          this.filterFailed(err);
        }
      });
      return;
    }
    this.filterResponseIgnored = true;
    this.startResponse(headers, body.length === 0);
    if (body.length > 0) this.writeResponseData(body, true);
  }

  /** Envoy resetStream: both directions stop; on HTTP/1 the downstream connection is closed. */
  private resetStream(details: string, flag: string): void {
    if (this.done) return;
    this.info.responseCodeDetails = details;
    this.addFlag(flag);
    this.decodingStopped = true;
    this.ctx.stats.rqTxReset.inc();
    this.finish();
    this.res.destroy();
  }

  private onDownstreamClose(): void {
    if (this.done) return;
    // The client went away before the response was complete.
    this.ctx.stats.rqRxReset.inc();
    this.addFlag("DC");
    this.info.responseCodeDetails = "downstream_remote_disconnect";
    this.finish();
  }

  /** The filter broke the contract: a bug to log, and a stream that cannot continue. */
  private misuse(what: string): void {
    this.ctx.log(`stream ${this.info.streamId}: filter misuse: ${what}`);
    this.resetStream("filter_misuse", "LR");
  }

  private filterFailed(err: unknown): void {
    this.ctx.log(`stream ${this.info.streamId}: filter threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    if (this.responseStarted) this.resetStream("filter_error", "LR");
    else {
      this.filterResponseIgnored = true;
      this.encodingStarted = true; // the reply goes straight out, not back into the failed filter
      this.sendLocalReply(500, [], EMPTY, "filter_error", "");
    }
  }

  private abandonUpstream(): void {
    if (this.routeTimer) {
      clearTimeout(this.routeTimer);
      this.routeTimer = undefined;
    }
    if (this.idleTimer) {
      clearTimeout(this.idleTimer);
      this.idleTimer = undefined;
    }
    const upstream = this.upstream;
    if (!upstream) return;
    this.upstream = undefined;
    upstream.abort();
    this.releaseHost();
  }

  private releaseHost(): void {
    if (!this.host) return;
    this.host.active--;
    this.host = undefined;
    this.cluster!.stats.rqActive.add(-1);
  }

  private addFlag(flag: string): void {
    if (flag && !this.flags.split(",").includes(flag)) this.flags = this.flags ? `${this.flags},${flag}` : flag;
  }

  /**
   * The stream is over: upstream released now; the filter's complete() (exactly once) and then the access
   * log follow after the current call returns, since a reset can come from inside a filter callback.
   */
  private finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.upstream) {
      if (this.upstream.complete) this.onUpstreamComplete();
      else {
        // Still running: the downstream side ended first (reset, client gone, early response).
        this.cluster!.stats.rqTxReset.inc();
        this.abandonUpstream();
      }
    }
    if (this.requestPaused) this.req.resume();
    const stats = this.ctx.stats;
    stats.rqActive.add(-1);
    if (this.res.writableFinished) stats.rqCompleted.inc();
    if (this.info.responseCode !== undefined) stats.responseClass(this.info.responseCode);
    const durationMs = Number(process.hrtime.bigint() - this.info.startHr) / 1e6;
    stats.rqTime.record(durationMs);
    queueMicrotask(() => {
      if (this.filter) {
        try {
          this.filter.complete();
        } catch (err) {
          this.ctx.log(`stream ${this.info.streamId}: filter complete() threw: ${(err as Error).message}`);
        }
      }
      this.ctx.onStreamEnd({
        info: this.info,
        requestHeaders: this.requestHeaders,
        responseHeaders: this.responseHeaders,
        responseFlags: this.flags,
        durationMs,
        upstreamCluster: this.cluster?.name ?? this.cachedRoute?.resolved.cluster,
      });
    });
  }
}
