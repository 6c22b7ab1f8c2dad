// The functions Envoy looks up in the module, with the signatures of ABI 0.2.1. A plugin's entry file
// re-exports them: `export * from "./proxy-wasm/exports"`. `_start` comes from the wasi-shim config.
// Nothing here runs at instantiation, so no host call happens before Envoy creates a context.

import * as d from "./dispatcher";
import { allocateForHost } from "./memory";
import {
  FilterDataStatus, FilterHeadersStatus, FilterMetadataStatus, FilterStatus, FilterTrailersStatus, GrpcStatus, PeerType,
} from "./types";

/** ABI marker: Envoy finds it by name and never calls it. */
export function proxy_abi_version_0_2_1(): void {}

/** Allocator the host uses for values it returns; the block stays pinned until the SDK adopts it. */
export function malloc(size: usize): usize {
  return allocateForHost(size);
}

export function proxy_on_context_create(contextId: u32, parentContextId: u32): void {
  d.onContextCreate(contextId, parentContextId);
}

export function proxy_on_vm_start(rootContextId: u32, vmConfigurationSize: u32): bool {
  return d.onVmStart(rootContextId, vmConfigurationSize);
}

export function proxy_on_configure(rootContextId: u32, pluginConfigurationSize: u32): bool {
  return d.onConfigure(rootContextId, pluginConfigurationSize);
}

export function proxy_on_tick(rootContextId: u32): void {
  d.onTick(rootContextId);
}

export function proxy_on_queue_ready(rootContextId: u32, queueId: u32): void {
  d.onQueueReady(rootContextId, queueId);
}

export function proxy_on_foreign_function(rootContextId: u32, functionId: u32, argsSize: u32): void {
  d.onForeignFunction(rootContextId, functionId, argsSize);
}

// TCP streams
export function proxy_on_new_connection(contextId: u32): FilterStatus {
  return d.onNewConnection(contextId);
}

export function proxy_on_downstream_data(contextId: u32, dataSize: u32, endOfStream: u32): FilterStatus {
  return d.onDownstreamData(contextId, dataSize, endOfStream != 0);
}

export function proxy_on_upstream_data(contextId: u32, dataSize: u32, endOfStream: u32): FilterStatus {
  return d.onUpstreamData(contextId, dataSize, endOfStream != 0);
}

export function proxy_on_downstream_connection_close(contextId: u32, peerType: u32): void {
  d.onDownstreamConnectionClose(contextId, <PeerType>peerType);
}

export function proxy_on_upstream_connection_close(contextId: u32, peerType: u32): void {
  d.onUpstreamConnectionClose(contextId, <PeerType>peerType);
}

// HTTP streams
export function proxy_on_request_headers(contextId: u32, numHeaders: u32, endOfStream: u32): FilterHeadersStatus {
  return d.onRequestHeaders(contextId, numHeaders, endOfStream != 0);
}

export function proxy_on_request_body(contextId: u32, bodySize: u32, endOfStream: u32): FilterDataStatus {
  return d.onRequestBody(contextId, bodySize, endOfStream != 0);
}

export function proxy_on_request_trailers(contextId: u32, numTrailers: u32): FilterTrailersStatus {
  return d.onRequestTrailers(contextId, numTrailers);
}

export function proxy_on_request_metadata(contextId: u32, numElements: u32): FilterMetadataStatus {
  return d.onRequestMetadata(contextId, numElements);
}

export function proxy_on_response_headers(contextId: u32, numHeaders: u32, endOfStream: u32): FilterHeadersStatus {
  return d.onResponseHeaders(contextId, numHeaders, endOfStream != 0);
}

export function proxy_on_response_body(contextId: u32, bodySize: u32, endOfStream: u32): FilterDataStatus {
  return d.onResponseBody(contextId, bodySize, endOfStream != 0);
}

export function proxy_on_response_trailers(contextId: u32, numTrailers: u32): FilterTrailersStatus {
  return d.onResponseTrailers(contextId, numTrailers);
}

export function proxy_on_response_metadata(contextId: u32, numElements: u32): FilterMetadataStatus {
  return d.onResponseMetadata(contextId, numElements);
}

// Callout responses (always addressed to the root context)
export function proxy_on_http_call_response(
  rootContextId: u32, token: u32, numHeaders: u32, bodySize: u32, numTrailers: u32,
): void {
  d.onHttpCallResponse(rootContextId, token, numHeaders, bodySize, numTrailers);
}

export function proxy_on_grpc_receive_initial_metadata(rootContextId: u32, token: u32, numHeaders: u32): void {
  d.onGrpcReceiveInitialMetadata(rootContextId, token, numHeaders);
}

export function proxy_on_grpc_receive(rootContextId: u32, token: u32, messageSize: u32): void {
  d.onGrpcReceive(rootContextId, token, messageSize);
}

export function proxy_on_grpc_receive_trailing_metadata(rootContextId: u32, token: u32, numTrailers: u32): void {
  d.onGrpcReceiveTrailingMetadata(rootContextId, token, numTrailers);
}

export function proxy_on_grpc_close(rootContextId: u32, token: u32, status: i32): void {
  d.onGrpcClose(rootContextId, token, <GrpcStatus>status);
}

// End of a context: Envoy calls on_log, then on_done, then on_delete.
export function proxy_on_log(contextId: u32): void {
  d.onLog(contextId);
}

export function proxy_on_done(contextId: u32): bool {
  return d.onDone(contextId);
}

export function proxy_on_delete(contextId: u32): void {
  d.onDelete(contextId);
}
