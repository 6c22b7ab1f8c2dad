// SDK test module: property access with typed decoding. Every request gets a local reply 200 whose body
// has one `name=value` line per probe:
//   path, method (strings), root_id (plugin_root_id), time_positive (request.time as i64 ns > 0),
//   port (source.port as i64), probe (x-probe from the request.headers map), missing (lastResult of a
//   path that does not exist), roundtrip (set_property then get_property of a single component),
//   flag (a one-byte value stored with set_property, read back as bool), list (a pairs value with empty
//   values stored with set_property, read back as a list), size_mismatch (lastResult of reading a
//   string as an i64), log_level (getLogLevel), clock (getCurrentTimeNanoseconds within a second of
//   request.time), foreign (lastResult of an unknown foreign function).
export * from "../../assembly/proxy-wasm/exports";
import {
  RootContext, HttpContext, registerRootContext, FilterHeadersStatus, findPair, lastResult,
  getProperty, getPropertyString, getPropertyI64, getPropertyBool, getPropertyMap, getPropertyList,
  setProperty, setPropertyString, sendLocalResponseString, encodePairs, Pair, getLogLevel,
  getCurrentTimeNanoseconds, callForeignFunction,
} from "../../assembly/proxy-wasm";

function orNull(s: string | null): string {
  return s === null ? "<null>" : s;
}

class PropsStream extends HttpContext {
  onRequestHeaders(numHeaders: u32, endOfStream: bool): FilterHeadersStatus {
    let out = "";
    out += "path=" + orNull(getPropertyString(["request", "path"])) + "\n";
    out += "method=" + orNull(getPropertyString(["request", "method"])) + "\n";
    out += "root_id=" + orNull(getPropertyString(["plugin_root_id"])) + "\n";
    const t = getPropertyI64(["request", "time"], -1);
    out += "time_positive=" + (t > 0 ? "true" : "false") + "\n";
    out += "port=" + getPropertyI64(["source", "port"], -1).toString() + "\n";
    const headers = getPropertyMap(["request", "headers"]);
    out += "probe=" + (headers === null ? "<null>" : orNull(findPair(headers, "x-probe"))) + "\n";
    getProperty(["no_such_property", "really"]);
    out += "missing=" + (<i32>lastResult()).toString() + "\n";
    setPropertyString(["sdk_probe"], "v\u00e9");
    out += "roundtrip=" + orNull(getPropertyString(["sdk_probe"])) + "\n";
    const one = new ArrayBuffer(1);
    store<u8>(changetype<usize>(one), 1);
    setProperty(["sdk_flag"], one);
    out += "flag=" + (getPropertyBool(["sdk_flag"], false) ? "true" : "false") + "\n";
    setProperty(["sdk_list"], encodePairs([new Pair("a", ""), new Pair("b\u00e9", "")]));
    const list = getPropertyList(["sdk_list"]);
    out += "list=" + (list === null ? "<null>" : list.join(",")) + "\n";
    getPropertyI64(["request", "path"], 0);
    out += "size_mismatch=" + (<i32>lastResult()).toString() + "\n";
    out += "log_level=" + (<i32>getLogLevel()).toString() + "\n";
    const now = <i64>getCurrentTimeNanoseconds();
    out += "clock=" + (now >= t && now - t < 1_000_000_000 ? "close" : "off by " + (now - t).toString()) + "\n";
    callForeignFunction("no_such_function", null);
    out += "foreign=" + (<i32>lastResult()).toString() + "\n";
    sendLocalResponseString(200, "sdk_props", out, null);
    return FilterHeadersStatus.StopIteration;
  }
}

class PropsRoot extends RootContext {
  createHttpContext(contextId: u32): HttpContext {
    return new PropsStream(contextId, this);
  }
}

registerRootContext("", (id: u32): RootContext => new PropsRoot(id));
