// SDK test module: body access. Each side buffers its body to the end, then applies an operation given
// in the request headers, with data from another request header:
//   x-body-op / x-body-data            request body:  replace | prepend | append | raw:<start>:<length>
//   x-resp-body-op / x-resp-body-data  response body: the same operations
// `x-body-seen` (response header) is the request body as the filter read it before changing it;
// `x-set-result` the WasmResult of the request-side operation.
export * from "../../assembly/proxy-wasm/exports";
import {
  RootContext, HttpContext, registerRootContext, FilterHeadersStatus, FilterDataStatus, BufferType, WasmResult,
  requestHeaders, responseHeaders, getBufferBytes, replaceBuffer, prependBuffer, appendBuffer, setBufferBytes,
} from "../../assembly/proxy-wasm";

function header(name: string): string {
  const v = requestHeaders.get(name);
  return v === null ? "" : v;
}

function apply(type: BufferType, op: string, data: string): WasmResult {
  const bytes = String.UTF8.encode(data);
  if (op == "replace") return replaceBuffer(type, bytes);
  if (op == "prepend") return prependBuffer(type, bytes);
  if (op == "append") return appendBuffer(type, bytes);
  if (op.startsWith("raw:")) {
    const parts = op.split(":");
    return setBufferBytes(type, <u32>I32.parseInt(parts[1]), <u32>I32.parseInt(parts[2]), bytes);
  }
  return WasmResult.Ok;
}

class BodyStream extends HttpContext {
  private op: string = "";
  private data: string = "";
  private respOp: string = "";
  private respData: string = "";
  private seen: string = "";
  private result: WasmResult = WasmResult.Ok;

  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    this.op = header("x-body-op");
    this.data = header("x-body-data");
    this.respOp = header("x-resp-body-op");
    this.respData = header("x-resp-body-data");
    if (this.op != "") requestHeaders.remove("content-length");
    return FilterHeadersStatus.Continue;
  }

  onRequestBody(bodySize: u32, endOfStream: bool): FilterDataStatus {
    if (!endOfStream) return FilterDataStatus.StopIterationAndBuffer;
    const body = getBufferBytes(BufferType.HttpRequestBody, 0, bodySize);
    this.seen = body === null ? "<null>" : String.UTF8.decode(body);
    this.result = apply(BufferType.HttpRequestBody, this.op, this.data);
    return FilterDataStatus.Continue;
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    responseHeaders.replace("x-body-seen", this.seen);
    responseHeaders.replace("x-set-result", (<i32>this.result).toString());
    if (this.respOp != "") responseHeaders.remove("content-length");
    return FilterHeadersStatus.Continue;
  }

  onResponseBody(bodySize: u32, endOfStream: bool): FilterDataStatus {
    if (this.respOp == "") return FilterDataStatus.Continue;
    if (!endOfStream) return FilterDataStatus.StopIterationAndBuffer;
    apply(BufferType.HttpResponseBody, this.respOp, this.respData);
    return FilterDataStatus.Continue;
  }
}

class BodyRoot extends RootContext {
  createHttpContext(contextId: u32): HttpContext {
    return new BodyStream(contextId, this);
  }
}

registerRootContext("", (id: u32): RootContext => new BodyRoot(id));
