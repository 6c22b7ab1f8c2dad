// Raw proxy-wasm 0.2.1 imports and tiny helpers for the host conformance fixtures (test/modules/host-*.ts).
// Deliberately independent of the project's SDK: each fixture controls exactly which host calls happen.

@external("env", "proxy_log") export declare function proxy_log(level: i32, ptr: usize, len: usize): i32;
@external("env", "proxy_get_buffer_bytes") export declare function proxy_get_buffer_bytes(t: i32, start: i32, len: i32, pp: usize, sp: usize): i32;
@external("env", "proxy_set_buffer_bytes") export declare function proxy_set_buffer_bytes(t: i32, start: i32, len: i32, dp: usize, ds: usize): i32;
@external("env", "proxy_get_buffer_status") export declare function proxy_get_buffer_status(t: i32, lp: usize, fp: usize): i32;
@external("env", "proxy_get_header_map_value") export declare function proxy_get_header_map_value(m: i32, kp: usize, ks: usize, vpp: usize, vsp: usize): i32;
@external("env", "proxy_add_header_map_value") export declare function proxy_add_header_map_value(m: i32, kp: usize, ks: usize, vp: usize, vs: usize): i32;
@external("env", "proxy_replace_header_map_value") export declare function proxy_replace_header_map_value(m: i32, kp: usize, ks: usize, vp: usize, vs: usize): i32;
@external("env", "proxy_remove_header_map_value") export declare function proxy_remove_header_map_value(m: i32, kp: usize, ks: usize): i32;
@external("env", "proxy_get_header_map_pairs") export declare function proxy_get_header_map_pairs(m: i32, pp: usize, sp: usize): i32;
@external("env", "proxy_set_header_map_pairs") export declare function proxy_set_header_map_pairs(m: i32, p: usize, s: usize): i32;
@external("env", "proxy_get_header_map_size") export declare function proxy_get_header_map_size(m: i32, sp: usize): i32;
@external("env", "proxy_continue_stream") export declare function proxy_continue_stream(t: i32): i32;
@external("env", "proxy_close_stream") export declare function proxy_close_stream(t: i32): i32;
@external("env", "proxy_send_local_response") export declare function proxy_send_local_response(status: i32, dp: usize, ds: usize, bp: usize, bs: usize, hp: usize, hs: usize, grpc: i32): i32;
@external("env", "proxy_set_tick_period_milliseconds") export declare function proxy_set_tick_period_milliseconds(ms: i32): i32;
@external("env", "proxy_set_effective_context") export declare function proxy_set_effective_context(ctx: i32): i32;
@external("env", "proxy_get_status") export declare function proxy_get_status(cp: usize, pp: usize, sp: usize): i32;

/** Scratch for out-values: [0] ptr, [4] size, [8] extra u32 (cas, token, id), [16] u64. */
export const OUT: usize = memory.data(32);

export function malloc(size: usize): usize {
  return heap.alloc(size);
}

export function utf8(s: string): ArrayBuffer {
  return String.UTF8.encode(s);
}

export function log(s: string): void {
  const b = utf8(s);
  proxy_log(2, changetype<usize>(b), b.byteLength);
}

/** The bytes of the last out-value as a string (latin1-safe for ASCII test data). */
export function outString(): string {
  const ptr = load<u32>(OUT);
  const len = load<u32>(OUT + 4);
  return len == 0 ? "" : String.UTF8.decodeUnsafe(ptr, len);
}

export function outU32(): u32 {
  return load<u32>(OUT + 8);
}

export function getBuffer(type: i32, start: i32, len: i32): string {
  const r = proxy_get_buffer_bytes(type, start, len, OUT, OUT + 4);
  return r == 0 ? outString() : "<" + r.toString() + ">";
}

export function setBuffer(type: i32, start: i32, len: i32, data: string): i32 {
  const b = utf8(data);
  return proxy_set_buffer_bytes(type, start, len, changetype<usize>(b), b.byteLength);
}

/** "<code>" on failure, else the value. */
export function getHeader(map: i32, key: string): string {
  const k = utf8(key);
  const r = proxy_get_header_map_value(map, changetype<usize>(k), k.byteLength, OUT, OUT + 4);
  return r == 0 ? outString() : "<" + r.toString() + ">";
}

export function replaceHeader(map: i32, key: string, value: string): i32 {
  const k = utf8(key);
  const v = utf8(value);
  return proxy_replace_header_map_value(map, changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength);
}

export function addHeader(map: i32, key: string, value: string): i32 {
  const k = utf8(key);
  const v = utf8(value);
  return proxy_add_header_map_value(map, changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength);
}

export function removeHeader(map: i32, key: string): i32 {
  const k = utf8(key);
  return proxy_remove_header_map_value(map, changetype<usize>(k), k.byteLength);
}

/** Serialized pairs (u32 n, n×(klen, vlen), NUL-terminated keys and values). */
export function encodePairs(keys: string[], values: string[]): ArrayBuffer {
  let size = 4;
  for (let i = 0; i < keys.length; i++) size += 8 + String.UTF8.byteLength(keys[i]) + 1 + String.UTF8.byteLength(values[i]) + 1;
  const buf = new ArrayBuffer(size);
  const p = changetype<usize>(buf);
  store<u32>(p, keys.length);
  let data = p + 4 + 8 * keys.length;
  for (let i = 0; i < keys.length; i++) {
    const k = utf8(keys[i]);
    const v = utf8(values[i]);
    store<u32>(p + 4 + 8 * i, k.byteLength);
    store<u32>(p + 8 + 8 * i, v.byteLength);
    memory.copy(data, changetype<usize>(k), k.byteLength);
    data += k.byteLength + 1;
    memory.copy(data, changetype<usize>(v), v.byteLength);
    data += v.byteLength + 1;
  }
  return buf;
}

/** The plugin configuration (buffer type 7), only readable in proxy_on_configure. */
export function pluginConfig(size: i32): string {
  return getBuffer(7, 0, size);
}

/** "k=v" settings separated by spaces. */
export function setting(config: string, key: string, fallback: string): string {
  const parts = config.split(" ");
  for (let i = 0; i < parts.length; i++) {
    const eq = parts[i].indexOf("=");
    if (eq > 0 && parts[i].substring(0, eq) == key) return parts[i].substring(eq + 1);
  }
  return fallback;
}

export function hex(ptr: usize, len: u32): string {
  let s = "";
  for (let i: u32 = 0; i < len; i++) {
    const b = load<u8>(ptr + i);
    s += (b < 16 ? "0" : "") + b.toString(16);
  }
  return s;
}

export function sendLocalResponse(status: i32, details: string, body: string, hk: string[], hv: string[], grpc: i32): i32 {
  const d = utf8(details);
  const b = utf8(body);
  const h = encodePairs(hk, hv);
  return proxy_send_local_response(status, changetype<usize>(d), d.byteLength, changetype<usize>(b), b.byteLength, changetype<usize>(h), h.byteLength, grpc);
}
