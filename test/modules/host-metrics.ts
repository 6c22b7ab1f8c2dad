// Metrics: defined at configure ("requests.route.r1.total" counter, "inflight" gauge, "latency_ms"
// histogram); request header x-op picks an operation with x-value, and the result code is logged.
import { OUT, getHeader, log, utf8 } from "./host-common/abi";
export { malloc } from "./host-common/abi";

@external("env", "proxy_define_metric") declare function proxy_define_metric(t: i32, np: usize, ns: usize, idp: usize): i32;
@external("env", "proxy_increment_metric") declare function proxy_increment_metric(id: u32, delta: i64): i32;
@external("env", "proxy_record_metric") declare function proxy_record_metric(id: u32, value: u64): i32;
@external("env", "proxy_get_metric") declare function proxy_get_metric(id: u32, p: usize): i32;

export function proxy_abi_version_0_2_1(): void {}

let counter: u32 = 0;
let gauge: u32 = 0;
let histogram: u32 = 0;

function define(type: i32, name: string): u32 {
  const n = utf8(name);
  const r = proxy_define_metric(type, changetype<usize>(n), n.byteLength, OUT + 8);
  log("define " + type.toString() + " " + r.toString() + " " + (r == 0 ? load<u32>(OUT + 8).toString() : "-"));
  return load<u32>(OUT + 8);
}

export function proxy_on_configure(root: u32, size: u32): bool {
  counter = define(0, "route.r1.requests");
  gauge = define(1, "inflight");
  histogram = define(2, "route.r1.latency_ms");
  define(0, "second");
  define(3, "bad");
  return true;
}

export function proxy_on_request_headers(ctx: u32, n: u32, eos: u32): i32 {
  const op = getHeader(0, "x-op");
  const v = I64.parseInt(getHeader(0, "x-value"));
  let r: i32 = -1;
  if (op == "inc") r = proxy_increment_metric(counter, v);
  else if (op == "record") r = proxy_record_metric(counter, <u64>v);
  else if (op == "gauge-set") r = proxy_record_metric(gauge, <u64>v);
  else if (op == "gauge-add") r = proxy_increment_metric(gauge, v);
  else if (op == "hist") r = proxy_record_metric(histogram, <u64>v);
  else if (op == "hist-inc") r = proxy_increment_metric(histogram, v);
  else if (op == "unknown") r = proxy_record_metric(400, <u64>v);
  if (op == "get" || op == "get-gauge" || op == "get-hist") {
    r = proxy_get_metric(op == "get" ? counter : op == "get-gauge" ? gauge : histogram, OUT + 16);
    log(op + " " + r.toString() + " " + (r == 0 ? load<u64>(OUT + 16).toString() : "-"));
  } else {
    log(op + " " + r.toString());
  }
  return 0;
}
