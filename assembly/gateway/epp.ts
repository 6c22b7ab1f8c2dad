// One request's conversation with its InferencePool's Endpoint Picker, spoken as Envoy's ext_proc filter
// would in FULL_DUPLEX_STREAMED mode (what gateway-api-inference-extension v1.0.x's pkg/epp/handlers
// expects): request_headers (not end of stream), the
// buffered body as chunks of at most 62,000 bytes with end of stream on the last (or as one message in
// "buffered" mode), then the EPP's answer: a headers reply (x-gateway-destination-endpoint and other
// mutations, the same endpoint in dynamic_metadata envoy.lb) followed by the body as streamed chunks, or an
// immediate response. The request waits (StopIterationAndBuffer) until the answer is complete, a deadline
// passes, or the stream fails; then the pool's failure mode decides. A request without a body is sent as
// request_headers with end of stream, and only the headers reply is awaited (the EPP picks a random pod).
//
// After the request continues, the stream stays open for the response phase: the EPP is told the response
// headers (with the served endpoint in metadata_context) and body, without the client waiting on it.

import {
  Arena, BufferType, GrpcStatus, GrpcStream, GrpcStreamHandler, MapType, Pair, StreamType, clearRouteCache,
  continueStream, getBufferLength, getCurrentTimeNanoseconds, getHeaderMapPairsBytes, getStatus, logDebug,
  logWarn, readBufferBytes, requestHeaders, sendLocalResponseString, setBufferBytesUnsafe, setEffectiveContext,
} from "../proxy-wasm";
import { readBody } from "./body-read";
import { Piece } from "./byte-buffer";
import { DESTINATION_ENDPOINT_HEADER, PoolConfig } from "./plugin-config";
import { errorJson, CONTENT_TYPE_JSON } from "./errors";
import { LogThrottle } from "./log-throttle";
import { METRICS, microsSince } from "./host-ports";
import { EppOutcome } from "./telemetry/metrics";
import {
  BODY_MODE_BUFFERED, BODY_MODE_FULL_DUPLEX_STREAMED, BODY_MODE_NONE, PHASE_REQUEST, PHASE_RESPONSE,
  ProcessingRequestEncoder,
} from "./extproc/request";
import {
  ADD_IF_ABSENT, APPEND_IF_EXISTS_OR_ADD, BODY_MUTATION_CLEAR, BODY_MUTATION_REPLACE, BODY_MUTATION_STREAMED,
  HEADER_MODE_SKIP, HeaderMutationView, OVERWRITE_IF_EXISTS, ProcessingResponse, ProcessingResponseDecoder, RESP_IMMEDIATE,
  RESP_REQUEST_BODY, RESP_REQUEST_HEADERS, viewToString,
} from "./extproc/response";



/** The chunk size the GIE EPP itself uses for streamed bodies. */
export const EPP_CHUNK_BYTES: i32 = 62000;

// One encoder and decoder per VM: a VM runs one callback at a time and nothing keeps their bytes.
const encoder = new ProcessingRequestEncoder(4096);
const decoder = new ProcessingResponseDecoder();
const message = new ProcessingResponse();
/** The EPP's messages, read without a fresh block each (valid for one callback). */
const received = new Arena();
/** A chunk that spans pieces of an edited body, gathered for one message. */
const gathered = new Arena();

enum Phase {
  /** Waiting for the headers reply. */
  AwaitHeaders,
  /** Headers reply applied; waiting for the body reply (chunks until end of stream). */
  AwaitBody,
  /** The request went on; the stream carries the response phase, answers are ignored. */
  Response,
  /** Nothing more to do with the stream. */
  Done,
}

/** Streams whose answer is awaited, checked against their deadline on the root's tick. */
const waiting = new Array<EppExchange>();
const TICK_MS: u32 = 20;

/** Failed exchanges are warned about once per pool and cause per period, with the count of the rest. */
const failures = new LogThrottle(5_000_000_000);

/**
 * Called from the root context's on_tick: fails the exchanges whose EPP took too long, and logs the
 * counts of throttled failure warnings whose period is over.
 */
export function expireEppExchanges(): void {
  const now = getCurrentTimeNanoseconds();
  for (let i = waiting.length - 1; i >= 0; i--) {
    const x = unchecked(waiting[i]);
    if (x.deadlineNs > now) continue;
    // on_tick runs on the root context: the reply or continue must act on the request's own stream.
    setEffectiveContext(x.contextId);
    x.fail(EppOutcome.TIMEOUT, "no answer from the endpoint picker within " + x.pool.timeoutMs.toString() + "ms");
  }
  if (failures.pending) {
    const lines = failures.flush(now);
    for (let i = 0; i < lines.length; i++) logWarn(unchecked(lines[i]));
  }
}

/** Whether a tick is needed: exchanges wait, or throttled warnings wait to be counted out. */
export function eppNeedsTick(): bool {
  return waiting.length > 0 || failures.pending;
}

/** What an exchange needs from the HTTP context that owns it. */
export interface EppOwner {
  openEppStream(pool: PoolConfig, handler: GrpcStreamHandler): GrpcStream | null;
  /** Arms the root's tick so deadlines are checked. */
  armTick(periodMs: u32): void;
  /** The EPP changed the request body, now `length` bytes in the request's body buffer. */
  bodyReplaced(length: u32): void;
  /** The request is about to go upstream (picked, or FailOpen): where its GenAI durations start. */
  upstreamStarting(): void;
}

export class EppExchange implements GrpcStreamHandler {
  private stream: GrpcStream | null = null;
  private phase: Phase = Phase.AwaitHeaders;
  /** The body the EPP sends back, checked against the request's as it arrives (ReturnedBody). */
  private returned: ReturnedBody = new ReturnedBody();
  /** The endpoint the request was sent to, reported back as the served endpoint. */
  destination: string = "";
  /** What the response phase sends; a mode_override in the headers reply may turn either off. */
  private sendsResponseHeaders: bool = true;
  private sendsResponseBody: bool = true;
  /** The request had no body: request_headers carried end of stream, and no body reply comes. */
  private bodiless: bool = false;
  deadlineNs: u64 = 0;
  /** When the exchange began, for the callout metrics. */
  private startNs: u64 = 0;

  constructor(
    private owner: EppOwner,
    public pool: PoolConfig,
    /** The owning stream's context (AssemblyScript interfaces cannot expose an inherited field). */
    public contextId: u32,
  ) {}

  /**
   * Opens the stream and sends the request: its headers and the body `total` bytes long, given as
   * `pieces` in order (`bodiless`: the headers alone, with end of stream); false when the stream could
   * not be opened. `maxBodyBytes` bounds the body the EPP may send back.
   */
  start(pieces: Array<Piece>, total: usize, bodiless: bool, maxBodyBytes: i64): bool {
    this.startNs = getCurrentTimeNanoseconds();
    const stream = this.owner.openEppStream(this.pool, this);
    if (stream == null) return false;
    this.stream = stream;
    this.bodiless = bodiless;
    const duplex = this.pool.bodyMode != "buffered";

    encoder.start();
    encoder.beginHeaders(PHASE_REQUEST);
    const pairs = getHeaderMapPairsBytes(MapType.HttpRequestHeaders);
    if (pairs != null) encoder.headersFromPairs(changetype<usize>(pairs), pairs.byteLength);
    encoder.endHeaders(bodiless);
    encoder.protocolConfig(duplex ? BODY_MODE_FULL_DUPLEX_STREAMED : BODY_MODE_BUFFERED, BODY_MODE_NONE);
    stream.sendUnsafe(encoder.dataStart, <usize>encoder.length, false);

    if (!bodiless) {
      const chunk = duplex ? <usize>EPP_CHUNK_BYTES : total;
      let sent: usize = 0;
      do {
        const n = min(chunk, total - sent);
        encoder.start();
        encoder.body(PHASE_REQUEST, gather(pieces, sent, n), <i32>n, sent + n == total);
        stream.sendUnsafe(encoder.dataStart, <usize>encoder.length, false);
        sent += n;
      } while (sent < total);
    }
    this.returned.limit = maxBodyBytes;

    this.deadlineNs = getCurrentTimeNanoseconds() + <u64>this.pool.timeoutMs * 1_000_000;
    waiting.push(this);
    this.owner.armTick(TICK_MS);
    return true;
  }

  /** The stream could not be opened: apply the failure mode now; true when the request may continue. */
  failedBeforeStart(): bool {
    this.ended(EppOutcome.UNAVAILABLE);
    return this.applyFailureMode("cannot open a stream to cluster " + this.pool.eppCluster);
  }

  onInitialMetadata(token: u32, numHeaders: u32): void {}

  onMessage(token: u32, size: u32): void {
    if (this.phase >= Phase.Response) return;
    const n = readBufferBytes(BufferType.GrpcReceiveBuffer, 0, size, received);
    if (n < 0 || !decoder.decode(received.ptr, <i32>n, message)) {
      this.fail(EppOutcome.BAD_ANSWER, "undecodable answer: " + message.errorMessage());
      return;
    }
    if (message.kind == RESP_IMMEDIATE) {
      this.relayImmediate();
      return;
    }
    if (this.phase == Phase.AwaitHeaders) {
      if (message.kind != RESP_REQUEST_HEADERS) {
        this.fail(EppOutcome.BAD_ANSWER, "expected a request_headers reply, got message kind " + message.kind.toString());
        return;
      }
      applyHeaderMutation(message.common.headers);
      if (message.hasModeOverride) this.overrideMode();
      let destination = requestHeaders.get(DESTINATION_ENDPOINT_HEADER);
      if (destination == null && message.hasDestination) {
        destination = viewToString(message.primaryPtr, message.primaryLen);
        requestHeaders.replace(DESTINATION_ENDPOINT_HEADER, destination);
      }
      if (destination == null || destination.length == 0) {
        this.fail(EppOutcome.NO_DESTINATION, "the answer names no destination endpoint");
        return;
      }
      this.destination = firstEndpoint(destination);
      if (this.bodiless) this.proceed();
      else this.phase = Phase.AwaitBody;
      return;
    }
    if (message.kind != RESP_REQUEST_BODY) {
      this.fail(EppOutcome.BAD_ANSWER, "expected a request_body reply, got message kind " + message.kind.toString());
      return;
    }
    const common = message.common;
    applyHeaderMutation(common.headers);
    if (common.bodyMutation == BODY_MUTATION_STREAMED || common.bodyMutation == BODY_MUTATION_REPLACE ||
      common.bodyMutation == BODY_MUTATION_CLEAR) {
      if (common.bodyMutation != BODY_MUTATION_STREAMED) this.returned.restart();
      if (!this.returned.take(common.bodyPtr, <usize>common.bodyLen)) {
        this.fail(EppOutcome.BAD_ANSWER, "the body it sent back is larger than the request body limit");
        return;
      }
      if (common.bodyMutation == BODY_MUTATION_STREAMED && !common.streamedEndOfStream) return;
    }
    this.proceed();
  }

  onTrailingMetadata(token: u32, numTrailers: u32): void {}

  onClose(token: u32, status: GrpcStatus): void {
    this.stream = null;
    if (this.phase < Phase.Response) {
      const s = getStatus();
      this.fail(EppOutcome.STREAM_CLOSED, "stream closed with grpc-status " + (<i32>status).toString() + (s.message.length > 0 ? ": " + s.message : ""));
    }
    this.phase = Phase.Done;
  }

  /** Whether the response phase still reports to the EPP (the request went on and the stream is open). */
  get reporting(): bool {
    return this.stream != null && this.phase == Phase.Response;
  }

  /** Response phase: tells the EPP what came back; it answers, and the answers are not awaited. */
  sendResponseHeaders(): void {
    const stream = this.stream;
    if (stream == null || this.phase != Phase.Response) return;
    if (!this.sendsResponseHeaders) {
      if (!this.sendsResponseBody) this.finish();
      return;
    }
    encoder.start();
    encoder.beginHeaders(PHASE_RESPONSE);
    const pairs = getHeaderMapPairsBytes(MapType.HttpResponseHeaders);
    if (pairs != null) encoder.headersFromPairs(changetype<usize>(pairs), pairs.byteLength);
    encoder.endHeaders(false);
    encoder.metadataContext(this.destination, null);
    stream.sendUnsafe(encoder.dataStart, <usize>encoder.length, false);
  }

  sendResponseBody(ptr: usize, len: usize, endOfStream: bool): void {
    const stream = this.stream;
    if (stream == null || this.phase != Phase.Response) return;
    if (!this.sendsResponseBody) {
      if (endOfStream) this.finish();
      return;
    }
    let sent: usize = 0;
    do {
      const n = min(<usize>EPP_CHUNK_BYTES, len - sent);
      const last = endOfStream && sent + n == len;
      encoder.start();
      encoder.body(PHASE_RESPONSE, ptr + sent, <i32>n, last);
      encoder.metadataContext(this.destination, null);
      stream.sendUnsafe(encoder.dataStart, <usize>encoder.length, false);
      sent += n;
    } while (sent < len);
    if (endOfStream) this.finish();
  }

  /**
   * mode_override in the request_headers reply, as Envoy's ext_proc applies it: only when the pool allows it
   * (annotation aigateway.envoyproxy.io/allow-mode-override), replacing the whole mode. The request body has
   * already gone out by then, so what it can change is the response phase: headers SKIP, body NONE.
   */
  private overrideMode(): void {
    if (!this.pool.allowModeOverride) {
      logDebug("endpoint picker for pool " + this.pool.name + " sent mode_override; ignored (allow-mode-override is off)");
      return;
    }
    const mode = message.modeOverride;
    this.sendsResponseHeaders = mode.responseHeaderMode != HEADER_MODE_SKIP;
    this.sendsResponseBody = mode.responseBodyMode != BODY_MODE_NONE;
  }

  /** The request's stream is being deleted: nothing may outlive it. */
  abandon(): void {
    this.unwait();
    const stream = this.stream;
    if (stream != null) stream.cancel();
    this.stream = null;
    this.phase = Phase.Done;
  }

  /** Ends the exchange after a failure (`cause`: an EppOutcome), applying the pool's failure mode. */
  fail(cause: string, reason: string): void {
    if (this.phase >= Phase.Response) return;
    this.ended(cause);
    this.unwait();
    const stream = this.stream;
    this.stream = null;
    this.phase = Phase.Done;
    if (stream != null) stream.cancel();
    if (this.applyFailureMode(reason)) continueStream(StreamType.Request);
  }

  private finish(): void {
    const stream = this.stream;
    this.stream = null;
    this.phase = Phase.Done;
    if (stream != null) stream.close();
  }

  /** FailOpen: the request goes on to a pool endpoint the gateway picks; FailClose: 503. */
  private applyFailureMode(reason: string): bool {
    const failOpen = this.pool.failureMode == "FailOpen";
    // The cause is the reason up to its first ':' (what follows is detail, e.g. a status message).
    const colon = reason.indexOf(":");
    const line = failures.admit(this.pool.name + "\n" + (colon < 0 ? reason : reason.substring(0, colon)),
      "endpoint picker for pool " + this.pool.name + " failed (" + reason + "); " +
        (failOpen ? "FailOpen: the gateway picks an endpoint" : "FailClose: 503"),
      getCurrentTimeNanoseconds());
    if (line.length > 0) logWarn(line);
    if (failures.pending) this.owner.armTick(TICK_MS);
    if (failOpen) {
      requestHeaders.remove(DESTINATION_ENDPOINT_HEADER);
      clearRouteCache();
      this.owner.upstreamStarting();
      return true;
    }
    sendLocalResponseString(503, "endpoint_picker_failed",
      errorJson("ServiceUnavailable", "503", "the endpoint picker for InferencePool " + this.pool.name + " failed: " + reason),
      [new Pair("content-type", CONTENT_TYPE_JSON)]);
    return false;
  }

  private relayImmediate(): void {
    const im = message.immediate;
    this.ended(EppOutcome.IMMEDIATE);
    this.unwait();
    const stream = this.stream;
    this.stream = null;
    this.phase = Phase.Done;
    if (stream != null) stream.close();
    const status = im.statusCode >= 200 && im.statusCode < 600 ? im.statusCode : 500;
    const headers = new Array<Pair>();
    const h = im.headers;
    let typed = false;
    for (let i = 0; i < h.setCount; i++) {
      const key = h.setKey(i).toLowerCase();
      if (key == "content-type") typed = true;
      headers.push(new Pair(key, h.setValue(i)));
    }
    if (!typed) headers.push(new Pair("content-type", "text/plain"));
    logDebug("endpoint picker answered " + status.toString() + " for pool " + this.pool.name);
    sendLocalResponseString(<u32>status, "endpoint_picker_immediate_response", im.bodyString(), headers, im.grpcStatus);
  }

  private proceed(): void {
    const length = this.returned.apply();
    this.ended(EppOutcome.PICKED);
    this.unwait();
    if (length >= 0) {
      requestHeaders.replace("content-length", length.toString());
      this.owner.bodyReplaced(<u32>length);
    }
    this.phase = Phase.Response;
    clearRouteCache();
    this.owner.upstreamStarting();
    continueStream(StreamType.Request);
  }

  /** Counts and times the exchange by its outcome (once: every caller ends the request phase). */
  private ended(outcome: string): void {
    METRICS.recordEppCallout(this.pool.name, outcome, microsSince(this.startNs));
  }

  /** Out of the deadline list, with nothing kept of the returned body. */
  private unwait(): void {
    this.returned.release();
    const i = waiting.indexOf(this);
    if (i >= 0) {
      unchecked((waiting[i] = waiting[waiting.length - 1]));
      waiting.pop();
    }
  }
}

/** "ip:port[,ip:port...]" → the primary entry. */
function firstEndpoint(list: string): string {
  const comma = list.indexOf(",");
  return (comma < 0 ? list : list.substring(0, comma)).trim();
}

/** Applies an ext_proc HeaderMutation to the request headers as Envoy's ext_proc filter does. */
function applyHeaderMutation(m: HeaderMutationView): void {
  for (let i = 0; i < m.setCount; i++) {
    const key = m.setKey(i).toLowerCase();
    // Envoy ignores mutations of these (data-plane-api HeaderMutation comment).
    if (key == ":method" || key == ":authority" || key == ":scheme" || key == "host" || key.startsWith("x-envoy-")) continue;
    const value = m.setValue(i);
    const action = unchecked(m.setAction[i]);
    const present = requestHeaders.get(key) != null;
    if (action == APPEND_IF_EXISTS_OR_ADD) requestHeaders.add(key, value);
    else if (action == ADD_IF_ABSENT) { if (!present) requestHeaders.add(key, value); }
    else if (action == OVERWRITE_IF_EXISTS) { if (present) requestHeaders.replace(key, value); }
    else requestHeaders.replace(key, value);
  }
  for (let i = 0; i < m.removeCount; i++) {
    const key = m.removeKey(i).toLowerCase();
    if (key.startsWith(":") || key == "host") continue;
    requestHeaders.remove(key);
  }
}

/** The logical bytes [from, from + n) of `pieces`: in place when one piece holds them, else gathered. */
function gather(pieces: Array<Piece>, from: usize, n: usize): usize {
  let at: usize = 0;
  let i = 0;
  while (i < pieces.length && at + unchecked(pieces[i]).len <= from) at += unchecked(pieces[i++]).len;
  if (i == pieces.length) return 0; // n == 0 past the end: an empty chunk
  const first = unchecked(pieces[i]);
  if (from - at + n <= first.len) return first.ptr + (from - at);
  const out = gathered.reserve(n);
  let o: usize = 0;
  let skip = from - at;
  for (; i < pieces.length && o < n; i++) {
    const p = unchecked(pieces[i]);
    const k = min(p.len - skip, n - o);
    memory.copy(out + o, p.ptr + skip, k);
    o += k;
    skip = 0;
  }
  return out;
}

/**
 * The body an EPP sends back, which is almost always the request's own bytes (the inference extension's
 * EPP echoes them unless it rewrites the model). Each chunk is compared with the request body Envoy
 * holds; only from the first differing byte on is anything kept, so an echo costs no memory and leaves
 * the body untouched, and a rewrite keeps only the changed tail.
 */
class ReturnedBody {
  /** Whether the EPP sent a body mutation at all (none: the request body stays as it is). */
  private mutated: bool = false;
  /** Bytes of the returned body seen so far. */
  private offset: usize = 0;
  /** The first byte that differs from the request body, or -1 while they agree. */
  private divergedAt: i64 = -1;
  private tail: Arena = new Arena();
  private tailLength: usize = 0;
  limit: i64 = 0;

  /** A replacement (not a stream chunk) starts the returned body over. */
  restart(): void {
    this.offset = 0;
    this.divergedAt = -1;
    this.tailLength = 0;
  }

  /** The next `len` bytes at `ptr`; false once the body exceeds the limit. */
  take(ptr: usize, len: usize): bool {
    this.mutated = true;
    if (<i64>(this.offset + len) > this.limit) {
      this.tail.release();
      return false;
    }
    // Bytes of this chunk that agree with the request body: none once the two have diverged.
    let same: usize = 0;
    if (this.divergedAt < 0 && len > 0) {
      const original = readBody(BufferType.HttpRequestBody, <u32>this.offset, <u32>len);
      const n = min(original.len, len);
      while (same < n && load<u8>(original.ptr + same) == load<u8>(ptr + same)) same++;
      if (same < len) this.divergedAt = <i64>(this.offset + same);
    }
    if (same < len) {
      const rest = len - same;
      const at = this.tail.grow(this.tailLength + rest, this.tailLength);
      memory.copy(at + this.tailLength, ptr + same, rest);
      this.tailLength += rest;
    }
    this.offset += len;
    return true;
  }

  /**
   * Makes the request body what the EPP sent: nothing to do for an echo; otherwise the agreeing prefix
   * stays and the tail is written after it. Returns the new length, or -1 when the body is unchanged.
   */
  apply(): i64 {
    if (!this.mutated) return -1;
    const current = <usize>getBufferLength(BufferType.HttpRequestBody);
    const keep: usize = this.divergedAt >= 0 ? <usize>this.divergedAt : this.offset;
    if (this.divergedAt < 0 && keep == current) return -1;
    // Envoy's set_buffer_bytes can only drain from the front and prepend: the kept prefix is read out,
    // the buffer replaced by the tail, and the prefix put back in front.
    const prefix = readBody(BufferType.HttpRequestBody, 0, <u32>keep);
    setBufferBytesUnsafe(BufferType.HttpRequestBody, 0, <u32>current, this.tail.ptr, this.tailLength);
    if (prefix.len > 0) setBufferBytesUnsafe(BufferType.HttpRequestBody, 0, 0, prefix.ptr, prefix.len);
    const length = <i64>(keep + this.tailLength);
    this.tail.release();
    this.tailLength = 0;
    return length;
  }

  release(): void {
    this.tail.release();
  }
}
