// What a token budget reserves when it admits a request, and what is left to charge when it ends.
//
// The estimate: input tokens from the body size (about 4 bytes of JSON per prompt token, OpenAI's rule of
// thumb; the JSON around the prompt makes it an over-count for most text), output tokens from the
// request's own limit (max_completion_tokens, else max_tokens: what a server honouring them cannot exceed),
// else the model's recent output (local-budget.ts). A request is admitted only when its estimate fits, so
// with a server honouring the limit the real cost stays within the reservation.
//
// The output limit is read strictly: an integer from 0 to MAX_OUTPUT_TOKENS, or null / absent. Anything
// else (1.5, "10", -1, 1e30, 18446744073709551616) is refused with 400 rather than clamped: a clamped value
// would reserve a different amount than the server is asked to produce.

import { JsonReader } from "../json/reader";
import { KIND_NULL, KIND_NUMBER, KIND_OBJECT } from "../json/scan";
import { TokenUsage } from "../response/usage";

/** Roughly 4 bytes of JSON per prompt token. */
const BYTES_PER_TOKEN: u64 = 4;
/** The largest output limit accepted: far above any model's context, far below overflow. */
export const MAX_OUTPUT_TOKENS: i64 = 1 << 30;

/** The request's output limit: tokens >= 0, or -1 when it sets none; error names a bad one. */
export class OutputLimit {
  tokens: i64 = -1;
  error: string = "";
}

const reader = new JsonReader(0, 0);

/** max_completion_tokens, else max_tokens, at the top level of a request body (a JSON object). */
export function requestedOutputTokens(ptr: usize, len: usize, out: OutputLimit): OutputLimit {
  out.tokens = -1;
  out.error = "";
  reader.reset(ptr, len);
  if (reader.kind() != KIND_OBJECT || !reader.enterObject()) return out;
  let maxTokens: i64 = -1;
  let maxCompletionTokens: i64 = -1;
  while (reader.nextMember()) {
    const completion = reader.keyIs("max_completion_tokens");
    if (!completion && !reader.keyIs("max_tokens")) {
      if (!reader.skip()) return out;
      continue;
    }
    const field = completion ? "max_completion_tokens" : "max_tokens";
    let n: i64 = -1;
    const kind = reader.kind();
    if (kind == KIND_NULL) {
      reader.skip();
    } else {
      n = kind == KIND_NUMBER ? reader.readInteger() : -1;
      if (kind != KIND_NUMBER || !reader.ok() || n < 0 || n > MAX_OUTPUT_TOKENS) {
        out.error = field + ": must be an integer from 0 to " + MAX_OUTPUT_TOKENS.toString() + " (or null)";
        return out;
      }
    }
    if (completion) maxCompletionTokens = n;
    else maxTokens = n;
  }
  out.tokens = maxCompletionTokens >= 0 ? maxCompletionTokens : maxTokens;
  return out;
}

/** The usage a request is estimated at: `requested` output tokens when >= 0, else `recentOutput`. */
export function estimateUsage(out: TokenUsage, bodyLength: usize, requested: i64, recentOutput: u64): TokenUsage {
  out.reset();
  out.inputTokens = (<u64>bodyLength + BYTES_PER_TOKEN - 1) / BYTES_PER_TOKEN;
  out.outputTokens = requested >= 0 ? <u64>requested : recentOutput;
  out.totalTokens = out.inputTokens + out.outputTokens;
  return out;
}

/**
 * What a Global rule reserves at admission (the rate limit service's hits_addend): the estimate's cost, at
 * most the whole limit, so that an empty window still admits one request whose estimate exceeds it (as a
 * Local budget does) instead of refusing it forever.
 */
export function globalReservation(estimatedCost: u64, limit: u64): u64 {
  return estimatedCost < limit ? estimatedCost : limit;
}

/**
 * What the end of a response still charges a Global rule: the real cost above the reservation. The
 * service only adds, so a reservation above the real cost stays counted (over-counted) for the window.
 */
export function chargeAfterReservation(reserved: u64, actual: u64): u64 {
  return actual > reserved ? actual - reserved : 0;
}
