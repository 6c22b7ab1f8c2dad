// Host conformance module for test/wasm-host: raw proxy-wasm 0.2.1 imports and exports (no SDK), so each
// ABI behaviour is exercised exactly. The request header `x-op` picks the behaviour; results are reported
// with proxy_log lines "key=value" (and a few request headers) that the tests read.

@external("env", "proxy_log") declare function proxy_log(level: i32, ptr: usize, size: usize): i32;
@external("env", "proxy_get_header_map_value") declare function get_value(map: i32, kp: usize, ks: usize, vp: usize, vs: usize): i32;
@external("env", "proxy_get_header_map_pairs") declare function get_pairs(map: i32, vp: usize, vs: usize): i32;
@external("env", "proxy_set_header_map_pairs") declare function set_pairs(map: i32, p: usize, s: usize): i32;
@external("env", "proxy_replace_header_map_value") declare function replace_value(map: i32, kp: usize, ks: usize, vp: usize, vs: usize): i32;
@external("env", "proxy_get_buffer_bytes") declare function get_buffer(type: i32, start: u32, max: u32, vp: usize, vs: usize): i32;
@external("env", "proxy_set_buffer_bytes") declare function set_buffer(type: i32, start: u32, len: u32, p: usize, s: usize): i32;
@external("env", "proxy_send_local_response") declare function send_local(status: u32, dp: usize, ds: usize, bp: usize, bs: usize, hp: usize, hs: usize, grpc: i32): i32;
@external("env", "proxy_continue_stream") declare function continue_stream(t: i32): i32;
@external("env", "proxy_set_tick_period_milliseconds") declare function set_tick(ms: u32): i32;
@external("env", "proxy_set_effective_context") declare function set_effective(id: u32): i32;
@external("env", "proxy_define_metric") declare function define_metric(t: i32, np: usize, ns: usize, idOut: usize): i32;
@external("env", "proxy_increment_metric") declare function increment_metric(id: u32, d: i64): i32;
@external("env", "proxy_record_metric") declare function record_metric(id: u32, v: u64): i32;
@external("env", "proxy_get_metric") declare function get_metric(id: u32, out: usize): i32;
@external("env", "proxy_get_shared_data") declare function get_shared(kp: usize, ks: usize, vp: usize, vs: usize, casOut: usize): i32;
@external("env", "proxy_set_shared_data") declare function set_shared(kp: usize, ks: usize, vp: usize, vs: usize, cas: u32): i32;
@external("env", "proxy_get_property") declare function get_property(pp: usize, ps: usize, vp: usize, vs: usize): i32;
@external("env", "proxy_http_call") declare function http_call(cp: usize, cs: usize, hp: usize, hs: usize, bp: usize, bs: usize, tp: usize, ts: usize, timeout: u32, tokenOut: usize): i32;
@external("env", "proxy_grpc_call") declare function grpc_call(sp: usize, ss: usize, np: usize, ns: usize, mp: usize, ms: usize, ip: usize, is: usize, gp: usize, gs: usize, timeout: u32, tokenOut: usize): i32;
@external("env", "proxy_grpc_stream") declare function grpc_stream(sp: usize, ss: usize, np: usize, ns: usize, mp: usize, ms: usize, ip: usize, is: usize, tokenOut: usize): i32;
@external("env", "proxy_grpc_send") declare function grpc_send(token: u32, p: usize, s: usize, eos: u32): i32;
@external("env", "proxy_grpc_close") declare function grpc_close(token: u32): i32;
@external("env", "proxy_get_status") declare function get_status(codeOut: usize, p: usize, s: usize): i32;
@external("env", "proxy_set_property") declare function set_property(pp: usize, ps: usize, vp: usize, vs: usize): i32;
@external("env", "proxy_call_foreign_function") declare function call_foreign(np: usize, ns: usize, ap: usize, as: usize, rp: usize, rs: usize): i32;

const OUT = memory.data(16);
const ROOT_LOG = "root";

export function proxy_abi_version_0_2_1(): void {}

export function malloc(size: usize): usize {
  return heap.alloc(size);
}

function log(s: string): void {
  const b = String.UTF8.encode(s);
  proxy_log(2, changetype<usize>(b), b.byteLength);
}

function str(s: string): ArrayBuffer {
  return String.UTF8.encode(s);
}

function outString(): string {
  const p = load<usize>(OUT);
  const n = load<u32>(OUT + 4);
  return n == 0 ? "" : String.UTF8.decodeUnsafe(p, n);
}

function header(name: string): string {
  const k = str(name);
  if (get_value(0, changetype<usize>(k), k.byteLength, OUT, OUT + 4) != 0) return "";
  return outString();
}

function setHeader(name: string, value: string): i32 {
  const k = str(name);
  const v = str(value);
  return replace_value(0, changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength);
}

function setBody(start: u32, len: u32, data: string): i32 {
  const d = str(data);
  return set_buffer(0, start, len, changetype<usize>(d), d.byteLength);
}

function hex(p: usize, n: u32): string {
  let s = "";
  for (let i: u32 = 0; i < n; i++) {
    const b = load<u8>(p + i);
    s += (b < 16 ? "0" : "") + b.toString(16);
  }
  return s;
}

function property(path: string): string {
  const p = str(path);
  const r = get_property(changetype<usize>(p), p.byteLength, OUT, OUT + 4);
  return r == 0 ? outString() : "#" + r.toString();
}

let ops = new Map<u32, string>();
let laterContext: u32 = 0;

function op(ctx: u32): string {
  return ops.has(ctx) ? ops.get(ctx) : "";
}

export function proxy_on_context_create(ctx: u32, parent: u32): void {
  if (parent != 0) log("cb=context_create " + ctx.toString());
}

export function proxy_on_vm_start(root: u32, size: u32): bool {
  return true;
}

export function proxy_on_configure(root: u32, size: u32): bool {
  get_buffer(7, 0, size, OUT, OUT + 4);
  const config = outString();
  log("config=" + config);
  return config != "reject";
}

export function proxy_on_tick(root: u32): void {
  if (laterContext == 0) return;
  log("tick effective=" + set_effective(laterContext).toString());
  log("tick continue=" + continue_stream(0).toString());
  laterContext = 0;
  set_tick(0);
}

export function proxy_on_request_headers(ctx: u32, n: u32, eos: u32): i32 {
  log("cb=request_headers n=" + n.toString() + " eos=" + eos.toString());
  const o = header("x-op");
  ops.set(ctx, o);
  if (o == "trap") unreachable();
  if (o == "pairs") {
    get_pairs(0, OUT, OUT + 4);
    const p = load<usize>(OUT);
    const size = load<u32>(OUT + 4);
    log("pairs=" + hex(p, size));
    log("set=" + set_pairs(0, p, size).toString());
    setHeader("x-seen-size", size.toString());
    return 0;
  }
  if (o == "malformed") {
    get_pairs(0, OUT, OUT + 4);
    log("set=" + set_pairs(0, load<usize>(OUT), load<u32>(OUT + 4) - 1).toString());
    return 0;
  }
  if (o == "local") {
    const details = str("teapot time");
    const body = str("short and stout");
    // one pair: content-type: text/plain
    const pairs = new ArrayBuffer(4 + 8 + 13 + 11);
    const p = changetype<usize>(pairs);
    store<u32>(p, 1);
    store<u32>(p + 4, 12);
    store<u32>(p + 8, 10);
    memory.copy(p + 12, changetype<usize>(str("content-type")), 12);
    store<u8>(p + 24, 0);
    memory.copy(p + 25, changetype<usize>(str("text/plain")), 10);
    store<u8>(p + 35, 0);
    log("local=" + send_local(418, changetype<usize>(details), details.byteLength, changetype<usize>(body), body.byteLength, p, pairs.byteLength, -1).toString());
    return 0;
  }
  if (o == "later") {
    laterContext = ctx;
    set_tick(10);
    return 1;
  }
  if (o == "body" || o == "stop") return 1;
  if (callout(ctx, o)) return 1;
  if (o == "metrics") metrics();
  if (o == "shared-set") sharedSet();
  if (o == "shared-cas") sharedCas();
  if (o == "props") {
    log("plugin_root_id=" + property("plugin_root_id"));
    log("plugin_vm_id=" + property("plugin_vm_id"));
    log("request.path=" + property("request\0path"));
    log("xds.route_name=" + property("xds\0route_name"));
    log("unknown=" + property("no\0such"));
    const key = str("wh_state");
    const val = str("remembered");
    log("set_property=" + set_property(changetype<usize>(key), key.byteLength, changetype<usize>(val), val.byteLength).toString());
    log("wh_state=" + property("wh_state"));
    const name = str("clear_route_cache");
    log("foreign=" + call_foreign(changetype<usize>(name), name.byteLength, 0, 0, OUT, OUT + 4).toString());
    const bad = str("no_such_function");
    log("foreign_unknown=" + call_foreign(changetype<usize>(bad), bad.byteLength, 0, 0, OUT, OUT + 4).toString());
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------------
// Callouts: the stream that made the call waits (StopAll) until the root callback continues it.

let calloutContext: u32 = 0;

/** Serialized pairs (proxy-wasm.md §2.1) for a flat list [k0, v0, k1, v1, ...]. */
function pairs(kv: Array<string>): ArrayBuffer {
  const n = kv.length / 2;
  let size = 4 + 8 * n;
  for (let i = 0; i < kv.length; i++) size += String.UTF8.byteLength(kv[i]) + 1;
  const buf = new ArrayBuffer(size);
  const p = changetype<usize>(buf);
  store<u32>(p, n);
  let data = p + 4 + 8 * n;
  for (let i = 0; i < kv.length; i++) {
    const b = str(kv[i]);
    store<u32>(p + 4 + 4 * i, b.byteLength);
    memory.copy(data, changetype<usize>(b), b.byteLength);
    data += b.byteLength;
    store<u8>(data++, 0);
  }
  return buf;
}

function callout(ctx: u32, o: string): bool {
  const cluster = str(header("x-cluster"));
  const c = changetype<usize>(cluster);
  const cl = cluster.byteLength;
  let r: i32 = -1;
  if (o == "http") {
    const h = pairs([":method", "GET", ":path", "/hello", ":authority", "test", "x-from", "wasm"]);
    r = http_call(c, cl, changetype<usize>(h), h.byteLength, 0, 0, 0, 0, 2000, OUT + 8);
  } else if (o == "http-nopath") {
    const h = pairs([":method", "GET", ":authority", "test"]);
    r = http_call(c, cl, changetype<usize>(h), h.byteLength, 0, 0, 0, 0, 2000, OUT + 8);
  } else if (o == "grpc-call") {
    const svc = str("wh.Echo"), m = str("Unary"), msg = str(header("x-msg"));
    r = grpc_call(c, cl, changetype<usize>(svc), svc.byteLength, changetype<usize>(m), m.byteLength, 0, 0,
      changetype<usize>(msg), msg.byteLength, 2000, OUT + 8);
  } else if (o == "grpc-stream") {
    const svc = str("wh.Echo"), m = str("Chat"), md = pairs(["x-md", "hi"]);
    r = grpc_stream(c, cl, changetype<usize>(svc), svc.byteLength, changetype<usize>(m), m.byteLength,
      changetype<usize>(md), md.byteLength, OUT + 8);
    if (r == 0) {
      const one = str("one");
      log("send_wrong_token=" + grpc_send(load<u32>(OUT + 8) + 1, changetype<usize>(one), one.byteLength, 0).toString());
      log("send=" + grpc_send(load<u32>(OUT + 8), changetype<usize>(one), one.byteLength, 0).toString());
    }
  } else {
    return false;
  }
  log("call=" + r.toString());
  if (r == 0) {
    log("token=" + load<u32>(OUT + 8).toString());
    calloutContext = ctx;
  }
  return true;
}

function statusText(): string {
  get_status(OUT + 8, OUT, OUT + 4);
  return load<u32>(OUT + 8).toString() + ":" + outString();
}

function resume(): void {
  if (calloutContext == 0) return;
  set_effective(calloutContext);
  continue_stream(0);
  calloutContext = 0;
}

export function proxy_on_http_call_response(root: u32, token: u32, nh: u32, bodySize: u32, nt: u32): void {
  if (nh == 0) {
    log("http_failed=" + statusText());
  } else {
    const k = str(":status");
    get_value(6, changetype<usize>(k), k.byteLength, OUT, OUT + 4);
    const status = outString();
    get_buffer(4, 0, bodySize, OUT, OUT + 4);
    log("http_response=" + token.toString() + " " + status + " " + outString());
  }
  resume();
}

export function proxy_on_grpc_receive_initial_metadata(root: u32, token: u32, n: u32): void {
  const k = str("x-server-initial");
  get_value(4, changetype<usize>(k), k.byteLength, OUT, OUT + 4);
  log("grpc_initial=" + outString());
}

export function proxy_on_grpc_receive(root: u32, token: u32, size: u32): void {
  get_buffer(5, 0, size, OUT, OUT + 4);
  log("grpc_receive=" + token.toString() + " " + outString());
  if ((token & 3) == 2) log("grpc_close_local=" + grpc_close(token).toString());
  else resume();
}

export function proxy_on_grpc_receive_trailing_metadata(root: u32, token: u32, n: u32): void {
  const k = str("x-server-trailing");
  get_value(5, changetype<usize>(k), k.byteLength, OUT, OUT + 4);
  log("grpc_trailing=" + outString());
}

export function proxy_on_grpc_close(root: u32, token: u32, status: i32): void {
  log("grpc_close=" + token.toString() + " " + status.toString() + " " + statusText());
  resume();
}

export function proxy_on_request_body(ctx: u32, size: u32, eos: u32): i32 {
  log("cb=request_body size=" + size.toString() + " eos=" + eos.toString());
  const o = op(ctx);
  if (o == "after-continue" || o == "later") {
    const k = str(":path");
    log("header_after_continue=" + get_value(0, changetype<usize>(k), k.byteLength, OUT, OUT + 4).toString());
    return 0;
  }
  if (o == "body") {
    if (eos == 0) return 1;
    get_buffer(0, 0, size, OUT, OUT + 4);
    log("seen=" + outString());
    const r1 = setBody(0, 0, "<");
    const r2 = setBody(size + 1, 0, ">");
    const r3 = setBody(2, 1, "x");
    const r4 = setBody(0, 1, "[");
    setHeader("x-results", r1.toString() + "," + r2.toString() + "," + r3.toString() + "," + r4.toString());
    setHeader("content-length", "7");
    return 0;
  }
  return 0;
}

export function proxy_on_response_headers(ctx: u32, n: u32, eos: u32): i32 {
  log("cb=response_headers");
  return 0;
}

export function proxy_on_response_body(ctx: u32, size: u32, eos: u32): i32 {
  log("cb=response_body size=" + size.toString());
  return 0;
}

export function proxy_on_log(ctx: u32): void {
  log("cb=log path=" + header(":path"));
}

export function proxy_on_done(ctx: u32): bool {
  log("cb=done");
  return true;
}

export function proxy_on_delete(ctx: u32): void {
  log("cb=delete");
  ops.delete(ctx);
}

function metric(type: i32, name: string): u32 {
  const n = str(name);
  define_metric(type, changetype<usize>(n), n.byteLength, OUT);
  return load<u32>(OUT);
}

function metricValue(id: u32): string {
  const r = get_metric(id, OUT);
  return r == 0 ? load<i64>(OUT).toString() : "#" + r.toString();
}

function metrics(): void {
  const c = metric(0, "wh.requests");
  log("counter_inc0=" + increment_metric(c, 0).toString());
  log("counter_inc5=" + increment_metric(c, 5).toString());
  log("counter_record3=" + record_metric(c, 3).toString());
  log("counter=" + metricValue(c));
  const g = metric(1, "wh.level");
  log("gauge_record7=" + record_metric(g, 7).toString());
  log("gauge_inc-2=" + increment_metric(g, -2).toString());
  log("gauge=" + metricValue(g));
  const h = metric(2, "wh.latency");
  log("histogram_record42=" + record_metric(h, 42).toString());
  log("histogram_inc=" + increment_metric(h, 1).toString());
  log("histogram_get=" + metricValue(h));
  const n = str("x");
  log("bad_type=" + define_metric(3, changetype<usize>(n), 1, OUT).toString());
}

function sharedSet(): void {
  const k = str("wh-key");
  const v = str("v1");
  log("shared_set=" + set_shared(changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength, 0).toString());
}

function sharedCas(): void {
  const k = str("wh-key");
  const r = get_shared(changetype<usize>(k), k.byteLength, OUT, OUT + 4, OUT + 8);
  const cas = load<u32>(OUT + 8);
  log("shared_get=" + r.toString() + " value=" + outString());
  const v = str("v2");
  log("shared_stale=" + set_shared(changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength, cas + 1000).toString());
  log("shared_cas=" + set_shared(changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength, cas).toString());
  const m = str("missing");
  log("shared_missing=" + get_shared(changetype<usize>(m), m.byteLength, OUT, OUT + 4, OUT + 8).toString());
}
