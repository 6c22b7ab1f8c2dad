// The root context: one per plugin per VM. It receives on_vm_start / on_configure / on_tick /
// on_queue_ready, owns every callout (HTTP, gRPC call, gRPC stream) and holds what their callbacks can
// read: the response maps and buffers, and the status proxy_get_status returns.
import type { HeaderList } from "../dataplane-api/http-filter.js";
import { BufferType, MapType, TokenKind, WasmResult } from "./abi.js";
import { ConstBuffer, type WasmBuffer } from "./buffers.js";
import { utf8Bytes, utf8String } from "./bytes.js";
import { type Cancellable, type HttpCalloutResponse, sendHttpCallout } from "./callouts/http.js";
import { CalloutStats } from "./callouts/cluster-stats.js";
import type { GrpcStreamHandle, GrpcTarget } from "./callouts/grpc.js";
import { Context, type ContextRoot, type ContextVm } from "./context.js";
import { parseGrpcService } from "./proto.js";

interface StreamCallout {
  handle: GrpcStreamHandle;
  localClosed: boolean;
  remoteClosed: boolean;
}

export class RootContext extends Context implements ContextRoot {
  /** True while on_configure runs: the plugin configuration is readable then only. */
  configuring = false;
  statusCode = 0;
  statusMessage: Uint8Array = new Uint8Array(0);
  httpCallResponse: HttpCalloutResponse | undefined;
  grpcReceiveBuffer: Uint8Array | undefined;
  private grpcInitialMetadata: HeaderList | undefined;
  private grpcTrailingMetadata: HeaderList | undefined;
  private readonly httpCalls = new Map<number, Cancellable>();
  private readonly grpcCalls = new Map<number, Cancellable>();
  private readonly grpcStreams = new Map<number, StreamCallout>();

  constructor(vm: ContextVm, id: number) {
    super(vm, id);
  }

  get root(): RootContext {
    return this;
  }
  override get isRoot(): boolean {
    return true;
  }

  calloutMap(type: MapType): HeaderList | undefined {
    switch (type) {
      case MapType.GrpcReceiveInitialMetadata:
        return this.grpcInitialMetadata;
      case MapType.GrpcReceiveTrailingMetadata:
        return this.grpcTrailingMetadata;
      case MapType.HttpCallResponseHeaders:
        return this.httpCallResponse?.headers;
      case MapType.HttpCallResponseTrailers:
        return this.httpCallResponse?.trailers;
      default:
        return undefined;
    }
  }

  override getBuffer(type: BufferType): WasmBuffer | undefined {
    if (type === BufferType.PluginConfiguration) {
      return this.configuring ? new ConstBuffer(this.vm.env.pluginConfiguration) : undefined;
    }
    return super.getBuffer(type);
  }

  private setStatus(code: number, message: string): void {
    this.statusCode = code;
    this.statusMessage = utf8Bytes(message);
  }

  // --- HTTP callouts (context.cc httpCall) ---

  httpCall(cluster: string, headers: HeaderList, body: Uint8Array, trailers: HeaderList, timeoutMs: number): { result: WasmResult; token?: number } {
    if (timeoutMs < 0) return { result: WasmResult.BadArgument };
    const c = this.vm.env.clusters.get(cluster);
    if (!c) return { result: WasmResult.BadArgument };
    const has = (k: string) => headers.some(([name]) => name === k);
    if (!has(":path") || !has(":method") || !has(":authority")) return { result: WasmResult.BadArgument };
    const token = this.vm.nextToken(TokenKind.HttpCall);
    const counted = new CalloutStats(this.vm.env.stats, c.name);
    const handle = sendHttpCallout({ cluster: c, endpoint: this.vm.env.endpoints.pick(c), headers, body, trailers, timeoutMs }, (response) => {
      const status = response?.headers.find(([k]) => k === ":status")?.[1];
      if (status === undefined) counted.failed(false);
      else counted.answered(Number(status));
      this.vm.whenIdle(() => this.onHttpCallDone(token, handle, response));
    });
    this.httpCalls.set(token, handle);
    return { result: WasmResult.Ok, token };
  }

  private onHttpCallDone(token: number, handle: Cancellable, response: HttpCalloutResponse | undefined): void {
    if (this.httpCalls.get(token) !== handle) return; // cancelled
    this.httpCalls.delete(token);
    if (this.vm.failed || !this.vm.has("proxy_on_http_call_response")) return;
    if (response) {
      this.httpCallResponse = response;
      const r = this.vm.invoke(this, "proxy_on_http_call_response", [
        this.id,
        token,
        response.headers.length,
        response.body.length,
        response.trailers?.length ?? 0,
      ]);
      this.httpCallResponse = undefined;
      this.vm.runActions(r);
    } else {
      this.setStatus(WasmResult.BrokenConnection, "reset");
      const r = this.vm.invoke(this, "proxy_on_http_call_response", [this.id, token, 0, 0, 0]);
      this.statusMessage = new Uint8Array(0);
      this.vm.runActions(r);
    }
  }

  // --- gRPC callouts (context.cc grpcCall / grpcStream) ---

  /** The target: a serialized GrpcService if it parses, else a cluster name (ParseFailure if unknown). */
  private grpcTarget(service: Uint8Array): { result: WasmResult; target?: GrpcTarget; metadata?: HeaderList } {
    const parsed = parseGrpcService(service);
    if (!parsed) {
      const cluster = this.vm.env.clusters.get(utf8String(service));
      if (!cluster) return { result: WasmResult.ParseFailure };
      return { result: WasmResult.Ok, target: { cluster, endpoint: this.vm.env.endpoints.pick(cluster) }, metadata: [] };
    }
    const cluster = parsed.clusterName === undefined ? undefined : this.vm.env.clusters.get(parsed.clusterName);
    if (!cluster) return { result: WasmResult.BadArgument }; // the async client cannot be created
    return {
      result: WasmResult.Ok,
      target: { cluster, endpoint: this.vm.env.endpoints.pick(cluster), authority: parsed.authority },
      metadata: parsed.initialMetadata,
    };
  }

  grpcCall(
    service: Uint8Array,
    serviceName: string,
    method: string,
    metadata: HeaderList,
    message: Uint8Array,
    timeoutMs: number,
  ): { result: WasmResult; token?: number } {
    const t = this.grpcTarget(service);
    if (!t.target) return { result: t.result };
    const token = this.vm.nextToken(TokenKind.GrpcCall);
    const counted = new CalloutStats(this.vm.env.stats, t.target.cluster.name);
    const handle = this.vm.env.grpc.unary(t.target, `/${serviceName}/${method}`, [...t.metadata!, ...metadata], message, timeoutMs, {
      onMessage: (m) => {
        counted.answered(200);
        this.vm.whenIdle(() => this.onGrpcCallMessage(token, handle, m));
      },
      onClose: (code, msg) => {
        counted.grpcClosed(code);
        this.vm.whenIdle(() => this.onGrpcCallClose(token, handle, code, msg));
      },
    });
    this.grpcCalls.set(token, handle);
    return { result: WasmResult.Ok, token };
  }

  private onGrpcCallMessage(token: number, handle: Cancellable, message: Uint8Array): void {
    if (this.grpcCalls.get(token) !== handle) return;
    this.grpcCalls.delete(token);
    this.deliverGrpcMessage(token, message);
  }

  private onGrpcCallClose(token: number, handle: Cancellable, code: number, message: string): void {
    if (this.grpcCalls.get(token) !== handle) return;
    this.grpcCalls.delete(token);
    this.deliverGrpcClose(token, code, message);
  }

  grpcStream(service: Uint8Array, serviceName: string, method: string, metadata: HeaderList): { result: WasmResult; token?: number } {
    const t = this.grpcTarget(service);
    if (!t.target) return { result: t.result };
    const token = this.vm.nextToken(TokenKind.GrpcStream);
    const entry: StreamCallout = { handle: undefined as unknown as GrpcStreamHandle, localClosed: false, remoteClosed: false };
    const live = () => this.grpcStreams.get(token) === entry;
    const counted = new CalloutStats(this.vm.env.stats, t.target.cluster.name);
    entry.handle = this.vm.env.grpc.stream(t.target, `/${serviceName}/${method}`, [...t.metadata!, ...metadata], {
      onInitialMetadata: (md) => this.vm.whenIdle(() => live() && this.deliverGrpcMetadata(token, md, "initial")),
      onMessage: (m) => this.vm.whenIdle(() => live() && this.deliverGrpcMessage(token, m)),
      onTrailingMetadata: (md) => this.vm.whenIdle(() => live() && this.deliverGrpcMetadata(token, md, "trailing")),
      onClose: (code, msg) => {
        counted.grpcClosed(code);
        this.vm.whenIdle(() => {
          if (!live()) return;
          if (entry.localClosed) this.grpcStreams.delete(token);
          else entry.remoteClosed = true;
          this.deliverGrpcClose(token, code, msg);
        });
      },
    });
    this.grpcStreams.set(token, entry);
    return { result: WasmResult.Ok, token };
  }

  grpcSend(token: number, message: Uint8Array, endStream: boolean): WasmResult {
    if ((token & 3) !== TokenKind.GrpcStream) return WasmResult.BadArgument;
    const s = this.grpcStreams.get(token);
    if (!s) return WasmResult.NotFound;
    s.handle.send(message, endStream);
    return WasmResult.Ok;
  }

  grpcClose(token: number): WasmResult {
    // Closing a unary call cancels it, as in Envoy.
    if ((token & 3) === TokenKind.GrpcCall) return this.grpcCancel(token);
    if ((token & 3) === TokenKind.GrpcStream) {
      const s = this.grpcStreams.get(token);
      if (!s) return WasmResult.NotFound;
      s.handle.close();
      if (s.remoteClosed) this.grpcStreams.delete(token);
      else s.localClosed = true;
      return WasmResult.Ok;
    }
    return WasmResult.BadArgument;
  }

  grpcCancel(token: number): WasmResult {
    if ((token & 3) === TokenKind.GrpcCall) {
      const c = this.grpcCalls.get(token);
      if (!c) return WasmResult.NotFound;
      c.cancel();
      this.grpcCalls.delete(token);
      return WasmResult.Ok;
    }
    if ((token & 3) === TokenKind.GrpcStream) {
      const s = this.grpcStreams.get(token);
      if (!s) return WasmResult.NotFound;
      s.handle.cancel();
      this.grpcStreams.delete(token);
      return WasmResult.Ok;
    }
    return WasmResult.BadArgument;
  }

  private deliverGrpcMetadata(token: number, md: HeaderList, which: "initial" | "trailing"): void {
    const fn = which === "initial" ? "proxy_on_grpc_receive_initial_metadata" : "proxy_on_grpc_receive_trailing_metadata";
    if (this.vm.failed || !this.vm.has(fn)) return;
    if (which === "initial") this.grpcInitialMetadata = md;
    else this.grpcTrailingMetadata = md;
    const r = this.vm.invoke(this, fn, [this.id, token, md.length]);
    this.grpcInitialMetadata = this.grpcTrailingMetadata = undefined;
    this.vm.runActions(r);
  }

  private deliverGrpcMessage(token: number, message: Uint8Array): void {
    if (this.vm.failed || !this.vm.has("proxy_on_grpc_receive")) return;
    this.grpcReceiveBuffer = message;
    const r = this.vm.invoke(this, "proxy_on_grpc_receive", [this.id, token, message.length]);
    this.grpcReceiveBuffer = undefined;
    this.vm.runActions(r);
  }

  private deliverGrpcClose(token: number, code: number, message: string): void {
    if (this.vm.failed || !this.vm.has("proxy_on_grpc_close")) return;
    this.setStatus(code, message);
    const r = this.vm.invoke(this, "proxy_on_grpc_close", [this.id, token, code]);
    this.statusMessage = new Uint8Array(0);
    this.vm.runActions(r);
  }

  /** The root context goes away: its callouts are cancelled (Envoy's ~Context). */
  cancelCallouts(): void {
    for (const c of this.httpCalls.values()) c.cancel();
    for (const c of this.grpcCalls.values()) c.cancel();
    for (const s of this.grpcStreams.values()) s.handle.cancel();
    this.httpCalls.clear();
    this.grpcCalls.clear();
    this.grpcStreams.clear();
  }
}
