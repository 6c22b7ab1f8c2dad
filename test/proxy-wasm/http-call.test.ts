// proxy_http_call against real HTTP servers on loopback: request shape, response delivery on the root
// context, Envoy's argument checks, and the outcomes of failures (local 503 / 504 replies, resets).
import http from "node:http";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ClusterConfig } from "../../src-host/dataplane-api/bootstrap.js";
import type { HeaderList } from "../../src-host/dataplane-api/http-filter.js";
import { type Loaded, loadFixture, openStream, reqHeaders, until } from "./helpers.js";

interface Seen {
  method?: string;
  url?: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}
const seen: Seen[] = [];
let server: http.Server;
let port = 0;
let h2server: http2.Http2Server;
let h2port = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      if (req.url === "/slow") return; // never answers
      if (req.url === "/reset") {
        res.writeHead(200, { "content-length": "100" });
        res.write("partial");
        setTimeout(() => res.destroy(), 20);
        return;
      }
      res.writeHead(202, { "x-echo": body, "content-type": "text/plain" });
      res.end(`got ${req.method} ${req.url}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
  h2server = http2.createServer();
  h2server.on("stream", (stream, headers) => {
    let body = "";
    stream.on("data", (c) => (body += c));
    stream.on("end", () => {
      stream.respond({ ":status": 201, "x-echo": `${headers[":authority"]} ${body}` });
      stream.end("over h2");
    });
  });
  await new Promise<void>((r) => h2server.listen(0, "127.0.0.1", r));
  h2port = (h2server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  await new Promise<void>((r) => h2server.close(() => r()));
});

let loaded: Loaded | undefined;
afterEach(async () => {
  await loaded?.filter.close();
  loaded = undefined;
});

const clusters = (): ClusterConfig[] => [
  { name: "svc", type: "STATIC", endpoints: [{ address: "127.0.0.1", port }], connectTimeoutMs: 1000 },
  { name: "h2", type: "STATIC", endpoints: [{ address: "127.0.0.1", port: h2port }], http2: true, connectTimeoutMs: 1000 },
  { name: "dead", type: "STATIC", endpoints: [{ address: "127.0.0.1", port: 1 }], connectTimeoutMs: 1000 },
];

async function call(h: HeaderList) {
  const l = (loaded = await loadFixture("host-http-call", {}, { clusters: clusters() }));
  const { stream, sink } = openStream(l.filter);
  // Overrides first: a lookup answers the first value of a repeated header.
  stream.requestHeaders(reqHeaders([...h, ["x-cluster", "svc"], ["x-path", "/ok"], ["x-authority", "svc.local"], ["x-body", "hi"], ["x-timeout", "0"]]), true);
  return { l, sink };
}

describe("proxy_http_call", () => {
  it("sends the request to the cluster and delivers the response to the root context", async () => {
    const { l, sink } = await call([]);
    expect(l.messages()[0]).toBe("call 0 4"); // first HTTP token
    await until(() => sink.of("requestHeaders").length > 0, "the stream to resume");
    const s = seen.at(-1)!;
    expect([s.method, s.url, s.headers.host, s.headers["x-callout"], s.body]).toEqual(["POST", "/ok", "svc.local", "1", "hi"]);
    const [, root, token, nh, bodySize, nt] = l.messages()[1]!.split(" ");
    expect([root, token, bodySize, nt]).toEqual(["1", "4", "12", "0"]); // root context id 1
    expect(Number(nh)).toBeGreaterThanOrEqual(4); // :status, x-echo, content-type, date, ...
    expect(l.messages().slice(2)).toEqual(["status 202 body got POST /ok echo hi", "effective 0", "after-effective 202"]);
    expect(sink.of("requestHeaders")[0]!.headers).toContainEqual(["x-callout-status", "202"]);
  });

  it("speaks HTTP/2 (prior knowledge) to a cluster configured for it", async () => {
    const { l, sink } = await call([["x-cluster", "h2"]]);
    await until(() => sink.of("requestHeaders").length > 0, "the stream to resume");
    expect(l.messages()[2]).toBe("status 201 body over h2 echo svc.local hi");
  });

  it("refuses an unknown cluster or a request without :authority (BadArgument)", async () => {
    const a = await call([["x-cluster", "nope"]]);
    expect(a.l.messages()).toEqual(["call 2 0"]);
    await a.l.filter.close();
    const b = await call([["x-authority", "none"]]);
    expect(b.l.messages()).toEqual(["call 2 0"]);
  });

  it("a connection failure arrives as Envoy's local 503 reply, not as a failure", async () => {
    const { l, sink } = await call([["x-cluster", "dead"]]);
    await until(() => sink.of("requestHeaders").length > 0, "the stream to resume");
    expect(l.messages()[2]).toMatch(/^status 503 body upstream connect error or disconnect\/reset before headers\. reset reason: connection failure/);
  });

  it("a timeout before the response is Envoy's local 504 reply", async () => {
    const { l, sink } = await call([
      ["x-path", "/slow"],
      ["x-timeout", "100"],
    ]);
    await until(() => sink.of("requestHeaders").length > 0, "the stream to resume");
    expect(l.messages()[2]).toBe("status 504 body upstream request timeout echo <1>");
  });

  it('a reset after the response started is a failure: no headers, get_status 11 "reset"', async () => {
    const { l, sink } = await call([["x-path", "/reset"]]);
    await until(() => sink.of("requestHeaders").length > 0, "the stream to resume");
    expect(l.messages().slice(1, 3)).toEqual(["response 1 4 0 0 0", "get_status 11 reset"]);
    expect(sink.of("requestHeaders")[0]!.headers).toContainEqual(["x-callout-status", "failed"]);
  });
});
