// One HTTP stream through the wasm filter, driven the way Envoy's filter manager drives a single filter
// (envoy context.cc + filter_manager.cc, proxy-wasm.md §1.5, §1.6, §3.1, §3.2):
// - the context is created lazily at the first callback; the end is on_log → on_done → on_delete;
// - a headers StopIteration becomes StopAllIterationAndWatermark unless allow_on_headers_stop_iteration;
//   while stopped-all the body is buffered here and not shown to the filter until continue_stream, which
//   forwards the headers and then replays the buffered body to the filter;
// - StopIterationAndBuffer makes the next body callback see the whole buffered body (cumulative size);
//   Continue forwards held headers and buffered body; buffers over the limit get 413 (request) or 500;
// - headers are readable and writable only while held (BadArgument once they went on);
// - continue_stream / send_local_response / close_stream act after the VM call returns, and a local
//   reply turns the callback's result into "stop"; the reply then comes back through the response side.
import type { HeaderList, HttpFilterSink, HttpFilterStream } from "../gateway/http-filter.js";
import { BufferType, DataStatus, HeadersStatus, MapType } from "./types.js";
import { concat, type StreamContext, type WasmVm } from "./vm.js";

export interface StreamOptions {
  allowOnHeadersStopIteration: boolean;
  failOpen: boolean;
  bufferLimitBytes: number;
}

/** A growable byte buffer (appending chunk by chunk stays linear). */
class Body {
  private buf: Uint8Array = new Uint8Array(0);
  length = 0;

  static of(bytes: Uint8Array): Body {
    const b = new Body();
    b.set(bytes);
    return b;
  }

  bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  append(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const need = this.length + chunk.length;
    if (need > this.buf.length) {
      const grown = new Uint8Array(Math.max(need, this.buf.length * 2, 1024));
      grown.set(this.bytes());
      this.buf = grown;
    }
    this.buf.set(chunk, this.length);
    this.length = need;
  }

  set(bytes: Uint8Array): void {
    this.buf = bytes;
    this.length = bytes.length;
  }

  take(): Uint8Array {
    const b = this.bytes();
    this.buf = new Uint8Array(0);
    this.length = 0;
    return b;
  }
}

/** One direction (request or response) of the stream. */
class Direction {
  started = false;
  /** The header map while the filter may use it (held, or during the headers callback). */
  headers: HeaderList | null = null;
  /** The latest headers, kept for attributes and on_log. */
  seen: HeaderList = [];
  headersHeld = false;
  headersEos = false;
  stoppedAll = false;
  /** StopIterationAndBuffer: the next body callback sees held + the new chunk. */
  buffering = false;
  /** Body received and not forwarded yet. */
  readonly held = new Body();
  /** The body the callback in progress sees. */
  current: Body | null = null;
  trailers: HeaderList | null = null;
  heldTrailers: HeaderList | null = null;
  /** End of stream received from the data plane. */
  eos = false;
  /** End of stream forwarded (or the direction was abandoned). */
  ended = false;
  inCallback = false;
  /** continue_stream ran while this direction's own callback was in progress. */
  resumeRequested = false;

  constructor(readonly isRequest: boolean) {}
}

type Outcome = number | "stop" | "fail";

export class WasmHttpStream implements HttpFilterStream, StreamContext {
  readonly id: number;
  private created = false;
  private completed = false;
  private localReplied = false;
  private failHandled = false;
  /** Bumped when a local reply is requested: the callback in progress then counts as "stop". */
  private epoch = 0;
  private logPhase = false;
  private req = new Direction(true);
  private res = new Direction(false);

  constructor(
    private readonly vm: WasmVm,
    readonly sink: HttpFilterSink,
    private readonly opts: StreamOptions,
  ) {
    this.id = vm.allocateContextId();
  }

  // ------------------------------------------------------------------------------------------------
  // HttpFilterStream (called by the data plane)

  requestHeaders(headers: HeaderList, endOfStream: boolean): void {
    this.headersIn(this.req, headers, endOfStream);
  }
  requestData(data: Uint8Array, endOfStream: boolean): void {
    this.dataIn(this.req, data, endOfStream);
  }
  requestTrailers(trailers: HeaderList): void {
    this.trailersIn(this.req, trailers);
  }
  responseHeaders(headers: HeaderList, endOfStream: boolean): void {
    this.headersIn(this.res, headers, endOfStream);
  }
  responseData(data: Uint8Array, endOfStream: boolean): void {
    this.dataIn(this.res, data, endOfStream);
  }
  responseTrailers(trailers: HeaderList): void {
    this.trailersIn(this.res, trailers);
  }

  complete(): void {
    if (this.completed) return;
    this.completed = true;
    this.vm.dispatch(() => {
      if (!this.vm.failed && this.ensureCreated()) {
        this.logPhase = true;
        this.vm.call(this.id, "proxy_on_log", [this.id]);
        this.vm.call(this.id, "proxy_on_done", [this.id], 1);
        this.vm.call(this.id, "proxy_on_delete", [this.id]);
      }
      this.vm.unregisterStream(this.id);
    });
  }

  // ------------------------------------------------------------------------------------------------
  // StreamContext (called by host functions)

  headerMap(type: MapType): HeaderList | null {
    switch (type) {
      case MapType.RequestHeaders:
        return this.logPhase ? this.req.seen : this.req.headers;
      case MapType.ResponseHeaders:
        return this.logPhase ? this.res.seen : this.res.headers;
      case MapType.RequestTrailers:
        return this.req.trailers;
      case MapType.ResponseTrailers:
        return this.res.trailers;
      default:
        return null;
    }
  }

  headerMapWritable(type: MapType): boolean {
    return !this.logPhase && this.headerMap(type) !== null;
  }

  body(type: BufferType): Uint8Array | null {
    const d = type === BufferType.HttpRequestBody ? this.req : this.res;
    if (d.current) return d.current.bytes();
    return d.started ? d.held.bytes() : null;
  }

  setBody(type: BufferType, bytes: Uint8Array): void {
    const d = type === BufferType.HttpRequestBody ? this.req : this.res;
    (d.current ?? d.held).set(bytes);
  }

  requestHeadersForAttributes(): HeaderList {
    return this.req.headers ?? this.req.seen;
  }

  responseHeadersForAttributes(): HeaderList {
    return this.res.headers ?? this.res.seen;
  }

  requestLocalReply(status: number, headers: HeaderList, body: Uint8Array, details: string): () => void {
    this.epoch++;
    return () => this.localReply(status, headers, body, details);
  }

  continueStream(streamType: number): () => void {
    return () => this.resume(streamType === 0 ? this.req : this.res);
  }

  closeStream(): () => void {
    return () => {
      if (!this.completed) this.sink.reset("wasm_close_stream");
    };
  }

  // ------------------------------------------------------------------------------------------------
  // The state machine

  private ensureCreated(): boolean {
    if (this.created) return true;
    if (this.vm.failed) return false;
    this.created = true;
    this.vm.registerStream(this);
    return this.vm.call(this.id, "proxy_on_context_create", [this.id, this.vm.rootContextId]) !== null;
  }

  /** Calls a stream callback; "stop" when a local reply was requested meanwhile, "fail" on a failed VM. */
  private invoke(d: Direction, name: string, args: number[]): Outcome {
    if (!this.ensureCreated()) return "fail";
    const epoch = this.epoch;
    d.inCallback = true;
    d.resumeRequested = false;
    let r: number | null;
    try {
      r = this.vm.call(this.id, name, args);
    } finally {
      d.inCallback = false;
    }
    if (r === null) return "fail";
    if (epoch !== this.epoch || this.completed) return "stop";
    if (d.resumeRequested) {
      d.resumeRequested = false;
      return 0;
    }
    return r;
  }

  /** A failed VM: pass through when fail-open (and for our own 503), else answer 503 once. */
  private failContinues(d: Direction): boolean {
    if (this.opts.failOpen) return true;
    if (!d.isRequest && this.failHandled) return true;
    if (!this.failHandled) {
      this.failHandled = true;
      this.localReply(503, [], new Uint8Array(0), "wasm_fail_stream");
    }
    return false;
  }

  private dropped(d: Direction): boolean {
    return this.completed || d.ended || (d.isRequest && this.localReplied);
  }

  private headersIn(d: Direction, headers: HeaderList, eos: boolean): void {
    if (d.started || this.dropped(d)) return;
    d.started = true;
    d.headers = headers.map(([k, v]) => [k, v] as [string, string]);
    d.seen = d.headers;
    d.headersHeld = true;
    d.headersEos = eos;
    d.eos = eos;
    const name = d.isRequest ? "proxy_on_request_headers" : "proxy_on_response_headers";
    let status = this.invoke(d, name, [this.id, headers.length, eos ? 1 : 0]);
    if (status === "stop") return;
    if (status === "fail") {
      if (!this.failContinues(d)) return;
      status = HeadersStatus.Continue;
    }
    if (!d.headersHeld) return; // already continued
    if (status === HeadersStatus.StopIteration && !this.opts.allowOnHeadersStopIteration) status = HeadersStatus.StopAllIterationAndWatermark;
    if (status > HeadersStatus.StopAllIterationAndWatermark) status = HeadersStatus.StopAllIterationAndWatermark;
    if (status === HeadersStatus.Continue || status === HeadersStatus.ContinueAndEndStream) this.forwardHeaders(d);
    else if (status !== HeadersStatus.StopIteration) d.stoppedAll = true;
  }

  private dataIn(d: Direction, chunk: Uint8Array, eos: boolean): void {
    if (!d.started || this.dropped(d)) return;
    if (eos) d.eos = true;
    if (d.stoppedAll) {
      d.held.append(chunk);
      this.checkLimit(d);
      return;
    }
    this.deliverData(d, chunk, eos);
  }

  private deliverData(d: Direction, chunk: Uint8Array, eos: boolean): void {
    let cur: Body;
    if (d.buffering) {
      d.held.append(chunk);
      cur = d.held;
    } else {
      cur = Body.of(chunk);
    }
    d.current = cur;
    const name = d.isRequest ? "proxy_on_request_body" : "proxy_on_response_body";
    let status: Outcome;
    try {
      status = this.invoke(d, name, [this.id, cur.length, eos ? 1 : 0]);
    } finally {
      d.current = null;
    }
    if (status === "stop") return;
    if (status === "fail") {
      if (!this.failContinues(d)) return;
      status = DataStatus.Continue;
    }
    if (this.dropped(d)) return;
    if (status > DataStatus.StopIterationNoBuffer) status = DataStatus.StopIterationNoBuffer;
    switch (status) {
      case DataStatus.Continue: {
        d.buffering = false;
        this.forwardHeaders(d);
        const body = cur === d.held ? d.held.take() : concat(d.held.take(), cur.bytes());
        this.forwardData(d, body, eos);
        break;
      }
      case DataStatus.StopIterationAndBuffer:
        if (cur !== d.held) d.held.append(cur.bytes());
        d.buffering = true;
        this.checkLimit(d);
        break;
      case DataStatus.StopIterationAndWatermark:
        if (cur !== d.held) d.held.append(cur.bytes());
        d.buffering = false;
        this.checkLimit(d);
        break;
      default: // StopIterationNoBuffer: the filter consumed the chunk
        d.buffering = false;
    }
  }

  private trailersIn(d: Direction, trailers: HeaderList): void {
    if (!d.started || this.dropped(d)) return;
    d.eos = true;
    const copy = trailers.map(([k, v]) => [k, v] as [string, string]);
    if (d.stoppedAll) {
      d.heldTrailers = copy;
      return;
    }
    d.trailers = copy;
    const name = d.isRequest ? "proxy_on_request_trailers" : "proxy_on_response_trailers";
    let status: Outcome;
    try {
      status = this.invoke(d, name, [this.id, copy.length]);
    } finally {
      d.trailers = null;
    }
    if (status === "stop") return;
    if (status === "fail") {
      if (!this.failContinues(d)) return;
      status = 0;
    }
    if (this.dropped(d)) return;
    if (status === 0) {
      this.forwardHeaders(d);
      this.forwardData(d, d.held.take(), false);
      this.forwardTrailers(d, copy);
    } else {
      d.heldTrailers = copy;
    }
  }

  /** continue_stream (deferred): headers go on, then the buffered body (replayed to the filter after StopAll). */
  private resume(d: Direction): void {
    if (!d.started || this.dropped(d)) return;
    if (d.inCallback) {
      d.resumeRequested = true;
      return;
    }
    const trailers = d.heldTrailers;
    d.heldTrailers = null;
    if (d.stoppedAll) {
      d.stoppedAll = false;
      const body = d.held.take();
      this.forwardHeaders(d);
      if (this.dropped(d)) return;
      if (body.length > 0 || (d.eos && !trailers)) this.deliverData(d, body, d.eos && !trailers);
      if (trailers && !this.dropped(d)) this.trailersIn(d, trailers);
      return;
    }
    d.buffering = false;
    this.forwardHeaders(d);
    const body = d.held.take();
    if (body.length > 0 || (d.eos && !trailers)) this.forwardData(d, body, d.eos && !trailers);
    if (trailers) this.forwardTrailers(d, trailers);
  }

  private checkLimit(d: Direction): void {
    if (d.held.length <= this.opts.bufferLimitBytes) return;
    const text = (s: string) => new TextEncoder().encode(s);
    if (d.isRequest) {
      this.localReply(413, [["content-type", "text/plain"]], text("Payload Too Large"), "request_payload_too_large");
    } else if (d.headersHeld) {
      this.localReply(500, [["content-type", "text/plain"]], text("Internal Server Error"), "response_payload_too_large");
    } else {
      d.ended = true;
      this.sink.reset("response_payload_too_large");
    }
  }

  private localReply(status: number, headers: HeaderList, body: Uint8Array, details: string): void {
    if (this.completed) return;
    this.localReplied = true;
    this.req.ended = true;
    this.req.headersHeld = false;
    // The reply comes back through responseHeaders/responseData, as Envoy runs it through the encoders.
    const previous = this.res;
    this.res = new Direction(false);
    this.res.seen = previous.seen;
    this.sink.localReply(status, headers, body, details);
  }

  private forwardHeaders(d: Direction): void {
    if (!d.headersHeld) return;
    d.headersHeld = false;
    const h = d.headers!;
    d.headers = null;
    d.seen = h;
    const eos = d.headersEos;
    if (eos) d.ended = true;
    if (d.isRequest) this.sink.forwardRequestHeaders(h, eos);
    else this.sink.forwardResponseHeaders(h, eos);
  }

  private forwardData(d: Direction, body: Uint8Array, eos: boolean): void {
    if (this.dropped(d) || d.headersHeld) return;
    if (body.length === 0 && !eos) return;
    if (eos) d.ended = true;
    if (d.isRequest) this.sink.forwardRequestData(body, eos);
    else this.sink.forwardResponseData(body, eos);
  }

  private forwardTrailers(d: Direction, trailers: HeaderList): void {
    if (this.dropped(d) || d.headersHeld) return;
    d.ended = true;
    if (d.isRequest) this.sink.forwardRequestTrailers(trailers);
    else this.sink.forwardResponseTrailers(trailers);
  }
}
