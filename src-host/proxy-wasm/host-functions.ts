// The env.proxy_* host functions a module imports, as proxy-wasm-cpp-host's exports.cc implements them:
// argument checks, memory bounds (InvalidMemoryAccess), out-values through the module's malloc, and the
// context each call acts on (current or effective; callouts and status always on its root context).
import { BUFFER_TYPE_MAX, MAP_TYPE_MAX, WasmResult } from "./abi.js";
import { latin1String, utf8String } from "./bytes.js";
import { callForeignFunction } from "./foreign.js";
import { addHeader, getHeader, headerByteSize, headersToPairs, pairsToHeaders, removeHeader, replaceHeader, setHeaders } from "./header-map.js";
import { decodePairs, encodePairs } from "./pairs.js";
import { getProperty } from "./properties.js";
import { sharedState } from "./shared.js";
import { ENV_IMPORTS } from "./signatures.js";
import { RestrictedCallbackError, type Vm } from "./vm.js";
import { createWasiImports } from "./wasi.js";

type HostFn = (...args: any[]) => number | void; // eslint-disable-line @typescript-eslint/no-explicit-any

const u = (x: number) => x >>> 0;

/** Wraps each function with the restricted-callback check; keys are the import names. */
export function guard(vm: Vm, module: string, fns: Record<string, HostFn>): Record<string, HostFn> {
  const out: Record<string, HostFn> = {};
  for (const [name, fn] of Object.entries(fns)) {
    const qualified = `${module}.${name}`;
    // Fixed parameters rather than rest/spread: this wrapper runs on every host call. The ABI's widest
    // function takes 12 arguments; missing ones are undefined, as with spread.
    out[name] = (
      a?: unknown,
      b?: unknown,
      c?: unknown,
      d?: unknown,
      e?: unknown,
      f?: unknown,
      g?: unknown,
      h?: unknown,
      i?: unknown,
      j?: unknown,
      k?: unknown,
      l?: unknown,
    ) => {
      if (vm.restricted !== null && !vm.restricted.has(qualified)) throw new RestrictedCallbackError(qualified);
      return fn(a, b, c, d, e, f, g, h, i, j, k, l);
    };
  }
  return out;
}

export function createHostImports(vm: Vm): WebAssembly.Imports {
  const env = guard(vm, "env", proxyFunctions(vm));
  const wasi = createWasiImports(vm);
  return {
    env,
    wasi_snapshot_preview1: guard(vm, "wasi_snapshot_preview1", wasi),
    wasi_unstable: guard(vm, "wasi_unstable", wasi),
  };
}

function proxyFunctions(vm: Vm): Record<string, HostFn> {
  const mem = () => vm.memory;
  const read = (ptr: number, len: number) => mem().read(u(ptr), u(len));
  const ctx = () => vm.activeContext();
  const copyOut = (data: Uint8Array, pp: number, sp: number) => vm.copyOut(data, u(pp), u(sp));
  // Keys and values decoded straight from linear memory (no intermediate copy); undefined when out of bounds.
  const latin1 = (ptr: number, len: number) => mem().latin1(u(ptr), u(len));
  const headerPairs = (ptr: number, len: number) => {
    const b = read(ptr, len);
    return b ? pairsToHeaders(decodePairs(b)) : undefined;
  };

  const fns: Record<string, HostFn> = {
    proxy_log(level: number, ptr: number, size: number) {
      if (u(level) > 5) return WasmResult.BadArgument;
      const msg = mem().utf8(u(ptr), u(size));
      if (msg === undefined) return WasmResult.InvalidMemoryAccess;
      vm.log(level, msg);
      return WasmResult.Ok;
    },
    proxy_get_log_level(ptr: number) {
      return mem().setU32(u(ptr), vm.env.logLevel) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_get_status(codePtr: number, pp: number, sp: number) {
      const root = ctx().root;
      if (!mem().setU32(u(codePtr), root.statusCode)) return WasmResult.InvalidMemoryAccess;
      return copyOut(root.statusMessage, pp, sp);
    },
    proxy_set_property(kp: number, ks: number, vp: number, vs: number) {
      const key = latin1(kp, ks);
      const value = read(vp, vs);
      if (key === undefined || !value) return WasmResult.InvalidMemoryAccess;
      return ctx().setProperty(key, value);
    },
    proxy_get_property(pp: number, ps: number, vpp: number, vsp: number) {
      const path = latin1(pp, ps);
      if (path === undefined) return WasmResult.InvalidMemoryAccess;
      const c = ctx();
      const r = getProperty(path, (name) => c.findProperty(name));
      if (r.result !== WasmResult.Ok) return r.result;
      return copyOut(r.value!, vpp, vsp);
    },
    proxy_send_local_response(status: number, dp: number, ds: number, bp: number, bs: number, hp: number, hs: number, grpc: number) {
      const details = read(dp, ds);
      const body = read(bp, bs);
      const headers = headerPairs(hp, hs);
      if (!details || !body || !headers) return WasmResult.InvalidMemoryAccess;
      ctx().sendLocalResponse({ status: u(status), details: utf8String(details), body, headers, grpcStatus: u(grpc) });
      vm.markStopNextIteration();
      return WasmResult.Ok;
    },

    // Shared data and queues.
    proxy_get_shared_data(kp: number, ks: number, vpp: number, vsp: number, casPtr: number) {
      const key = latin1(kp, ks);
      if (key === undefined) return WasmResult.InvalidMemoryAccess;
      const entry = sharedState.get(vm.env.config.vmId, key);
      if (!entry) return WasmResult.NotFound;
      const r = copyOut(entry.value, vpp, vsp);
      if (r !== WasmResult.Ok) return r;
      return mem().setU32(u(casPtr), entry.cas) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_set_shared_data(kp: number, ks: number, vp: number, vs: number, cas: number) {
      const key = latin1(kp, ks);
      const value = read(vp, vs);
      if (key === undefined || !value) return WasmResult.InvalidMemoryAccess;
      return sharedState.set(vm.env.config.vmId, key, value, u(cas));
    },
    proxy_register_shared_queue(np: number, ns: number, tokenPtr: number) {
      const name = read(np, ns);
      if (!name) return WasmResult.InvalidMemoryAccess;
      const c = ctx();
      const token = sharedState.registerQueue(vm.env.config.vmId, latin1String(name), queueTarget(vm), c.root.id);
      return mem().setU32(u(tokenPtr), token) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_resolve_shared_queue(vp: number, vs: number, np: number, ns: number, tokenPtr: number) {
      const vmId = read(vp, vs);
      const name = read(np, ns);
      if (!vmId || !name) return WasmResult.InvalidMemoryAccess;
      const token = sharedState.resolveQueue(vmId.length ? latin1String(vmId) : vm.env.config.vmId, latin1String(name));
      if (token === 0 || vm.failed) return WasmResult.NotFound;
      return mem().setU32(u(tokenPtr), token) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_dequeue_shared_queue(token: number, pp: number, sp: number) {
      const r = sharedState.dequeue(u(token));
      if (r.result !== WasmResult.Ok) return r.result;
      return copyOut(r.data!, pp, sp);
    },
    proxy_enqueue_shared_queue(token: number, dp: number, ds: number) {
      const data = read(dp, ds);
      if (!data) return WasmResult.InvalidMemoryAccess;
      return sharedState.enqueue(u(token), data);
    },

    // Header maps.
    proxy_get_header_map_value(type: number, kp: number, ks: number, vpp: number, vsp: number) {
      if (u(type) > MAP_TYPE_MAX) return WasmResult.BadArgument;
      const key = latin1(kp, ks);
      if (key === undefined) return WasmResult.InvalidMemoryAccess;
      const c = ctx();
      const map = c.getMap(type, false);
      if (!map) return c.accessLogPhase ? WasmResult.NotFound : WasmResult.BadArgument;
      const value = getHeader(map, key);
      if (value === undefined) return WasmResult.NotFound;
      return vm.copyOutLatin1(value, u(vpp), u(vsp));
    },
    proxy_add_header_map_value(type: number, kp: number, ks: number, vp: number, vs: number) {
      if (u(type) > MAP_TYPE_MAX) return WasmResult.BadArgument;
      const key = latin1(kp, ks);
      const value = latin1(vp, vs);
      if (key === undefined || value === undefined) return WasmResult.InvalidMemoryAccess;
      const map = ctx().getMap(type, true);
      if (!map) return WasmResult.BadArgument;
      addHeader(map, key, value);
      return WasmResult.Ok;
    },
    proxy_replace_header_map_value(type: number, kp: number, ks: number, vp: number, vs: number) {
      if (u(type) > MAP_TYPE_MAX) return WasmResult.BadArgument;
      const key = latin1(kp, ks);
      const value = latin1(vp, vs);
      if (key === undefined || value === undefined) return WasmResult.InvalidMemoryAccess;
      const map = ctx().getMap(type, true);
      if (!map) return WasmResult.BadArgument;
      replaceHeader(map, key, value);
      return WasmResult.Ok;
    },
    proxy_remove_header_map_value(type: number, kp: number, ks: number) {
      if (u(type) > MAP_TYPE_MAX) return WasmResult.BadArgument;
      const key = latin1(kp, ks);
      if (key === undefined) return WasmResult.InvalidMemoryAccess;
      const map = ctx().getMap(type, true);
      if (!map) return WasmResult.BadArgument;
      removeHeader(map, key);
      return WasmResult.Ok;
    },
    proxy_get_header_map_pairs(type: number, pp: number, sp: number) {
      if (u(type) > MAP_TYPE_MAX) return WasmResult.BadArgument;
      const map = ctx().getMap(type, false);
      return copyOut(map?.length ? encodePairs(headersToPairs(map)) : new Uint8Array(0), pp, sp);
    },
    proxy_set_header_map_pairs(type: number, p: number, s: number) {
      if (u(type) > MAP_TYPE_MAX) return WasmResult.BadArgument;
      const pairs = headerPairs(p, s);
      if (!pairs) return WasmResult.InvalidMemoryAccess;
      const map = ctx().getMap(type, true);
      if (!map) return WasmResult.BadArgument;
      setHeaders(map, pairs);
      return WasmResult.Ok;
    },
    proxy_get_header_map_size(type: number, ptr: number) {
      if (u(type) > MAP_TYPE_MAX) return WasmResult.BadArgument;
      const map = ctx().getMap(type, true);
      if (!map) return WasmResult.BadArgument;
      return mem().setU32(u(ptr), headerByteSize(map)) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    // Buffers.
    proxy_get_buffer_bytes(type: number, start: number, length: number, pp: number, sp: number) {
      if (u(type) > BUFFER_TYPE_MAX) return WasmResult.BadArgument;
      const buf = ctx().getBuffer(type);
      if (!buf) return WasmResult.NotFound;
      const s = u(start);
      let len = u(length);
      if (s + len > buf.size) len = Math.max(0, buf.size - s);
      return copyOut(len > 0 ? buf.read(s, len) : new Uint8Array(0), pp, sp);
    },
    proxy_get_buffer_status(type: number, lenPtr: number, flagsPtr: number) {
      if (u(type) > BUFFER_TYPE_MAX) return WasmResult.BadArgument;
      const buf = ctx().getBuffer(type);
      if (!buf) return WasmResult.NotFound;
      return mem().setU32(u(lenPtr), buf.size) && mem().setU32(u(flagsPtr), 0) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_set_buffer_bytes(type: number, start: number, length: number, dp: number, ds: number) {
      if (u(type) > BUFFER_TYPE_MAX) return WasmResult.BadArgument;
      const buf = ctx().getBuffer(type);
      if (!buf) return WasmResult.NotFound;
      const data = read(dp, ds);
      if (!data) return WasmResult.InvalidMemoryAccess;
      return buf.copyFrom(u(start), u(length), data);
    },

    // Callouts (always on the root context).
    proxy_http_call(up: number, us: number, hp: number, hs: number, bp: number, bs: number, tp: number, ts: number, timeout: number, tokenPtr: number) {
      const cluster = read(up, us);
      const body = read(bp, bs);
      const headers = headerPairs(hp, hs);
      const trailers = headerPairs(tp, ts);
      if (!cluster || !body || !headers || !trailers) return WasmResult.InvalidMemoryAccess;
      if (!mem().setU32(u(tokenPtr), 0)) return WasmResult.InvalidMemoryAccess;
      const r = ctx().root.httpCall(utf8String(cluster), headers, body, trailers, timeout | 0);
      mem().setU32(u(tokenPtr), r.token ?? 0);
      return r.result;
    },
    proxy_grpc_call(
      sp: number,
      ss: number,
      np: number,
      ns: number,
      mp: number,
      ms: number,
      ip: number,
      is: number,
      rp: number,
      rs: number,
      timeout: number,
      tokenPtr: number,
    ) {
      const service = read(sp, ss);
      const serviceName = read(np, ns);
      const method = read(mp, ms);
      const metadata = headerPairs(ip, is);
      const message = read(rp, rs);
      if (!service || !serviceName || !method || !metadata || !message) return WasmResult.InvalidMemoryAccess;
      const r = ctx().root.grpcCall(service, utf8String(serviceName), utf8String(method), metadata, message, u(timeout));
      if (r.result !== WasmResult.Ok) return r.result;
      return mem().setU32(u(tokenPtr), r.token!) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_grpc_stream(sp: number, ss: number, np: number, ns: number, mp: number, ms: number, ip: number, is: number, tokenPtr: number) {
      const service = read(sp, ss);
      const serviceName = read(np, ns);
      const method = read(mp, ms);
      const metadata = headerPairs(ip, is);
      if (!service || !serviceName || !method || !metadata) return WasmResult.InvalidMemoryAccess;
      const r = ctx().root.grpcStream(service, utf8String(serviceName), utf8String(method), metadata);
      if (r.result !== WasmResult.Ok) return r.result;
      return mem().setU32(u(tokenPtr), r.token!) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_grpc_send(token: number, mp: number, ms: number, endStream: number) {
      const message = read(mp, ms);
      if (!message) return WasmResult.InvalidMemoryAccess;
      return ctx().root.grpcSend(u(token), message, endStream !== 0);
    },
    proxy_grpc_close(token: number) {
      return ctx().root.grpcClose(u(token));
    },
    proxy_grpc_cancel(token: number) {
      return ctx().root.grpcCancel(u(token));
    },

    // Time and ticks.
    proxy_set_tick_period_milliseconds(period: number) {
      vm.setTickPeriod(ctx().root.id, u(period));
      return WasmResult.Ok;
    },
    proxy_get_current_time_nanoseconds(ptr: number) {
      return mem().setU64(u(ptr), vm.env.clock()) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    // Metrics.
    proxy_define_metric(type: number, np: number, ns: number, idPtr: number) {
      const name = read(np, ns);
      if (!name) return WasmResult.InvalidMemoryAccess;
      const r = vm.metrics.define(u(type), utf8String(name));
      if (r.result !== WasmResult.Ok) return r.result;
      return mem().setU32(u(idPtr), r.id!) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },
    proxy_increment_metric(id: number, delta: bigint) {
      return vm.metrics.increment(u(id), BigInt.asIntN(64, delta));
    },
    proxy_record_metric(id: number, value: bigint) {
      return vm.metrics.record(u(id), value);
    },
    proxy_get_metric(id: number, ptr: number) {
      const r = vm.metrics.get(u(id));
      if (r.result !== WasmResult.Ok) return r.result;
      return mem().setU64(u(ptr), r.value!) ? WasmResult.Ok : WasmResult.InvalidMemoryAccess;
    },

    // Streams and contexts.
    proxy_continue_stream(type: number) {
      if (u(type) > 3) return WasmResult.BadArgument;
      return ctx().continueStream(u(type));
    },
    proxy_close_stream(type: number) {
      if (u(type) > 3) return WasmResult.BadArgument;
      return ctx().closeStream(u(type));
    },
    proxy_set_effective_context(id: number) {
      return vm.setEffectiveContext(u(id));
    },
    proxy_done() {
      // Only a root context whose shutdown was deferred (on_done returned false) may finish it; this host
      // never defers shutdown.
      return WasmResult.NotFound;
    },
    proxy_call_foreign_function(np: number, ns: number, ap: number, as: number, rp: number, rs: number) {
      const name = mem().utf8(u(np), u(ns));
      const args = read(ap, as);
      if (name === undefined || !args) return WasmResult.InvalidMemoryAccess;
      const r = callForeignFunction(ctx(), name, args);
      if (!r) return WasmResult.NotFound;
      let address = 0;
      const out = r.results ?? new Uint8Array(0);
      if (out.length > 0 && u(rp) !== 0) {
        address = vm.malloc(out.length);
        if (address === 0 || !mem().write(address, out)) return WasmResult.InvalidMemoryAccess;
      }
      if (u(rp) !== 0 && !mem().setU32(u(rp), address)) return WasmResult.InvalidMemoryAccess;
      if (u(rs) !== 0 && !mem().setU32(u(rs), out.length)) return WasmResult.InvalidMemoryAccess;
      return r.result;
    },
  };
  for (const name of Object.keys(ENV_IMPORTS)) if (!fns[name]) throw new Error(`host function ${name} is not implemented`);
  return fns;
}

function queueTarget(vm: Vm) {
  return {
    get failed() {
      return vm.failed;
    },
    notify(contextId: number, token: number) {
      vm.whenIdle(() => {
        const c = vm.contexts.get(contextId);
        if (!c || vm.failed || !vm.has("proxy_on_queue_ready")) return;
        vm.runActions(vm.invoke(c, "proxy_on_queue_ready", [contextId, token]));
      });
    },
  };
}

const epochOffsetNs = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
/** Wall-clock nanoseconds with sub-millisecond resolution. */
export const wallClockNanos = (): bigint => process.hrtime.bigint() + epochOffsetNs;
