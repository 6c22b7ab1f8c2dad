// Per-request latency figures of the GenAI metrics, measured as Envoy AI Gateway v1.1.0 measures them
// (internal/metrics/metrics_impl.go, internal/extproc/processor_impl.go): every duration starts when the
// request goes upstream — after the body was buffered, the route decided and the Endpoint Picker answered —
// not at the downstream request headers. Time to first token is taken at the first response body bytes;
// time per output token is (end − first token) / (output tokens − 1), defined only when more than one output
// token was produced. Times are in any one unit (the caller's clock); results are in that unit.

/** (end − firstToken) / (outputTokens − 1), or -1 when outputTokens ≤ 1 or the times are not ordered. */
export function timePerOutputToken(firstToken: f64, end: f64, outputTokens: u64): f64 {
  if (outputTokens <= 1 || end < firstToken) return -1;
  return (end - firstToken) / <f64>(outputTokens - 1);
}

/** Records the moments of one request; -1 means "not yet". */
export class ResponseTiming {
  start: f64 = -1;
  firstByte: f64 = -1;
  end: f64 = -1;

  reset(): void {
    this.start = -1;
    this.firstByte = -1;
    this.end = -1;
  }

  /** The request went upstream; only the first call counts (a later retry or continue does not restart it). */
  upstreamStarted(now: f64): void {
    if (this.start < 0) this.start = now;
  }

  get started(): bool {
    return this.start >= 0;
  }

  /** Response body bytes arrived; only the first call counts, and only a non-empty chunk. */
  bodyBytes(now: f64, len: i32): void {
    if (this.firstByte < 0 && len > 0) this.firstByte = now;
  }

  responseEnded(now: f64): void {
    if (this.end < 0) this.end = now;
  }

  /** end − start (0 if the wall clock stepped back), or -1 when either is unknown. */
  duration(): f64 {
    if (this.start < 0 || this.end < 0) return -1;
    return max(0, this.end - this.start);
  }

  /** firstByte − start (0 if the wall clock stepped back), or -1 when either is unknown. */
  timeToFirstToken(): f64 {
    if (this.start < 0 || this.firstByte < 0) return -1;
    return max(0, this.firstByte - this.start);
  }

  timePerOutputToken(outputTokens: u64): f64 {
    if (this.firstByte < 0 || this.end < 0) return -1;
    return timePerOutputToken(this.firstByte, this.end, outputTokens);
  }
}
