// One HTTP/1.1 request to an upstream host over the cluster's keep-alive pool, reporting back in Envoy's
// terms: response headers/data/trailers as they arrive, and a failure classified as Envoy's stream reset
// reasons (connection failure before connecting, connection timeout, connection termination after).
import type http from "node:http";
import { CONNECT_TIMEOUT_CODE, socketConnected, type Cluster, type Host } from "./cluster-manager.js";
import { responseHeaderList, trailerList, trailerObject, upstreamRequestHeaders } from "./headers.js";
import type { HeaderList } from "../dataplane-api/http-filter.js";

export type UpstreamResetReason = "connection_failure" | "connection_timeout" | "connection_termination";

export interface UpstreamEvents {
  onUpstreamHeaders(headers: HeaderList, endOfStream: boolean): void;
  onUpstreamData(data: Uint8Array, endOfStream: boolean): void;
  onUpstreamTrailers(trailers: HeaderList): void;
  /** The response is complete (after its last data or trailers). */
  onUpstreamComplete(): void;
  /** The request failed; `afterHeaders` says whether response headers had already arrived. */
  onUpstreamFailure(reason: UpstreamResetReason, afterHeaders: boolean): void;
  /** The upstream connection takes request data again after write() returned false. */
  onUpstreamDrain(): void;
}

const EMPTY = new Uint8Array(0);

export class UpstreamRequest {
  private readonly req: http.ClientRequest;
  private readonly hadContentLength: boolean;
  private res?: http.IncomingMessage;
  /** The request was fully written (end called). */
  private ended = false;
  private wroteData = false;
  /** Aborted, failed or complete: no further events. */
  private closed = false;
  private responseComplete = false;

  constructor(
    cluster: Cluster,
    host: Host,
    headers: HeaderList,
    method: string,
    path: string,
    endOfStream: boolean,
    private readonly events: UpstreamEvents,
  ) {
    const h = upstreamRequestHeaders(headers);
    this.hadContentLength = h["content-length"] !== undefined;
    if (endOfStream) {
      if (this.hadContentLength) h["content-length"] = "0";
    } else if (!this.hadContentLength) {
      // The filter removed content-length (or the client streamed chunked): the body goes chunked, also
      // for methods node would not chunk by default.
      h["transfer-encoding"] = "chunked";
    }
    // Node refuses a Trailer header without chunked encoding; the trailers themselves are dropped then.
    if (h["content-length"] !== undefined) delete h.trailer;
    this.req = cluster.request({
      agent: cluster.agent,
      host: host.address,
      port: host.port,
      method,
      path,
      headers: h,
      setHost: false,
    });
    this.req.on("response", (res) => this.onResponse(res, method));
    this.req.on("error", (err) => this.onError(err));
    this.req.on("drain", () => {
      if (!this.closed) this.events.onUpstreamDrain();
    });
    if (endOfStream) {
      this.ended = true;
      this.req.end();
    } else {
      // Send the headers now unless a body chunk follows in this turn (a filter that held the body
      // forwards headers and body together, and content-length is then recomputed).
      setImmediate(() => {
        if (!this.closed && !this.req.headersSent) this.req.flushHeaders();
      });
    }
  }

  /** Writes request data; false means the connection is congested (wait for onUpstreamDrain). */
  write(data: Uint8Array, endOfStream: boolean): boolean {
    if (this.closed || this.ended) return true;
    if (endOfStream) {
      this.ended = true;
      // The whole (possibly rewritten) body arrives at once: its length is the content-length.
      if (this.hadContentLength && !this.wroteData && !this.req.headersSent) {
        this.req.setHeader("content-length", String(data.length));
        this.req.removeHeader("trailer");
      }
      if (data.length > 0) this.req.end(data);
      else this.req.end();
      return true;
    }
    if (data.length === 0) return true;
    this.wroteData = true;
    return this.req.write(data);
  }

  endWithTrailers(trailers: HeaderList): void {
    if (this.closed || this.ended) return;
    this.ended = true;
    // HTTP/1.1 carries trailers only in chunked encoding: with a content-length (a filter rewrote the body),
    // Envoy's HTTP/1 codec drops them (http1/codec_impl.cc encodeTrailersBase), and so does this.
    if (!this.req.hasHeader("content-length")) this.req.addTrailers(trailerObject(trailers));
    this.req.end();
  }

  pauseResponse(): void {
    this.res?.pause();
  }

  resumeResponse(): void {
    this.res?.resume();
  }

  /** Over in both directions: the whole request went out and the parser has the whole response (its
   * "end" event may still be a tick away). */
  get complete(): boolean {
    return this.ended && (this.responseComplete || this.res?.complete === true);
  }

  /**
   * Abandons the request unless it is over in both directions (then its connection is back in the pool);
   * the connection is closed, as Envoy does when it resets an HTTP/1 stream.
   */
  abort(): void {
    this.closed = true;
    if (this.complete) return;
    this.req.destroy();
    this.res?.destroy();
  }

  private onResponse(res: http.IncomingMessage, method: string): void {
    if (this.closed) {
      res.destroy();
      return;
    }
    this.res = res;
    const status = res.statusCode ?? 502;
    const noBody = method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200) || res.headers["content-length"] === "0";
    res.on("data", (chunk: Buffer) => {
      if (!this.closed && !noBody) this.events.onUpstreamData(chunk, false);
    });
    res.on("end", () => {
      this.responseComplete = true;
      if (this.closed) return;
      this.closed = true;
      const trailers = trailerList(res);
      if (trailers.length > 0) this.events.onUpstreamTrailers(trailers);
      else if (!noBody) this.events.onUpstreamData(EMPTY, true);
      this.events.onUpstreamComplete();
    });
    res.on("error", () => {}); // reported through "close"
    res.on("close", () => {
      if (this.closed || res.complete) return;
      this.closed = true;
      this.events.onUpstreamFailure("connection_termination", true);
    });
    this.events.onUpstreamHeaders(responseHeaderList(res), noBody);
  }

  private onError(err: NodeJS.ErrnoException): void {
    if (this.closed) return;
    this.closed = true;
    if (this.res) {
      this.events.onUpstreamFailure("connection_termination", true);
      return;
    }
    const reason: UpstreamResetReason =
      err.code === CONNECT_TIMEOUT_CODE ? "connection_timeout" : socketConnected(this.req.socket) ? "connection_termination" : "connection_failure";
    this.events.onUpstreamFailure(reason, false);
  }
}
