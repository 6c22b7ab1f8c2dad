// Real servers on loopback for the SDK's callout tests: a gRPC echo service (grpc-js, raw bytes, no
// protobuf) and a plain HTTP server. Both listen on ephemeral ports.
import * as grpc from "@grpc/grpc-js";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

const raw = {
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: (b: Buffer) => b,
  responseDeserialize: (b: Buffer) => b,
};

/** sdk.test.Echo: Unary answers "unary:<msg>" ("fail" → PERMISSION_DENIED "denied"); Chat echoes each
 * message as "echo:<msg>", sends initial metadata x-server-initial = the client's x-md, and ends with
 * trailer x-server-trailing: bye once the client half-closes (200 ms later when the first message starts
 * with "slow"). */
export interface EchoServer {
  port: number;
  /** Chat calls whose stream closed before or after the server ended them (grpc-js says "cancelled" for both). */
  cancelled: string[];
  /** First message of every Chat call the server saw. */
  chats: string[];
  /** First message of every Chat call the server ended with OK (not reset before). */
  ended: string[];
  close(): Promise<void>;
}

export async function startEchoServer(): Promise<EchoServer> {
  const server = new grpc.Server();
  const state: EchoServer = { port: 0, cancelled: [], chats: [], ended: [], close: async () => {} };
  const service: grpc.ServiceDefinition = {
    Unary: { path: "/sdk.test.Echo/Unary", requestStream: false, responseStream: false, ...raw },
    Chat: { path: "/sdk.test.Echo/Chat", requestStream: true, responseStream: true, ...raw },
  };
  server.addService(service, {
    Unary(call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
      const msg = call.request.toString();
      if (msg === "fail") cb({ code: grpc.status.PERMISSION_DENIED, details: "denied" });
      else cb(null, Buffer.from(`unary:${msg}`));
    },
    Chat(call: grpc.ServerDuplexStream<Buffer, Buffer>) {
      const md = new grpc.Metadata();
      md.set("x-server-initial", String(call.metadata.get("x-md")[0] ?? "none"));
      call.sendMetadata(md);
      let first = "";
      call.on("data", (b: Buffer) => {
        if (first === "") state.chats.push((first = b.toString()));
        call.write(Buffer.concat([Buffer.from("echo:"), b]));
      });
      const end = () => {
        if (call.cancelled) return;
        const trailers = new grpc.Metadata();
        trailers.set("x-server-trailing", "bye");
        call.end(trailers);
        state.ended.push(first);
      };
      call.on("end", () => (first.startsWith("slow") ? setTimeout(end, 200) : end()));
      call.on("cancelled", () => state.cancelled.push(first));
      call.on("error", () => {});
    },
  });
  state.port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
  );
  state.close = async () => server.forceShutdown();
  return state;
}

/** GET /hello → 200 "hi there" with x-served-by: sdk-test; /reset → the response starts, then the
 * connection is destroyed (a reset after the response began: the one HTTP-call failure Envoy reports). */
export async function startHttpServer(): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    if (req.url === "/reset") {
      res.writeHead(200, { "content-length": "100" });
      res.write("partial", () => setTimeout(() => req.socket.destroy(), 20));
      return;
    }
    res.setHeader("x-served-by", "sdk-test");
    res.end(req.url === "/hello" ? "hi there" : `path ${req.url}`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
