// Traps on demand: request header x-trap (or response header x-trap) makes the callback hit
// `unreachable`, which fails the VM. Every callback logs, so skipped calls are visible.
import { getHeader, log } from "./host-common/abi";
export { malloc } from "./host-common/abi";

export function proxy_abi_version_0_2_1(): void {}

export function proxy_on_request_headers(ctx: u32, n: u32, eos: u32): i32 {
  log("rh " + ctx.toString());
  if (!getHeader(0, "x-trap").startsWith("<")) unreachable();
  return 0;
}

export function proxy_on_request_body(ctx: u32, size: u32, eos: u32): i32 {
  log("rb " + ctx.toString());
  return 0;
}

export function proxy_on_response_headers(ctx: u32, n: u32, eos: u32): i32 {
  log("sh " + ctx.toString());
  if (!getHeader(2, "x-trap").startsWith("<")) unreachable();
  return 0;
}

export function proxy_on_log(ctx: u32): void {
  log("log " + ctx.toString());
}
