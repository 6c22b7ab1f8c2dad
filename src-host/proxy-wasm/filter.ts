// The loaded wasm filter: N worker VMs of one module (Envoy --concurrency), streams spread across them
// round robin. Implements the data plane's HttpFilterFactory.
import type { HttpFilterFactory, HttpFilterSink, HttpFilterStream } from "../dataplane-api/http-filter.js";
import type { HostEnv } from "./env.js";
import { createHostImports } from "./host-functions.js";
import { WasmStream } from "./stream.js";
import type { ValidatedModule } from "./validate.js";
import { Vm } from "./vm.js";

export class WasmFilter implements HttpFilterFactory {
  private next = 0;
  private closed = false;

  private constructor(
    readonly vms: readonly Vm[],
    readonly env: HostEnv,
  ) {}

  /** Creates and starts every VM; on any failure the ones already made are disposed and the error thrown. */
  static create(env: HostEnv, module: WebAssembly.Module, validated: ValidatedModule, workers: number): WasmFilter {
    const vms: Vm[] = [];
    try {
      for (let i = 0; i < workers; i++) {
        const vm = new Vm(i, env, module, validated, createHostImports);
        vms.push(vm);
        vm.startRoot();
      }
    } catch (err) {
      for (const vm of vms) vm.close(false);
      env.grpc.close();
      throw err;
    }
    return new WasmFilter(vms, env);
  }

  createStream(sink: HttpFilterSink): HttpFilterStream {
    if (this.closed) throw new Error("wasm filter is closed");
    const vm = this.vms[this.next++ % this.vms.length]!;
    return new WasmStream(vm, sink);
  }

  /** Whether VM i has failed (a trap): its streams get 503 wasm_fail_stream, or pass with failOpen. */
  failed(vmIndex: number): boolean {
    const vm = this.vms[vmIndex];
    if (!vm) throw new RangeError(`no VM ${vmIndex} (this filter has ${this.vms.length})`);
    return vm.failed;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const vm of this.vms) vm.close();
    this.env.grpc.close();
  }
}
