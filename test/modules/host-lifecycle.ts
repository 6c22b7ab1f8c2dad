// Logs every callback with its context ids and returns the statuses its configuration names
// ("rh=1 rb=0 ..."): callback order, context creation, status conversion and start-up results.
import { log, pluginConfig, setting } from "./host-common/abi";
export { malloc } from "./host-common/abi";

export function proxy_abi_version_0_2_1(): void {}

let config = "";
function status(key: string): i32 {
  return I32.parseInt(setting(config, key, "0"));
}

export function proxy_on_context_create(ctx: u32, parent: u32): void {
  log("create " + ctx.toString() + " " + parent.toString());
}
export function proxy_on_vm_start(root: u32, size: u32): bool {
  log("vm_start " + root.toString());
  return true;
}
export function proxy_on_configure(root: u32, size: u32): bool {
  config = pluginConfig(<i32>size);
  log("configure " + root.toString() + " " + config);
  return setting(config, "configure", "1") == "1";
}
export function proxy_on_request_headers(ctx: u32, n: u32, eos: u32): i32 {
  log("rh " + ctx.toString() + " " + n.toString() + " " + eos.toString());
  return status("rh");
}
export function proxy_on_request_body(ctx: u32, size: u32, eos: u32): i32 {
  log("rb " + ctx.toString() + " " + size.toString() + " " + eos.toString());
  return status("rb");
}
export function proxy_on_request_trailers(ctx: u32, n: u32): i32 {
  log("rt " + ctx.toString() + " " + n.toString());
  return status("rt");
}
export function proxy_on_response_headers(ctx: u32, n: u32, eos: u32): i32 {
  log("sh " + ctx.toString() + " " + n.toString() + " " + eos.toString());
  return status("sh");
}
export function proxy_on_response_body(ctx: u32, size: u32, eos: u32): i32 {
  log("sb " + ctx.toString() + " " + size.toString() + " " + eos.toString());
  return status("sb");
}
export function proxy_on_response_trailers(ctx: u32, n: u32): i32 {
  log("st " + ctx.toString() + " " + n.toString());
  return status("st");
}
export function proxy_on_log(ctx: u32): void {
  log("log " + ctx.toString());
}
export function proxy_on_done(ctx: u32): bool {
  log("done " + ctx.toString());
  return false;
}
export function proxy_on_delete(ctx: u32): void {
  log("delete " + ctx.toString());
}
