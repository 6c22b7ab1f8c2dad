// Callouts from the raw-ABI module (test/assembly/wh-raw.ts) against real servers on loopback: tokens,
// callbacks on the root context, data readable during the callback, set_effective_context + continue.
import * as grpc from "@grpc/grpc-js";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClusterConfig } from "../../src-host/gateway/config.js";
import type { WasmFilter } from "../../src-host/wasm-host/index.js";
import { TestSink, load, moduleBytes, request, until, type LogLine } from "./helpers.js";

const raw = {
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: (b: Buffer) => b,
  responseDeserialize: (b: Buffer) => b,
};

let grpcServer: grpc.Server;
let grpcPort = 0;
let httpServer: Server;
let httpPort = 0;
const seenHttp: Array<{ path?: string; host?: string; from?: string }> = [];
let filter: WasmFilter;
let logs: LogLine[];

const cluster = (name: string, port: number, ready = true): ClusterConfig => ({
  name, type: "STATIC", http2: true, connectTimeoutMs: 1000, endpoints: [{ address: "127.0.0.1", port, ready }],
});

beforeAll(async () => {
  grpcServer = new grpc.Server();
  grpcServer.addService(
    {
      Unary: { path: "/wh.Echo/Unary", requestStream: false, responseStream: false, ...raw },
      Chat: { path: "/wh.Echo/Chat", requestStream: true, responseStream: true, ...raw },
    },
    {
      Unary(call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
        const msg = call.request.toString();
        if (msg === "fail") cb({ code: grpc.status.PERMISSION_DENIED, details: "denied" });
        else cb(null, Buffer.from(`unary:${msg}`));
      },
      Chat(call: grpc.ServerDuplexStream<Buffer, Buffer>) {
        const md = new grpc.Metadata();
        md.set("x-server-initial", String(call.metadata.get("x-md")[0] ?? "none"));
        call.sendMetadata(md);
        call.on("data", (b: Buffer) => call.write(Buffer.concat([Buffer.from("echo:"), b])));
        call.on("end", () => {
          const trailers = new grpc.Metadata();
          trailers.set("x-server-trailing", "bye");
          call.end(trailers);
        });
      },
    },
  );
  grpcPort = await new Promise<number>((res, rej) =>
    grpcServer.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  httpServer = createServer((req, res) => {
    seenHttp.push({ path: req.url, host: req.headers.host, from: req.headers["x-from"] as string | undefined });
    res.setHeader("content-type", "text/plain");
    res.end("hi there");
  });
  await new Promise<void>((r) => httpServer.listen(0, "127.0.0.1", r));
  httpPort = (httpServer.address() as AddressInfo).port;
  ({ filter, logs } = await load(
    { rootId: "", configuration: "", workers: 1, allowOnHeadersStopIteration: false },
    {
      module: moduleBytes("wh-raw"),
      clusters: [cluster("grpc", grpcPort), cluster("web", httpPort), cluster("down", 1, false)],
    },
  ));
});

afterAll(async () => {
  await filter.close();
  await new Promise<void>((r) => grpcServer.tryShutdown(() => r()));
  await new Promise<void>((r) => httpServer.close(() => r()));
});

function values(from: number): Map<string, string> {
  const m = new Map<string, string>();
  for (const l of logs.slice(from)) {
    const i = l.message.indexOf("=");
    if (i > 0) m.set(l.message.slice(0, i), l.message.slice(i + 1));
  }
  return m;
}

async function run(op: string, clusterName: string, extra: Array<[string, string]> = []) {
  const from = logs.length;
  const sink = new TestSink().attach(filter);
  sink.stream.requestHeaders(request("GET", `/${op}`, [["x-op", op], ["x-cluster", clusterName], ...extra]), true);
  return { sink, from };
}

describe("HTTP callouts", () => {
  it("delivers the response to the root context; the stream continues after set_effective_context", async () => {
    const { sink, from } = await run("http", "web");
    expect(sink.events).toEqual([]);
    await until(() => sink.requestEnded);
    const v = values(from);
    expect(v.get("call")).toBe("0");
    expect(Number(v.get("token")) % 4).toBe(0);
    expect(v.get("http_response")).toBe(`${v.get("token")} 200 hi there`);
    expect(seenHttp.at(-1)).toEqual({ path: "/hello", host: "test", from: "wasm" });
    sink.stream.complete();
  });

  it("refuses calls without :path or to unknown clusters; a failed call has no headers and status 'reset'", async () => {
    expect(values((await run("http-nopath", "web")).from).get("call")).toBe("2");
    expect(values((await run("http", "nope")).from).get("call")).toBe("2");
    const { sink, from } = await run("http", "down");
    await until(() => sink.requestEnded);
    expect(values(from).get("http_failed")).toBe("11:reset");
  });
});

describe("gRPC calls", () => {
  it("unary success: exactly one on_grpc_receive with the unframed response", async () => {
    const { sink, from } = await run("grpc-call", "grpc", [["x-msg", "ping"]]);
    await until(() => sink.requestEnded);
    const v = values(from);
    expect(Number(v.get("token")) % 4).toBe(1);
    expect(v.get("grpc_receive")).toBe(`${v.get("token")} unary:ping`);
    expect(v.has("grpc_close")).toBe(false);
  });

  it("unary failure: only on_grpc_close with the status and its message", async () => {
    const { sink, from } = await run("grpc-call", "grpc", [["x-msg", "fail"]]);
    await until(() => sink.requestEnded);
    const v = values(from);
    expect(v.get("grpc_close")).toBe(`${v.get("token")} 7 7:denied`);
    expect(v.has("grpc_receive")).toBe(false);
  });

  it("an unknown cluster is a ParseFailure", async () => {
    expect(values((await run("grpc-call", "nope", [["x-msg", "x"]])).from).get("call")).toBe("4");
  });
});

describe("gRPC streams", () => {
  it("initial metadata, messages, trailing metadata and close arrive in order on the root context", async () => {
    const { sink, from } = await run("grpc-stream", "grpc");
    await until(() => sink.requestEnded);
    const v = values(from);
    const token = v.get("token")!;
    expect(Number(token) % 4).toBe(2);
    expect(v.get("send_wrong_token")).toBe("2");
    expect(v.get("send")).toBe("0");
    expect(v.get("grpc_initial")).toBe("hi");
    expect(v.get("grpc_receive")).toBe(`${token} echo:one`);
    expect(v.get("grpc_close_local")).toBe("0");
    expect(v.get("grpc_trailing")).toBe("bye");
    expect(v.get("grpc_close")).toBe(`${token} 0 0:OK`);
    const order = logs.slice(from).map((l) => l.message.split("=")[0]).filter((k) => k!.startsWith("grpc_"));
    expect(order).toEqual(["grpc_initial", "grpc_receive", "grpc_close_local", "grpc_trailing", "grpc_close"]);
  });

  it("a cluster without ready endpoints closes the stream with Unavailable", async () => {
    const { sink, from } = await run("grpc-stream", "down");
    await until(() => sink.requestEnded);
    expect(values(from).get("grpc_close")).toMatch(/^\d+ 14 14:no healthy upstream$/);
  });
});
