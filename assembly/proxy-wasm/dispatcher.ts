// Routes the host's callbacks to context objects: root contexts by root_id, stream contexts by id, and
// callout responses (which Envoy delivers to the root context) to the handler of the context that made
// the call, after making that context the effective one.

import { CalloutKind } from "./callouts";
import { Context, HttpContext, RootContext, StreamContext, UnregisteredRootContext } from "./context";
import { getPropertyString, logCritical, logWarn, setEffectiveContext } from "./hostcalls";
import {
  ContextType, FilterDataStatus, FilterHeadersStatus, FilterMetadataStatus, FilterStatus, FilterTrailersStatus,
  GrpcStatus, PeerType, WasmResult,
} from "./types";

export type RootContextFactory = (contextId: u32) => RootContext;

class Registration {
  constructor(public readonly rootId: string, public readonly factory: RootContextFactory) {}
}

const registrations = new Array<Registration>();
const roots = new Map<u32, RootContext>();
const https = new Map<u32, HttpContext>();
const streams = new Map<u32, StreamContext>();

/**
 * Registers the root context for `rootId` (Envoy's `root_id`). At start-up the SDK reads the
 * `plugin_root_id` property and uses the matching registration; without a match it uses the one
 * registered for "" or, if there is exactly one registration, that one. Call it from top-level code.
 */
export function registerRootContext(rootId: string, factory: RootContextFactory): void {
  for (let i = 0, n = registrations.length; i < n; i++) {
    if (unchecked(registrations[i]).rootId == rootId) {
      unchecked((registrations[i] = new Registration(rootId, factory)));
      return;
    }
  }
  registrations.push(new Registration(rootId, factory));
}

function registrationFor(rootId: string): Registration | null {
  let fallback: Registration | null = null;
  for (let i = 0, n = registrations.length; i < n; i++) {
    const r = unchecked(registrations[i]);
    if (r.rootId == rootId) return r;
    if (r.rootId == "") fallback = r;
  }
  if (fallback === null && registrations.length == 1) fallback = unchecked(registrations[0]);
  return fallback;
}

// The last HTTP context looked up: consecutive callbacks usually concern the same stream.
let cachedHttpId: u32 = 0;
let cachedHttp: HttpContext | null = null;

function http(contextId: u32): HttpContext | null {
  if (contextId == cachedHttpId && cachedHttp !== null) return cachedHttp;
  if (!https.has(contextId)) {
    logWarn("proxy-wasm: callback for unknown http context " + contextId.toString());
    return null;
  }
  const c = https.get(contextId);
  cachedHttpId = contextId;
  cachedHttp = c;
  return c;
}

function root(contextId: u32): RootContext | null {
  if (roots.has(contextId)) return roots.get(contextId);
  logWarn("proxy-wasm: callback for unknown root context " + contextId.toString());
  return null;
}

function stream(contextId: u32): StreamContext | null {
  if (streams.has(contextId)) return streams.get(contextId);
  logWarn("proxy-wasm: callback for unknown stream context " + contextId.toString());
  return null;
}

/** The context object for `contextId` (root, HTTP or TCP), or null. */
export function getContext(contextId: u32): Context | null {
  if (https.has(contextId)) return https.get(contextId);
  if (streams.has(contextId)) return streams.get(contextId);
  if (roots.has(contextId)) return roots.get(contextId);
  return null;
}

function anyContext(contextId: u32): Context | null {
  const c = getContext(contextId);
  if (c === null) logWarn("proxy-wasm: callback for unknown context " + contextId.toString());
  return c;
}

// ---------------------------------------------------------------------------------------------------
// Life cycle

export function onContextCreate(contextId: u32, parentId: u32): void {
  if (parentId == 0) {
    const name = getPropertyString(["plugin_root_id"]);
    const rootId = name === null ? "" : name;
    const reg = registrationFor(rootId);
    let r: RootContext;
    if (reg === null) {
      logCritical("proxy-wasm: no root context registered for root_id \"" + rootId + "\"");
      r = new UnregisteredRootContext(contextId);
    } else {
      r = reg.factory(contextId);
    }
    r.rootId = rootId;
    roots.set(contextId, r);
    return;
  }
  if (!roots.has(parentId)) {
    logCritical("proxy-wasm: context " + contextId.toString() + " created under unknown root " + parentId.toString());
    return;
  }
  const parent = roots.get(parentId);
  if (parent.contextType() == ContextType.Stream) streams.set(contextId, parent.createStreamContext(contextId));
  else https.set(contextId, parent.createHttpContext(contextId));
}

export function onVmStart(contextId: u32, vmConfigurationSize: u32): bool {
  const r = root(contextId);
  if (r === null) return false;
  r.vmConfigurationSize = vmConfigurationSize;
  const ok = r.onVmStart(vmConfigurationSize);
  r.vmConfigurationSize = 0;
  return ok;
}

export function onConfigure(contextId: u32, pluginConfigurationSize: u32): bool {
  const r = root(contextId);
  if (r === null) return false;
  r.pluginConfigurationSize = pluginConfigurationSize;
  const ok = r.onConfigure(pluginConfigurationSize);
  r.pluginConfigurationSize = 0;
  return ok;
}

export function onTick(contextId: u32): void {
  const r = root(contextId);
  if (r !== null) r.onTick();
}

export function onQueueReady(contextId: u32, queueId: u32): void {
  const r = root(contextId);
  if (r !== null) r.onQueueReady(queueId);
}

export function onForeignFunction(contextId: u32, functionId: u32, argsSize: u32): void {
  const r = root(contextId);
  if (r !== null) r.onForeignFunction(functionId, argsSize);
}

export function onLog(contextId: u32): void {
  const c = anyContext(contextId);
  if (c !== null) c.onLog();
}

export function onDone(contextId: u32): bool {
  const c = anyContext(contextId);
  return c === null ? true : c.onDone();
}

export function onDelete(contextId: u32): void {
  const c = anyContext(contextId);
  if (c === null) return;
  c.onDelete();
  c.releaseCallouts();
  if (c instanceof RootContext) changetype<RootContext>(c).releaseAllCallouts();
  if (contextId == cachedHttpId) cachedHttp = null;
  https.delete(contextId);
  streams.delete(contextId);
  roots.delete(contextId);
}

// ---------------------------------------------------------------------------------------------------
// HTTP streams

export function onRequestHeaders(contextId: u32, numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
  const c = http(contextId);
  return c === null ? FilterHeadersStatus.Continue : c.onRequestHeaders(numHeaders, endOfStream);
}

export function onRequestBody(contextId: u32, bodySize: u32, endOfStream: bool): FilterDataStatus {
  const c = http(contextId);
  return c === null ? FilterDataStatus.Continue : c.onRequestBody(bodySize, endOfStream);
}

export function onRequestTrailers(contextId: u32, numTrailers: u32): FilterTrailersStatus {
  const c = http(contextId);
  return c === null ? FilterTrailersStatus.Continue : c.onRequestTrailers(numTrailers);
}

export function onRequestMetadata(contextId: u32, numElements: u32): FilterMetadataStatus {
  const c = http(contextId);
  return c === null ? FilterMetadataStatus.Continue : c.onRequestMetadata(numElements);
}

export function onResponseHeaders(contextId: u32, numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
  const c = http(contextId);
  return c === null ? FilterHeadersStatus.Continue : c.onResponseHeaders(numHeaders, endOfStream);
}

export function onResponseBody(contextId: u32, bodySize: u32, endOfStream: bool): FilterDataStatus {
  const c = http(contextId);
  return c === null ? FilterDataStatus.Continue : c.onResponseBody(bodySize, endOfStream);
}

export function onResponseTrailers(contextId: u32, numTrailers: u32): FilterTrailersStatus {
  const c = http(contextId);
  return c === null ? FilterTrailersStatus.Continue : c.onResponseTrailers(numTrailers);
}

export function onResponseMetadata(contextId: u32, numElements: u32): FilterMetadataStatus {
  const c = http(contextId);
  return c === null ? FilterMetadataStatus.Continue : c.onResponseMetadata(numElements);
}

// ---------------------------------------------------------------------------------------------------
// TCP streams

export function onNewConnection(contextId: u32): FilterStatus {
  const c = stream(contextId);
  return c === null ? FilterStatus.Continue : c.onNewConnection();
}

export function onDownstreamData(contextId: u32, dataSize: u32, endOfStream: bool): FilterStatus {
  const c = stream(contextId);
  return c === null ? FilterStatus.Continue : c.onDownstreamData(dataSize, endOfStream);
}

export function onUpstreamData(contextId: u32, dataSize: u32, endOfStream: bool): FilterStatus {
  const c = stream(contextId);
  return c === null ? FilterStatus.Continue : c.onUpstreamData(dataSize, endOfStream);
}

export function onDownstreamConnectionClose(contextId: u32, peer: PeerType): void {
  const c = stream(contextId);
  if (c !== null) c.onDownstreamConnectionClose(peer);
}

export function onUpstreamConnectionClose(contextId: u32, peer: PeerType): void {
  const c = stream(contextId);
  if (c !== null) c.onUpstreamConnectionClose(peer);
}

// ---------------------------------------------------------------------------------------------------
// Callout responses: delivered to the root context, handed to the owner's handler.

/** Makes `owner` the effective context unless the callback already runs on it. */
function enter(callbackContextId: u32, owner: Context): bool {
  if (owner.contextId == callbackContextId) return true;
  if (setEffectiveContext(owner.contextId) == WasmResult.Ok) return true;
  logWarn("proxy-wasm: cannot make context " + owner.contextId.toString() + " effective; callback dropped");
  return false;
}

export function onHttpCallResponse(contextId: u32, token: u32, numHeaders: u32, bodySize: u32, numTrailers: u32): void {
  const r = root(contextId);
  if (r === null) return;
  const c = r.takeCallout(token);
  if (c === null || c.kind != CalloutKind.Http) return;
  if (enter(contextId, c.owner)) c.http!.onHttpCallResponse(token, numHeaders, bodySize, numTrailers);
}

export function onGrpcReceiveInitialMetadata(contextId: u32, token: u32, numHeaders: u32): void {
  const r = root(contextId);
  if (r === null) return;
  const c = r.findCallout(token);
  if (c === null || c.kind != CalloutKind.GrpcStream) return;
  if (enter(contextId, c.owner)) c.grpcStream!.onInitialMetadata(token, numHeaders);
}

export function onGrpcReceive(contextId: u32, token: u32, size: u32): void {
  const r = root(contextId);
  if (r === null) return;
  const c = r.findCallout(token);
  if (c === null) return;
  if (c.kind == CalloutKind.GrpcStream) {
    if (enter(contextId, c.owner)) c.grpcStream!.onMessage(token, size);
  } else if (c.kind == CalloutKind.GrpcCall) {
    // A unary call ends with its one message; Envoy sends no close after it.
    r.takeCallout(token);
    if (enter(contextId, c.owner)) c.grpcCall!.onGrpcCallResponse(token, GrpcStatus.Ok, size);
  }
}

export function onGrpcReceiveTrailingMetadata(contextId: u32, token: u32, numTrailers: u32): void {
  const r = root(contextId);
  if (r === null) return;
  const c = r.findCallout(token);
  if (c === null || c.kind != CalloutKind.GrpcStream) return;
  if (enter(contextId, c.owner)) c.grpcStream!.onTrailingMetadata(token, numTrailers);
}

export function onGrpcClose(contextId: u32, token: u32, status: GrpcStatus): void {
  const r = root(contextId);
  if (r === null) return;
  const c = r.takeCallout(token);
  if (c === null) return;
  if (!enter(contextId, c.owner)) return;
  if (c.kind == CalloutKind.GrpcStream) c.grpcStream!.onClose(token, status);
  else if (c.kind == CalloutKind.GrpcCall) c.grpcCall!.onGrpcCallResponse(token, status, 0);
}
