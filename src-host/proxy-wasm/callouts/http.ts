// An HTTP callout the way Envoy's async client answers it: the response (any status) is a success;
// failures to connect and timeouts before the response arrive as the router's local replies (503
// "upstream connect error ...", 504 "upstream request timeout"), also successes; only a stream reset
// after the response started is a failure (proxy_on_http_call_response with zero headers).
import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import type { ClusterConfig, ClusterEndpoint } from "../../dataplane-api/bootstrap.js";
import type { HeaderList } from "../../dataplane-api/http-filter.js";
import { hostPort } from "./endpoints.js";

export interface HttpCalloutRequest {
  cluster: ClusterConfig;
  endpoint: ClusterEndpoint | undefined;
  headers: HeaderList;
  body: Uint8Array;
  trailers: HeaderList;
  /** 0 = no timeout. */
  timeoutMs: number;
}

export interface HttpCalloutResponse {
  headers: HeaderList;
  body: Uint8Array;
  trailers?: HeaderList;
}

/** undefined = failure (reset). */
export type HttpCalloutDone = (response: HttpCalloutResponse | undefined) => void;

export interface Cancellable {
  cancel(): void;
}

const CONNECT_ERROR = "upstream connect error or disconnect/reset before headers. reset reason: ";

function localReply(status: number, text: string): HttpCalloutResponse {
  const body = Buffer.from(text);
  return {
    headers: [
      [":status", String(status)],
      ["content-length", String(body.length)],
      ["content-type", "text/plain"],
    ],
    body,
  };
}

function pairsFromRaw(raw: string[]): HeaderList {
  const out: HeaderList = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!.toLowerCase(), raw[i + 1]!]);
  return out;
}

export function sendHttpCallout(req: HttpCalloutRequest, done: HttpCalloutDone): Cancellable {
  let finished = false;
  const finish = (r: HttpCalloutResponse | undefined) => {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    done(r);
  };
  if (!req.endpoint) {
    setImmediate(() => finish(localReply(503, "no healthy upstream")));
    return { cancel: () => void (finished = true) };
  }
  const run = req.cluster.http2 ? sendHttp2 : sendHttp1;
  const handle = run(req, req.endpoint, finish);
  const timer =
    req.timeoutMs > 0
      ? setTimeout(() => {
          if (handle.responseStarted()) finish(undefined);
          else finish(localReply(504, "upstream request timeout"));
          handle.abort();
        }, req.timeoutMs)
      : undefined;
  return {
    cancel: () => {
      finished = true;
      clearTimeout(timer);
      handle.abort();
    },
  };
}

interface Running {
  responseStarted(): boolean;
  abort(): void;
}

function requestParts(headers: HeaderList, body: Uint8Array) {
  let method = "GET";
  let path = "/";
  let authority = "";
  const rest: Array<[string, string]> = [];
  for (const [k, v] of headers) {
    if (k === ":method") method = v;
    else if (k === ":path") path = v;
    else if (k === ":authority") authority = v;
    else if (!k.startsWith(":") && k !== "content-length" && k !== "host") rest.push([k, v]);
  }
  if (body.length > 0) rest.push(["content-length", String(body.length)]);
  return { method, path, authority, rest };
}

function sendHttp1(req: HttpCalloutRequest, ep: ClusterEndpoint, finish: HttpCalloutDone): Running {
  const { method, path, authority, rest } = requestParts(req.headers, req.body);
  const tls = req.cluster.tls;
  const flat: string[] = ["host", authority];
  for (const [k, v] of rest) flat.push(k, v);
  const options: https.RequestOptions = {
    host: ep.address,
    port: ep.port,
    method,
    path,
    headers: flat as unknown as http.OutgoingHttpHeaders,
    agent: false,
    setHost: false,
  };
  let started = false;
  let connected = false;
  const r = tls
    ? https.request({ ...options, rejectUnauthorized: !tls.insecureSkipVerify, servername: tls.sni ?? authority.replace(/:\d+$/, "") })
    : http.request(options);
  const connectTimer = setTimeout(() => {
    if (!connected) {
      finish(localReply(503, CONNECT_ERROR + "connection timeout"));
      r.destroy();
    }
  }, req.cluster.connectTimeoutMs);
  r.on("socket", (s) => s.once(tls ? "secureConnect" : "connect", () => (connected = true)));
  r.on("response", (res) => {
    started = true;
    connected = true;
    clearTimeout(connectTimer);
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () => {
      const headers: HeaderList = [[":status", String(res.statusCode ?? 0)], ...pairsFromRaw(res.rawHeaders)];
      const trailers = pairsFromRaw(res.rawTrailers);
      finish({ headers, body: Buffer.concat(chunks), trailers: trailers.length ? trailers : undefined });
    });
    res.on("aborted", () => finish(undefined));
    res.on("error", () => finish(undefined));
  });
  r.on("error", (err) => {
    clearTimeout(connectTimer);
    if (started) finish(undefined);
    else finish(localReply(503, CONNECT_ERROR + (connected ? "connection termination" : "connection failure") + describe(err)));
  });
  r.end(Buffer.from(req.body));
  return {
    responseStarted: () => started,
    abort: () => {
      clearTimeout(connectTimer);
      r.destroy();
    },
  };
}

function sendHttp2(req: HttpCalloutRequest, ep: ClusterEndpoint, finish: HttpCalloutDone): Running {
  const { method, path, authority, rest } = requestParts(req.headers, req.body);
  const tls = req.cluster.tls;
  const url = `${tls ? "https" : "http"}://${hostPort(ep)}`;
  const session = http2.connect(url, tls ? { rejectUnauthorized: !tls.insecureSkipVerify, servername: tls.sni } : {});
  let started = false;
  let connected = false;
  const connectTimer = setTimeout(() => {
    if (!connected) {
      finish(localReply(503, CONNECT_ERROR + "connection timeout"));
      session.destroy();
    }
  }, req.cluster.connectTimeoutMs);
  session.on("connect", () => {
    connected = true;
    clearTimeout(connectTimer);
  });
  session.on("error", (err) => {
    clearTimeout(connectTimer);
    if (started) finish(undefined);
    else finish(localReply(503, CONNECT_ERROR + "connection failure" + describe(err)));
  });
  const headers: http2.OutgoingHttpHeaders = { ":method": method, ":path": path, ":authority": authority };
  for (const [k, v] of rest) {
    const prev = headers[k];
    headers[k] = prev === undefined ? v : ([] as string[]).concat(prev as string | string[], v);
  }
  const stream = session.request(headers, { waitForTrailers: req.trailers.length > 0 });
  if (req.trailers.length > 0) stream.on("wantTrailers", () => stream.sendTrailers(Object.fromEntries(req.trailers)));
  let responseHeaders: HeaderList = [];
  let trailers: HeaderList | undefined;
  const chunks: Buffer[] = [];
  stream.on("response", (h, flags) => {
    started = true;
    responseHeaders = pairsFromRaw(rawFromHttp2(h));
    void flags;
  });
  stream.on("trailers", (t) => (trailers = pairsFromRaw(rawFromHttp2(t))));
  stream.on("data", (c: Buffer) => chunks.push(c));
  stream.on("end", () => {
    finish({ headers: responseHeaders, body: Buffer.concat(chunks), trailers });
    session.close();
  });
  stream.on("error", () => {
    if (started) finish(undefined);
    else finish(localReply(503, CONNECT_ERROR + "connection failure"));
    session.destroy();
  });
  stream.end(Buffer.from(req.body));
  return {
    responseStarted: () => started,
    abort: () => {
      clearTimeout(connectTimer);
      session.destroy();
    },
  };
}

function rawFromHttp2(h: http2.IncomingHttpHeaders): string[] {
  const raw: string[] = [];
  const status = h[":status"];
  if (status !== undefined) raw.push(":status", String(status));
  for (const [k, v] of Object.entries(h)) {
    if (k === ":status" || v === undefined) continue;
    for (const x of Array.isArray(v) ? v : [v]) raw.push(k, String(x));
  }
  return raw;
}

const describe = (err: unknown): string => {
  const code = (err as NodeJS.ErrnoException)?.code;
  return code ? `, transport failure reason: ${code}` : "";
};
