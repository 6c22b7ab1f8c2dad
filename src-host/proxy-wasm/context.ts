// Contexts as proxy-wasm-cpp-host models them: the VM context (id 0, used while the module starts), one
// root context per plugin per VM, and stream contexts. Host calls act on the current context or the one
// chosen with proxy_set_effective_context; this base class answers what a context without a stream has.
import type { HeaderList } from "../dataplane-api/http-filter.js";
import { BufferType, MapType, type TokenKind, WasmResult } from "./abi.js";
import { ConstBuffer, UNSET_BUFFER, type WasmBuffer } from "./buffers.js";
import type { HttpCalloutResponse } from "./callouts/http.js";
import type { HostEnv } from "./env.js";
import type { PropertyValue } from "./properties.js";

/** What a call into the module produced. */
export interface CallOutcome {
  /** False when the call trapped (the VM is now failed). */
  ok: boolean;
  /** The callback's return value as u32 (0 for void callbacks). */
  value: number;
  /** proxy_send_local_response was called: the callback's status is forced to "stop". */
  stopNext: boolean;
  /** continue_stream / close_stream / send_local_response, to run once the status is applied. */
  actions: Array<() => void>;
}

/** The VM as its contexts use it; vm.ts implements it (declared here, contexts do not import the VM). */
export interface ContextVm {
  readonly env: HostEnv;
  readonly failed: boolean;
  readonly contexts: Map<number, Context>;
  readonly root: ContextRoot;
  has(name: string): boolean;
  invoke(ctx: Context, name: string, args: number[], restricted?: ReadonlySet<string> | null): CallOutcome;
  runActions(outcome: CallOutcome): void;
  defer(action: () => void): void;
  whenIdle(fn: () => void): void;
  allocContextId(): number;
  nextToken(kind: TokenKind): number;
  pluginProperty(name: string): PropertyValue | undefined;
}

/** The root context as every context reaches it (its callouts and their results); root-context.ts implements it. */
export interface ContextRoot {
  readonly id: number;
  readonly statusCode: number;
  readonly statusMessage: Uint8Array;
  readonly httpCallResponse: HttpCalloutResponse | undefined;
  readonly grpcReceiveBuffer: Uint8Array | undefined;
  calloutMap(type: MapType): HeaderList | undefined;
  httpCall(cluster: string, headers: HeaderList, body: Uint8Array, trailers: HeaderList, timeoutMs: number): { result: WasmResult; token?: number };
  grpcCall(
    service: Uint8Array,
    serviceName: string,
    method: string,
    metadata: HeaderList,
    message: Uint8Array,
    timeoutMs: number,
  ): { result: WasmResult; token?: number };
  grpcStream(service: Uint8Array, serviceName: string, method: string, metadata: HeaderList): { result: WasmResult; token?: number };
  grpcSend(token: number, message: Uint8Array, endStream: boolean): WasmResult;
  grpcClose(token: number): WasmResult;
  grpcCancel(token: number): WasmResult;
}

export interface LocalResponse {
  status: number;
  details: string;
  body: Uint8Array;
  headers: Array<[string, string]>;
  grpcStatus: number;
}

export abstract class Context {
  constructor(
    readonly vm: ContextVm,
    readonly id: number,
  ) {}

  abstract get root(): ContextRoot;
  get isRoot(): boolean {
    return false;
  }

  /** The header map the ABI call may read (mutable=false) or change (mutable=true); undefined = not available. */
  getMap(type: MapType, _mutable: boolean): HeaderList | undefined {
    return type >= MapType.GrpcReceiveInitialMetadata ? this.root.calloutMap(type) : undefined;
  }

  /** Whether a missing map is answered as "not found" (access-log phase) instead of BadArgument. */
  get accessLogPhase(): boolean {
    return false;
  }

  getBuffer(type: BufferType): WasmBuffer | undefined {
    switch (type) {
      case BufferType.HttpRequestBody:
      case BufferType.HttpResponseBody:
      case BufferType.NetworkDownstreamData:
      case BufferType.NetworkUpstreamData:
      case BufferType.CallData:
        return UNSET_BUFFER;
      case BufferType.VmConfiguration:
        return new ConstBuffer(this.vm.env.vmConfiguration);
      case BufferType.GrpcReceiveBuffer:
        return this.root.grpcReceiveBuffer ? new ConstBuffer(this.root.grpcReceiveBuffer) : UNSET_BUFFER;
      case BufferType.HttpCallResponseBody:
        return this.root.httpCallResponse ? new ConstBuffer(this.root.httpCallResponse.body) : undefined;
      default:
        return undefined; // PluginConfiguration outside on_configure
    }
  }

  sendLocalResponse(_r: LocalResponse): void {}
  continueStream(_type: number): WasmResult {
    return WasmResult.Ok;
  }
  closeStream(_type: number): WasmResult {
    return WasmResult.Ok;
  }
  clearRouteCache(): void {}

  /** set_property: NotFound without stream info, as Envoy. */
  setProperty(_path: string, _value: Uint8Array): WasmResult {
    return WasmResult.NotFound;
  }
  /** The value of a top-level property token for this context, or undefined. */
  findProperty(name: string): PropertyValue | undefined {
    return this.vm.pluginProperty(name);
  }
  /** Envoy filter state (set_envoy_filter_state): NotFound without stream info. */
  setFilterState(_key: string, _value: Uint8Array): WasmResult {
    return WasmResult.NotFound;
  }
}

/** Context 0: the module's start-up (_initialize / _start) runs in it. */
export class VmContext extends Context {
  constructor(vm: ContextVm) {
    super(vm, 0);
  }
  get root(): ContextRoot {
    return this.vm.root;
  }
}
