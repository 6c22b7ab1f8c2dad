// gRPC callouts against a real grpc-js server on loopback: unframed messages both ways, initial and
// trailing metadata, close status, unary success (message only) and failure (close only), the
// cluster-name / GrpcService target rules, HTTP/2 and TLS (verification skipped) clusters.
import * as grpc from "@grpc/grpc-js";
import { generate } from "selfsigned";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ClusterConfig } from "../../src-host/dataplane-api/bootstrap.js";
import type { HeaderList } from "../../src-host/dataplane-api/http-filter.js";
import { watchHttp2Clients } from "../http2-watch.js";
import { type Loaded, loadFixture, openStream, reqHeaders, until } from "./helpers.js";

const identity = (b: Buffer) => b;
const method = (path: string, requestStream: boolean, responseStream: boolean) => ({
  path,
  requestStream,
  responseStream,
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
});

const received: Array<{ method: string; message: string; md: string | undefined }> = [];

function echoService(): grpc.UntypedServiceImplementation {
  return {
    Stream: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      const md = new grpc.Metadata();
      md.set("x-init", "i1");
      call.sendMetadata(md);
      call.on("data", (m: Buffer) => {
        received.push({ method: "Stream", message: m.toString("latin1"), md: call.metadata.get("x-md")[0]?.toString() });
        call.write(Buffer.from("echo:" + m.toString()));
      });
      call.on("end", () => {
        const trailers = new grpc.Metadata();
        trailers.set("x-trail", "t1");
        call.end(trailers);
      });
    },
    Fail: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
      call.on("data", () => {
        const trailers = new grpc.Metadata();
        trailers.set("x-trail", "t2");
        call.emit("error", { code: grpc.status.FAILED_PRECONDITION, details: "not now", metadata: trailers });
      });
    },
    Unary: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      received.push({ method: "Unary", message: call.request.toString("latin1"), md: call.metadata.get("x-md")[0]?.toString() });
      cb(null, Buffer.from("unary:" + call.request.toString()));
    },
    UnaryFail: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
      cb({ code: grpc.status.PERMISSION_DENIED, details: "denied" });
    },
  };
}

const definition = {
  Stream: method("/test.Echo/Stream", true, true),
  Fail: method("/test.Echo/Fail", true, true),
  Unary: method("/test.Echo/Unary", false, false),
  UnaryFail: method("/test.Echo/UnaryFail", false, false),
};

async function startServer(creds: grpc.ServerCredentials): Promise<{ server: grpc.Server; port: number }> {
  const server = new grpc.Server();
  server.addService(definition, echoService());
  const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", creds, (err, p) => (err ? reject(err) : resolve(p))));
  return { server, port };
}

let plain: { server: grpc.Server; port: number };
let tls: { server: grpc.Server; port: number };
beforeAll(async () => {
  plain = await startServer(grpc.ServerCredentials.createInsecure());
  const pems = await generate([{ name: "commonName", value: "epp.example" }], { keySize: 2048 });
  tls = await startServer(grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(pems.cert), private_key: Buffer.from(pems.private) }]));
});
afterAll(() => {
  plain.server.forceShutdown();
  tls.server.forceShutdown();
});

let loaded: Loaded | undefined;
afterEach(async () => {
  await loaded?.filter.close();
  loaded = undefined;
});

const clusters = (): ClusterConfig[] => [
  { name: "grpc", type: "STATIC", endpoints: [{ address: "127.0.0.1", port: plain.port }], http2: true, connectTimeoutMs: 1000 },
  { name: "plain-h1", type: "STATIC", endpoints: [{ address: "127.0.0.1", port: plain.port }], connectTimeoutMs: 1000 },
  { name: "h1", type: "STATIC", endpoints: [{ address: "127.0.0.1", port: plain.port }], http2: true, connectTimeoutMs: 1000 },
  {
    name: "tls-skip",
    type: "STATIC",
    endpoints: [{ address: "127.0.0.1", port: tls.port }],
    http2: true,
    tls: { insecureSkipVerify: true },
    connectTimeoutMs: 1000,
  },
  {
    name: "tls-verify",
    type: "STATIC",
    endpoints: [{ address: "127.0.0.1", port: tls.port }],
    http2: true,
    tls: { insecureSkipVerify: false },
    connectTimeoutMs: 1000,
  },
];

async function start(h: HeaderList) {
  const l = (loaded = await loadFixture("host-grpc", {}, { clusters: clusters() }));
  const { stream, sink } = openStream(l.filter);
  stream.requestHeaders(reqHeaders([...h, ["x-service", "grpc"], ["x-md", "m1"], ["x-timeout", "0"]]), true);
  const resumed = () => until(() => sink.of("requestHeaders").length > 0, "the stream to resume");
  return { l, sink, resumed };
}

describe("gRPC stream", () => {
  it("sends unframed messages, delivers initial metadata, messages, trailing metadata and close in order", async () => {
    const { l, sink, resumed } = await start([
      ["x-grpc", "stream"],
      ["x-method", "Stream"],
    ]);
    await resumed();
    expect(l.messages()).toEqual([
      "stream 0 6", // first gRPC stream token
      "send 0",
      "send 0",
      "initial 1 6 i1",
      "message 6 8 echo:one",
      "message 6 8 echo:two",
      "trailing 6 t1 0",
      "close 6 0 0 ",
      "effective 0",
    ]);
    expect(received.filter((r) => r.method === "Stream").slice(-2)).toEqual([
      { method: "Stream", message: "one", md: "m1" },
      { method: "Stream", message: "two", md: "m1" },
    ]);
    expect(sink.of("requestHeaders")[0]!.headers).toContainEqual(["x-grpc-close", "0"]);
  });

  it("proxy_grpc_close half-closes: the server ends the stream and the close still arrives, without a reset", async () => {
    const watch = watchHttp2Clients();
    try {
      const { l, resumed } = await start([
        ["x-grpc", "stream-close"],
        ["x-method", "Stream"],
      ]);
      await resumed();
      expect(l.messages().slice(1)).toEqual(["send 0", "close 0", "initial 1 6 i1", "message 6 8 echo:one", "trailing 6 t1 0", "close 6 0 0 ", "effective 0"]);
      await new Promise((r) => setTimeout(r, 50));
      expect({ streams: watch.streams, resets: watch.resets, goaways: watch.goaways }).toEqual({ streams: 1, resets: 0, goaways: 0 });
    } finally {
      watch.stop();
    }
  });

  it("a stream the server fails closes with its status and message, after trailing metadata", async () => {
    const { l, resumed } = await start([
      ["x-grpc", "stream"],
      ["x-method", "Fail"],
    ]);
    await resumed();
    expect(l.messages().filter((m) => m.startsWith("trailing") || m.startsWith("close 6"))).toEqual(["trailing 6 t2 9", "close 6 9 9 not now"]);
  });

  it("after proxy_grpc_cancel no callback arrives and the token is gone", async () => {
    const { l } = await start([
      ["x-grpc", "cancel"],
      ["x-method", "Stream"],
    ]);
    expect(l.messages()).toEqual(["stream 0 6", "cancel 0 then send 1"]);
    await new Promise((r) => setTimeout(r, 100));
    expect(l.messages()).toHaveLength(2);
  });
});

describe("gRPC unary call", () => {
  it("success: exactly one on_grpc_receive and no close", async () => {
    const { l, sink, resumed } = await start([
      ["x-grpc", "unary"],
      ["x-method", "Unary"],
      ["x-msg", "ping"],
    ]);
    await resumed();
    await new Promise((r) => setTimeout(r, 50));
    expect(l.messages()).toEqual(["call 0 5", "send-on-call 2", "message 5 10 unary:ping", "effective 0"]);
    expect(received.filter((r) => r.method === "Unary").at(-1)).toEqual({ method: "Unary", message: "ping", md: "m1" });
    expect(sink.of("requestHeaders")[0]!.headers).toContainEqual(["x-grpc-reply", "unary:ping"]);
  });

  it("failure: only on_grpc_close, with the status message from proxy_get_status", async () => {
    const { l, resumed } = await start([
      ["x-grpc", "unary"],
      ["x-method", "UnaryFail"],
      ["x-msg", "ping"],
    ]);
    await resumed();
    expect(l.messages().slice(2)).toEqual(["close 5 7 7 denied", "effective 0"]);
  });

  it("accepts a serialized GrpcService naming the cluster", async () => {
    // GrpcService{envoy_grpc{cluster_name: "grpc"}} = 0a 06 0a 04 "grpc"
    const hex = "0a060a04" + Buffer.from("grpc").toString("hex");
    const { l, resumed } = await start([
      ["x-grpc", "unary"],
      ["x-method", "Unary"],
      ["x-msg", "svc"],
      ["x-service-hex", hex],
    ]);
    await resumed();
    expect(l.messages()).toContain("message 5 9 unary:svc");
  });

  it("refuses an unknown cluster name with ParseFailure and a GrpcService for an unknown cluster with BadArgument", async () => {
    const a = await start([
      ["x-grpc", "unary"],
      ["x-method", "Unary"],
      ["x-service", "nope"],
    ]);
    expect(a.l.messages()).toEqual(["call 4 -"]);
    await a.l.filter.close();
    const hex = "0a060a04" + Buffer.from("nope").toString("hex");
    const b = await start([
      ["x-grpc", "unary"],
      ["x-method", "Unary"],
      ["x-service-hex", hex],
    ]);
    expect(b.l.messages()).toEqual(["call 2 -"]);
  });

  it("a cluster without HTTP/2 fails the call as Envoy would (Internal)", async () => {
    const { l, resumed } = await start([
      ["x-grpc", "unary"],
      ["x-method", "Unary"],
      ["x-msg", "x"],
      ["x-service", "plain-h1"],
    ]);
    await resumed();
    expect(l.messages()[2]).toMatch(/^close 5 13 13 /);
  });

  it("a cluster name that happens to parse as a GrpcService message is taken as one (Envoy parses first)", async () => {
    // "h1" = 0x68 0x31: field 13, varint 49, a valid (unknown-field) message without envoy_grpc.
    const { l } = await start([
      ["x-grpc", "unary"],
      ["x-method", "Unary"],
      ["x-service", "h1"],
    ]);
    expect(l.messages()).toEqual(["call 2 -"]);
  });
});

describe("TLS clusters", () => {
  it("with insecureSkipVerify the self-signed server is accepted", async () => {
    const { l, resumed } = await start([
      ["x-grpc", "unary"],
      ["x-method", "Unary"],
      ["x-msg", "tls"],
      ["x-service", "tls-skip"],
    ]);
    await resumed();
    expect(l.messages()).toContain("message 5 9 unary:tls");
  });

  it("with verification the self-signed server is refused (Unavailable)", async () => {
    const { l, resumed } = await start([
      ["x-grpc", "unary"],
      ["x-method", "Unary"],
      ["x-msg", "tls"],
      ["x-service", "tls-verify"],
    ]);
    await resumed();
    expect(l.messages()[2]).toMatch(/^close 5 14 14 /);
  });
});
