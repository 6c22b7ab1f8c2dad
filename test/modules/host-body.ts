// Body callbacks under the statuses a configuration names: "mode=buffer|watermark|nobuffer|stopall",
// "set=replace|prepend|append|bad" applied at the end of a buffered body, "resp=buffer" for the response.
import { getBuffer, log, pluginConfig, proxy_continue_stream, proxy_set_effective_context, proxy_set_tick_period_milliseconds, setBuffer, setting } from "./host-common/abi";
export { malloc } from "./host-common/abi";

export function proxy_abi_version_0_2_1(): void {}

let mode = "";
let setMode = "";
let resp = "";
let rh = 0;
let paused: u32 = 0;

export function proxy_on_configure(root: u32, size: u32): bool {
  const c = pluginConfig(<i32>size);
  mode = setting(c, "mode", "buffer");
  setMode = setting(c, "set", "");
  resp = setting(c, "resp", "");
  rh = I32.parseInt(setting(c, "rh", "0"));
  return true;
}

export function proxy_on_request_headers(ctx: u32, n: u32, eos: u32): i32 {
  if (mode == "stopall") {
    // Pause (StopIteration, which Envoy turns into StopAll) and resume from a tick.
    paused = ctx;
    proxy_set_tick_period_milliseconds(5);
    return 1;
  }
  return rh;
}

export function proxy_on_tick(root: u32): void {
  proxy_set_tick_period_milliseconds(0);
  log("tick effective " + proxy_set_effective_context(paused).toString());
  log("tick continue " + proxy_continue_stream(0).toString());
}

export function proxy_on_request_body(ctx: u32, size: u32, eos: u32): i32 {
  log("rb " + size.toString() + " " + eos.toString() + " " + getBuffer(0, 0, <i32>size));
  if (mode == "watermark") return eos ? 0 : 2;
  if (mode == "nobuffer") return eos ? 0 : 3;
  if (mode != "buffer" || !eos) return mode == "buffer" ? 1 : 0;
  if (setMode == "replace") log("set " + setBuffer(0, 0, <i32>size, "NEW").toString());
  else if (setMode == "prepend") log("set " + setBuffer(0, 0, 0, "PRE-").toString());
  else if (setMode == "append") log("set " + setBuffer(0, <i32>size, 0, "-POST").toString());
  else if (setMode == "bad") log("set " + setBuffer(0, 1, 1, "X").toString());
  else if (setMode == "drain") log("set " + setBuffer(0, 0, 2, "").toString());
  if (setMode != "") log("after " + getBuffer(0, 0, 1000));
  return 0;
}

export function proxy_on_response_headers(ctx: u32, n: u32, eos: u32): i32 {
  return resp == "hold" ? 1 : 0;
}

export function proxy_on_response_body(ctx: u32, size: u32, eos: u32): i32 {
  log("sb " + size.toString() + " " + eos.toString() + " " + getBuffer(1, 0, <i32>size));
  return eos ? 0 : 1;
}
