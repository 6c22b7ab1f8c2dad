// Header-map host calls: value lookup (first of repeated), size, pairs round trip, add / replace /
// remove, and what the calls answer once the headers were continued (and in on_log).
import {
  OUT, addHeader, getHeader, log, pluginConfig, proxy_get_header_map_pairs, proxy_get_header_map_size, proxy_set_header_map_pairs,
  removeHeader, replaceHeader, setting,
} from "./host-common/abi";
export { malloc } from "./host-common/abi";

export function proxy_abi_version_0_2_1(): void {}

let config = "";
export function proxy_on_configure(root: u32, size: u32): bool {
  config = pluginConfig(<i32>size);
  return true;
}

export function proxy_on_request_headers(ctx: u32, n: u32, eos: u32): i32 {
  log("first " + getHeader(0, "X-Multi"));
  log("missing " + getHeader(0, "x-none"));
  log("badmap " + getHeader(9, "x-multi").toString());
  proxy_get_header_map_size(0, OUT + 8);
  log("size " + load<u32>(OUT + 8).toString());
  // Round trip: read the pairs and write them back unchanged.
  proxy_get_header_map_pairs(0, OUT, OUT + 4);
  const ptr = load<u32>(OUT);
  const len = load<u32>(OUT + 4);
  log("set-pairs " + proxy_set_header_map_pairs(0, ptr, len).toString());
  log("add " + addHeader(0, "X-Added", "1").toString());
  log("replace " + replaceHeader(0, "x-replace", "new").toString());
  log("remove " + removeHeader(0, "x-remove").toString());
  addHeader(0, ":pseudo", "p");
  return I32.parseInt(setting(config, "rh", "0"));
}

export function proxy_on_request_body(ctx: u32, size: u32, eos: u32): i32 {
  log("late-get " + getHeader(0, ":path"));
  log("late-set " + replaceHeader(0, "x-late", "1").toString());
  proxy_get_header_map_pairs(0, OUT, OUT + 4);
  log("late-pairs " + load<u32>(OUT + 4).toString());
  // Request trailers can be added from the last body callback only.
  log("add-trailer " + eos.toString() + " " + addHeader(1, "x-added-trailer", "t").toString());
  return 0;
}

export function proxy_on_response_headers(ctx: u32, n: u32, eos: u32): i32 {
  replaceHeader(2, "x-resp", "1");
  log("req-in-resp " + getHeader(0, ":path"));
  return 0;
}

export function proxy_on_log(ctx: u32): void {
  log("log-path " + getHeader(0, ":path"));
  log("log-status " + getHeader(2, ":status"));
  log("log-set " + replaceHeader(0, "x-log", "1").toString());
}
