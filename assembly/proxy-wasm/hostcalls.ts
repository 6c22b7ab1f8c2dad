// Typed wrappers over the host functions of imports.ts.
//
// Conventions: a wrapper that only acts returns the host's WasmResult. A wrapper that returns a value
// returns it directly (null, 0 or a given fallback when the host did not answer Ok) and records the
// host's answer for lastResult(). Strings cross the ABI as UTF-8; arguments are encoded into reused
// scratch buffers, and returned bytes are adopted from the host's malloc'd block without a copy.

import * as imp from "./imports";
import {
  OUT_PTR, OUT_SIZE, OUT_EXTRA, OUT_EXTRA_SIZE, OUT_U64,
  SCRATCH_A, SCRATCH_B, SCRATCH_C, SCRATCH_PAIRS, SCRATCH_PAIRS_2,
  Arena, adopt, endRedirect, redirectNextAllocation, takeReturned, adoptString, bufPtr, bufLen,
} from "./memory";
import { Pair, decodePairs, encodePairsInto } from "./pairs";
import { WasmResult, LogLevel, BufferType, MapType, StreamType, MetricType, GrpcStatus } from "./types";

let last: WasmResult = WasmResult.Ok;

/** The host's answer to the most recent value-returning wrapper. */
export function lastResult(): WasmResult {
  return last;
}

// @ts-ignore: decorator
@inline
function ret(r: i32): WasmResult {
  last = <WasmResult>r;
  return <WasmResult>r;
}

// ---------------------------------------------------------------------------------------------------
// Logging, time, status, ticks

export function log(level: LogLevel, message: string): WasmResult {
  const n = SCRATCH_A.utf8(message);
  return ret(imp.proxy_log(level, SCRATCH_A.ptr, n));
}

/** Logs UTF-8 bytes as they are (no string conversion). */
export function logBytes(level: LogLevel, ptr: usize, size: usize): WasmResult {
  return ret(imp.proxy_log(level, ptr, size));
}

export function logTrace(message: string): void { log(LogLevel.Trace, message); }
export function logDebug(message: string): void { log(LogLevel.Debug, message); }
export function logInfo(message: string): void { log(LogLevel.Info, message); }
export function logWarn(message: string): void { log(LogLevel.Warn, message); }
export function logError(message: string): void { log(LogLevel.Error, message); }
export function logCritical(message: string): void { log(LogLevel.Critical, message); }

/** The host's current log level (Trace when the host does not answer). */
export function getLogLevel(): LogLevel {
  store<u32>(OUT_PTR, 0);
  ret(imp.proxy_get_log_level(OUT_PTR));
  return <LogLevel>load<u32>(OUT_PTR);
}

/** Wall-clock time in nanoseconds since the epoch. */
export function getCurrentTimeNanoseconds(): u64 {
  store<u64>(OUT_U64, 0);
  ret(imp.proxy_get_current_time_nanoseconds(OUT_U64));
  return load<u64>(OUT_U64);
}

/** Arms (or with 0 disarms) the tick timer of the calling context's root context. */
export function setTickPeriodMilliseconds(periodMs: u32): WasmResult {
  return ret(imp.proxy_set_tick_period_milliseconds(periodMs));
}

/** Status of the last HTTP-call failure or gRPC close, read from the root context. */
export class HostStatus {
  constructor(public code: u32, public message: string) {}
}

export function getStatus(): HostStatus {
  store<u32>(OUT_PTR, 0);
  store<u32>(OUT_EXTRA, 0);
  store<u32>(OUT_EXTRA_SIZE, 0);
  ret(imp.proxy_get_status(OUT_PTR, OUT_EXTRA, OUT_EXTRA_SIZE));
  const code = load<u32>(OUT_PTR);
  return new HostStatus(code, adoptString(load<u32>(OUT_EXTRA), load<u32>(OUT_EXTRA_SIZE)));
}

/** Makes later host calls in this callback act on `contextId`. */
export function setEffectiveContext(contextId: u32): WasmResult {
  return ret(imp.proxy_set_effective_context(contextId));
}

/** Completes a root context shutdown that onDone() deferred by returning false. */
export function proxyDone(): WasmResult {
  return ret(imp.proxy_done());
}

// ---------------------------------------------------------------------------------------------------
// Properties. A path is a list of components, sent joined by NUL (no trailing NUL).

function encodePath(path: Array<string>): usize {
  let size: usize = 0;
  const n = path.length;
  for (let i = 0; i < n; i++) size += <usize>String.UTF8.byteLength(unchecked(path[i])) + 1;
  if (size > 0) size -= 1;
  let p = SCRATCH_PAIRS.reserve(size);
  for (let i = 0; i < n; i++) {
    const c = unchecked(path[i]);
    if (i > 0) store<u8>(p++, 0);
    p += String.UTF8.encodeUnsafe(changetype<usize>(c), c.length, p);
  }
  return size;
}

/** Raw property value, or null (NotFound, SerializationFailure: see lastResult()). */
export function getProperty(path: Array<string>): ArrayBuffer | null {
  const n = encodePath(path);
  store<u32>(OUT_PTR, 0);
  store<u32>(OUT_SIZE, 0);
  if (ret(imp.proxy_get_property(SCRATCH_PAIRS.ptr, n, OUT_PTR, OUT_SIZE)) != WasmResult.Ok) return null;
  return takeReturned();
}

/** A string or bytes property as a string, or null. */
export function getPropertyString(path: Array<string>): string | null {
  const v = getProperty(path);
  return v === null ? null : String.UTF8.decode(v);
}

// Numbers arrive as 8 bytes little-endian; a value of another size is reported as ParseFailure.
function eightBytes(path: Array<string>): ArrayBuffer | null {
  const v = getProperty(path);
  if (v === null) return null;
  if (v.byteLength != 8) {
    last = WasmResult.ParseFailure;
    return null;
  }
  return v;
}

/** An int64 property (also timestamps and durations, in ns), or `fallback`. */
export function getPropertyI64(path: Array<string>, fallback: i64 = 0): i64 {
  const v = eightBytes(path);
  return v === null ? fallback : load<i64>(changetype<usize>(v));
}

/** A uint64 property, or `fallback`. */
export function getPropertyU64(path: Array<string>, fallback: u64 = 0): u64 {
  const v = eightBytes(path);
  return v === null ? fallback : load<u64>(changetype<usize>(v));
}

/** A double property, or `fallback`. */
export function getPropertyF64(path: Array<string>, fallback: f64 = 0): f64 {
  const v = eightBytes(path);
  return v === null ? fallback : load<f64>(changetype<usize>(v));
}

/** A bool property (one byte), or `fallback`. */
export function getPropertyBool(path: Array<string>, fallback: bool = false): bool {
  const v = getProperty(path);
  if (v === null) return fallback;
  if (v.byteLength != 1) {
    last = WasmResult.ParseFailure;
    return fallback;
  }
  return load<u8>(changetype<usize>(v)) != 0;
}

/** A map property (serialized as pairs), or null. */
export function getPropertyMap(path: Array<string>): Array<Pair> | null {
  const v = getProperty(path);
  if (v === null) return null;
  const pairs = decodePairs(v);
  if (pairs === null) last = WasmResult.ParseFailure;
  return pairs;
}

/** A list property (serialized as pairs with empty values), or null. */
export function getPropertyList(path: Array<string>): Array<string> | null {
  const pairs = getPropertyMap(path);
  if (pairs === null) return null;
  const out = new Array<string>(pairs.length);
  for (let i = 0, n = pairs.length; i < n; i++) unchecked((out[i] = unchecked(pairs[i]).key));
  return out;
}

/** Stores `value` as filter state `wasm.<path>`; use a single path component. */
export function setProperty(path: Array<string>, value: ArrayBuffer): WasmResult {
  const n = encodePath(path);
  return ret(imp.proxy_set_property(SCRATCH_PAIRS.ptr, n, changetype<usize>(value), <usize>value.byteLength));
}

export function setPropertyString(path: Array<string>, value: string): WasmResult {
  const n = encodePath(path);
  const vn = SCRATCH_A.utf8(value);
  return ret(imp.proxy_set_property(SCRATCH_PAIRS.ptr, n, SCRATCH_A.ptr, vn));
}

// ---------------------------------------------------------------------------------------------------
// Header maps (request/response headers and trailers, gRPC metadata, HTTP-call response maps)

/** First value of `key` (host lower-cases it), or null (NotFound, or BadArgument when the map is unavailable). */
export function getHeaderMapValue(map: MapType, key: string): string | null {
  const v = getHeaderMapValueBytes(map, key);
  return v === null ? null : String.UTF8.decode(v);
}

export function getHeaderMapValueBytes(map: MapType, key: string): ArrayBuffer | null {
  const kn = SCRATCH_A.utf8(key);
  store<u32>(OUT_PTR, 0);
  store<u32>(OUT_SIZE, 0);
  if (ret(imp.proxy_get_header_map_value(map, SCRATCH_A.ptr, kn, OUT_PTR, OUT_SIZE)) != WasmResult.Ok) return null;
  return takeReturned();
}

/** The whole map as serialized pairs (empty when the map is missing), or null on a host error. */
export function getHeaderMapPairsBytes(map: MapType): ArrayBuffer | null {
  store<u32>(OUT_PTR, 0);
  store<u32>(OUT_SIZE, 0);
  if (ret(imp.proxy_get_header_map_pairs(map, OUT_PTR, OUT_SIZE)) != WasmResult.Ok) return null;
  return takeReturned();
}

/** The whole map, in order; empty on a host error (see lastResult()) or malformed data (ParseFailure). */
export function getHeaderMapPairs(map: MapType): Array<Pair> {
  const raw = getHeaderMapPairsBytes(map);
  if (raw === null) return [];
  const pairs = decodePairs(raw);
  if (pairs === null) {
    last = WasmResult.ParseFailure;
    return [];
  }
  return pairs;
}

/** Replaces the whole map with `pairs`. */
export function setHeaderMapPairs(map: MapType, pairs: Array<Pair>): WasmResult {
  const n = encodePairsInto(pairs, SCRATCH_PAIRS);
  return ret(imp.proxy_set_header_map_pairs(map, SCRATCH_PAIRS.ptr, n));
}

/** Appends an entry (an existing value of `key` is kept). */
export function addHeaderMapValue(map: MapType, key: string, value: string): WasmResult {
  const kn = SCRATCH_A.utf8(key);
  const vn = SCRATCH_B.utf8(value);
  return ret(imp.proxy_add_header_map_value(map, SCRATCH_A.ptr, kn, SCRATCH_B.ptr, vn));
}

/** Sets `key` to `value`, adding it when missing. */
export function replaceHeaderMapValue(map: MapType, key: string, value: string): WasmResult {
  const kn = SCRATCH_A.utf8(key);
  const vn = SCRATCH_B.utf8(value);
  return ret(imp.proxy_replace_header_map_value(map, SCRATCH_A.ptr, kn, SCRATCH_B.ptr, vn));
}

/** Sets `key` to raw value bytes (ptr, size) from the caller's memory. */
export function replaceHeaderMapValueBytes(map: MapType, key: string, valuePtr: usize, valueSize: usize): WasmResult {
  const kn = SCRATCH_A.utf8(key);
  return ret(imp.proxy_replace_header_map_value(map, SCRATCH_A.ptr, kn, valuePtr, valueSize));
}

/** Removes every value of `key` (Ok when absent). */
export function removeHeaderMapValue(map: MapType, key: string): WasmResult {
  const kn = SCRATCH_A.utf8(key);
  return ret(imp.proxy_remove_header_map_value(map, SCRATCH_A.ptr, kn));
}

/** Envoy answers the map's byte size, not its entry count. */
export function getHeaderMapSize(map: MapType): u32 {
  store<u32>(OUT_PTR, 0);
  ret(imp.proxy_get_header_map_size(map, OUT_PTR));
  return load<u32>(OUT_PTR);
}

/** One header map, for `requestHeaders.get(":path")` style access. */
export class HeaderMap {
  constructor(public readonly type: MapType) {}
  get(key: string): string | null { return getHeaderMapValue(this.type, key); }
  getBytes(key: string): ArrayBuffer | null { return getHeaderMapValueBytes(this.type, key); }
  getAll(): Array<Pair> { return getHeaderMapPairs(this.type); }
  setAll(pairs: Array<Pair>): WasmResult { return setHeaderMapPairs(this.type, pairs); }
  add(key: string, value: string): WasmResult { return addHeaderMapValue(this.type, key, value); }
  replace(key: string, value: string): WasmResult { return replaceHeaderMapValue(this.type, key, value); }
  remove(key: string): WasmResult { return removeHeaderMapValue(this.type, key); }
  byteSize(): u32 { return getHeaderMapSize(this.type); }
}

export const requestHeaders = new HeaderMap(MapType.HttpRequestHeaders);
export const requestTrailers = new HeaderMap(MapType.HttpRequestTrailers);
export const responseHeaders = new HeaderMap(MapType.HttpResponseHeaders);
export const responseTrailers = new HeaderMap(MapType.HttpResponseTrailers);
export const grpcInitialMetadata = new HeaderMap(MapType.GrpcReceiveInitialMetadata);
export const grpcTrailingMetadata = new HeaderMap(MapType.GrpcReceiveTrailingMetadata);
export const httpCallResponseHeaders = new HeaderMap(MapType.HttpCallResponseHeaders);
export const httpCallResponseTrailers = new HeaderMap(MapType.HttpCallResponseTrailers);

// ---------------------------------------------------------------------------------------------------
// Buffers (bodies, callout responses, gRPC messages, configuration, foreign-function arguments)

/** Up to `maxSize` bytes from `start` (clamped by the host), or null (NotFound: no such buffer). */
export function getBufferBytes(type: BufferType, start: u32, maxSize: u32): ArrayBuffer | null {
  store<u32>(OUT_PTR, 0);
  store<u32>(OUT_SIZE, 0);
  if (ret(imp.proxy_get_buffer_bytes(type, start, maxSize, OUT_PTR, OUT_SIZE)) != WasmResult.Ok) return null;
  return takeReturned();
}

/**
 * Reads up to `maxSize` bytes from `start` into `into` (made large enough first), with no allocation: the
 * host writes straight into the arena. Returns how many bytes were read, or -1 (NotFound: no such buffer).
 * The bytes stay valid until the arena is next used.
 */
export function readBufferBytes(type: BufferType, start: u32, maxSize: u32, into: Arena): i64 {
  if (maxSize == 0) return 0;
  into.reserve(<usize>maxSize);
  store<u32>(OUT_PTR, 0);
  store<u32>(OUT_SIZE, 0);
  redirectNextAllocation(into);
  const result = ret(imp.proxy_get_buffer_bytes(type, start, maxSize, OUT_PTR, OUT_SIZE));
  endRedirect();
  if (result != WasmResult.Ok) return -1;
  const ptr = <usize>load<u32>(OUT_PTR);
  const size = <usize>load<u32>(OUT_SIZE);
  if (ptr != 0 && ptr != into.ptr) {
    // The host asked for more than the range it was given: it got a managed block; copy it over.
    const block = adopt(ptr, size);
    memory.copy(into.reserve(<usize>block.byteLength), changetype<usize>(block), <usize>block.byteLength);
    return block.byteLength;
  }
  return <i64>size;
}

/** Current length of a buffer (0 and lastResult() NotFound when it does not exist). */
export function getBufferLength(type: BufferType): u32 {
  store<u32>(OUT_PTR, 0);
  store<u32>(OUT_SIZE, 0);
  ret(imp.proxy_get_buffer_status(type, OUT_PTR, OUT_SIZE));
  return load<u32>(OUT_PTR);
}

/** The whole buffer (length from the host), or null. */
export function getBuffer(type: BufferType): ArrayBuffer | null {
  const n = getBufferLength(type);
  if (last != WasmResult.Ok) return null;
  return getBufferBytes(type, 0, n);
}

/**
 * Envoy's rule for body buffers: start == 0 drains `length` bytes then prepends the data, so (0, 0)
 * prepends and (0, current length) replaces; start >= current length appends; anything else is BadArgument.
 */
export function setBufferBytes(type: BufferType, start: u32, length: u32, data: ArrayBuffer): WasmResult {
  return ret(imp.proxy_set_buffer_bytes(type, start, length, changetype<usize>(data), <usize>data.byteLength));
}

/** setBufferBytes with data (ptr, size) taken from the caller's memory as it is. */
export function setBufferBytesUnsafe(type: BufferType, start: u32, length: u32, dataPtr: usize, dataSize: usize): WasmResult {
  return ret(imp.proxy_set_buffer_bytes(type, start, length, dataPtr, dataSize));
}

/** Replaces the whole buffer with `data`. */
export function replaceBuffer(type: BufferType, data: ArrayBuffer): WasmResult {
  const n = getBufferLength(type);
  if (last != WasmResult.Ok) return last;
  return setBufferBytes(type, 0, n, data);
}

export function prependBuffer(type: BufferType, data: ArrayBuffer): WasmResult {
  return setBufferBytes(type, 0, 0, data);
}

export function appendBuffer(type: BufferType, data: ArrayBuffer): WasmResult {
  const n = getBufferLength(type);
  if (last != WasmResult.Ok) return last;
  return setBufferBytes(type, n, 0, data);
}

// ---------------------------------------------------------------------------------------------------
// Stream control and local responses

/** Resumes a paused stream; Envoy runs it after the current callback returns. */
export function continueStream(stream: StreamType): WasmResult {
  return ret(imp.proxy_continue_stream(stream));
}

export function continueRequest(): WasmResult { return continueStream(StreamType.Request); }
export function continueResponse(): WasmResult { return continueStream(StreamType.Response); }

/** Resets the stream (response details `wasm_close_stream`); deferred like continueStream. */
export function closeStream(stream: StreamType): WasmResult {
  return ret(imp.proxy_close_stream(stream));
}

/**
 * Sends a local reply (deferred until the callback returns; the callback's return value becomes "stop").
 * `details` ends up as the response code details; a `grpcStatus` outside 0..16 sends no grpc-status.
 */
export function sendLocalResponse(
  statusCode: u32, details: string, body: ArrayBuffer | null, headers: Array<Pair> | null,
  grpcStatus: i32 = GrpcStatus.InvalidCode,
): WasmResult {
  const dn = SCRATCH_A.utf8(details);
  const hn = headers === null ? <usize>0 : encodePairsInto(headers, SCRATCH_PAIRS);
  return ret(imp.proxy_send_local_response(
    statusCode, SCRATCH_A.ptr, dn, bufPtr(body), bufLen(body), hn == 0 ? 0 : SCRATCH_PAIRS.ptr, hn, grpcStatus));
}

/** sendLocalResponse with a string body (sent as UTF-8). */
export function sendLocalResponseString(
  statusCode: u32, details: string, body: string, headers: Array<Pair> | null,
  grpcStatus: i32 = GrpcStatus.InvalidCode,
): WasmResult {
  const dn = SCRATCH_A.utf8(details);
  const bn = SCRATCH_B.utf8(body);
  const hn = headers === null ? <usize>0 : encodePairsInto(headers, SCRATCH_PAIRS);
  return ret(imp.proxy_send_local_response(
    statusCode, SCRATCH_A.ptr, dn, SCRATCH_B.ptr, bn, hn == 0 ? 0 : SCRATCH_PAIRS.ptr, hn, grpcStatus));
}

// ---------------------------------------------------------------------------------------------------
// Foreign functions

/** Calls a host-registered function; returns its result bytes (maybe empty) or null (NotFound, ...). */
export function callForeignFunction(name: string, args: ArrayBuffer | null): ArrayBuffer | null {
  const nn = SCRATCH_A.utf8(name);
  store<u32>(OUT_PTR, 0);
  store<u32>(OUT_SIZE, 0);
  if (ret(imp.proxy_call_foreign_function(SCRATCH_A.ptr, nn, bufPtr(args), bufLen(args), OUT_PTR, OUT_SIZE)) != WasmResult.Ok) {
    return null;
  }
  return takeReturned();
}

/** Makes Envoy re-resolve the route after header changes (Envoy >= 1.33 no longer does it on its own). */
export function clearRouteCache(): WasmResult {
  callForeignFunction("clear_route_cache", null);
  return last;
}

// ---------------------------------------------------------------------------------------------------
// Outbound calls, raw: they return the token (0 when the host refused; see lastResult()). The context
// classes wrap these to route the response callbacks to a handler.

/** HTTP call; `headers` must contain `:method`, `:path` and `:authority` (BadArgument otherwise). */
export function httpCallRaw(
  cluster: string, headers: Array<Pair>, body: ArrayBuffer | null, trailers: Array<Pair> | null, timeoutMs: u32,
): u32 {
  let method = false, path = false, authority = false;
  for (let i = 0, n = headers.length; i < n; i++) {
    const k = unchecked(headers[i]).key;
    if (k == ":method") method = true;
    else if (k == ":path") path = true;
    else if (k == ":authority") authority = true;
  }
  if (!(method && path && authority)) {
    last = WasmResult.BadArgument;
    return 0;
  }
  const cn = SCRATCH_A.utf8(cluster);
  const hn = encodePairsInto(headers, SCRATCH_PAIRS);
  const tn = trailers === null ? <usize>0 : encodePairsInto(trailers, SCRATCH_PAIRS_2);
  store<u32>(OUT_PTR, 0);
  const r = imp.proxy_http_call(
    SCRATCH_A.ptr, cn, SCRATCH_PAIRS.ptr, hn, bufPtr(body), bufLen(body),
    tn == 0 ? 0 : SCRATCH_PAIRS_2.ptr, tn, timeoutMs, OUT_PTR);
  return ret(r) == WasmResult.Ok ? load<u32>(OUT_PTR) : 0;
}

/** Unary gRPC call to `service` (a cluster name or a serialized GrpcService); `message` is unframed. */
export function grpcCallRaw(
  service: string, serviceName: string, method: string, initialMetadata: Array<Pair> | null,
  message: ArrayBuffer | null, timeoutMs: u32,
): u32 {
  const sn = SCRATCH_A.utf8(service);
  const nn = SCRATCH_B.utf8(serviceName);
  const mn = SCRATCH_C.utf8(method);
  const hn = initialMetadata === null ? <usize>0 : encodePairsInto(initialMetadata, SCRATCH_PAIRS);
  store<u32>(OUT_PTR, 0);
  const r = imp.proxy_grpc_call(
    SCRATCH_A.ptr, sn, SCRATCH_B.ptr, nn, SCRATCH_C.ptr, mn, hn == 0 ? 0 : SCRATCH_PAIRS.ptr, hn,
    bufPtr(message), bufLen(message), timeoutMs, OUT_PTR);
  return ret(r) == WasmResult.Ok ? load<u32>(OUT_PTR) : 0;
}

/** Opens a gRPC stream to `service` (a cluster name or a serialized GrpcService). */
export function grpcStreamRaw(service: string, serviceName: string, method: string, initialMetadata: Array<Pair> | null): u32 {
  const sn = SCRATCH_A.utf8(service);
  const nn = SCRATCH_B.utf8(serviceName);
  const mn = SCRATCH_C.utf8(method);
  const hn = initialMetadata === null ? <usize>0 : encodePairsInto(initialMetadata, SCRATCH_PAIRS);
  store<u32>(OUT_PTR, 0);
  const r = imp.proxy_grpc_stream(
    SCRATCH_A.ptr, sn, SCRATCH_B.ptr, nn, SCRATCH_C.ptr, mn, hn == 0 ? 0 : SCRATCH_PAIRS.ptr, hn, OUT_PTR);
  return ret(r) == WasmResult.Ok ? load<u32>(OUT_PTR) : 0;
}

/** Sends one unframed message on a gRPC stream. */
export function grpcSend(token: u32, message: ArrayBuffer, endOfStream: bool): WasmResult {
  return ret(imp.proxy_grpc_send(token, changetype<usize>(message), <usize>message.byteLength, endOfStream ? 1 : 0));
}

export function grpcSendUnsafe(token: u32, messagePtr: usize, messageSize: usize, endOfStream: bool): WasmResult {
  return ret(imp.proxy_grpc_send(token, messagePtr, messageSize, endOfStream ? 1 : 0));
}

/** Closes the local half of a stream (a call is cancelled). */
export function grpcClose(token: u32): WasmResult {
  return ret(imp.proxy_grpc_close(token));
}

/** Cancels a call or resets a stream; no callback follows. */
export function grpcCancel(token: u32): WasmResult {
  return ret(imp.proxy_grpc_cancel(token));
}

// ---------------------------------------------------------------------------------------------------
// Shared data (per vm_id, across workers) with compare-and-swap

export class SharedData {
  constructor(public value: ArrayBuffer, public cas: u32) {}
}

/** Value and CAS of `key`, or null (NotFound). */
export function getSharedData(key: string): SharedData | null {
  const kn = SCRATCH_A.utf8(key);
  store<u32>(OUT_PTR, 0);
  store<u32>(OUT_SIZE, 0);
  store<u32>(OUT_EXTRA, 0);
  if (ret(imp.proxy_get_shared_data(SCRATCH_A.ptr, kn, OUT_PTR, OUT_SIZE, OUT_EXTRA)) != WasmResult.Ok) return null;
  const cas = load<u32>(OUT_EXTRA);
  return new SharedData(takeReturned(), cas);
}

/** Sets `key`; with cas != 0 only if it still equals the stored CAS (else CasMismatch). 0 is unconditional. */
export function setSharedData(key: string, value: ArrayBuffer, cas: u32 = 0): WasmResult {
  const kn = SCRATCH_A.utf8(key);
  return ret(imp.proxy_set_shared_data(SCRATCH_A.ptr, kn, changetype<usize>(value), <usize>value.byteLength, cas));
}

// ---------------------------------------------------------------------------------------------------
// Shared queues (on_queue_ready goes to the root context that registered the queue)

/** Registers (or finds) this VM's queue `name`; returns its token, 0 on failure. */
export function registerSharedQueue(name: string): u32 {
  const nn = SCRATCH_A.utf8(name);
  store<u32>(OUT_PTR, 0);
  return ret(imp.proxy_register_shared_queue(SCRATCH_A.ptr, nn, OUT_PTR)) == WasmResult.Ok ? load<u32>(OUT_PTR) : 0;
}

/** Token of queue `name` of VM `vmId` ("" = this VM), 0 when not found. */
export function resolveSharedQueue(vmId: string, name: string): u32 {
  const vn = SCRATCH_A.utf8(vmId);
  const nn = SCRATCH_B.utf8(name);
  store<u32>(OUT_PTR, 0);
  return ret(imp.proxy_resolve_shared_queue(SCRATCH_A.ptr, vn, SCRATCH_B.ptr, nn, OUT_PTR)) == WasmResult.Ok ? load<u32>(OUT_PTR) : 0;
}

export function enqueueSharedQueue(token: u32, data: ArrayBuffer): WasmResult {
  return ret(imp.proxy_enqueue_shared_queue(token, changetype<usize>(data), <usize>data.byteLength));
}

/** Next item, or null (Empty when the queue is empty, NotFound for an unknown token). */
export function dequeueSharedQueue(token: u32): ArrayBuffer | null {
  store<u32>(OUT_PTR, 0);
  store<u32>(OUT_SIZE, 0);
  if (ret(imp.proxy_dequeue_shared_queue(token, OUT_PTR, OUT_SIZE)) != WasmResult.Ok) return null;
  return takeReturned();
}

// ---------------------------------------------------------------------------------------------------
// Metrics, raw (see metrics.ts for Counter, Gauge, Histogram). Envoy names them `wasmcustom.<name>`.

/** Defines (or finds) a metric; returns its id, or 0xffffffff on failure. */
export function defineMetric(type: MetricType, name: string): u32 {
  const nn = SCRATCH_A.utf8(name);
  store<u32>(OUT_PTR, 0);
  return ret(imp.proxy_define_metric(type, SCRATCH_A.ptr, nn, OUT_PTR)) == WasmResult.Ok ? load<u32>(OUT_PTR) : u32.MAX_VALUE;
}

/** Adds `delta` (counter: must be > 0, else BadArgument; gauge: may be negative; histogram: BadArgument). */
export function incrementMetric(id: u32, delta: i64): WasmResult {
  return ret(imp.proxy_increment_metric(id, delta));
}

/** Counter: adds `value`; gauge: sets it; histogram: records it. */
export function recordMetric(id: u32, value: u64): WasmResult {
  return ret(imp.proxy_record_metric(id, value));
}

/** Current value of a counter or gauge (histograms answer BadArgument). */
export function getMetric(id: u32): u64 {
  store<u64>(OUT_U64, 0);
  ret(imp.proxy_get_metric(id, OUT_U64));
  return load<u64>(OUT_U64);
}
