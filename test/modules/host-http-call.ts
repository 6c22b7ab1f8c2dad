// HTTP callout from on_request_headers (request headers name the target: x-cluster, x-path, x-authority
// ("none" leaves :authority out), x-body, x-timeout). The response is logged on the root context, then
// the stream is resumed through proxy_set_effective_context with x-callout-status added.
import { OUT, encodePairs, getBuffer, getHeader, log, outString, outU32, proxy_continue_stream, proxy_get_status, proxy_set_effective_context, replaceHeader, utf8 } from "./host-common/abi";
export { malloc } from "./host-common/abi";

@external("env", "proxy_http_call") declare function proxy_http_call(up: usize, us: usize, hp: usize, hs: usize, bp: usize, bs: usize, tp: usize, ts: usize, timeout: u32, tokp: usize): i32;

export function proxy_abi_version_0_2_1(): void {}

const streams = new Map<u32, u32>();

export function proxy_on_request_headers(ctx: u32, n: u32, eos: u32): i32 {
  const cluster = utf8(getHeader(0, "x-cluster"));
  const keys = [":method", ":path", "x-callout"];
  const values = ["POST", getHeader(0, "x-path"), "1"];
  const authority = getHeader(0, "x-authority");
  if (authority != "none") {
    keys.push(":authority");
    values.push(authority);
  }
  const headers = encodePairs(keys, values);
  const body = utf8(getHeader(0, "x-body"));
  const timeout = U32.parseInt(getHeader(0, "x-timeout"));
  const r = proxy_http_call(changetype<usize>(cluster), cluster.byteLength, changetype<usize>(headers), headers.byteLength,
    changetype<usize>(body), body.byteLength, 0, 0, timeout, OUT + 8);
  log("call " + r.toString() + " " + outU32().toString());
  if (r != 0) return 0;
  streams.set(outU32(), ctx);
  return 1;
}

export function proxy_on_http_call_response(root: u32, token: u32, nh: u32, bs: u32, nt: u32): void {
  log("response " + root.toString() + " " + token.toString() + " " + nh.toString() + " " + bs.toString() + " " + nt.toString());
  let status = "failed";
  if (nh > 0) {
    status = getHeader(6, ":status");
    log("status " + status + " body " + getBuffer(4, 0, <i32>bs) + " echo " + getHeader(6, "x-echo"));
  } else {
    proxy_get_status(OUT + 8, OUT, OUT + 4);
    log("get_status " + outU32().toString() + " " + outString());
  }
  const ctx = streams.get(token);
  log("effective " + proxy_set_effective_context(ctx).toString());
  replaceHeader(0, "x-callout-status", status);
  // The response stays readable through the effective stream context.
  log("after-effective " + getHeader(6, ":status"));
  proxy_continue_stream(0);
}
