// Thin wrappers over assembly/gateway/log-throttle for test/assembly/gateway/log-throttle.test.ts.
import { LogThrottle } from "../../assembly/gateway/log-throttle";
import { setOut, str } from "./logic-common/io";
export { alloc, free, outPtr, outLen } from "./logic-common/io";

let throttle = new LogThrottle(1);

export function reset(periodNs: u64): void { throttle = new LogThrottle(periodNs); }

/** "cause\nmessage" at nowNs → the line to log (output buffer; empty when suppressed). */
export function admit(ptr: usize, len: i32, nowNs: u64): void {
  const s = str(ptr, len);
  const nl = s.indexOf("\n");
  setOut(throttle.admit(s.substring(0, nl), s.substring(nl + 1), nowNs));
}

/** flush(nowNs) → its lines joined by "\n" (output buffer). */
export function flush(nowNs: u64): void { setOut(throttle.flush(nowNs).join("\n")); }

export function pending(): bool { return throttle.pending; }
