// SDK test module: outbound calls owned by the root context and routed back to the stream that made
// them. The request header `x-callout` picks the call; `x-cluster` names the target cluster. The request
// pauses until the call ends, then continues with the results added as request headers (which only works
// if the SDK made the stream the effective context again):
//   http         GET `x-http-path` → x-http-status, x-http-body, x-http-failed (status code and message)
//   http-bad     an HTTP call without :authority → local reply 400 "result=<WasmResult>"
//   grpc-call    unary sdk.test.Echo/Unary with `x-message` → x-grpc-status, x-grpc-reply, x-grpc-message
//   grpc-stream  sdk.test.Echo/Chat: sends each of `x-messages` (comma-separated), ending with
//                end_of_stream or, with `x-close-mode: close`, with close() → x-grpc-initial,
//                x-grpc-messages (joined by '|'), x-grpc-trailing, x-grpc-status, x-grpc-message
//   grpc-cancel  opens Chat, sends one message, cancels → continues at once with x-cancel-result and
//                x-outstanding (callouts this stream still owns)
//   grpc-abandon opens Chat, sends `x-message`, continues at once: the stream ends while the call is open
//   grpc-finish  opens Chat, sends `x-message`, half-closes (end_of_stream, or close() with `x-close-mode:
//                close`) and continues at once: the stream ends before the server has ended the call
// Every callout request also gets x-context = this stream's context id.
export * from "../../assembly/proxy-wasm/exports";
import {
  RootContext, HttpContext, registerRootContext, FilterHeadersStatus, Pair, BufferType, GrpcStatus, WasmResult,
  HttpCallHandler, GrpcCallHandler, GrpcStreamHandler, GrpcStream,
  requestHeaders, grpcInitialMetadata, grpcTrailingMetadata, httpCallResponseHeaders,
  getBufferBytes, getStatus, continueRequest, sendLocalResponseString, lastResult,
} from "../../assembly/proxy-wasm";

function header(name: string): string {
  const v = requestHeaders.get(name);
  return v === null ? "" : v;
}

function text(b: ArrayBuffer | null): string {
  return b === null ? "<null>" : String.UTF8.decode(b);
}

class CalloutStream extends HttpContext implements HttpCallHandler, GrpcCallHandler, GrpcStreamHandler {
  private messages: Array<string> = [];
  private initial: string = "";
  private trailing: string = "";

  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    const kind = header("x-callout");
    if (kind == "") return FilterHeadersStatus.Continue;
    requestHeaders.replace("x-context", this.contextId.toString());
    const cluster = header("x-cluster");
    if (kind == "http" || kind == "http-bad") {
      const headers = [new Pair(":method", "GET"), new Pair(":path", header("x-http-path"))];
      if (kind == "http") headers.push(new Pair(":authority", "sdk.test"));
      const token = this.httpCall(cluster, headers, null, null, 5000, this);
      if (token == 0) {
        sendLocalResponseString(400, "sdk_http_call_refused", "result=" + (<i32>lastResult()).toString(), null);
      }
      return FilterHeadersStatus.StopIteration;
    }
    if (kind == "grpc-call") {
      const msg = String.UTF8.encode(header("x-message"));
      this.grpcCall(cluster, "sdk.test.Echo", "Unary", [new Pair("x-md", "unary")], msg, 5000, this);
      return FilterHeadersStatus.StopIteration;
    }
    const stream = this.openGrpcStream(cluster, "sdk.test.Echo", "Chat", [new Pair("x-md", "stream")], this);
    if (stream === null) {
      sendLocalResponseString(502, "sdk_grpc_stream_refused", "result=" + (<i32>lastResult()).toString(), null);
      return FilterHeadersStatus.StopIteration;
    }
    if (kind == "grpc-cancel") {
      stream.send(String.UTF8.encode("doomed"));
      requestHeaders.replace("x-cancel-result", (<i32>stream.cancel()).toString());
      requestHeaders.replace("x-outstanding", this.outstandingCallouts.toString());
      return FilterHeadersStatus.Continue;
    }
    if (kind == "grpc-abandon") {
      stream.send(String.UTF8.encode(header("x-message")));
      return FilterHeadersStatus.Continue;
    }
    if (kind == "grpc-finish") {
      this.sendAll(stream, [header("x-message")], header("x-close-mode") == "close");
      return FilterHeadersStatus.Continue;
    }
    this.sendAll(stream, header("x-messages").split(","), header("x-close-mode") == "close");
    return FilterHeadersStatus.StopIteration;
  }

  private sendAll(stream: GrpcStream, msgs: Array<string>, closeAfter: bool): void {
    for (let i = 0; i < msgs.length; i++) {
      const last = i == msgs.length - 1;
      stream.send(String.UTF8.encode(msgs[i]), last && !closeAfter);
    }
    if (closeAfter) stream.close();
  }

  onHttpCallResponse(token: u32, numHeaders: u32, bodySize: u32, numTrailers: u32): void {
    if (numHeaders == 0) {
      const s = getStatus();
      requestHeaders.replace("x-http-failed", s.code.toString() + " " + s.message);
    } else {
      const status = httpCallResponseHeaders.get(":status");
      requestHeaders.replace("x-http-status", status === null ? "<null>" : status);
      requestHeaders.replace("x-http-body", text(getBufferBytes(BufferType.HttpCallResponseBody, 0, bodySize)));
    }
    continueRequest();
  }

  onGrpcCallResponse(token: u32, status: GrpcStatus, size: u32): void {
    requestHeaders.replace("x-grpc-status", (<i32>status).toString());
    if (status == GrpcStatus.Ok) {
      requestHeaders.replace("x-grpc-reply", text(getBufferBytes(BufferType.GrpcReceiveBuffer, 0, size)));
    } else {
      requestHeaders.replace("x-grpc-message", getStatus().message);
    }
    continueRequest();
  }

  onInitialMetadata(token: u32, numHeaders: u32): void {
    const v = grpcInitialMetadata.get("x-server-initial");
    this.initial = v === null ? "<null>" : v;
  }

  onMessage(token: u32, size: u32): void {
    this.messages.push(text(getBufferBytes(BufferType.GrpcReceiveBuffer, 0, size)));
  }

  onTrailingMetadata(token: u32, numTrailers: u32): void {
    const v = grpcTrailingMetadata.get("x-server-trailing");
    this.trailing = v === null ? "<null>" : v;
  }

  onClose(token: u32, status: GrpcStatus): void {
    requestHeaders.replace("x-grpc-initial", this.initial);
    requestHeaders.replace("x-grpc-messages", this.messages.join("|"));
    requestHeaders.replace("x-grpc-trailing", this.trailing);
    requestHeaders.replace("x-grpc-status", (<i32>status).toString());
    requestHeaders.replace("x-grpc-message", getStatus().message);
    if (continueRequest() != WasmResult.Ok) requestHeaders.replace("x-continue-failed", "yes");
  }
}

class CalloutRoot extends RootContext {
  createHttpContext(contextId: u32): HttpContext {
    return new CalloutStream(contextId, this);
  }
}

registerRootContext("", (id: u32): RootContext => new CalloutRoot(id));
