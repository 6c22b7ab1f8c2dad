// Properties: for each phase the configuration lists paths ("rh=request/path,source/port sh=... log=..."),
// components separated by '/'; each is read with proxy_get_property and logged as hex with the result.
// "set=key:value" calls proxy_set_property in on_request_headers; "ff=name" calls a foreign function.
import { OUT, hex, log, pluginConfig, setting, utf8 } from "./host-common/abi";
export { malloc } from "./host-common/abi";

@external("env", "proxy_get_property") declare function proxy_get_property(pp: usize, ps: usize, vpp: usize, vsp: usize): i32;
@external("env", "proxy_set_property") declare function proxy_set_property(kp: usize, ks: usize, vp: usize, vs: usize): i32;
@external("env", "proxy_call_foreign_function") declare function proxy_call_foreign_function(np: usize, ns: usize, ap: usize, as: usize, rp: usize, rs: usize): i32;

export function proxy_abi_version_0_2_1(): void {}

let config = "";
export function proxy_on_configure(root: u32, size: u32): bool {
  config = pluginConfig(<i32>size);
  read("cfg");
  return true;
}

function read(phase: string): void {
  const list = setting(config, phase, "");
  if (list == "") return;
  const paths = list.split(",");
  for (let i = 0; i < paths.length; i++) {
    const p = utf8(paths[i].replaceAll("/", "\0"));
    const r = proxy_get_property(changetype<usize>(p), p.byteLength, OUT, OUT + 4);
    log(phase + " " + paths[i] + " " + r.toString() + (r == 0 ? " " + hex(load<u32>(OUT), load<u32>(OUT + 4)) : ""));
  }
}

export function proxy_on_request_headers(ctx: u32, n: u32, eos: u32): i32 {
  const set = setting(config, "set", "");
  if (set != "") {
    const colon = set.indexOf(":");
    const k = utf8(set.substring(0, colon));
    const v = utf8(set.substring(colon + 1));
    log("set " + proxy_set_property(changetype<usize>(k), k.byteLength, changetype<usize>(v), v.byteLength).toString());
  }
  const ff = setting(config, "ff", "");
  if (ff != "") {
    const name = utf8(ff);
    const args = utf8(setting(config, "ffargs", "").replaceAll("~", "\n"));
    log("ff " + proxy_call_foreign_function(changetype<usize>(name), name.byteLength, changetype<usize>(args), args.byteLength, OUT, OUT + 4).toString());
  }
  read("rh");
  return 0;
}

export function proxy_on_request_body(ctx: u32, size: u32, eos: u32): i32 {
  read("rb");
  return 0;
}

export function proxy_on_response_headers(ctx: u32, n: u32, eos: u32): i32 {
  read("sh");
  return 0;
}

export function proxy_on_log(ctx: u32): void {
  read("log");
}
