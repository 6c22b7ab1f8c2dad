// SDK test module: local responses. Request headers:
//   x-local-status   the status to reply with (no reply without it)
//   x-local-body     the body (string variant) ; x-local-bytes present: the ArrayBuffer variant is used
//   x-local-grpc     a grpc status (default -1: none)
// The reply carries `x-local: yes` and details `sdk_local_reply`.
// `x-close` present instead: the stream is reset with closeStream(Request).
export * from "../../assembly/proxy-wasm/exports";
import {
  RootContext, HttpContext, registerRootContext, FilterHeadersStatus, Pair, requestHeaders,
  sendLocalResponse, sendLocalResponseString, closeStream, StreamType,
} from "../../assembly/proxy-wasm";

class LocalStream extends HttpContext {
  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    if (requestHeaders.get("x-close") !== null) {
      closeStream(StreamType.Request);
      return FilterHeadersStatus.StopIteration;
    }
    const status = requestHeaders.get("x-local-status");
    if (status === null) return FilterHeadersStatus.Continue;
    const bodyHeader = requestHeaders.get("x-local-body");
    const body = bodyHeader === null ? "" : bodyHeader;
    const grpcHeader = requestHeaders.get("x-local-grpc");
    const grpc = grpcHeader === null ? -1 : I32.parseInt(grpcHeader);
    const headers = [new Pair("x-local", "yes"), new Pair("content-type", "text/plain")];
    if (requestHeaders.get("x-local-bytes") !== null) {
      sendLocalResponse(<u32>I32.parseInt(status), "sdk_local_reply", String.UTF8.encode(body), headers, grpc);
    } else {
      sendLocalResponseString(<u32>I32.parseInt(status), "sdk_local_reply", body, headers, grpc);
    }
    // Envoy turns the return value into "stop" after a local reply; Continue here checks that the host does.
    return FilterHeadersStatus.Continue;
  }
}

class LocalRoot extends RootContext {
  createHttpContext(contextId: u32): HttpContext {
    return new LocalStream(contextId, this);
  }
}

registerRootContext("", (id: u32): RootContext => new LocalRoot(id));
