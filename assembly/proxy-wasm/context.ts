// Context classes a plugin extends. A RootContext exists per root_id per VM (one VM per Envoy worker);
// it creates one HttpContext (or, for network filters, StreamContext) per stream. Every callback has a
// default that lets traffic through, so a plugin overrides only what it needs.

import {
  CalloutKind, GrpcCallHandler, GrpcStream, GrpcStreamHandler, HttpCallHandler, CalloutRegistry,
} from "./callouts";
import {
  getBufferBytes, grpcCallRaw, grpcCancel, grpcStreamRaw, httpCallRaw, proxyDone,
  setTickPeriodMilliseconds,
} from "./hostcalls";
import { Pair } from "./pairs";
import {
  BufferType, ContextType, FilterDataStatus, FilterHeadersStatus, FilterMetadataStatus, FilterStatus,
  FilterTrailersStatus, PeerType, WasmResult,
} from "./types";

/** What the SDK remembers about one outstanding call or stream. */
export class Callout {
  http: HttpCallHandler | null = null;
  grpcCall: GrpcCallHandler | null = null;
  grpcStream: GrpcStreamHandler | null = null;
  /** A stream whose local half is closed: it ends when the server ends it and is never reset for its owner's sake. */
  halfClosed: bool = false;

  constructor(public readonly kind: CalloutKind, public readonly token: u32, public readonly owner: Context) {}
}

/** What root and stream contexts share: identity, end-of-life callbacks and outbound calls. */
export abstract class Context {
  /** Tokens of this context's outstanding calls and streams (allocated on the first call). */
  private owned: Array<u32> | null = null;

  constructor(public readonly contextId: u32) {}

  /** The root context this context belongs to (itself for a root context). */
  abstract rootContext(): RootContext;

  /** Stream: after on_log, before on_delete (Envoy ignores the value). Root: false defers shutdown until done(). */
  onDone(): bool {
    return true;
  }

  /** Access-log time: the stream is complete (Envoy calls it before onDone). */
  onLog(): void {}

  /** The context is about to be forgotten; its outstanding gRPC calls and streams are cancelled after this. */
  onDelete(): void {}

  /**
   * HTTP call to `cluster`; `headers` must contain `:method`, `:path` and `:authority`. The response goes
   * to `handler` with this context as the effective context. Returns the token, or 0 (see lastResult()).
   * A timeout of 0 means none.
   */
  httpCall(
    cluster: string, headers: Array<Pair>, body: ArrayBuffer | null, trailers: Array<Pair> | null,
    timeoutMs: u32, handler: HttpCallHandler,
  ): u32 {
    const token = httpCallRaw(cluster, headers, body, trailers, timeoutMs);
    if (token != 0) this.remember(CalloutKind.Http, token).http = handler;
    return token;
  }

  /**
   * Unary gRPC call; `service` is a cluster name (HTTP/2) or a serialized envoy.config.core.v3.GrpcService,
   * `message` the serialized request without gRPC framing. Returns the token, or 0 (see lastResult()).
   */
  grpcCall(
    service: string, serviceName: string, method: string, initialMetadata: Array<Pair> | null,
    message: ArrayBuffer | null, timeoutMs: u32, handler: GrpcCallHandler,
  ): u32 {
    const token = grpcCallRaw(service, serviceName, method, initialMetadata, message, timeoutMs);
    if (token != 0) this.remember(CalloutKind.GrpcCall, token).grpcCall = handler;
    return token;
  }

  /** Opens a gRPC stream; null when the host refused (see lastResult()). */
  openGrpcStream(
    service: string, serviceName: string, method: string, initialMetadata: Array<Pair> | null,
    handler: GrpcStreamHandler,
  ): GrpcStream | null {
    const token = grpcStreamRaw(service, serviceName, method, initialMetadata);
    if (token == 0) return null;
    this.remember(CalloutKind.GrpcStream, token).grpcStream = handler;
    return new GrpcStream(token, this.rootContext());
  }

  /** Cancels a unary gRPC call or stream of this context; its handler hears nothing more. */
  cancelGrpc(token: u32): WasmResult {
    this.rootContext().forgetCallout(token);
    return grpcCancel(token);
  }

  /** Number of this context's outstanding calls and streams. */
  get outstandingCallouts(): i32 {
    const owned = this.owned;
    return owned === null ? 0 : owned.length;
  }

  private remember(kind: CalloutKind, token: u32): Callout {
    const c = new Callout(kind, token, this);
    this.rootContext().addCallout(c);
    let owned = this.owned;
    if (owned === null) this.owned = owned = new Array<u32>();
    owned.push(token);
    return c;
  }

  /** @internal Drops a token from this context's list (the callout ended). */
  disown(token: u32): void {
    const owned = this.owned;
    if (owned === null) return;
    const i = owned.indexOf(token);
    if (i >= 0) {
      unchecked((owned[i] = owned[owned.length - 1]));
      owned.pop();
    }
  }

  /**
   * @internal On delete: forget every outstanding callout (nobody can receive them) and cancel the gRPC
   * ones that are still open. A half-closed stream is left to the server to end: in Envoy callouts belong
   * to the root context and a stream's end does not touch them (envoyproxy/envoy v1.35, source/extensions/
   * common/wasm/context.cc: grpcClose keeps a local_closed_ stream until its remote close), and a reset
   * per finished stream is what HTTP/2 servers count as a rapid-reset attack (CVE-2023-44487).
   */
  releaseCallouts(): void {
    const owned = this.owned;
    if (owned === null) return;
    this.owned = null;
    const root = this.rootContext();
    for (let i = 0, n = owned.length; i < n; i++) {
      const token = unchecked(owned[i]);
      const c = root.takeCallout(token);
      if (c !== null && c.kind != CalloutKind.Http && !c.halfClosed) grpcCancel(token);
    }
  }
}

/** One per root_id per VM: configuration, ticks, queues, foreign functions; creates stream contexts. */
export class RootContext extends Context implements CalloutRegistry {
  /** The root_id this context was created for (Envoy's plugin_root_id). */
  rootId: string = "";
  /** @internal set by the dispatcher for the duration of onVmStart / onConfigure. */
  vmConfigurationSize: u32 = 0;
  /** @internal */
  pluginConfigurationSize: u32 = 0;
  private callouts: Map<u32, Callout> = new Map();

  constructor(contextId: u32) {
    super(contextId);
  }

  rootContext(): RootContext {
    return this;
  }

  /** The VM has started; the VM configuration is readable through getVmConfiguration() now only. */
  onVmStart(vmConfigurationSize: u32): bool {
    return true;
  }

  /** New plugin configuration; readable through getPluginConfiguration() during this call only. false rejects it. */
  onConfigure(pluginConfigurationSize: u32): bool {
    return true;
  }

  /** Bytes of the VM configuration (during onVmStart). */
  getVmConfiguration(): ArrayBuffer {
    const b = getBufferBytes(BufferType.VmConfiguration, 0, this.vmConfigurationSize);
    return b === null ? new ArrayBuffer(0) : b;
  }

  /** Bytes of the plugin configuration (BufferType 7, during onConfigure). */
  getPluginConfiguration(): ArrayBuffer {
    const b = getBufferBytes(BufferType.PluginConfiguration, 0, this.pluginConfigurationSize);
    return b === null ? new ArrayBuffer(0) : b;
  }

  getPluginConfigurationString(): string {
    return String.UTF8.decode(this.getPluginConfiguration());
  }

  /** Arms the tick timer (0 disarms); call it from one of this root's callbacks. */
  setTickPeriod(periodMs: u32): WasmResult {
    return setTickPeriodMilliseconds(periodMs);
  }

  onTick(): void {}

  /** An item was enqueued on a queue this root context registered. */
  onQueueReady(queueId: u32): void {}

  /** A foreign function call to this plugin; the arguments are readable through BufferType 8 (CallData). */
  onForeignFunction(functionId: u32, argsSize: u32): void {}

  /** Whether this root's streams are HTTP streams (the default) or TCP streams. */
  contextType(): ContextType {
    return ContextType.Http;
  }

  /** Creates the context of a new HTTP stream. */
  createHttpContext(contextId: u32): HttpContext {
    return new HttpContext(contextId, this);
  }

  /** Creates the context of a new TCP connection (when contextType() is Stream). */
  createStreamContext(contextId: u32): StreamContext {
    return new StreamContext(contextId, this);
  }

  /** Finishes a shutdown deferred by onDone() returning false. */
  done(): WasmResult {
    return proxyDone();
  }

  /** @internal */
  addCallout(c: Callout): void {
    this.callouts.set(c.token, c);
  }

  /** @internal The callout of `token` (still registered), or null. */
  findCallout(token: u32): Callout | null {
    return this.callouts.has(token) ? this.callouts.get(token) : null;
  }

  /** @internal Unregisters and returns the callout of `token`, or null. */
  takeCallout(token: u32): Callout | null {
    if (!this.callouts.has(token)) return null;
    const c = this.callouts.get(token);
    this.callouts.delete(token);
    c.owner.disown(token);
    return c;
  }

  forgetCallout(token: u32): void {
    this.takeCallout(token);
  }

  markHalfClosed(token: u32): void {
    const c = this.findCallout(token);
    if (c !== null) c.halfClosed = true;
  }

  /** Number of outstanding calls and streams of this root and all its stream contexts. */
  get calloutCount(): i32 {
    return this.callouts.size;
  }

  /** @internal On delete of the root: cancel everything still outstanding. */
  releaseAllCallouts(): void {
    const tokens = this.callouts.keys();
    for (let i = 0, n = tokens.length; i < n; i++) {
      const c = this.takeCallout(unchecked(tokens[i]));
      if (c !== null && c.kind != CalloutKind.Http) grpcCancel(c.token);
    }
  }
}

/** One per HTTP stream. */
export class HttpContext extends Context {
  constructor(contextId: u32, public readonly root: RootContext) {
    super(contextId);
  }

  rootContext(): RootContext {
    return this.root;
  }

  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    return FilterHeadersStatus.Continue;
  }

  /** With StopIterationAndBuffer returned earlier, bodySize is the whole buffered body. */
  onRequestBody(bodySize: u32, endOfStream: bool): FilterDataStatus {
    return FilterDataStatus.Continue;
  }

  onRequestTrailers(numTrailers: u32): FilterTrailersStatus {
    return FilterTrailersStatus.Continue;
  }

  onRequestMetadata(numElements: u32): FilterMetadataStatus {
    return FilterMetadataStatus.Continue;
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    return FilterHeadersStatus.Continue;
  }

  onResponseBody(bodySize: u32, endOfStream: bool): FilterDataStatus {
    return FilterDataStatus.Continue;
  }

  onResponseTrailers(numTrailers: u32): FilterTrailersStatus {
    return FilterTrailersStatus.Continue;
  }

  onResponseMetadata(numElements: u32): FilterMetadataStatus {
    return FilterMetadataStatus.Continue;
  }
}

/** One per TCP connection (network filters). */
export class StreamContext extends Context {
  constructor(contextId: u32, public readonly root: RootContext) {
    super(contextId);
  }

  rootContext(): RootContext {
    return this.root;
  }

  onNewConnection(): FilterStatus {
    return FilterStatus.Continue;
  }

  /** The data is readable through BufferType 2. */
  onDownstreamData(dataSize: u32, endOfStream: bool): FilterStatus {
    return FilterStatus.Continue;
  }

  /** The data is readable through BufferType 3. */
  onUpstreamData(dataSize: u32, endOfStream: bool): FilterStatus {
    return FilterStatus.Continue;
  }

  onDownstreamConnectionClose(peer: PeerType): void {}

  onUpstreamConnectionClose(peer: PeerType): void {}
}

/** Stands in when no root context is registered for the plugin's root_id: refuses to start, loudly. */
export class UnregisteredRootContext extends RootContext {
  onVmStart(vmConfigurationSize: u32): bool {
    return false;
  }

  onConfigure(pluginConfigurationSize: u32): bool {
    return false;
  }
}
