// Thin wrappers over assembly/gateway/tokens/global-limit for test/assembly/gateway/tokens/global-limit.test.ts:
// the rate limit service behind a memory RateLimitService that keeps what would have been sent.
import { HeaderSource } from "../../assembly/gateway/request/route";
import { TokenUsage } from "../../assembly/gateway/response/usage";
import { TokenConfig } from "../../assembly/gateway/tokens/config";
import { estimateUsage } from "../../assembly/gateway/tokens/estimate";
import {
  GlobalCheck, RateLimitService, applicableGlobalRules, decodeRateLimitResponse, globalLimitHeaders, globalRefusalBody,
  sendReservation, sendSettlement,
} from "../../assembly/gateway/tokens/global-limit";
import { setOut, setOutBytes, str } from "./logic-common/io";
import { tokenConfig } from "./logic-common/token-config";
export { alloc, free, outPtr, outLen } from "./logic-common/io";

/** The last call of each kind, as the glue would have sent it. */
class MemoryService extends RateLimitService {
  /** Whether a check can be started (false: no cluster, no connection). */
  reachable: bool = true;
  sent: ArrayBuffer | null = null;
  cluster: string = "";
  timeoutMs: u32 = 0;
  calls: i32 = 0;

  check(cluster: string, request: ArrayBuffer, timeoutMs: u32): bool {
    this.keep(cluster, request, timeoutMs);
    return this.reachable;
  }

  charge(cluster: string, request: ArrayBuffer, timeoutMs: u32): void {
    this.keep(cluster, request, timeoutMs);
  }

  private keep(cluster: string, request: ArrayBuffer, timeoutMs: u32): void {
    this.sent = request;
    this.cluster = cluster;
    this.timeoutMs = timeoutMs;
    this.calls++;
  }
}

/** Request headers from "name: value" lines. */
class LineHeaders extends HeaderSource {
  names: Array<string> = [];
  values: Array<string> = [];

  get(name: string): string | null {
    for (let i = 0; i < this.names.length; i++) if (this.names[i] == name) return this.values[i];
    return null;
  }
}

const service = new MemoryService();
const estimate = new TokenUsage();
const usage = new TokenUsage();
let config: TokenConfig = new TokenConfig();
let check: GlobalCheck = new GlobalCheck("");

/** The token section of a plugin configuration; false with the error in the output buffer. */
export function configure(ptr: usize, len: i32): bool {
  const c = tokenConfig(ptr, len);
  if (c == null) return false;
  config = c;
  return true;
}

/** "xDS route\nname: value\n...": the Global rules of route default/r that apply; how many (names in the output). */
export function applicable(ptr: usize, len: i32): i32 {
  const lines = str(ptr, len).split("\n");
  const headers = new LineHeaders();
  for (let i = 1; i < lines.length; i++) {
    const colon = lines[i].indexOf(": ");
    if (colon < 0) continue;
    headers.names.push(lines[i].substring(0, colon));
    headers.values.push(lines[i].substring(colon + 2));
  }
  check = applicableGlobalRules(config.rateLimits, "default/r", lines[0], headers);
  const names = new Array<string>();
  for (let i = 0; i < check.rules.length; i++) names.push(check.rules[i].name);
  setOut(names.join(","));
  return check.rules.length;
}

/** Admission for a body of `bodyLength` bytes asking `requested` output tokens; the check's bytes in the output. */
export function reserve(bodyLength: i32, requested: i64, reachable: bool): bool {
  estimateUsage(estimate, <usize>bodyLength, requested, 0);
  service.reachable = reachable;
  service.sent = null;
  const sent = sendReservation(service, check, config.costsFor("default/r"), estimate, "m", "b", "default/r");
  if (!sent) check.unreserved();
  setOutBytes(service.sent == null ? new ArrayBuffer(0) : service.sent!);
  return sent;
}

/** The end of a 2xx response that used `total` tokens; whether a charge went out (its bytes in the output). */
export function settle(total: u64): bool {
  usage.reset();
  usage.totalTokens = total;
  service.sent = null;
  sendSettlement(service, check, config.costsFor("default/r"), usage, "m", "b", "default/r");
  const sent = service.sent;
  setOutBytes(sent == null ? new ArrayBuffer(0) : sent);
  return sent != null;
}

/** The cluster and timeout of the last call: "cluster timeoutMs calls". */
export function lastCall(): void {
  setOut(service.cluster + " " + service.timeoutMs.toString() + " " + service.calls.toString());
}

/**
 * A RateLimitResponse decoded: "null", or "ok overLimit overIndex" and, when the answer has figures,
 * " limit remaining reset"; with the 429 body on a further line when it is over limit.
 */
export function decode(ptr: usize, len: i32): void {
  const a = decodeRateLimitResponse(ptr, len);
  if (a == null) {
    setOut("null");
    return;
  }
  let s = (a.ok ? "1" : "0") + " " + (a.overLimit ? "1" : "0") + " " + a.overIndex.toString();
  const h = globalLimitHeaders(a);
  if (h != null) s += " " + h.limit.toString() + " " + h.remaining.toString() + " " + h.resetSec.toString();
  if (a.overLimit && check.rules.length > 0) s += "\n" + globalRefusalBody(check, a);
  setOut(s);
}
