// A stream context: Envoy's wasm HTTP filter for one request (extensions/common/wasm/context.cc
// decodeHeaders ... log/onDestroy) on top of one-filter filter-manager semantics (filter-direction.ts).
// It keeps the pointers the module may use (held headers, the current body, trailers) exactly as long as
// Envoy does, runs deferred actions after each call, and fails or passes the stream once the VM failed.
import type { HeaderList, HttpFilterSink, HttpFilterStream } from "../dataplane-api/http-filter.js";
import { BufferType, DataStatus, HeadersStatus, MapType, StreamType, TrailersStatus, WasmResult } from "./abi.js";
import { BodyBuffer, UNSET_BUFFER, type WasmBuffer } from "./buffers.js";
import type { ByteBuf } from "./byte-buf.js";
import { type CallOutcome, Context, type ContextRoot, type LocalResponse } from "./context.js";
import { FilterDirection } from "./filter-direction.js";
import { getHeader } from "./header-map.js";
import { type PropertyValue, bytes } from "./properties.js";
import { streamAttribute } from "./stream-properties.js";
import { NO_ACTIONS, type Vm } from "./vm.js";

/** Envoy's StringUtil::replaceAllEmptySpace, applied to local-reply details. */
const replaceSpaces = (s: string) => s.replace(/[ \t\f\v\n\r]/g, "_");

const GRPC_UNAVAILABLE = 14;

interface DirectionPointers {
  /** headers_ pointer: set during the headers callback, kept while the filter did not Continue. */
  headersHeld: boolean;
  /** *_body_buffer_: the chunk of the current body callback. */
  body: ByteBuf | undefined;
  buffering: boolean;
  trailersHeld: boolean;
}

const freshPointers = (): DirectionPointers => ({ headersHeld: false, body: undefined, buffering: false, trailersHeld: false });

export class WasmStream extends Context implements HttpFilterStream {
  private request: FilterDirection;
  private response: FilterDirection;
  private req = freshPointers();
  private resp = freshPointers();
  private endOfStream = false;
  /** in_vm_context_created_ */
  private created = false;
  private streamFailed = false;
  private failureReplySent = false;
  /** A local reply was sent: the request is no longer processed. */
  private replied = false;
  /** A local reply replaced a response already under way: it passes the filter untouched. */
  private directReply = false;
  private resetSent = false;
  private completed = false;
  private responseHeadersForwarded = false;
  private responseStarted = false;
  private pendingActions: ReadonlyArray<() => void> = NO_ACTIONS;
  private accessLog: { request?: HeaderList; response?: HeaderList; responseTrailers?: HeaderList } | undefined;

  constructor(
    vm: Vm,
    private readonly sink: HttpFilterSink,
  ) {
    super(vm, vm.allocContextId());
    vm.contexts.set(this.id, this);
    this.request = this.requestDirection();
    this.response = this.responseDirection();
  }

  get root(): ContextRoot {
    return this.vm.root;
  }

  // --- HttpFilterStream (called by the data plane) ---

  requestHeaders(headers: HeaderList, endOfStream: boolean): void {
    this.request.onHeaders(headers, endOfStream);
  }
  requestData(data: Uint8Array, endOfStream: boolean): void {
    this.request.onData(data, endOfStream);
  }
  requestTrailers(trailers: HeaderList): void {
    this.request.onTrailers(trailers);
  }
  responseHeaders(headers: HeaderList, endOfStream: boolean): void {
    this.responseStarted = true;
    this.response.onHeaders(headers, endOfStream);
  }
  responseData(data: Uint8Array, endOfStream: boolean): void {
    this.response.onData(data, endOfStream);
  }
  responseTrailers(trailers: HeaderList): void {
    this.response.onTrailers(trailers);
  }

  /** Access log, then teardown: proxy_on_log → proxy_on_done → proxy_on_delete. */
  complete(): void {
    if (this.completed) return;
    this.completed = true;
    if (!this.created) this.onCreate(); // the request never reached the filter
    this.accessLog = { request: this.request.headers, response: this.response.headers, responseTrailers: this.response.trailers };
    this.callVoid("proxy_on_log");
    this.accessLog = undefined;
    if (this.created) {
      this.callVoid("proxy_on_done"); // its result is ignored for streams
      this.callVoid("proxy_on_delete");
    }
    this.vm.contexts.delete(this.id);
  }

  // --- directions ---

  private requestDirection(): FilterDirection {
    const dir: FilterDirection = new FilterDirection(
      {
        headers: (h, eos) => this.decodeHeaders(h, eos),
        data: (d, eos) => this.decodeData(dir, d, eos),
        trailers: (t) => this.decodeTrailers(t),
        afterCall: () => this.runPending(),
      },
      {
        headers: (h, eos) => this.sink.forwardRequestHeaders(h, eos),
        data: (d, eos) => this.sink.forwardRequestData(d, eos),
        trailers: (t) => this.sink.forwardRequestTrailers(t),
      },
      this.vm.env.bufferLimitBytes,
      () => this.localReply(413, [], Buffer.from("Payload Too Large"), "request_payload_too_large"),
      () => this.replied || this.resetSent || this.completed,
    );
    return dir;
  }

  private responseDirection(): FilterDirection {
    const dir: FilterDirection = new FilterDirection(
      {
        headers: (h, eos) => this.encodeHeaders(h, eos),
        data: (d, eos) => this.encodeData(dir, d, eos),
        trailers: (t) => this.encodeTrailers(t),
        afterCall: () => this.runPending(),
      },
      {
        headers: (h, eos) => {
          this.responseHeadersForwarded = true;
          this.sink.forwardResponseHeaders(h, eos);
        },
        data: (d, eos) => this.sink.forwardResponseData(d, eos),
        trailers: (t) => this.sink.forwardResponseTrailers(t),
      },
      this.vm.env.bufferLimitBytes,
      () => this.localReply(500, [], Buffer.from("Internal Server Error"), "response_payload_too_large"),
      () => this.resetSent || this.completed || dir !== this.response,
    );
    return dir;
  }

  // --- the filter callbacks (Context::decode* / encode*) ---

  private decodeHeaders(headers: HeaderList, eos: boolean): HeadersStatus {
    this.onCreate();
    this.req.headersHeld = true;
    this.endOfStream = eos;
    const status = this.callHeaders("proxy_on_request_headers", headers.length, eos);
    if (status === HeadersStatus.Continue) this.req.headersHeld = false;
    return status;
  }

  private decodeData(dir: FilterDirection, data: ByteBuf, eos: boolean): DataStatus {
    if (!this.created) return DataStatus.Continue;
    return this.bodyCallback(dir, this.req, "proxy_on_request_body", data, eos);
  }

  private decodeTrailers(trailers: HeaderList): TrailersStatus {
    if (!this.created) return TrailersStatus.Continue;
    this.req.trailersHeld = true;
    const status = this.callTrailers("proxy_on_request_trailers", trailers.length);
    if (status === TrailersStatus.Continue) this.req.trailersHeld = false;
    return status;
  }

  private encodeHeaders(headers: HeaderList, eos: boolean): HeadersStatus {
    if (!this.created || this.failureReplySent || this.directReply) return HeadersStatus.Continue;
    this.resp.headersHeld = true;
    this.endOfStream = eos;
    const status = this.callHeaders("proxy_on_response_headers", headers.length, eos);
    if (status === HeadersStatus.Continue) this.resp.headersHeld = false;
    return status;
  }

  private encodeData(dir: FilterDirection, data: ByteBuf, eos: boolean): DataStatus {
    if (!this.created || this.failureReplySent || this.directReply) return DataStatus.Continue;
    return this.bodyCallback(dir, this.resp, "proxy_on_response_body", data, eos);
  }

  private encodeTrailers(trailers: HeaderList): TrailersStatus {
    if (!this.created || this.failureReplySent || this.directReply) return TrailersStatus.Continue;
    this.resp.trailersHeld = true;
    const status = this.callTrailers("proxy_on_response_trailers", trailers.length);
    if (status === TrailersStatus.Continue) this.resp.trailersHeld = false;
    return status;
  }

  /** decodeData/encodeData: while buffering, the chunk joins the buffer first and the module sees it all. */
  private bodyCallback(dir: FilterDirection, p: DirectionPointers, fn: string, data: ByteBuf, eos: boolean): DataStatus {
    if (p.buffering && data !== dir.buffered) {
      if (!dir.addBufferedData(data)) return DataStatus.StopIterationAndBuffer; // the limit reply was sent
    }
    p.body = data;
    this.endOfStream = eos;
    const size = p.buffering && dir.buffered ? dir.buffered.length : data.length;
    const status = this.callData(fn, size, eos);
    p.buffering = status === DataStatus.StopIterationAndBuffer;
    p.body = undefined;
    return status;
  }

  // --- calls into the VM, with CHECK_FAIL and the status conversions of cpp-host context.cc ---

  private onCreate(): void {
    if (this.created) return;
    if (!this.vm.failed && this.vm.has("proxy_on_context_create")) {
      this.vm.runActions(this.vm.invoke(this, "proxy_on_context_create", [this.id, this.root.id]));
    }
    this.created = true;
  }

  private call(fn: string, args: number[]): CallOutcome | undefined {
    if (this.vm.failed) return undefined;
    const r = this.vm.invoke(this, fn, args);
    if (!r.ok) return undefined;
    this.pendingActions = r.actions;
    return r;
  }

  private callVoid(fn: string): void {
    if (this.vm.failed || !this.vm.has(fn)) return;
    this.vm.runActions(this.vm.invoke(this, fn, [this.id]));
  }

  private callHeaders(fn: string, n: number, eos: boolean): HeadersStatus {
    if (!this.vm.has(fn) && !this.vm.failed) return HeadersStatus.Continue;
    const r = this.call(fn, [this.id, n, eos ? 1 : 0]);
    if (!r) return this.checkFail(HeadersStatus.Continue, HeadersStatus.StopAllIterationAndWatermark);
    if (r.stopNext || r.value > HeadersStatus.StopAllIterationAndWatermark) return HeadersStatus.StopAllIterationAndWatermark;
    if (r.value === HeadersStatus.StopIteration && !this.vm.env.config.allowOnHeadersStopIteration) {
      return HeadersStatus.StopAllIterationAndWatermark;
    }
    return r.value as HeadersStatus;
  }

  private callData(fn: string, size: number, eos: boolean): DataStatus {
    if (!this.vm.has(fn) && !this.vm.failed) return DataStatus.Continue;
    const r = this.call(fn, [this.id, size, eos ? 1 : 0]);
    if (!r) return this.checkFail(DataStatus.Continue, DataStatus.StopIterationNoBuffer);
    if (r.stopNext || r.value > DataStatus.StopIterationNoBuffer) return DataStatus.StopIterationNoBuffer;
    return r.value as DataStatus;
  }

  private callTrailers(fn: string, n: number): TrailersStatus {
    if (!this.vm.has(fn) && !this.vm.failed) return TrailersStatus.Continue;
    const r = this.call(fn, [this.id, n]);
    if (!r) return this.checkFail(TrailersStatus.Continue, TrailersStatus.StopIteration);
    if (r.stopNext || r.value > TrailersStatus.StopIteration) return TrailersStatus.StopIteration;
    return r.value as TrailersStatus;
  }

  /** CHECK_FAIL_HTTP: fail-open continues; fail-closed answers 503 wasm_fail_stream once, then stops. */
  private checkFail<T>(open: T, closed: T): T {
    if (this.vm.env.config.failOpen) return open;
    if (!this.streamFailed) {
      this.streamFailed = true;
      if (!this.failureReplySent) {
        this.failureReplySent = true;
        this.localReply(503, [], new Uint8Array(0), "wasm_fail_stream", GRPC_UNAVAILABLE);
      }
    }
    return closed;
  }

  private runPending(): void {
    const actions = this.pendingActions;
    this.pendingActions = NO_ACTIONS;
    for (const a of actions) a();
  }

  // --- what the module can do to its stream ---

  /** sendLocalReply: through the filter's response path when no response started, directly when one
   * started but its headers were not sent, else a reset. grpc_status outside 0..16 sends none. */
  private localReply(status: number, extra: HeaderList, body: Uint8Array, details: string, grpcStatus?: number): void {
    if (this.replied || this.resetSent || this.completed) return;
    this.replied = true;
    // A route cache the filter cleared is refreshed from the headers it set, as Envoy's route() refreshes it
    // for the reply: the access log then names the route the request was decided for, not the first match.
    if (this.request.headers && !this.responseStarted) this.sink.resolveRoute(this.request.headers);
    const headers: HeaderList = extra.map(([k, v]) => [k.toLowerCase(), v]);
    const contentType = this.request.headers && getHeader(this.request.headers, "content-type");
    if (grpcStatus !== undefined && grpcStatus >= 0 && grpcStatus <= 16 && contentType?.startsWith("application/grpc")) {
      headers.push(["grpc-status", String(grpcStatus)]);
    }
    if (!this.responseStarted) {
      this.sink.localReply(status, headers, body, details);
    } else if (!this.responseHeadersForwarded) {
      this.directReply = true;
      this.resp = freshPointers();
      this.response = this.responseDirection();
      this.sink.localReply(status, headers, body, details);
    } else {
      this.resetSent = true;
      this.sink.reset(details);
    }
  }

  override sendLocalResponse(r: LocalResponse): void {
    this.vm.defer(() => this.localReply(r.status, r.headers, r.body, replaceSpaces(r.details), r.grpcStatus));
  }

  override continueStream(type: number): WasmResult {
    switch (type) {
      case StreamType.Request:
        this.vm.defer(() => this.request.continue());
        break;
      case StreamType.Response:
        this.vm.defer(() => this.response.continue());
        break;
      case StreamType.Downstream:
        return WasmResult.Ok;
      default:
        return WasmResult.Unimplemented;
    }
    // Envoy drops the request-side pointers whichever direction resumes.
    this.req.headersHeld = false;
    this.req.body = undefined;
    this.req.trailersHeld = false;
    return WasmResult.Ok;
  }

  override closeStream(type: number): WasmResult {
    if (type === StreamType.Request || type === StreamType.Response) {
      this.vm.defer(() => {
        if (this.resetSent || this.completed) return;
        this.resetSent = true;
        this.sink.reset("wasm_close_stream");
      });
    }
    return WasmResult.Ok;
  }

  override clearRouteCache(): void {
    if (!this.completed) this.sink.clearRouteCache();
  }

  override get accessLogPhase(): boolean {
    return this.accessLog !== undefined;
  }

  override getMap(type: MapType, mutable: boolean): HeaderList | undefined {
    const log = this.accessLog;
    switch (type) {
      case MapType.RequestHeaders:
        if (log && !mutable) return log.request;
        return this.req.headersHeld ? this.request.headers : undefined;
      case MapType.RequestTrailers:
        if (log && !mutable) return undefined;
        return this.trailersMap(this.request, this.req, mutable);
      case MapType.ResponseHeaders:
        if (log && !mutable) return log.response;
        return this.resp.headersHeld ? this.response.headers : undefined;
      case MapType.ResponseTrailers:
        if (log && !mutable) return log.responseTrailers;
        return this.trailersMap(this.response, this.resp, mutable);
      default:
        return super.getMap(type, mutable);
    }
  }

  /** Trailers may be added from the last body callback (getMap creates them, addDecodedTrailers). */
  private trailersMap(dir: FilterDirection, p: DirectionPointers, mutable: boolean): HeaderList | undefined {
    if (p.trailersHeld) return dir.trailers;
    if (mutable && p.body && this.endOfStream) {
      p.trailersHeld = true;
      return dir.addTrailers();
    }
    return undefined;
  }

  override getBuffer(type: BufferType): WasmBuffer | undefined {
    if (type === BufferType.HttpRequestBody) return this.bodyBuffer(this.request, this.req);
    if (type === BufferType.HttpResponseBody) return this.bodyBuffer(this.response, this.resp);
    return super.getBuffer(type);
  }

  private bodyBuffer(dir: FilterDirection, p: DirectionPointers): WasmBuffer {
    if (p.buffering && dir.buffered) return new BodyBuffer(dir.buffered);
    return p.body ? new BodyBuffer(p.body) : UNSET_BUFFER;
  }

  /** value is the host's own copy of the module's bytes. */
  override setProperty(path: string, value: Uint8Array): WasmResult {
    this.sink.info.filterState.set("wasm." + path, value);
    return WasmResult.Ok;
  }

  override setFilterState(key: string, value: Uint8Array): WasmResult {
    this.sink.info.filterState.set(key, value);
    return WasmResult.Ok;
  }

  override findProperty(name: string): PropertyValue | undefined {
    const log = this.accessLog;
    const attr = streamAttribute(
      {
        info: this.sink.info,
        complete: this.completed,
        requestHeaders: () => (this.req.headersHeld ? this.request.headers : log?.request),
        responseHeaders: () => (this.resp.headersHeld ? this.response.headers : log?.response),
        responseTrailers: () => (this.resp.trailersHeld ? this.response.trailers : log?.responseTrailers),
        route: () => (this.request.headers ? this.sink.resolveRoute(this.request.headers) : undefined) ?? this.sink.info.route,
        cluster: (n) => this.vm.env.clusters.get(n),
      },
      name,
    );
    if (attr) return attr;
    const plugin = super.findProperty(name);
    if (plugin) return plugin;
    const state = this.sink.info.filterState.get("wasm." + name);
    return state ? bytes(state) : undefined;
  }
}
