// Outbound calls as Envoy runs them: every HTTP call, gRPC call and gRPC stream belongs to the ROOT
// context, and its callbacks arrive with the root context id and a token. The SDK remembers, per root
// context, token → (owner context id, handler); before a callback is handed to its handler the SDK calls
// proxy_set_effective_context(owner), so host calls made by the handler act on the owning stream.

import { grpcSendUnsafe, grpcClose, grpcCancel } from "./hostcalls";
import { GrpcStatus, WasmResult } from "./types";

/** Receives the response of an HTTP call. numHeaders == 0 means the call failed (getStatus() says why). */
export interface HttpCallHandler {
  /** Headers, body and trailers are readable through MapType 6/7 and BufferType 4 during this call. */
  onHttpCallResponse(token: u32, numHeaders: u32, bodySize: u32, numTrailers: u32): void;
}

/** Receives the outcome of a unary gRPC call: exactly one call of this method. */
export interface GrpcCallHandler {
  /**
   * status == Ok: the response message (unframed) is readable through BufferType 5 (size bytes) during this
   * call. Otherwise size is 0 and getStatus() gives the message.
   */
  onGrpcCallResponse(token: u32, status: GrpcStatus, size: u32): void;
}

/** Receives the events of a gRPC stream, in this order; onClose comes last (status Ok on a normal end). */
export interface GrpcStreamHandler {
  /** Metadata readable through MapType 4 during this call. */
  onInitialMetadata(token: u32, numHeaders: u32): void;
  /** One unframed message, readable through BufferType 5 during this call only. */
  onMessage(token: u32, size: u32): void;
  /** Trailers readable through MapType 5 during this call. */
  onTrailingMetadata(token: u32, numTrailers: u32): void;
  /** The stream is over; getStatus() gives the message. No callback follows. */
  onClose(token: u32, status: GrpcStatus): void;
}

export enum CalloutKind {
  Http = 0,
  GrpcCall = 1,
  GrpcStream = 2,
}

/** Forgets a callout once its last callback is delivered or it is cancelled. */
export interface CalloutRegistry {
  forgetCallout(token: u32): void;
  /** The stream of `token` closed its local half. */
  markHalfClosed(token: u32): void;
}

/** An open gRPC stream. Messages are raw protobuf bytes without the 5-byte gRPC frame. */
export class GrpcStream {
  constructor(public readonly token: u32, private readonly registry: CalloutRegistry) {}

  send(message: ArrayBuffer, endOfStream: bool = false): WasmResult {
    return this.sendUnsafe(changetype<usize>(message), <usize>message.byteLength, endOfStream);
  }

  /** Sends (ptr, size) from the caller's memory as it is. */
  sendUnsafe(messagePtr: usize, messageSize: usize, endOfStream: bool = false): WasmResult {
    if (endOfStream) this.registry.markHalfClosed(this.token);
    return grpcSendUnsafe(this.token, messagePtr, messageSize, endOfStream);
  }

  /**
   * Closes the local half; the handler still gets the rest of the response and onClose. If the owning
   * context is deleted first, the stream is left to end normally (no reset), its callbacks dropped.
   */
  close(): WasmResult {
    this.registry.markHalfClosed(this.token);
    return grpcClose(this.token);
  }

  /** Resets the stream; no further callbacks. */
  cancel(): WasmResult {
    this.registry.forgetCallout(this.token);
    return grpcCancel(this.token);
  }
}
