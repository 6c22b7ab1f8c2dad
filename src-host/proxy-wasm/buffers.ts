// The buffers get/set_buffer_bytes act on, with Envoy's rules (extensions/common/wasm/context.cc Buffer).
import { WasmResult } from "./abi.js";
import type { ByteBuf } from "./byte-buf.js";

export interface WasmBuffer {
  readonly size: number;
  read(start: number, length: number): Uint8Array;
  copyFrom(start: number, length: number, data: Uint8Array): WasmResult;
}

/** Read-only data (configuration, callout responses); an unset one reads as empty and refuses writes. */
export class ConstBuffer implements WasmBuffer {
  constructor(private readonly data: Uint8Array | undefined) {}
  get size(): number {
    return this.data?.length ?? 0;
  }
  read(start: number, length: number): Uint8Array {
    return this.data ? this.data.subarray(start, start + length) : new Uint8Array(0);
  }
  copyFrom(): WasmResult {
    return this.data ? WasmResult.BadArgument : WasmResult.NotFound;
  }
}

export const UNSET_BUFFER: WasmBuffer = new ConstBuffer(undefined);

/** A body buffer: start 0 drains `length` then prepends; start ≥ size appends; anything else is refused. */
export class BodyBuffer implements WasmBuffer {
  constructor(private readonly buf: ByteBuf) {}
  get size(): number {
    return this.buf.length;
  }
  read(start: number, length: number): Uint8Array {
    return this.buf.slice(start, length);
  }
  copyFrom(start: number, length: number, data: Uint8Array): WasmResult {
    if (start === 0) {
      if (length !== 0) this.buf.drain(length);
      this.buf.prepend(data);
      return WasmResult.Ok;
    }
    if (start >= this.buf.length) {
      this.buf.append(data);
      return WasmResult.Ok;
    }
    return WasmResult.BadArgument;
  }
}
