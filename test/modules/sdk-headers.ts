// SDK test module: header map operations on every map a stream has.
// Request headers: `x-get: <name>` → `x-got` = value of <name> (or "<null>"); two `x-added` entries;
// `x-replace` → "replaced"; `x-remove` removed; `x-utf8` = a non-ASCII value; `x-clear-route` present →
// `x-routed: yes` is set and the route cache cleared (result in `x-clear-result`).
// Response headers: `x-response-added: yes`, `x-upstream` → "changed", `x-upstream-remove` removed,
// `x-status-seen` = :status, `x-request-path` = the request's :path remembered from the request phase.
// Response trailers: `x-trailer-added: yes` and `x-trailer-count` = number of trailers received.
export * from "../../assembly/proxy-wasm/exports";
import {
  RootContext, HttpContext, registerRootContext, FilterHeadersStatus, FilterTrailersStatus,
  requestHeaders, responseHeaders, responseTrailers, clearRouteCache,
} from "../../assembly/proxy-wasm";

class HeaderStream extends HttpContext {
  private path: string = "";

  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    const p = requestHeaders.get(":path");
    this.path = p === null ? "" : p;
    const name = requestHeaders.get("x-get");
    if (name !== null) {
      const v = requestHeaders.get(name);
      requestHeaders.replace("x-got", v === null ? "<null>" : v);
    }
    requestHeaders.add("x-added", "one");
    requestHeaders.add("x-added", "two");
    requestHeaders.replace("x-replace", "replaced");
    requestHeaders.remove("x-remove");
    requestHeaders.replace("x-utf8", "h\u00e9llo \u2713 \u{1F600}");
    if (requestHeaders.get("x-clear-route") !== null) {
      requestHeaders.replace("x-routed", "yes");
      requestHeaders.replace("x-clear-result", (<i32>clearRouteCache()).toString());
    }
    return FilterHeadersStatus.Continue;
  }

  onResponseHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    responseHeaders.add("x-response-added", "yes");
    responseHeaders.replace("x-upstream", "changed");
    responseHeaders.remove("x-upstream-remove");
    const status = responseHeaders.get(":status");
    responseHeaders.replace("x-status-seen", status === null ? "<null>" : status);
    responseHeaders.replace("x-request-path", this.path);
    return FilterHeadersStatus.Continue;
  }

  onResponseTrailers(numTrailers: u32): FilterTrailersStatus {
    const n = responseTrailers.getAll().length;
    responseTrailers.add("x-trailer-added", "yes");
    responseTrailers.replace("x-trailer-count", n.toString());
    return FilterTrailersStatus.Continue;
  }
}

class HeaderRoot extends RootContext {
  createHttpContext(contextId: u32): HttpContext {
    return new HeaderStream(contextId, this);
  }
}

registerRootContext("", (id: u32): RootContext => new HeaderRoot(id));
