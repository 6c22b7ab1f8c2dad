// Callouts as Envoy runs them for a wasm filter: HTTP calls, unary gRPC calls and gRPC streams against
// named clusters, owned by the calling VM's root context, with every response delivered to the root
// context id under the call's token (low two bits: 0 HTTP, 1 gRPC call, 2 gRPC stream; tokens advance by
// 4). gRPC goes over a real HTTP/2 client (@grpc/grpc-js with raw bytes: the module sends and receives
// unframed messages, grpc-js adds and strips the 5-byte frames).
import * as grpc from "@grpc/grpc-js";
import * as http from "node:http";
import * as https from "node:https";
import type { ClusterConfig, ClusterEndpoint } from "../gateway/config.js";
import type { HeaderList } from "../gateway/http-filter.js";
import { BufferType, CalloutKind, MapType, WasmResult } from "./types.js";

/** What a callout needs from the VM that made it. */
export interface CalloutVm {
  dispatch(event: () => void): void;
  callRoot(name: string, args: number[], buffers?: Map<BufferType, Uint8Array>, maps?: Map<MapType, HeaderList>): void;
  setStatus(code: number, message: string): void;
}

type Result = { result: WasmResult; token: number };

interface Active {
  kind: CalloutKind;
  cancel(): void;
  stream?: grpc.ClientDuplexStream<Buffer, Buffer>;
  /** The failure is already scheduled: the module may still send, nothing goes out. */
  failed?: boolean;
}

interface VmCallouts {
  next: [number, number, number];
  active: Map<number, Active>;
}

const GRPC_UNAVAILABLE = 14;
const GRPC_CANCELLED = 1;
const raw = (b: Buffer): Buffer => b;

export class CalloutHost {
  private readonly perVm = new Map<CalloutVm, VmCallouts>();
  private readonly clients = new Map<string, grpc.Client>();
  private closed = false;

  constructor(
    private readonly clusters: ReadonlyMap<string, ClusterConfig>,
    private readonly bufferLimitBytes: number,
  ) {}

  private state(vm: CalloutVm): VmCallouts {
    let s = this.perVm.get(vm);
    if (!s) this.perVm.set(vm, (s = { next: [4, 5, 6], active: new Map() }));
    return s;
  }

  private token(vm: CalloutVm, kind: CalloutKind): number {
    const s = this.state(vm);
    const t = s.next[kind];
    s.next[kind] = (t + 4) >>> 0;
    return t;
  }

  /** Runs a callback on the VM unless the callout was cancelled meanwhile. */
  private deliver(vm: CalloutVm, token: number, event: () => void): void {
    vm.dispatch(() => {
      if (this.state(vm).active.has(token)) event();
    });
  }

  private finishGrpc(vm: CalloutVm, token: number, code: number, message: string): void {
    this.deliver(vm, token, () => {
      this.state(vm).active.delete(token);
      vm.setStatus(code, message);
      vm.callRoot("proxy_on_grpc_close", [token, code]);
    });
  }

  // ------------------------------------------------------------------------------------------------
  // gRPC

  private grpcClient(cluster: ClusterConfig, endpoint: ClusterEndpoint): grpc.Client {
    const host = endpoint.address.includes(":") ? `[${endpoint.address}]` : endpoint.address;
    const target = `${host}:${endpoint.port}`;
    const key = `${cluster.name}|${target}|${cluster.tls ? "tls" : "plain"}`;
    let client = this.clients.get(key);
    if (!client) {
      const options: grpc.ChannelOptions = {};
      let creds: grpc.ChannelCredentials;
      if (cluster.tls) {
        creds = cluster.tls.insecureSkipVerify
          ? grpc.credentials.createSsl(null, null, null, { checkServerIdentity: () => undefined, rejectUnauthorized: false })
          : grpc.credentials.createSsl();
        // SNI as configured; without one, a name instead of the IP literal Node refuses to send as SNI
        // (verification is off in that case, so the name only labels the connection).
        if (cluster.tls.sni) options["grpc.ssl_target_name_override"] = cluster.tls.sni;
        else if (cluster.tls.insecureSkipVerify) options["grpc.ssl_target_name_override"] = cluster.name.replace(/[^A-Za-z0-9.-]/g, "-");
      } else {
        creds = grpc.credentials.createInsecure();
      }
      client = new grpc.Client(target, creds, options);
      this.clients.set(key, client);
    }
    return client;
  }

  private resolve(clusterName: string): { cluster?: ClusterConfig; endpoint?: ClusterEndpoint } {
    const cluster = this.clusters.get(clusterName);
    return { cluster, endpoint: cluster?.endpoints.find((e) => e.ready !== false) };
  }

  grpcStream(vm: CalloutVm, clusterName: string, service: string, method: string, metadata: HeaderList): Result {
    const { cluster, endpoint } = this.resolve(clusterName);
    if (!cluster || this.closed) return { result: WasmResult.ParseFailure, token: 0 };
    const token = this.token(vm, CalloutKind.GrpcStream);
    const active = this.state(vm).active;
    if (!endpoint) {
      active.set(token, { kind: CalloutKind.GrpcStream, cancel: () => {}, failed: true });
      this.finishGrpc(vm, token, GRPC_UNAVAILABLE, "no healthy upstream");
      return { result: WasmResult.Ok, token };
    }
    const call = this.grpcClient(cluster, endpoint).makeBidiStreamRequest(`/${service}/${method}`, raw, raw, toMetadata(metadata));
    active.set(token, { kind: CalloutKind.GrpcStream, stream: call, cancel: () => call.cancel() });
    call.on("metadata", (md: grpc.Metadata) => {
      const list = fromMetadata(md);
      this.deliver(vm, token, () =>
        vm.callRoot("proxy_on_grpc_receive_initial_metadata", [token, list.length], undefined, new Map([[MapType.GrpcReceiveInitialMetadata, list]])),
      );
    });
    call.on("data", (message: Buffer) => {
      const bytes = new Uint8Array(message);
      this.deliver(vm, token, () =>
        vm.callRoot("proxy_on_grpc_receive", [token, bytes.length], new Map([[BufferType.GrpcReceiveBuffer, bytes]])),
      );
    });
    call.on("status", (status: grpc.StatusObject) => {
      const trailers = fromMetadata(status.metadata);
      if (trailers.length > 0) {
        this.deliver(vm, token, () =>
          vm.callRoot("proxy_on_grpc_receive_trailing_metadata", [token, trailers.length], undefined, new Map([[MapType.GrpcReceiveTrailingMetadata, trailers]])),
        );
      }
      this.finishGrpc(vm, token, status.code, status.details);
    });
    call.on("error", () => {}); // the status event carries the outcome
    return { result: WasmResult.Ok, token };
  }

  grpcSend(vm: CalloutVm, token: number, message: Uint8Array, endOfStream: boolean): WasmResult {
    if ((token & 3) !== CalloutKind.GrpcStream) return WasmResult.BadArgument;
    const a = this.state(vm).active.get(token);
    if (!a) return WasmResult.NotFound;
    if (a.stream && a.stream.writable) {
      a.stream.write(Buffer.from(message.buffer, message.byteOffset, message.byteLength));
      if (endOfStream) a.stream.end();
    }
    return WasmResult.Ok;
  }

  grpcClose(vm: CalloutVm, token: number): WasmResult {
    const a = this.state(vm).active.get(token);
    if (!a) return WasmResult.NotFound;
    if (a.kind === CalloutKind.GrpcStream) {
      // Half-close: the rest of the response and on_grpc_close still arrive.
      if (a.stream?.writable) a.stream.end();
    } else {
      this.state(vm).active.delete(token);
      a.cancel();
    }
    return WasmResult.Ok;
  }

  grpcCancel(vm: CalloutVm, token: number): WasmResult {
    const a = this.state(vm).active.get(token);
    if (!a) return WasmResult.NotFound;
    this.state(vm).active.delete(token);
    a.cancel();
    return WasmResult.Ok;
  }

  grpcCall(
    vm: CalloutVm, clusterName: string, service: string, method: string, metadata: HeaderList, message: Uint8Array, timeoutMs: number,
  ): Result {
    const { cluster, endpoint } = this.resolve(clusterName);
    if (!cluster || this.closed) return { result: WasmResult.ParseFailure, token: 0 };
    const token = this.token(vm, CalloutKind.GrpcCall);
    const active = this.state(vm).active;
    if (!endpoint) {
      active.set(token, { kind: CalloutKind.GrpcCall, cancel: () => {} });
      this.finishGrpc(vm, token, GRPC_UNAVAILABLE, "no healthy upstream");
      return { result: WasmResult.Ok, token };
    }
    const options: grpc.CallOptions = timeoutMs > 0 ? { deadline: Date.now() + timeoutMs } : {};
    const call = this.grpcClient(cluster, endpoint).makeUnaryRequest(
      `/${service}/${method}`, raw, raw, Buffer.from(message), toMetadata(metadata), options,
      (err: grpc.ServiceError | null, value?: Buffer) => {
        if (err || !value) {
          this.finishGrpc(vm, token, err?.code ?? GRPC_CANCELLED, err?.details ?? "");
          return;
        }
        const bytes = new Uint8Array(value);
        // Unary success: exactly one on_grpc_receive and no close (envoy context.cc).
        this.deliver(vm, token, () => {
          active.delete(token);
          vm.callRoot("proxy_on_grpc_receive", [token, bytes.length], new Map([[BufferType.GrpcReceiveBuffer, bytes]]));
        });
      },
    );
    active.set(token, { kind: CalloutKind.GrpcCall, cancel: () => call.cancel() });
    return { result: WasmResult.Ok, token };
  }

  // ------------------------------------------------------------------------------------------------
  // HTTP

  httpCall(vm: CalloutVm, clusterName: string, headers: HeaderList, body: Uint8Array, timeoutMs: number): Result {
    const { cluster, endpoint } = this.resolve(clusterName);
    const get = (name: string) => headers.find(([k]) => k === name)?.[1];
    const method = get(":method");
    const path = get(":path");
    const authority = get(":authority");
    if (!cluster || timeoutMs < 0 || !method || !path || !authority || this.closed) return { result: WasmResult.BadArgument, token: 0 };
    const token = this.token(vm, CalloutKind.Http);
    const active = this.state(vm).active;
    const fail = (reason: string) =>
      this.deliver(vm, token, () => {
        active.delete(token);
        vm.setStatus(WasmResult.BrokenConnection, reason);
        vm.callRoot("proxy_on_http_call_response", [token, 0, 0, 0]);
      });
    if (!endpoint) {
      active.set(token, { kind: CalloutKind.Http, cancel: () => {} });
      fail("reset");
      return { result: WasmResult.Ok, token };
    }
    const outHeaders: Record<string, string | string[]> = { host: authority };
    for (const [k, v] of headers) {
      if (k.startsWith(":") || k === "host") continue;
      const prev = outHeaders[k];
      outHeaders[k] = prev === undefined ? v : ([] as string[]).concat(prev, v);
    }
    const request = (cluster.tls ? https : http).request({
      host: endpoint.address,
      port: endpoint.port,
      method,
      path,
      headers: outHeaders,
      timeout: timeoutMs > 0 ? timeoutMs : undefined,
      ...(cluster.tls ? { rejectUnauthorized: !cluster.tls.insecureSkipVerify, servername: cluster.tls.sni } : {}),
    });
    let done = false;
    const once = (f: () => void) => {
      if (!done) {
        done = true;
        f();
      }
    };
    active.set(token, { kind: CalloutKind.Http, cancel: () => once(() => request.destroy()) });
    request.on("timeout", () => {
      request.destroy();
      once(() => fail("timeout"));
    });
    request.on("error", () => once(() => fail("reset")));
    request.on("response", (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        size += c.length;
        if (size > this.bufferLimitBytes) {
          request.destroy();
          once(() => fail("reset"));
          return;
        }
        chunks.push(c);
      });
      res.on("error", () => once(() => fail("reset")));
      res.on("end", () =>
        once(() => {
          const list: HeaderList = [[":status", String(res.statusCode ?? 0)]];
          for (let i = 0; i < res.rawHeaders.length; i += 2) list.push([res.rawHeaders[i]!.toLowerCase(), res.rawHeaders[i + 1]!]);
          const trailers: HeaderList = [];
          for (let i = 0; i < res.rawTrailers.length; i += 2) trailers.push([res.rawTrailers[i]!.toLowerCase(), res.rawTrailers[i + 1]!]);
          const bytes = new Uint8Array(Buffer.concat(chunks));
          this.deliver(vm, token, () => {
            active.delete(token);
            vm.callRoot(
              "proxy_on_http_call_response", [token, list.length, bytes.length, trailers.length],
              new Map([[BufferType.HttpCallResponseBody, bytes]]),
              new Map([[MapType.HttpCallResponseHeaders, list], [MapType.HttpCallResponseTrailers, trailers]]),
            );
          });
        }),
      );
    });
    request.end(Buffer.from(body));
    return { result: WasmResult.Ok, token };
  }

  /** Cancels everything and closes the gRPC channels (the filter is shutting down). */
  close(): void {
    this.closed = true;
    for (const s of this.perVm.values()) {
      for (const a of s.active.values()) a.cancel();
      s.active.clear();
    }
    for (const c of this.clients.values()) c.close();
    this.clients.clear();
  }
}

function toMetadata(list: HeaderList): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of list) {
    const key = k.toLowerCase();
    if (key.startsWith(":") || key === "content-type" || key === "te" || key.startsWith("grpc-")) continue;
    if (key.endsWith("-bin")) md.add(key, Buffer.from(v, "base64"));
    else md.add(key, v);
  }
  return md;
}

function fromMetadata(md: grpc.Metadata): HeaderList {
  const out: HeaderList = [];
  for (const [k, values] of Object.entries(md.toJSON())) {
    for (const v of values) out.push([k, typeof v === "string" ? v : Buffer.from(v).toString("base64")]);
  }
  return out;
}
