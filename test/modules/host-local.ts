// Deferred actions: what request header "x-action" names is done in on_request_headers, and the log
// line right after the host call shows it did not happen yet. The response path marks what it saw.
import { addHeader, getHeader, log, proxy_close_stream, proxy_continue_stream, sendLocalResponse } from "./host-common/abi";
export { malloc } from "./host-common/abi";

export function proxy_abi_version_0_2_1(): void {}

export function proxy_on_request_headers(ctx: u32, n: u32, eos: u32): i32 {
  const action = getHeader(0, "x-action");
  if (action == "reply") {
    const grpc = getHeader(0, "x-grpc");
    const code = sendLocalResponse(403, "access denied\tby policy", "denied", ["X-Reason"], ["policy"], grpc.startsWith("<") ? -1 : I32.parseInt(grpc));
    log("after reply " + code.toString());
    return 0; // forced to stop by the local reply
  }
  if (action == "reply-twice") {
    sendLocalResponse(401, "first", "one", [], [], -1);
    sendLocalResponse(402, "second", "two", [], [], -1);
    return 0;
  }
  if (action == "continue") {
    log("continue " + proxy_continue_stream(0).toString());
    log("continue-bad " + proxy_continue_stream(4).toString() + " " + proxy_continue_stream(3).toString());
    return 1; // StopAll, then the deferred continue forwards
  }
  if (action == "close") {
    log("close " + proxy_close_stream(0).toString());
    return 0;
  }
  return 0;
}

export function proxy_on_response_headers(ctx: u32, n: u32, eos: u32): i32 {
  log("response " + getHeader(2, ":status") + " " + getHeader(2, "x-reason"));
  addHeader(2, "x-filter-saw", "1");
  if (getHeader(2, "x-upstream-action") == "reply") {
    sendLocalResponse(502, "bad upstream", "replaced", [], [], -1);
    return 0;
  }
  return 0;
}
