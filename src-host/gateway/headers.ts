// Header lists as the filter sees them (HeaderList: lower-case names, pseudo-headers first) and their
// conversion to and from node:http messages. Hop-by-hop headers belong to one connection, so they are
// dropped on the way in and never forwarded (RFC 9110 §7.6.1), as Envoy's HTTP/1 codec does.
import type { IncomingMessage, OutgoingHttpHeaders } from "node:http";
import type { HeaderList } from "../dataplane-api/http-filter.js";

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "http2-settings",
  "host", // carried as :authority
]);

/** Whether a header must not cross the proxy. `te: trailers` is end-to-end for gRPC; other TE values are not. */
function isHopByHop(name: string, value: string, nominated: Set<string> | undefined): boolean {
  if (HOP_BY_HOP.has(name)) return true;
  if (name === "te") return value.trim().toLowerCase() !== "trailers";
  // Envoy answers `Expect: 100-continue` itself and does not forward it.
  if (name === "expect") return value.trim().toLowerCase() === "100-continue";
  return nominated?.has(name) ?? false;
}

/** Header names a `Connection` header nominates as hop-by-hop (besides the fixed set). */
function nominatedBy(raw: string[]): Set<string> | undefined {
  let out: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].length !== 10 || raw[i].toLowerCase() !== "connection") continue;
    for (const token of raw[i + 1].split(",")) {
      const t = token.trim().toLowerCase();
      if (t && t !== "close" && t !== "keep-alive") (out ??= new Set()).add(t);
    }
  }
  return out;
}

/** Appends node's raw header pairs to `out`, lower-casing names and dropping hop-by-hop ones. */
function appendRaw(out: HeaderList, raw: string[]): HeaderList {
  const nominated = nominatedBy(raw);
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    const value = raw[i + 1];
    if (!isHopByHop(name, value, nominated)) out.push([name, value]);
  }
  return out;
}

/** Request headers of a downstream HTTP/1 request, pseudo-headers first. */
export function requestHeaderList(req: IncomingMessage): HeaderList {
  const out: HeaderList = [
    [":method", req.method ?? "GET"],
    [":path", req.url ?? "/"],
    [":authority", req.headers.host ?? ""],
    [":scheme", "http"],
  ];
  return appendRaw(out, req.rawHeaders);
}

/** Response headers of an upstream HTTP/1 response, `:status` first. */
export function responseHeaderList(res: IncomingMessage): HeaderList {
  return appendRaw([[":status", String(res.statusCode ?? 502)]], res.rawHeaders);
}

/** Trailers of a node message (empty when it had none). */
export function trailerList(msg: IncomingMessage): HeaderList {
  return msg.rawTrailers.length === 0 ? [] : appendRaw([], msg.rawTrailers);
}

/** Envoy's view of a header for matching: all values joined with ",", undefined when absent. */
export function getHeader(headers: HeaderList, name: string): string | undefined {
  let out: string | undefined;
  for (const [n, v] of headers) {
    if (n === name) out = out === undefined ? v : `${out},${v}`;
  }
  return out;
}

/** Replaces every value of `name` by one value, keeping the first one's position (appends if absent). */
export function setHeader(headers: HeaderList, name: string, value: string): void {
  let at = -1;
  for (let i = 0; i < headers.length; i++) {
    if (headers[i][0] !== name) continue;
    if (at < 0) {
      at = i;
      headers[i] = [name, value];
    } else {
      headers.splice(i--, 1);
    }
  }
  if (at < 0) headers.push([name, value]);
}

/**
 * Headers for node's ClientRequest: no pseudo-headers, `host` from `:authority`, repeated names as arrays,
 * hop-by-hop ones (a filter may have added some) dropped.
 */
export function upstreamRequestHeaders(headers: HeaderList): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of headers) {
    if (name.charCodeAt(0) === 58 /* ":" */) {
      if (name === ":authority" && value) out.host = value;
      continue;
    }
    if (isHopByHop(name, value, undefined)) continue;
    const prev = out[name];
    if (prev === undefined) out[name] = value;
    else if (Array.isArray(prev)) prev.push(value);
    else out[name] = [String(prev), value];
  }
  return out;
}

/** Flat [name, value, ...] for ServerResponse.writeHead: no pseudo-headers, no hop-by-hop ones. */
export function downstreamResponseHeaders(headers: HeaderList): string[] {
  const out: string[] = [];
  for (const [name, value] of headers) {
    if (name.charCodeAt(0) === 58 || isHopByHop(name, value, undefined)) continue;
    out.push(name, value);
  }
  return out;
}

/** Trailers as the object node's addTrailers takes (repeated names joined, as trailers rarely repeat). */
export function trailerObject(trailers: HeaderList): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of trailers) out[name] = name in out ? `${out[name]}, ${value}` : value;
  return out;
}
