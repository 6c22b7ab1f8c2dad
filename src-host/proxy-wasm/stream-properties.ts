// The attributes a stream context exposes (Envoy's CEL activation: docs attributes.rst), computed from
// the data plane's StreamInfo and the header maps the filter can currently see. Header-derived request
// and response attributes follow Envoy: available while the filter holds the map, and in on_log.
import type { ClusterConfig } from "../dataplane-api/bootstrap.js";
import type { HeaderList, ResolvedRoute, SocketAddress, StreamInfo } from "../dataplane-api/http-filter.js";
import { getHeader, getHeaderJoined, headerByteSize } from "./header-map.js";
import { encodeMetadata } from "./proto.js";
import { type PropertyValue, bytes, fromJson, headerStr, int, lazyMap, str } from "./properties.js";

export interface StreamPropertySource {
  readonly info: StreamInfo;
  requestHeaders(): HeaderList | undefined;
  responseHeaders(): HeaderList | undefined;
  responseTrailers(): HeaderList | undefined;
  route(): ResolvedRoute | undefined;
  cluster(name: string): ClusterConfig | undefined;
  /** The stream is over (on_log): request.duration becomes available. */
  readonly complete: boolean;
}

const REQUEST_KEYS = [
  "path",
  "url_path",
  "host",
  "scheme",
  "method",
  "headers",
  "referer",
  "useragent",
  "time",
  "id",
  "protocol",
  "query",
  "duration",
  "size",
  "total_size",
];
const RESPONSE_KEYS = ["code", "code_details", "flags", "grpc_status", "headers", "trailers", "size", "total_size"];
const ADDRESS_KEYS = ["address", "port"];
const XDS_KEYS = ["route_name", "cluster_name", "route_metadata", "cluster_metadata"];

function headerMap(h: HeaderList): PropertyValue {
  const keys = [...new Set(h.map(([k]) => k))];
  return lazyMap(keys, (k) => {
    const v = getHeaderJoined(h, k);
    return v === undefined ? undefined : headerStr(v);
  });
}

const addressString = (a: SocketAddress) => (a.address.includes(":") ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`);

function addressMap(a: SocketAddress | undefined): PropertyValue | undefined {
  if (!a) return undefined;
  return lazyMap(ADDRESS_KEYS, (k) => (k === "address" ? str(addressString(a)) : k === "port" ? int(a.port) : undefined));
}

/** envoy.config.core.v3.Metadata: serialized as a message, fields traversed as CEL does. */
function metadataMessage(filterMetadata: Record<string, unknown>): PropertyValue {
  return {
    kind: "message",
    bytes: encodeMetadata(filterMetadata),
    field: (name) => (name === "filter_metadata" ? fromJson(filterMetadata) : undefined),
  };
}

function request(s: StreamPropertySource): PropertyValue {
  const info = s.info;
  return lazyMap(REQUEST_KEYS, (key) => {
    const h = s.requestHeaders();
    const header = (name: string) => {
      const v = h && getHeader(h, name);
      return v === undefined ? undefined : headerStr(v);
    };
    switch (key) {
      case "time":
        return int(BigInt(info.startTimeMs) * 1_000_000n);
      case "protocol":
        return str(info.protocol);
      case "duration":
        return s.complete ? int(process.hrtime.bigint() - info.startHr) : undefined;
      case "size": {
        const cl = h && getHeader(h, "content-length");
        return int(cl !== undefined && /^\d+$/.test(cl) ? BigInt(cl) : BigInt(info.requestBodyBytes));
      }
      case "total_size":
        return int(info.requestBodyBytes + (h ? headerByteSize(h) : 0));
    }
    if (!h) return undefined;
    switch (key) {
      case "path":
        return header(":path");
      case "url_path": {
        const p = getHeader(h, ":path");
        return p === undefined ? undefined : headerStr(p.split("?")[0]!);
      }
      case "query": {
        const p = getHeader(h, ":path");
        if (p === undefined) return undefined;
        const i = p.indexOf("?");
        return headerStr(i < 0 ? "" : p.slice(i + 1));
      }
      case "host":
        return header(":authority");
      case "scheme":
        return header(":scheme");
      case "method":
        return header(":method");
      case "headers":
        return headerMap(h);
      case "referer":
        return header("referer");
      case "useragent":
        return header("user-agent");
      case "id":
        return header("x-request-id");
    }
    return undefined;
  });
}

function response(s: StreamPropertySource): PropertyValue {
  const info = s.info;
  return lazyMap(RESPONSE_KEYS, (key) => {
    const h = s.responseHeaders();
    const t = s.responseTrailers();
    switch (key) {
      case "code":
        return info.responseCode === undefined ? undefined : int(info.responseCode);
      case "code_details":
        return info.responseCodeDetails === undefined ? undefined : str(info.responseCodeDetails);
      case "flags":
        return int(0);
      case "grpc_status": {
        const g = (t && getHeader(t, "grpc-status")) ?? (h && getHeader(h, "grpc-status"));
        return g === undefined || !/^\d+$/.test(g) ? undefined : int(Number(g));
      }
      case "headers":
        return h ? headerMap(h) : undefined;
      case "trailers":
        return t ? headerMap(t) : undefined;
      case "size":
        return int(info.responseBodyBytes);
      case "total_size":
        return int(info.responseBodyBytes + (h ? headerByteSize(h) : 0) + (t ? headerByteSize(t) : 0));
    }
    return undefined;
  });
}

function xds(s: StreamPropertySource): PropertyValue {
  return lazyMap(XDS_KEYS, (key) => {
    const route = s.route();
    switch (key) {
      case "route_name":
        return route ? str(route.name) : undefined;
      case "cluster_name":
        return route?.cluster ? str(route.cluster) : undefined;
      case "route_metadata":
        return route ? metadataMessage(route.metadata ?? {}) : undefined;
      case "cluster_metadata": {
        const c = route?.cluster ? s.cluster(route.cluster) : undefined;
        return c ? metadataMessage(c.metadata ?? {}) : undefined;
      }
    }
    return undefined;
  });
}

/** A top-level attribute of the stream (the CEL activation part of Context::findValue). */
export function streamAttribute(s: StreamPropertySource, name: string): PropertyValue | undefined {
  switch (name) {
    case "request":
      return request(s);
    case "response":
      return response(s);
    case "source":
      return addressMap(s.info.downstreamRemote);
    case "destination":
      return addressMap(s.info.downstreamLocal);
    case "upstream":
      return addressMap(s.info.upstreamAddress);
    case "xds":
      return xds(s);
    case "filter_state": {
      const fs = s.info.filterState;
      return lazyMap([...fs.keys()], (k) => {
        const v = fs.get(k);
        return v ? bytes(v) : undefined;
      });
    }
  }
  return undefined;
}
