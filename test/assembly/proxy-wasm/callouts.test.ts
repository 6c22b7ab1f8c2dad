// Outbound calls made through the SDK, run by the proxy-wasm host against real servers on loopback.
// Envoy delivers every callout callback to the root context; these tests pass only if the SDK hands
// each one to the stream that made the call, with that stream made effective (its request headers are
// changed and it is continued from inside the callback).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClusterConfig } from "../../../src-host/dataplane-api/bootstrap.js";
import type { HeaderList } from "../../../src-host/dataplane-api/http-filter.js";
import { watchHttp2Clients } from "../../http2-watch.js";
import { type Loaded, type TestSink, loadFixture, openStream, reqHeaders, until } from "../../proxy-wasm/helpers.js";
import { type EchoServer, startEchoServer, startHttpServer } from "./servers.js";

let echo: EchoServer;
let web: Awaited<ReturnType<typeof startHttpServer>>;
let loaded: Loaded;
/** Every HTTP/2 stream the host opens in this file, and which ended in a reset. */
const wire = watchHttp2Clients();

const cluster = (name: string, port: number): ClusterConfig => ({
  name,
  type: "STATIC",
  http2: true,
  connectTimeoutMs: 1000,
  endpoints: [{ address: "127.0.0.1", port }],
});

beforeAll(async () => {
  echo = await startEchoServer();
  web = await startHttpServer();
  loaded = await loadFixture(
    "sdk-callouts",
    { workers: 2 },
    {
      clusters: [cluster("grpc", echo.port), { ...cluster("web", web.port), http2: false }],
    },
  );
});

afterAll(async () => {
  wire.stop();
  await loaded.filter.close();
  await echo.close();
  await web.close();
});

const one = (h: HeaderList, name: string) => {
  const v = h.filter(([k]) => k === name).map(([, x]) => x);
  expect(v, `header ${name}`).toHaveLength(1);
  return v[0]!;
};
const has = (h: HeaderList, name: string) => h.some(([k]) => k === name);

function start(extra: HeaderList): TestSink {
  const { stream, sink } = openStream(loaded.filter);
  stream.requestHeaders(reqHeaders(extra), true);
  return sink;
}

async function continued(sink: TestSink, what: string): Promise<HeaderList> {
  await until(() => sink.of("requestHeaders").length > 0, what);
  expect(sink.of("requestHeaders")).toHaveLength(1);
  return sink.of("requestHeaders")[0]!.headers;
}

describe("HTTP call", () => {
  it("the response reaches the calling stream, which reads it and continues", async () => {
    const sink = start([
      ["x-callout", "http"],
      ["x-cluster", "web"],
      ["x-http-path", "/hello"],
    ]);
    expect(sink.events).toEqual([]);
    const h = await continued(sink, "the http call");
    expect(one(h, "x-http-status")).toBe("200");
    expect(one(h, "x-http-body")).toBe("hi there");
    expect(has(h, "x-http-failed")).toBe(false);
    sink.stream.complete();
  });

  it("a call reset mid-response reaches the stream with no headers and the host's status", async () => {
    const sink = start([
      ["x-callout", "http"],
      ["x-cluster", "web"],
      ["x-http-path", "/reset"],
    ]);
    const h = await continued(sink, "the failed http call");
    expect(one(h, "x-http-failed")).toBe("11 reset");
    sink.stream.complete();
  });

  it("is refused in the SDK, before the host, without :authority", async () => {
    const sink = start([
      ["x-callout", "http-bad"],
      ["x-cluster", "web"],
      ["x-http-path", "/hello"],
    ]);
    const reply = sink.of("localReply");
    expect(reply.map((r) => [r.status, r.body])).toEqual([[400, "result=2"]]);
    sink.stream.complete();
  });
});

describe("unary gRPC call", () => {
  it("success: one response with the unframed message", async () => {
    const sink = start([
      ["x-callout", "grpc-call"],
      ["x-cluster", "grpc"],
      ["x-message", "hello"],
    ]);
    const h = await continued(sink, "the grpc call");
    expect(one(h, "x-grpc-status")).toBe("0");
    expect(one(h, "x-grpc-reply")).toBe("unary:hello");
    sink.stream.complete();
  });

  it("failure: the status and its message", async () => {
    const sink = start([
      ["x-callout", "grpc-call"],
      ["x-cluster", "grpc"],
      ["x-message", "fail"],
    ]);
    const h = await continued(sink, "the failing grpc call");
    expect(one(h, "x-grpc-status")).toBe("7");
    expect(one(h, "x-grpc-message")).toBe("denied");
    expect(has(h, "x-grpc-reply")).toBe(false);
    sink.stream.complete();
  });
});

describe("gRPC streams", () => {
  it("concurrent streams: every event reaches the stream that opened it (token → context, set_effective_context)", async () => {
    const runs = ["a", "b", "c", "d", "e", "f"].map((tag, i) => ({
      tag,
      sink: start([
        ["x-callout", "grpc-stream"],
        ["x-cluster", "grpc"],
        ["x-messages", `${tag}1,${tag}2,${tag}3`],
        ...(i % 2 ? ([["x-close-mode", "close"]] as HeaderList) : []),
      ]),
    }));
    const contexts = new Set<string>();
    for (const { tag, sink } of runs) {
      const h = await continued(sink, `stream ${tag}`);
      expect(one(h, "x-grpc-messages")).toBe(`echo:${tag}1|echo:${tag}2|echo:${tag}3`);
      expect(one(h, "x-grpc-initial")).toBe("stream");
      expect(one(h, "x-grpc-trailing")).toBe("bye");
      expect(one(h, "x-grpc-status")).toBe("0");
      expect(has(h, "x-continue-failed")).toBe(false);
      contexts.add(`${one(h, "x-context")}`);
      sink.stream.complete();
    }
    // Two VMs number their contexts independently, so ids may repeat across VMs but not within one.
    expect(contexts.size).toBeGreaterThanOrEqual(3);
  });

  it("an unknown cluster is refused with the host's answer", async () => {
    const sink = start([
      ["x-callout", "grpc-stream"],
      ["x-cluster", "nowhere"],
      ["x-messages", "x"],
    ]);
    expect(sink.of("localReply").map((r) => [r.status, r.body])).toEqual([[502, "result=4"]]);
    sink.stream.complete();
  });

  it("cancel: no callback follows and the stream owns nothing", async () => {
    const sink = start([
      ["x-callout", "grpc-cancel"],
      ["x-cluster", "grpc"],
    ]);
    const h = await continued(sink, "the cancelled stream");
    expect(one(h, "x-cancel-result")).toBe("0");
    expect(one(h, "x-outstanding")).toBe("0");
    await new Promise((r) => setTimeout(r, 100));
    expect(sink.events.map((e) => e.kind)).toEqual(["requestHeaders"]);
    sink.stream.complete();
  });

  it("a stream deleted with its gRPC stream still open cancels it", async () => {
    const sink = start([
      ["x-callout", "grpc-abandon"],
      ["x-cluster", "grpc"],
      ["x-message", "abandoned-1"],
    ]);
    await continued(sink, "the abandoning stream");
    await until(() => echo.chats.includes("abandoned-1"), "the server to see the stream");
    expect(echo.cancelled).not.toContain("abandoned-1");
    const resets = wire.resets;
    sink.stream.complete();
    await until(() => echo.cancelled.includes("abandoned-1"), "the server to see the cancel");
    await until(() => wire.resets === resets + 1, "the reset on the wire");
  });

  for (const mode of ["end_of_stream", "close"]) {
    it(`a stream deleted after half-closing (${mode}) leaves its gRPC stream to end normally: no reset`, async () => {
      const message = `slow-finish-${mode}`;
      const sink = start([
        ["x-callout", "grpc-finish"],
        ["x-cluster", "grpc"],
        ["x-message", message],
        ["x-close-mode", mode],
      ]);
      await continued(sink, "the finishing stream");
      await until(() => echo.chats.includes(message), "the server to see the stream");
      const resets = wire.resets;
      sink.stream.complete(); // on_delete while the server has not ended the call yet
      await until(() => echo.ended.includes(message) || echo.cancelled.includes(message), "the call to end");
      await new Promise((r) => setTimeout(r, 20));
      expect(echo.ended).toContain(message);
      expect(wire.resets).toBe(resets);
    });
  }
});
