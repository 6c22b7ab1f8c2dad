/**
 * as-proxy-wasm: proxy-wasm ABI 0.2.1 for AssemblyScript, as Envoy implements it.
 *
 * Entry file of a plugin:
 *
 *   export * from "./proxy-wasm/exports";          // the ABI exports Envoy looks up (path from assembly/)
 *   import { RootContext, HttpContext, registerRootContext, FilterHeadersStatus, requestHeaders } from "./proxy-wasm";
 *
 *   class Root extends RootContext {
 *     onConfigure(size: u32): bool { this.config = this.getPluginConfigurationString(); return true; }
 *     createHttpContext(id: u32): HttpContext { return new Filter(id, this); }
 *   }
 *   class Filter extends HttpContext {
 *     onRequestHeaders(n: u32, eos: bool): FilterHeadersStatus { requestHeaders.add("x-seen", "1"); return FilterHeadersStatus.Continue; }
 *   }
 *   registerRootContext("my_root_id", (id: u32): RootContext => new Root(id));
 *
 * Build with the wasi-shim asconfig (Envoy has no env.abort/seed/trace; `_start` is exported, not a start
 * section) and keep host calls out of top-level code.
 *
 * Contexts (context.ts): RootContext per root_id per VM, chosen by the `plugin_root_id` property;
 * HttpContext per HTTP stream (StreamContext per TCP connection). Callbacks default to Continue.
 *
 * Host calls (hostcalls.ts): header maps (HeaderMap objects requestHeaders, responseHeaders, ... or the
 * functions taking a MapType), buffers (getBufferBytes, readBufferBytes into an Arena without allocating, setBufferBytes with Envoy's drain/prepend/append
 * rule, replaceBuffer, prependBuffer, appendBuffer), sendLocalResponse, continueStream/closeStream,
 * properties (getProperty + typed getters, setProperty), callForeignFunction/clearRouteCache, logging,
 * time, ticks, getStatus, setEffectiveContext, shared data with CAS, shared queues, raw metrics.
 * Value-returning calls return null/0/fallback when the host does not answer Ok; lastResult() says why.
 *
 * Outbound calls (Context.httpCall, grpcCall, openGrpcStream): owned by the root context as in Envoy;
 * responses are delivered to the given handler (HttpCallHandler, GrpcCallHandler, GrpcStreamHandler)
 * with the calling context made effective first. When a context is deleted, its gRPC calls and streams
 * are cancelled and its pending HTTP-call responses are dropped.
 *
 * Metrics (metrics.ts): Counter, Gauge, Histogram, defined on first use. Pairs (pairs.ts): the serialized
 * header-map format, encodePairs / strict decodePairs.
 */

export * from "./types";
export {
  Pair, encodePairs, encodePairsInto, encodePairsUnsafe, decodePairs, decodePairsUnsafe, validatePairs,
  pairsByteLength, findPair, MAX_PAIRS, MAX_PAIRS_BYTES,
} from "./pairs";
export * from "./hostcalls";
export { Counter, Gauge, Histogram } from "./metrics";
export { HttpCallHandler, GrpcCallHandler, GrpcStreamHandler, GrpcStream } from "./callouts";
export { Context, RootContext, HttpContext, StreamContext } from "./context";
export { registerRootContext, RootContextFactory, getContext } from "./dispatcher";
export { Arena, Scratch } from "./memory";
