// gRPC callouts from on_request_headers; request headers choose: x-grpc = unary | stream | stream-close |
// cancel, x-service (cluster name) or x-service-hex (a serialized GrpcService), x-method, x-msg, and
// x-md (one initial-metadata value). Callbacks arrive on the root context; the stream that started the
// callout is resumed through proxy_set_effective_context with what arrived in request headers.
import { OUT, encodePairs, getBuffer, getHeader, log, outString, outU32, proxy_continue_stream, proxy_get_status, proxy_set_effective_context, replaceHeader, utf8 } from "./host-common/abi";
export { malloc } from "./host-common/abi";

@external("env", "proxy_grpc_call") declare function proxy_grpc_call(sp: usize, ss: usize, np: usize, ns: usize, mp: usize, ms: usize, ip: usize, is: usize, rp: usize, rs: usize, timeout: u32, tp: usize): i32;
@external("env", "proxy_grpc_stream") declare function proxy_grpc_stream(sp: usize, ss: usize, np: usize, ns: usize, mp: usize, ms: usize, ip: usize, is: usize, tp: usize): i32;
@external("env", "proxy_grpc_send") declare function proxy_grpc_send(t: u32, mp: usize, ms: usize, end: u32): i32;
@external("env", "proxy_grpc_close") declare function proxy_grpc_close(t: u32): i32;
@external("env", "proxy_grpc_cancel") declare function proxy_grpc_cancel(t: u32): i32;

export function proxy_abi_version_0_2_1(): void {}

const streams = new Map<u32, u32>();

function fromHex(s: string): ArrayBuffer {
  const out = new ArrayBuffer(s.length / 2);
  for (let i = 0; i < s.length / 2; i++) store<u8>(changetype<usize>(out) + i, <u8>U32.parseInt(s.substr(i * 2, 2), 16));
  return out;
}

function send(token: u32, msg: string, end: u32): i32 {
  const m = utf8(msg);
  return proxy_grpc_send(token, changetype<usize>(m), m.byteLength, end);
}

export function proxy_on_request_headers(ctx: u32, n: u32, eos: u32): i32 {
  const kind = getHeader(0, "x-grpc");
  const hexService = getHeader(0, "x-service-hex");
  const service = hexService.startsWith("<") ? utf8(getHeader(0, "x-service")) : fromHex(hexService);
  const name = utf8("test.Echo");
  const method = utf8(getHeader(0, "x-method"));
  const md = encodePairs(["x-md"], [getHeader(0, "x-md")]);
  let r: i32;
  if (kind == "unary") {
    const msg = utf8(getHeader(0, "x-msg"));
    r = proxy_grpc_call(changetype<usize>(service), service.byteLength, changetype<usize>(name), name.byteLength, changetype<usize>(method), method.byteLength,
      changetype<usize>(md), md.byteLength, changetype<usize>(msg), msg.byteLength, U32.parseInt(getHeader(0, "x-timeout")), OUT + 8);
    log("call " + r.toString() + " " + (r == 0 ? outU32().toString() : "-"));
    if (r == 0) log("send-on-call " + send(outU32(), "x", 0).toString());
  } else {
    r = proxy_grpc_stream(changetype<usize>(service), service.byteLength, changetype<usize>(name), name.byteLength, changetype<usize>(method), method.byteLength,
      changetype<usize>(md), md.byteLength, OUT + 8);
    log("stream " + r.toString() + " " + (r == 0 ? outU32().toString() : "-"));
    if (r == 0) {
      const token = outU32();
      if (kind == "cancel") {
        log("cancel " + proxy_grpc_cancel(token).toString() + " then send " + send(token, "late", 0).toString());
        return 0;
      }
      log("send " + send(token, "one", 0).toString());
      if (kind == "stream-close") log("close " + proxy_grpc_close(token).toString());
      else log("send " + send(token, "two", 1).toString());
    }
  }
  if (r != 0) return 0;
  streams.set(outU32(), ctx);
  return 1;
}

function resume(token: u32, header: string, value: string): void {
  log("effective " + proxy_set_effective_context(streams.get(token)).toString());
  replaceHeader(0, header, value);
  proxy_continue_stream(0);
}

export function proxy_on_grpc_receive_initial_metadata(root: u32, token: u32, n: u32): void {
  log("initial " + root.toString() + " " + token.toString() + " " + getHeader(4, "x-init"));
}

export function proxy_on_grpc_receive(root: u32, token: u32, size: u32): void {
  const msg = getBuffer(5, 0, <i32>size);
  log("message " + token.toString() + " " + size.toString() + " " + msg);
  if ((token & 3) == 1) resume(token, "x-grpc-reply", msg);
}

export function proxy_on_grpc_receive_trailing_metadata(root: u32, token: u32, n: u32): void {
  log("trailing " + token.toString() + " " + getHeader(5, "x-trail") + " " + getHeader(5, "grpc-status"));
}

export function proxy_on_grpc_close(root: u32, token: u32, status: u32): void {
  proxy_get_status(OUT + 8, OUT, OUT + 4);
  log("close " + token.toString() + " " + status.toString() + " " + outU32().toString() + " " + outString());
  resume(token, "x-grpc-close", status.toString());
}
