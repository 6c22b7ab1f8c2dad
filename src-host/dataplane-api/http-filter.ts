// The contract between the data plane (listener, router, upstream) and an HTTP filter in its chain.
//
// It mirrors how Envoy's filter manager talks to a filter, reduced to what one filter in front of the
// router needs: the data plane pushes downstream events in through HttpFilterStream, the filter pushes
// what it lets through (possibly changed) out through HttpFilterSink. A filter that stops simply does not
// forward yet; the data plane never buffers on a filter's behalf. The wasm filter (src-host/proxy-wasm)
// and the pass-through filter used by benchmarks (src-host/gateway/pass-through.ts) are both implementations.

/** Header list: lower-case names, order kept, pseudo-headers (`:method`, `:path`, `:authority`,
 * `:scheme`, `:status`) first. Repeated names are repeated entries. */
export type HeaderList = Array<[string, string]>;

export interface SocketAddress {
  address: string;
  port: number;
}

/** What the route table resolved for the current request headers. */
export interface ResolvedRoute {
  /** Envoy route name (xds.route_name). */
  name: string;
  /** Cluster the router will use (xds.cluster_name), undefined for a direct response route. */
  cluster?: string;
  /** Metadata attached to the route (xds.route_metadata filter_metadata). */
  metadata?: Record<string, unknown>;
}

/** Per-stream facts the data plane records and filters read (Envoy StreamInfo / attributes). */
export interface StreamInfo {
  readonly streamId: number;
  /** Wall clock at stream start, ms since epoch. */
  readonly startTimeMs: number;
  /** process.hrtime.bigint() at stream start, for durations. */
  readonly startHr: bigint;
  readonly protocol: string; // "HTTP/1.1" | "HTTP/2"
  readonly downstreamRemote: SocketAddress;
  readonly downstreamLocal: SocketAddress;
  requestId?: string;
  route?: ResolvedRoute;
  /** Upstream host actually connected to, once known. */
  upstreamAddress?: SocketAddress;
  responseCode?: number;
  /** Envoy response code details, e.g. "via_upstream", "wasm_fail_stream", "request_payload_too_large". */
  responseCodeDetails?: string;
  requestBodyBytes: number;
  responseBodyBytes: number;
  /** Filter state written with proxy_set_property: key "wasm.<path>" → bytes. Read by access logs. */
  readonly filterState: Map<string, Uint8Array>;
}

/** Implemented by the data plane, one per stream. */
export interface HttpFilterSink {
  readonly info: StreamInfo;
  /** The request continues towards the router with these (final) headers. */
  forwardRequestHeaders(headers: HeaderList, endOfStream: boolean): void;
  forwardRequestData(data: Uint8Array, endOfStream: boolean): void;
  forwardRequestTrailers(trailers: HeaderList): void;
  /** The response continues towards the client. */
  forwardResponseHeaders(headers: HeaderList, endOfStream: boolean): void;
  forwardResponseData(data: Uint8Array, endOfStream: boolean): void;
  forwardResponseTrailers(trailers: HeaderList): void;
  /**
   * Envoy's sendLocalReply: the data plane abandons any upstream request, then runs the reply through
   * the filter's response path (responseHeaders/responseData on the same HttpFilterStream), as Envoy
   * sends local replies through the encoder chain. Only valid before response headers reached the client;
   * later it resets the stream instead.
   */
  localReply(status: number, headers: HeaderList, body: Uint8Array, details: string): void;
  /** Reset both directions (Envoy resetStream); details become the response code details. */
  reset(details: string): void;
  /** Envoy's clearRouteCache: the next resolveRoute() (or the router) evaluates the route table again. */
  clearRouteCache(): void;
  /** The route for these headers: cached from the first resolution until clearRouteCache(). */
  resolveRoute(headers: HeaderList): ResolvedRoute | undefined;
}

/** Implemented by a filter, one per stream; called by the data plane in stream order. */
export interface HttpFilterStream {
  requestHeaders(headers: HeaderList, endOfStream: boolean): void;
  requestData(data: Uint8Array, endOfStream: boolean): void;
  requestTrailers(trailers: HeaderList): void;
  responseHeaders(headers: HeaderList, endOfStream: boolean): void;
  responseData(data: Uint8Array, endOfStream: boolean): void;
  responseTrailers(trailers: HeaderList): void;
  /** The stream is over (completed, reset, or the client went away): access log, then teardown. */
  complete(): void;
}

export interface HttpFilterFactory {
  createStream(sink: HttpFilterSink): HttpFilterStream;
}
