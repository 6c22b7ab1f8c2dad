// One proxy-wasm VM, as one Envoy worker runs it: an instance of the compiled module with its own memory,
// root context (id 1), stream contexts, tick timer and callouts. Every call into the module goes through
// call(): it sets the context host calls act on, turns a trap into a failed VM, and afterwards runs the
// actions Envoy defers until the VM call returns (continue/close stream, local replies) and the events
// (callout responses, ticks) that arrived meanwhile.
import type { ClusterConfig, WasmFilterConfig } from "../gateway/config.js";
import type { HeaderList } from "../gateway/http-filter.js";
import type { StatsStore } from "../stats/index.js";
import { ENV_IMPORTS, WASI_IMPORTS, WASI_MODULES } from "./abi.js";
import type { CalloutHost } from "./callouts.js";
import { decodePairs, encodePairs } from "./pairs.js";
import { getProperty } from "./properties.js";
import { SharedState } from "./shared.js";
import { BufferType, LogLevel, MapType, WasmResult } from "./types.js";
import { WasiHost } from "./wasi.js";

/** What the VMs of one filter share. */
export interface HostEnv {
  readonly config: WasmFilterConfig;
  readonly clusters: ReadonlyMap<string, ClusterConfig>;
  readonly bufferLimitBytes: number;
  readonly stats: StatsStore;
  readonly log: (level: number, message: string) => void;
  readonly logLevel: number;
  readonly callouts: CalloutHost;
}

/** A stream context as the host calls see it (implemented by WasmHttpStream). */
export interface StreamContext {
  readonly id: number;
  /** The map of that type if the filter may use it now; null when not available in this phase. */
  headerMap(type: MapType): HeaderList | null;
  /** Whether the map of that type may be changed now. */
  headerMapWritable(type: MapType): boolean;
  /** The body buffer (0 request, 1 response) the filter sees now, or null when there is none. */
  body(type: BufferType): Uint8Array | null;
  setBody(type: BufferType, bytes: Uint8Array): void;
  /** Headers for properties and routing: the latest request headers seen or forwarded. */
  requestHeadersForAttributes(): HeaderList;
  responseHeadersForAttributes(): HeaderList;
  readonly sink: import("../gateway/http-filter.js").HttpFilterSink;
  /** proxy_send_local_response: runs after the VM call; the current callback's result becomes "stop". */
  requestLocalReply(status: number, headers: HeaderList, body: Uint8Array, details: string): () => void;
  continueStream(streamType: number): () => void;
  closeStream(): () => void;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** Out-of-bounds access to the module's memory: the host call returns InvalidMemoryAccess. */
class MemoryFault extends Error {}

/** Host calls allowed while `_initialize`/`_start` and the allocator run (cpp-host startVm). */
const RESTRICTED_ALLOWED = new Set([
  "proxy_log", "fd_write", "clock_time_get", "clock_res_get", "random_get", "environ_get", "environ_sizes_get",
  "args_get", "args_sizes_get", "poll_oneoff", "fd_fdstat_get", "fd_close", "fd_seek", "fd_read", "fd_prestat_get",
  "fd_prestat_dir_name", "path_open", "proc_exit",
]);

const METRIC_COUNTER = 0;
const METRIC_GAUGE = 1;
const METRIC_HISTOGRAM = 2;

export class WasmVm {
  readonly rootContextId = 1;
  failed = false;
  /** Which VM of the filter (worker index), for logs. */
  readonly index: number;
  private instance!: WebAssembly.Instance;
  private memory!: WebAssembly.Memory;
  private allocate!: (size: number) => number;
  private nextContextId = 2;
  private readonly streams = new Map<number, StreamContext>();
  private effective = 0;
  private depth = 0;
  private restricted = false;
  private readonly afterCall: Array<() => void> = [];
  private readonly queued: Array<() => void> = [];
  private draining = false;
  private tick: NodeJS.Timeout | undefined;
  private closed = false;
  // Values readable only during one callback.
  private readonly callBuffers = new Map<BufferType, Uint8Array>();
  private readonly callMaps = new Map<MapType, HeaderList>();
  /** proxy_get_status: the last callout failure or gRPC close status on this VM's root. */
  private status = { code: 0, message: new Uint8Array(0) };
  private readonly metrics = new Map<number, { type: number; name: string }>();
  private readonly metricIds = new Map<string, number>();
  private nextMetricId = 1;
  private readonly wasi: WasiHost;

  constructor(
    readonly env: HostEnv,
    readonly shared: SharedState,
    index: number,
  ) {
    this.index = index;
    this.wasi = new WasiHost({
      memory: () => this.mem(),
      log: (level, message) => this.env.log(level, message),
    });
  }

  /** Instantiates the module, runs its start function, and creates and configures the root context. */
  async start(module: WebAssembly.Module, allocator: string): Promise<void> {
    this.instance = await WebAssembly.instantiate(module, this.imports());
    const exports = this.instance.exports;
    const memory = exports["memory"];
    if (!(memory instanceof WebAssembly.Memory)) throw new Error("Wasm module is missing the exported memory");
    this.memory = memory;
    const alloc = exports[allocator] as (size: number) => number;
    this.allocate = (size) => {
      const wasRestricted = this.restricted;
      this.restricted = true;
      try {
        return alloc(size) >>> 0;
      } finally {
        this.restricted = wasRestricted;
      }
    };
    this.runStart();
    const root = this.rootContextId;
    const vmConfig = new Uint8Array(0);
    const pluginConfig = utf8Encoder.encode(this.env.config.configuration);
    if (this.call(root, "proxy_on_context_create", [root, 0]) === null) throw this.startFailure("proxy_on_context_create");
    this.callBuffers.set(BufferType.VmConfiguration, vmConfig);
    const started = this.call(root, "proxy_on_vm_start", [root, vmConfig.length], 1);
    this.callBuffers.delete(BufferType.VmConfiguration);
    if (started === null) throw this.startFailure("proxy_on_vm_start");
    if (started === 0) throw new Error(`Wasm VM failed to start: proxy_on_vm_start returned false (plugin ${this.env.config.name})`);
    this.callBuffers.set(BufferType.PluginConfiguration, pluginConfig);
    const configured = this.call(root, "proxy_on_configure", [root, pluginConfig.length], 1);
    this.callBuffers.delete(BufferType.PluginConfiguration);
    if (configured === null) throw this.startFailure("proxy_on_configure");
    if (configured === 0) {
      throw new Error(`Failed to configure base Wasm plugin ${this.env.config.name}: proxy_on_configure returned false${this.lastError ? ` (${this.lastError})` : ""}`);
    }
  }

  private lastError = "";
  private lastTrap = "";

  private startFailure(fn: string): Error {
    return new Error(`Wasm VM failed to start: ${fn} trapped: ${this.lastTrap}`);
  }

  private runStart(): void {
    const e = this.instance.exports;
    const run = (name: string, args: number[] = []): void => {
      this.restricted = true;
      try {
        (e[name] as (...a: number[]) => unknown)(...args);
      } catch (err) {
        throw new Error(`Wasm VM failed to start: ${name} failed: ${(err as Error).message}`);
      } finally {
        this.restricted = false;
      }
    };
    if (typeof e["_initialize"] === "function") {
      run("_initialize");
      if (typeof e["main"] === "function") run("main", [0, 0]);
      else if (typeof e["__main_void"] === "function") run("__main_void");
    } else if (typeof e["_start"] === "function") {
      run("_start");
    }
  }

  // ------------------------------------------------------------------------------------------------
  // Calls into the module

  /**
   * Calls an exported callback with `contextId` as the effective context. Returns its i32 result
   * (`missing` when the module does not export it), or null when the VM is failed or the call trapped.
   */
  call(contextId: number, name: string, args: number[], missing = 0): number | null {
    if (this.failed || this.closed) return null;
    const fn = this.instance.exports[name] as ((...a: number[]) => number | undefined) | undefined;
    if (typeof fn !== "function") return missing;
    const previous = this.effective;
    this.effective = contextId;
    this.depth++;
    let result: number | null;
    try {
      const r = fn(...args);
      result = typeof r === "number" ? r : 0;
    } catch (err) {
      this.failed = true;
      this.lastTrap = (err as Error).message;
      this.env.log(LogLevel.Critical, `Function: ${name} failed: Uncaught ${(err as Error).name}: ${(err as Error).message}`);
      this.stopTick();
      result = null;
    } finally {
      this.depth--;
      this.effective = previous;
    }
    if (this.depth === 0) this.drain();
    return result;
  }

  /** Runs `event` now, or after the VM call in progress returns (Envoy defers callout responses so). */
  dispatch(event: () => void): void {
    if (this.depth > 0 || this.draining) this.queued.push(event);
    else {
      event();
      this.drain();
    }
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      for (;;) {
        const next = this.afterCall.shift() ?? this.queued.shift();
        if (!next) break;
        next();
      }
    } finally {
      this.draining = false;
    }
  }

  /** A stream context id (Envoy allocates it when the filter is created). */
  allocateContextId(): number {
    return this.nextContextId++;
  }

  registerStream(stream: StreamContext): void {
    this.streams.set(stream.id, stream);
  }

  unregisterStream(id: number): void {
    this.streams.delete(id);
  }

  /** Calls a root callback with buffers or maps readable only during it. */
  callRoot(name: string, args: number[], buffers?: Map<BufferType, Uint8Array>, maps?: Map<MapType, HeaderList>): void {
    for (const [k, v] of buffers ?? []) this.callBuffers.set(k, v);
    for (const [k, v] of maps ?? []) this.callMaps.set(k, v);
    try {
      this.call(this.rootContextId, name, [this.rootContextId, ...args]);
    } finally {
      for (const k of buffers?.keys() ?? []) this.callBuffers.delete(k);
      for (const k of maps?.keys() ?? []) this.callMaps.delete(k);
    }
  }

  setStatus(code: number, message: string): void {
    this.status = { code, message: utf8Encoder.encode(message) };
  }

  close(): void {
    if (this.closed) return;
    const root = this.rootContextId;
    if (!this.failed) {
      this.call(root, "proxy_on_done", [root], 1);
      this.call(root, "proxy_on_delete", [root]);
    }
    this.closed = true;
    this.stopTick();
  }

  private stopTick(): void {
    if (this.tick) clearInterval(this.tick);
    this.tick = undefined;
  }

  // ------------------------------------------------------------------------------------------------
  // Memory

  private mem(): Uint8Array {
    return new Uint8Array(this.memory.buffer);
  }

  private check(ptr: number, len: number): void {
    if (ptr < 0 || len < 0 || ptr + len > this.memory.buffer.byteLength) throw new MemoryFault();
  }

  /** A copy of (ptr, len) from the module's memory. */
  read(ptr: number, len: number): Uint8Array {
    ptr >>>= 0;
    len >>>= 0;
    this.check(ptr, len);
    return this.mem().slice(ptr, ptr + len);
  }

  readString(ptr: number, len: number): string {
    ptr >>>= 0;
    len >>>= 0;
    this.check(ptr, len);
    return len === 0 ? "" : utf8Decoder.decode(this.mem().subarray(ptr, ptr + len));
  }

  writeU32(ptr: number, value: number): void {
    ptr >>>= 0;
    this.check(ptr, 4);
    new DataView(this.memory.buffer).setUint32(ptr, value >>> 0, true);
  }

  writeU64(ptr: number, value: bigint): void {
    ptr >>>= 0;
    this.check(ptr, 8);
    new DataView(this.memory.buffer).setBigUint64(ptr, BigInt.asUintN(64, value), true);
  }

  /** Copies bytes into a block from the module's allocator and writes (ptr, size); empty → 0, 0. */
  writeOut(bytes: Uint8Array, ptrOut: number, sizeOut: number): WasmResult {
    this.check(ptrOut >>> 0, 4);
    this.check(sizeOut >>> 0, 4);
    if (bytes.length === 0) {
      this.writeU32(ptrOut, 0);
      this.writeU32(sizeOut, 0);
      return WasmResult.Ok;
    }
    const ptr = this.allocate(bytes.length);
    if (ptr === 0) return WasmResult.InvalidMemoryAccess;
    this.check(ptr, bytes.length);
    this.mem().set(bytes, ptr); // fresh view: malloc may have grown memory
    this.writeU32(ptrOut, ptr);
    this.writeU32(sizeOut, bytes.length);
    return WasmResult.Ok;
  }

  // ------------------------------------------------------------------------------------------------
  // Host functions

  private currentStream(): StreamContext | undefined {
    return this.streams.get(this.effective);
  }

  private imports(): WebAssembly.Imports {
    const env: Record<string, (...args: never[]) => unknown> = {};
    const host = this.hostFunctions();
    for (const name of Object.keys(ENV_IMPORTS)) {
      const fn = host[name];
      if (!fn) continue;
      env[name] = this.guard(name, fn);
    }
    const wasiFns: Record<string, (...args: never[]) => unknown> = {};
    const wasi = this.wasi.functions();
    for (const name of Object.keys(WASI_IMPORTS)) {
      const fn = wasi[name];
      if (fn) wasiFns[name] = this.guard(name, fn);
    }
    const imports: WebAssembly.Imports = { env };
    for (const m of WASI_MODULES) imports[m] = wasiFns;
    return imports;
  }

  /** Restricted-call check and memory faults → InvalidMemoryAccess, around every host function. */
  private guard(name: string, fn: (...args: never[]) => unknown): (...args: never[]) => unknown {
    return (...args: never[]) => {
      if (this.restricted && !RESTRICTED_ALLOWED.has(name)) throw new Error(`restricted_callback: ${name}`);
      try {
        return fn(...args);
      } catch (err) {
        if (err instanceof MemoryFault) return WasmResult.InvalidMemoryAccess;
        throw err;
      }
    };
  }

  private hostFunctions(): Record<string, (...args: never[]) => unknown> {
    const h: Record<string, (...args: any[]) => unknown> = {
      proxy_log: (level: number, ptr: number, size: number) => {
        if (level >>> 0 > LogLevel.Critical) return WasmResult.BadArgument;
        const message = this.readString(ptr, size);
        if (level >= LogLevel.Error) this.lastError = message;
        if (level >= this.env.logLevel) this.env.log(level, message);
        return WasmResult.Ok;
      },
      proxy_get_log_level: (out: number) => {
        this.writeU32(out, this.env.logLevel);
        return WasmResult.Ok;
      },
      proxy_get_current_time_nanoseconds: (out: number) => {
        this.writeU64(out, BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6)));
        return WasmResult.Ok;
      },
      proxy_set_tick_period_milliseconds: (period: number) => {
        this.stopTick();
        if (period >>> 0 > 0) {
          this.tick = setInterval(() => this.dispatch(() => this.callRoot("proxy_on_tick", [])), period >>> 0);
          this.tick.unref();
        }
        return WasmResult.Ok;
      },
      proxy_get_status: (codeOut: number, ptrOut: number, sizeOut: number) => {
        this.writeU32(codeOut, this.status.code);
        return this.writeOut(this.status.message, ptrOut, sizeOut);
      },
      proxy_done: () => WasmResult.Ok,
      proxy_set_effective_context: (id: number) => {
        if (id !== this.rootContextId && !this.streams.has(id)) return WasmResult.BadArgument;
        this.effective = id;
        return WasmResult.Ok;
      },

      // Properties and foreign functions
      proxy_get_property: (pathPtr: number, pathSize: number, ptrOut: number, sizeOut: number) => {
        const path = this.readString(pathPtr, pathSize).replace(/\0$/, "").split("\0");
        const value = getProperty(path, { config: this.env.config, stream: this.currentStream() });
        if (value === undefined) return WasmResult.NotFound;
        return this.writeOut(value, ptrOut, sizeOut);
      },
      proxy_set_property: (pathPtr: number, pathSize: number, valuePtr: number, valueSize: number) => {
        const path = this.readString(pathPtr, pathSize);
        const value = this.read(valuePtr, valueSize);
        const stream = this.currentStream();
        if (!stream) return WasmResult.NotFound;
        stream.sink.info.filterState.set(`wasm.${path}`, value);
        return WasmResult.Ok;
      },
      proxy_call_foreign_function: (namePtr: number, nameSize: number, argsPtr: number, argsSize: number, ptrOut: number, sizeOut: number) => {
        const name = this.readString(namePtr, nameSize);
        this.read(argsPtr, argsSize);
        if (name !== "clear_route_cache") return WasmResult.NotFound;
        this.currentStream()?.sink.clearRouteCache();
        return this.writeOut(new Uint8Array(0), ptrOut, sizeOut);
      },

      // Header maps
      proxy_get_header_map_pairs: (type: number, ptrOut: number, sizeOut: number) => {
        const map = this.readableMap(type);
        if (map === "bad") return WasmResult.BadArgument;
        return this.writeOut(map ? encodePairs(map) : new Uint8Array(0), ptrOut, sizeOut);
      },
      proxy_set_header_map_pairs: (type: number, ptr: number, size: number) => {
        const map = this.writableMap(type);
        const pairs = decodePairs(this.read(ptr, size));
        if (!map) return WasmResult.BadArgument;
        const pseudo = pairs.filter(([k]) => k.startsWith(":"));
        map.splice(0, map.length, ...pseudo.map(([k, v]) => [k.toLowerCase(), v] as [string, string]));
        for (const [k, v] of pairs) if (!k.startsWith(":")) map.push([k.toLowerCase(), v]);
        return WasmResult.Ok;
      },
      proxy_get_header_map_value: (type: number, keyPtr: number, keySize: number, ptrOut: number, sizeOut: number) => {
        const key = this.readString(keyPtr, keySize).toLowerCase();
        const map = this.readableMap(type);
        if (map === "bad" || map === null) return WasmResult.BadArgument;
        const entry = map.find(([k]) => k === key);
        if (!entry) return WasmResult.NotFound;
        return this.writeOut(utf8Encoder.encode(entry[1]), ptrOut, sizeOut);
      },
      proxy_add_header_map_value: (type: number, keyPtr: number, keySize: number, valuePtr: number, valueSize: number) => {
        const key = this.readString(keyPtr, keySize).toLowerCase();
        const value = this.readString(valuePtr, valueSize);
        const map = this.writableMap(type);
        if (!map) return WasmResult.BadArgument;
        addHeader(map, key, value);
        return WasmResult.Ok;
      },
      proxy_replace_header_map_value: (type: number, keyPtr: number, keySize: number, valuePtr: number, valueSize: number) => {
        const key = this.readString(keyPtr, keySize).toLowerCase();
        const value = this.readString(valuePtr, valueSize);
        const map = this.writableMap(type);
        if (!map) return WasmResult.BadArgument;
        const i = map.findIndex(([k]) => k === key);
        if (i < 0) addHeader(map, key, value);
        else {
          map[i] = [key, value];
          for (let j = map.length - 1; j > i; j--) if (map[j]![0] === key) map.splice(j, 1);
        }
        return WasmResult.Ok;
      },
      proxy_remove_header_map_value: (type: number, keyPtr: number, keySize: number) => {
        const key = this.readString(keyPtr, keySize).toLowerCase();
        const map = this.writableMap(type);
        if (!map) return WasmResult.BadArgument;
        for (let j = map.length - 1; j >= 0; j--) if (map[j]![0] === key) map.splice(j, 1);
        return WasmResult.Ok;
      },
      proxy_get_header_map_size: (type: number, out: number) => {
        const map = this.readableMap(type);
        if (map === "bad" || map === null) return WasmResult.BadArgument;
        let size = 0;
        for (const [k, v] of map) size += Buffer.byteLength(k) + Buffer.byteLength(v);
        this.writeU32(out, size);
        return WasmResult.Ok;
      },

      // Buffers
      proxy_get_buffer_bytes: (type: number, start: number, maxSize: number, ptrOut: number, sizeOut: number) => {
        const buffer = this.buffer(type);
        if (!buffer) return WasmResult.NotFound;
        start >>>= 0;
        const end = Math.min(buffer.length, start + (maxSize >>> 0));
        return this.writeOut(start < end ? buffer.subarray(start, end) : new Uint8Array(0), ptrOut, sizeOut);
      },
      proxy_get_buffer_status: (type: number, lenOut: number, flagsOut: number) => {
        const buffer = this.buffer(type);
        if (!buffer) return WasmResult.NotFound;
        this.writeU32(lenOut, buffer.length);
        this.writeU32(flagsOut, 0);
        return WasmResult.Ok;
      },
      proxy_set_buffer_bytes: (type: number, start: number, length: number, dataPtr: number, dataSize: number) => {
        const data = this.read(dataPtr, dataSize);
        const stream = this.currentStream();
        if (type !== BufferType.HttpRequestBody && type !== BufferType.HttpResponseBody) {
          return this.buffer(type) ? WasmResult.BadArgument : WasmResult.NotFound;
        }
        const current = stream?.body(type);
        if (!stream || !current) return WasmResult.NotFound;
        start >>>= 0;
        length >>>= 0;
        // Envoy's body rules: start 0 drains `length` then prepends; start ≥ size appends; else BadArgument.
        if (start === 0) {
          const rest = current.subarray(Math.min(length, current.length));
          stream.setBody(type, concat(data, rest));
        } else if (start >= current.length) {
          stream.setBody(type, concat(current, data));
        } else {
          return WasmResult.BadArgument;
        }
        return WasmResult.Ok;
      },

      // Stream control (deferred until the VM call returns)
      proxy_continue_stream: (type: number) => {
        if (type >>> 0 > 3) return WasmResult.BadArgument;
        if (type >= 2) return WasmResult.Unimplemented;
        const stream = this.currentStream();
        if (!stream) return WasmResult.NotFound;
        this.afterCall.push(stream.continueStream(type));
        return WasmResult.Ok;
      },
      proxy_close_stream: (type: number) => {
        if (type >>> 0 > 3) return WasmResult.BadArgument;
        const stream = this.currentStream();
        if (!stream) return WasmResult.NotFound;
        this.afterCall.push(stream.closeStream());
        return WasmResult.Ok;
      },
      proxy_send_local_response: (
        status: number, detailsPtr: number, detailsSize: number, bodyPtr: number, bodySize: number,
        pairsPtr: number, pairsSize: number, grpcStatus: number,
      ) => {
        const details = this.readString(detailsPtr, detailsSize).replace(/ /g, "_");
        const body = this.read(bodyPtr, bodySize);
        const headers = decodePairs(this.read(pairsPtr, pairsSize)).map(([k, v]) => [k.toLowerCase(), v] as [string, string]);
        if (grpcStatus >= 0 && grpcStatus <= 16) headers.push(["grpc-status", String(grpcStatus)]);
        const stream = this.currentStream();
        if (!stream) return WasmResult.NotFound;
        this.afterCall.push(stream.requestLocalReply(status >>> 0, headers, body, details));
        return WasmResult.Ok;
      },

      // Callouts (owned by the root context)
      proxy_http_call: (
        clusterPtr: number, clusterSize: number, hdrPtr: number, hdrSize: number, bodyPtr: number, bodySize: number,
        trlPtr: number, trlSize: number, timeoutMs: number, tokenOut: number,
      ) => {
        const cluster = this.readString(clusterPtr, clusterSize);
        const headers = decodePairs(this.read(hdrPtr, hdrSize));
        const body = this.read(bodyPtr, bodySize);
        decodePairs(this.read(trlPtr, trlSize));
        this.check(tokenOut >>> 0, 4);
        const r = this.env.callouts.httpCall(this, cluster, headers, body, timeoutMs | 0);
        if (r.result === WasmResult.Ok) this.writeU32(tokenOut, r.token);
        return r.result;
      },
      proxy_grpc_call: (
        svcPtr: number, svcSize: number, namePtr: number, nameSize: number, methodPtr: number, methodSize: number,
        mdPtr: number, mdSize: number, msgPtr: number, msgSize: number, timeoutMs: number, tokenOut: number,
      ) => {
        const cluster = this.readString(svcPtr, svcSize);
        const service = this.readString(namePtr, nameSize);
        const method = this.readString(methodPtr, methodSize);
        const metadata = decodePairs(this.read(mdPtr, mdSize));
        const message = this.read(msgPtr, msgSize);
        this.check(tokenOut >>> 0, 4);
        const r = this.env.callouts.grpcCall(this, cluster, service, method, metadata, message, timeoutMs >>> 0);
        if (r.result === WasmResult.Ok) this.writeU32(tokenOut, r.token);
        return r.result;
      },
      proxy_grpc_stream: (
        svcPtr: number, svcSize: number, namePtr: number, nameSize: number, methodPtr: number, methodSize: number,
        mdPtr: number, mdSize: number, tokenOut: number,
      ) => {
        const cluster = this.readString(svcPtr, svcSize);
        const service = this.readString(namePtr, nameSize);
        const method = this.readString(methodPtr, methodSize);
        const metadata = decodePairs(this.read(mdPtr, mdSize));
        this.check(tokenOut >>> 0, 4);
        const r = this.env.callouts.grpcStream(this, cluster, service, method, metadata);
        if (r.result === WasmResult.Ok) this.writeU32(tokenOut, r.token);
        return r.result;
      },
      proxy_grpc_send: (token: number, msgPtr: number, msgSize: number, eos: number) =>
        this.env.callouts.grpcSend(this, token >>> 0, this.read(msgPtr, msgSize), eos !== 0),
      proxy_grpc_close: (token: number) => this.env.callouts.grpcClose(this, token >>> 0),
      proxy_grpc_cancel: (token: number) => this.env.callouts.grpcCancel(this, token >>> 0),

      // Shared data and queues (shared by vm_id across VMs)
      proxy_get_shared_data: (keyPtr: number, keySize: number, ptrOut: number, sizeOut: number, casOut: number) => {
        const entry = this.shared.get(this.env.config.vmId, this.readString(keyPtr, keySize));
        if (!entry) return WasmResult.NotFound;
        this.writeU32(casOut, entry.cas);
        return this.writeOut(entry.value, ptrOut, sizeOut);
      },
      proxy_set_shared_data: (keyPtr: number, keySize: number, valuePtr: number, valueSize: number, cas: number) =>
        this.shared.set(this.env.config.vmId, this.readString(keyPtr, keySize), this.read(valuePtr, valueSize), cas >>> 0),
      proxy_register_shared_queue: (namePtr: number, nameSize: number, tokenOut: number) => {
        this.writeU32(tokenOut, this.shared.registerQueue(this.env.config.vmId, this.readString(namePtr, nameSize), this));
        return WasmResult.Ok;
      },
      proxy_resolve_shared_queue: (vmPtr: number, vmSize: number, namePtr: number, nameSize: number, tokenOut: number) => {
        const vmId = this.readString(vmPtr, vmSize) || this.env.config.vmId;
        const token = this.shared.resolveQueue(vmId, this.readString(namePtr, nameSize));
        if (token === undefined) return WasmResult.NotFound;
        this.writeU32(tokenOut, token);
        return WasmResult.Ok;
      },
      proxy_enqueue_shared_queue: (token: number, dataPtr: number, dataSize: number) =>
        this.shared.enqueue(token >>> 0, this.read(dataPtr, dataSize)),
      proxy_dequeue_shared_queue: (token: number, ptrOut: number, sizeOut: number) => {
        const r = this.shared.dequeue(token >>> 0);
        if (typeof r === "number") return r;
        return this.writeOut(r, ptrOut, sizeOut);
      },

      // Metrics: wasmcustom.<name> in the process stats store
      proxy_define_metric: (type: number, namePtr: number, nameSize: number, idOut: number) => {
        if (type >>> 0 > METRIC_HISTOGRAM) return WasmResult.BadArgument;
        const name = this.readString(namePtr, nameSize);
        const key = `${type}:${name}`;
        let id = this.metricIds.get(key);
        if (id === undefined) {
          id = this.nextMetricId++;
          this.metricIds.set(key, id);
          this.metrics.set(id, { type, name: `wasmcustom.${name}` });
          this.touchMetric(type, `wasmcustom.${name}`);
        }
        this.writeU32(idOut, id);
        return WasmResult.Ok;
      },
      proxy_increment_metric: (id: number, delta: bigint) => {
        const m = this.metrics.get(id >>> 0);
        if (!m) return WasmResult.NotFound;
        const d = Number(BigInt.asIntN(64, delta));
        if (m.type === METRIC_COUNTER) {
          if (d <= 0) return WasmResult.BadArgument;
          this.env.stats.counter(m.name).inc(d);
        } else if (m.type === METRIC_GAUGE) {
          this.env.stats.gauge(m.name).add(d);
        } else {
          return WasmResult.BadArgument;
        }
        return WasmResult.Ok;
      },
      proxy_record_metric: (id: number, value: bigint) => {
        const m = this.metrics.get(id >>> 0);
        if (!m) return WasmResult.NotFound;
        const v = Number(BigInt.asUintN(64, value));
        if (m.type === METRIC_COUNTER) this.env.stats.counter(m.name).inc(v);
        else if (m.type === METRIC_GAUGE) this.env.stats.gauge(m.name).set(v);
        else this.env.stats.histogram(m.name).record(v);
        return WasmResult.Ok;
      },
      proxy_get_metric: (id: number, out: number) => {
        const m = this.metrics.get(id >>> 0);
        if (!m) return WasmResult.NotFound;
        if (m.type === METRIC_HISTOGRAM) return WasmResult.BadArgument;
        const value = m.type === METRIC_COUNTER ? this.env.stats.counter(m.name).value : this.env.stats.gauge(m.name).value;
        this.writeU64(out, BigInt(Math.trunc(value)));
        return WasmResult.Ok;
      },
    };
    return h as Record<string, (...args: never[]) => unknown>;
  }

  private touchMetric(type: number, name: string): void {
    if (type === METRIC_COUNTER) this.env.stats.counter(name);
    else if (type === METRIC_GAUGE) this.env.stats.gauge(name);
    else this.env.stats.histogram(name);
  }

  /** The map for reading: a list, null (not available now), or "bad" (no such map type). */
  private readableMap(type: number): HeaderList | null | "bad" {
    if (type >>> 0 > MapType.HttpCallResponseTrailers) return "bad";
    if (type >= MapType.GrpcReceiveInitialMetadata) return this.callMaps.get(type) ?? null;
    const stream = this.currentStream();
    return stream ? stream.headerMap(type) : null;
  }

  private writableMap(type: number): HeaderList | null {
    if (type >>> 0 > MapType.ResponseTrailers) return null;
    const stream = this.currentStream();
    return stream && stream.headerMapWritable(type) ? stream.headerMap(type) : null;
  }

  private buffer(type: number): Uint8Array | null {
    if (type === BufferType.HttpRequestBody || type === BufferType.HttpResponseBody) {
      return this.currentStream()?.body(type) ?? null;
    }
    return this.callBuffers.get(type) ?? null;
  }
}

/** Adds a header, keeping pseudo-headers ahead of the others. */
function addHeader(map: HeaderList, key: string, value: string): void {
  if (!key.startsWith(":")) {
    map.push([key, value]);
    return;
  }
  let i = 0;
  while (i < map.length && map[i]![0].startsWith(":")) i++;
  map.splice(i, 0, [key, value]);
}

export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}
