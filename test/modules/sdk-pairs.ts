// SDK test module: the pairs codec both ways through the host.
// - Every request: reads all request headers, writes them back with setAll plus `x-pairs-count`.
// - `x-echo-pairs` present: local reply 200 whose body is encodePairs(all request headers).
// - path `/decode`: buffers the request body, decodes it with the strict decoder and replies 200 with one
//   `key=value` line per pair, or 422 "malformed".
export * from "../../assembly/proxy-wasm/exports";
import {
  RootContext, HttpContext, registerRootContext, FilterHeadersStatus, FilterDataStatus, Pair, BufferType,
  requestHeaders, encodePairs, decodePairs, getBufferBytes, sendLocalResponse, sendLocalResponseString,
} from "../../assembly/proxy-wasm";

class PairsStream extends HttpContext {
  private decode: bool = false;

  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    const all = requestHeaders.getAll();
    if (requestHeaders.get("x-echo-pairs") !== null) {
      sendLocalResponse(200, "sdk_pairs_echo", encodePairs(all), [new Pair("content-type", "application/octet-stream")]);
      return FilterHeadersStatus.StopIteration;
    }
    this.decode = requestHeaders.get(":path") == "/decode";
    const withCount = all.slice(0);
    withCount.push(new Pair("x-pairs-count", all.length.toString()));
    requestHeaders.setAll(withCount);
    return FilterHeadersStatus.Continue;
  }

  onRequestBody(bodySize: u32, endOfStream: bool): FilterDataStatus {
    if (!this.decode) return FilterDataStatus.Continue;
    if (!endOfStream) return FilterDataStatus.StopIterationAndBuffer;
    const body = getBufferBytes(BufferType.HttpRequestBody, 0, bodySize);
    const pairs: Array<Pair> | null = body === null ? null : decodePairs(body);
    if (pairs === null) {
      sendLocalResponseString(422, "sdk_pairs_malformed", "malformed", null);
    } else {
      let out = "";
      for (let i = 0; i < pairs.length; i++) out += pairs[i].key + "=" + pairs[i].value + "\n";
      sendLocalResponseString(200, "sdk_pairs_decoded", out, null);
    }
    return FilterDataStatus.StopIterationNoBuffer;
  }
}

class PairsRoot extends RootContext {
  createHttpContext(contextId: u32): HttpContext {
    return new PairsStream(contextId, this);
  }
}

registerRootContext("", (id: u32): RootContext => new PairsRoot(id));
