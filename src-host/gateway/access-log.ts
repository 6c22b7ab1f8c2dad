// Access log lines in Envoy's format language: a format string of literals and %COMMAND(arg)%
// operators, compiled once. The default is Envoy's default format followed by the response code details,
// the route name and every `wasm.*` filter state value (what `%FILTER_STATE(wasm.<key>:PLAIN)%` would
// print), so the filter's per-request figures appear without configuring each key.
import type { HeaderList, StreamInfo } from "../dataplane-api/http-filter.js";
import { getHeader } from "./headers.js";

/** What a finished stream offers the log. */
export interface LogEntry {
  info: StreamInfo;
  requestHeaders: HeaderList;
  responseHeaders?: HeaderList;
  responseFlags: string;
  durationMs: number;
  upstreamCluster?: string;
}

type Part = string | ((e: LogEntry) => string);

export const ENVOY_DEFAULT_FORMAT =
  '[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE% %RESPONSE_FLAGS% ' +
  '%BYTES_RECEIVED% %BYTES_SENT% %DURATION% %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" ' +
  '"%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"';

const DEFAULT_FORMAT = `${ENVOY_DEFAULT_FORMAT} %RESPONSE_CODE_DETAILS% %ROUTE_NAME%`;

const decoder = new TextDecoder();

const dash = (v: string | undefined) => (v === undefined || v === "" ? "-" : v);

const addr = (a: { address: string; port: number } | undefined) =>
  a ? (a.address.includes(":") ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`) : undefined;

function headerOperator(pick: (e: LogEntry) => HeaderList | undefined, arg: string): (e: LogEntry) => string {
  const names = arg.toLowerCase().split("?");
  return (e) => {
    const headers = pick(e);
    if (!headers) return "-";
    for (const n of names) {
      const v = getHeader(headers, n);
      if (v !== undefined) return dash(v);
    }
    return "-";
  };
}

function operator(name: string, arg: string | undefined): (e: LogEntry) => string {
  const noArg = (f: (e: LogEntry) => string) => {
    if (arg !== undefined) throw new Error(`%${name}% takes no argument`);
    return f;
  };
  switch (name) {
    case "START_TIME":
      return noArg((e) => new Date(e.info.startTimeMs).toISOString());
    case "PROTOCOL":
      return noArg((e) => e.info.protocol);
    case "RESPONSE_CODE":
      return noArg((e) => String(e.info.responseCode ?? 0));
    case "RESPONSE_FLAGS":
      return noArg((e) => dash(e.responseFlags));
    case "RESPONSE_CODE_DETAILS":
      return noArg((e) => dash(e.info.responseCodeDetails));
    case "BYTES_RECEIVED":
      return noArg((e) => String(e.info.requestBodyBytes));
    case "BYTES_SENT":
      return noArg((e) => String(e.info.responseBodyBytes));
    case "DURATION":
      return noArg((e) => String(Math.floor(e.durationMs)));
    case "UPSTREAM_HOST":
      return noArg((e) => dash(addr(e.info.upstreamAddress)));
    case "UPSTREAM_CLUSTER":
      return noArg((e) => dash(e.upstreamCluster));
    case "ROUTE_NAME":
      return noArg((e) => dash(e.info.route?.name));
    case "REQUEST_ID":
      return noArg((e) => dash(e.info.requestId));
    case "DOWNSTREAM_REMOTE_ADDRESS":
      return noArg((e) => dash(addr(e.info.downstreamRemote)));
    case "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT":
      return noArg((e) => dash(e.info.downstreamRemote.address));
    case "DOWNSTREAM_LOCAL_ADDRESS":
      return noArg((e) => dash(addr(e.info.downstreamLocal)));
    case "REQ":
      if (!arg) throw new Error("%REQ(header)% needs a header name");
      return headerOperator((e) => e.requestHeaders, arg);
    case "RESP":
      if (!arg) throw new Error("%RESP(header)% needs a header name");
      return headerOperator((e) => e.responseHeaders, arg);
    case "FILTER_STATE": {
      if (!arg) throw new Error("%FILTER_STATE(key:PLAIN)% needs a key");
      const [key, mode] = arg.split(":");
      if (mode !== undefined && mode !== "PLAIN" && mode !== "TYPED") {
        throw new Error(`%FILTER_STATE(${arg})%: serialization must be PLAIN or TYPED`);
      }
      return (e) => {
        const v = e.info.filterState.get(key);
        if (v === undefined) return "-";
        const text = decoder.decode(v);
        return mode === "PLAIN" ? text : JSON.stringify(text);
      };
    }
    default:
      throw new Error(`unsupported access log operator %${name}%`);
  }
}

/** Compiles a format string; unknown operators are an error here, not at the first request. */
export function compileFormat(format: string): (e: LogEntry) => string {
  const parts: Part[] = [];
  const re = /%([A-Z_]+)(?:\(([^)]*)\))?(?::\d+)?%/g;
  let last = 0;
  for (let m = re.exec(format); m; m = re.exec(format)) {
    if (m.index > last) parts.push(format.slice(last, m.index));
    parts.push(operator(m[1], m[2]));
    last = m.index + m[0].length;
  }
  if (last < format.length) parts.push(format.slice(last));
  return (e) => {
    let out = "";
    for (const p of parts) out += typeof p === "string" ? p : p(e);
    return out;
  };
}

/** The default line: Envoy's default format, details, route, then ` wasm.<key>=<value>` per filter state. */
export function defaultFormatter(): (e: LogEntry) => string {
  const base = compileFormat(DEFAULT_FORMAT);
  return (e) => {
    let out = base(e);
    for (const [key, value] of e.info.filterState) {
      if (!key.startsWith("wasm.")) continue;
      const text = decoder.decode(value);
      out += ` ${key}=${/^[^\s"]*$/.test(text) && text !== "" ? text : JSON.stringify(text)}`;
    }
    return out;
  };
}
