// Shared data and queues, driven by request headers: x-op = set (x-key, x-value, x-cas) | get (x-key) |
// enqueue (x-value, x-vm). Each root registers queue "q" at configure; on_queue_ready drains it.
import { OUT, getHeader, log, outString, outU32, utf8 } from "./host-common/abi";
export { malloc } from "./host-common/abi";

@external("env", "proxy_set_shared_data") declare function proxy_set_shared_data(kp: usize, ks: usize, vp: usize, vs: usize, cas: u32): i32;
@external("env", "proxy_get_shared_data") declare function proxy_get_shared_data(kp: usize, ks: usize, vpp: usize, vsp: usize, casp: usize): i32;
@external("env", "proxy_register_shared_queue") declare function proxy_register_shared_queue(np: usize, ns: usize, tp: usize): i32;
@external("env", "proxy_resolve_shared_queue") declare function proxy_resolve_shared_queue(vp: usize, vs: usize, np: usize, ns: usize, tp: usize): i32;
@external("env", "proxy_enqueue_shared_queue") declare function proxy_enqueue_shared_queue(t: u32, dp: usize, ds: usize): i32;
@external("env", "proxy_dequeue_shared_queue") declare function proxy_dequeue_shared_queue(t: u32, pp: usize, sp: usize): i32;

export function proxy_abi_version_0_2_1(): void {}

export function proxy_on_configure(root: u32, size: u32): bool {
  const q = utf8("q");
  const r = proxy_register_shared_queue(changetype<usize>(q), q.byteLength, OUT + 8);
  log("registered " + r.toString() + " " + outU32().toString());
  return true;
}

export function proxy_on_request_headers(ctx: u32, n: u32, eos: u32): i32 {
  const op = getHeader(0, "x-op");
  const key = utf8(getHeader(0, "x-key"));
  if (op == "set") {
    const v = utf8(getHeader(0, "x-value"));
    const cas = U32.parseInt(getHeader(0, "x-cas"));
    log("set " + proxy_set_shared_data(changetype<usize>(key), key.byteLength, changetype<usize>(v), v.byteLength, cas).toString());
  } else if (op == "get") {
    const r = proxy_get_shared_data(changetype<usize>(key), key.byteLength, OUT, OUT + 4, OUT + 8);
    log("get " + r.toString() + (r == 0 ? " " + outString() + " " + outU32().toString() : ""));
  } else if (op == "enqueue") {
    const vmId = getHeader(0, "x-vm");
    const vm = utf8(vmId.startsWith("<") ? "" : vmId);
    const q = utf8(getHeader(0, "x-queue"));
    const r = proxy_resolve_shared_queue(changetype<usize>(vm), vm.byteLength, changetype<usize>(q), q.byteLength, OUT + 8);
    const v = utf8(getHeader(0, "x-value"));
    const e = r == 0 ? proxy_enqueue_shared_queue(outU32(), changetype<usize>(v), v.byteLength) : -1;
    log("enqueue " + r.toString() + " " + e.toString());
  }
  return 0;
}

export function proxy_on_queue_ready(root: u32, token: u32): void {
  let r = proxy_dequeue_shared_queue(token, OUT, OUT + 4);
  while (r == 0) {
    log("dequeued " + root.toString() + " " + outString());
    r = proxy_dequeue_shared_queue(token, OUT, OUT + 4);
  }
  log("drained " + r.toString());
}
