// proxy_get_property for the attributes an AI-gateway filter reads (envoy attributes.rst), encoded as
// Envoy's serializeValue does: strings raw, integers 8-byte little-endian, maps as pairs. Unknown paths
// fall back to filter state `wasm.<path>` (what set_property wrote), then NotFound.
import type { WasmFilterConfig } from "../gateway/config.js";
import type { HeaderList } from "../gateway/http-filter.js";
import { encodePairs } from "./pairs.js";
import type { StreamContext } from "./vm.js";

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

function int64(n: number | bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigInt64(0, BigInt(n), true);
  return out;
}

function header(headers: HeaderList, name: string): string | undefined {
  return headers.find(([k]) => k === name)?.[1];
}

/** Header maps as Envoy exposes them: repeated names joined with ",". */
function headerMap(headers: HeaderList): Uint8Array {
  const joined = new Map<string, string>();
  for (const [k, v] of headers) joined.set(k, joined.has(k) ? `${joined.get(k)},${v}` : v);
  return encodePairs([...joined]);
}

export function getProperty(
  path: string[],
  ctx: { config: WasmFilterConfig; stream: StreamContext | undefined },
): Uint8Array | undefined {
  const [first, second, third] = path;
  switch (first) {
    case "plugin_name":
      return text(ctx.config.name);
    case "plugin_root_id":
      return text(ctx.config.rootId);
    case "plugin_vm_id":
      return text(ctx.config.vmId);
  }
  const stream = ctx.stream;
  if (!stream) return undefined;
  const info = stream.sink.info;
  const req = stream.requestHeadersForAttributes();
  const str = (s: string | undefined): Uint8Array | undefined => (s === undefined ? undefined : text(s));
  const key = path.join(".");
  switch (key) {
    case "request.path":
      return str(header(req, ":path"));
    case "request.url_path":
      return str(header(req, ":path")?.split("?")[0]);
    case "request.query": {
      const p = header(req, ":path");
      return p === undefined ? undefined : text(p.includes("?") ? p.slice(p.indexOf("?") + 1) : "");
    }
    case "request.host":
      return str(header(req, ":authority") ?? header(req, "host"));
    case "request.scheme":
      return str(header(req, ":scheme"));
    case "request.method":
      return str(header(req, ":method"));
    case "request.referer":
      return str(header(req, "referer"));
    case "request.useragent":
      return str(header(req, "user-agent"));
    case "request.id":
      return str(info.requestId ?? header(req, "x-request-id"));
    case "request.protocol":
      return text(info.protocol);
    case "request.time":
      return int64(BigInt(info.startTimeMs) * 1_000_000n);
    case "request.headers":
      return headerMap(req);
    case "response.code":
      return info.responseCode === undefined ? undefined : int64(info.responseCode);
    case "response.code_details":
      return str(info.responseCodeDetails);
    case "response.headers":
      return headerMap(stream.responseHeadersForAttributes());
    case "source.address":
      return text(`${info.downstreamRemote.address}:${info.downstreamRemote.port}`);
    case "source.port":
      return int64(info.downstreamRemote.port);
    case "destination.address":
      return text(`${info.downstreamLocal.address}:${info.downstreamLocal.port}`);
    case "destination.port":
      return int64(info.downstreamLocal.port);
    case "connection.id":
      return int64(info.streamId);
    case "upstream.address":
      return info.upstreamAddress ? text(`${info.upstreamAddress.address}:${info.upstreamAddress.port}`) : undefined;
    case "upstream.port":
      return info.upstreamAddress ? int64(info.upstreamAddress.port) : undefined;
    case "xds.route_name":
    case "route_name":
      return str(stream.sink.resolveRoute(req)?.name);
    case "xds.cluster_name":
    case "cluster_name":
      return str(stream.sink.resolveRoute(req)?.cluster);
  }
  if (first === "request" && second === "headers" && third !== undefined) {
    const values = req.filter(([k]) => k === third.toLowerCase()).map(([, v]) => v);
    return values.length ? text(values.join(",")) : undefined;
  }
  if (first === "filter_state" && second !== undefined) return info.filterState.get(second);
  return info.filterState.get(`wasm.${path.join("\0")}`);
}
