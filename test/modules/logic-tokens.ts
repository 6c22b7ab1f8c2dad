// Thin wrappers over assembly/gateway/tokens/estimate for test/assembly/gateway/tokens/estimate.test.ts.
import { OutputLimit, chargeAfterReservation, estimateUsage, globalReservation, requestedOutputTokens } from "../../assembly/gateway/tokens/estimate";
import { TokenUsage } from "../../assembly/gateway/response/usage";
import { setOut } from "./logic-common/io";
export { alloc, free, outPtr, outLen } from "./logic-common/io";

const limit = new OutputLimit();
const usage = new TokenUsage();

/** The body's output limit (-1: none); -2 with the error in the output buffer when it is refused. */
export function outputLimit(ptr: usize, len: i32): i64 {
  requestedOutputTokens(ptr, <usize>len, limit);
  setOut(limit.error);
  return limit.error.length > 0 ? -2 : limit.tokens;
}

/** "input output total" of the estimate (output buffer). */
export function estimate(bodyLength: i32, requested: i64, recent: u64): void {
  estimateUsage(usage, <usize>bodyLength, requested, recent);
  setOut(usage.inputTokens.toString() + " " + usage.outputTokens.toString() + " " + usage.totalTokens.toString());
}

export function reservation(cost: u64, limitTokens: u64): u64 { return globalReservation(cost, limitTokens); }
export function charge(reserved: u64, actual: u64): u64 { return chargeAfterReservation(reserved, actual); }
