// Contexts as proxy-wasm-cpp-host models them: the VM context (id 0, used while the module starts), one
// root context per plugin per VM, and stream contexts. Host calls act on the current context or the one
// chosen with proxy_set_effective_context; this base class answers what a context without a stream has.
import type { HeaderList } from "../dataplane-api/http-filter.js";
import { BufferType, MapType, WasmResult } from "./abi.js";
import { ConstBuffer, UNSET_BUFFER, type WasmBuffer } from "./buffers.js";
import type { PropertyValue } from "./properties.js";
import type { RootContext } from "./root-context.js";
import type { Vm } from "./vm.js";

export interface LocalResponse {
  status: number;
  details: string;
  body: Uint8Array;
  headers: Array<[string, string]>;
  grpcStatus: number;
}

export abstract class Context {
  constructor(
    readonly vm: Vm,
    readonly id: number,
  ) {}

  abstract get root(): RootContext;
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
  constructor(vm: Vm) {
    super(vm, 0);
  }
  get root(): RootContext {
    return this.vm.root;
  }
}
