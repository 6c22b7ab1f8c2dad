// GenAI metrics with Envoy AI Gateway's names and labels (envoyproxy/ai-gateway v1.1.0,
// internal/metrics/genai.go), per-endpoint request metrics, and the callout metrics of the Endpoint Picker
// and the rate limit service. Envoy has no per-call labels, so every combination of dimensions is its own
// proxy-wasm metric whose NAME carries them; the stats_tags of src-host/config/build/genai-metrics.ts (mirrored
// here, keep in step) cut them back out:
//
//   name  = base *( ";" key "=" value )   segments in a fixed order; ";" in a value written "%3B";
//                                         an empty value is "unknown"
//   gen_ai.client.token.usage                          op provider original_model request_model response_model token_type
//   gen_ai.server.request.duration_microseconds        op provider original_model request_model response_model [error_type]
//   gen_ai.server.time_to_first_token_microseconds     op provider original_model request_model response_model
//   gen_ai.server.time_per_output_token_microseconds   (same)
//   aigw.backend.requests_total / aigw.backend.errors_total   backend endpoint
//   aigw.backend.request.duration_microseconds                backend endpoint
//   aigw.epp.callouts_total / aigw.epp.callout.duration_microseconds   pool outcome
//   aigw.ratelimit.calls_total                         phase outcome
//   aigw.ratelimit.call.duration_microseconds          phase
//
// proxy-wasm histograms hold integers and Envoy can neither rename nor rescale them: durations are whole
// microseconds, and the Prometheus recording rules of envoy/prometheus/ turn them into Envoy AI Gateway's
// *_seconds series.

import { Counter, Histogram, getCurrentTimeNanoseconds } from "../../proxy-wasm";
import { TokenUsage, USAGE_CACHE_CREATION_INPUT, USAGE_CACHED_INPUT, USAGE_INPUT, USAGE_OUTPUT, USAGE_REASONING } from "../response/usage";

/** Microseconds from `startNs` to now; 0 if the wall clock stepped back (u64 must not wrap). */
export function microsSince(startNs: u64): u64 {
  const now = getCurrentTimeNanoseconds();
  return now > startNs ? (now - startNs) / 1000 : 0;
}

/** Envoy AI Gateway's error.type for every failure (it has no typed errors either). */
const ERROR_TYPE = "_OTHER";

const counters = new Map<string, Counter>();
const histograms = new Map<string, Histogram>();

function counter(name: string): Counter {
  if (!counters.has(name)) counters.set(name, new Counter(name));
  return counters.get(name);
}

function histogram(name: string): Histogram {
  if (!histograms.has(name)) histograms.set(name, new Histogram(name));
  return histograms.get(name);
}

function seg(key: string, value: string): string {
  return ";" + key + "=" + (value.length == 0 ? "unknown" : value.replaceAll(";", "%3B"));
}

const TOKEN_TYPES: StaticArray<string> = ["input", "cached_input", "cache_creation_input", "output", "reasoning"];

/** The metrics of one label combination, named once (names are long; requests repeat their labels). */
class MetricSet {
  readonly usage: StaticArray<Histogram>;
  readonly duration: Histogram;
  readonly durationFailed: Histogram;
  readonly ttft: Histogram;
  readonly tpot: Histogram;

  /** `dims`: the ";key=value" segments shared by every metric of the combination. */
  constructor(dims: string) {
    const usage = new StaticArray<Histogram>(5);
    for (let i = 0; i < 5; i++) usage[i] = new Histogram("gen_ai.client.token.usage" + dims + seg("token_type", TOKEN_TYPES[i]));
    const duration = "gen_ai.server.request.duration_microseconds" + dims;
    this.usage = usage;
    this.duration = new Histogram(duration);
    this.durationFailed = new Histogram(duration + seg("error_type", ERROR_TYPE));
    this.ttft = new Histogram("gen_ai.server.time_to_first_token_microseconds" + dims);
    this.tpot = new Histogram("gen_ai.server.time_per_output_token_microseconds" + dims);
  }
}

const sets = new Map<string, MetricSet>();
let last: GenAiLabels | null = null;
let lastSet: MetricSet | null = null;

/** The dimensions every GenAI metric of one request shares. */
export class GenAiLabels {
  op: string = "";
  provider: string = "";
  originalModel: string = "";
  requestModel: string = "";
  responseModel: string = "";

  private same(o: GenAiLabels): bool {
    return o.op == this.op && o.provider == this.provider && o.originalModel == this.originalModel &&
      o.requestModel == this.requestModel && o.responseModel == this.responseModel;
  }

  private metrics(): MetricSet {
    const l = last;
    if (l != null && this.same(l)) return lastSet!;
    const dims = seg("op", this.op) + seg("provider", this.provider) + seg("original_model", this.originalModel) +
      seg("request_model", this.requestModel) + seg("response_model", this.responseModel);
    let set: MetricSet;
    if (sets.has(dims)) {
      set = sets.get(dims);
    } else {
      set = new MetricSet(dims);
      sets.set(dims, set);
    }
    last = this;
    lastSet = set;
    return set;
  }

  recordUsage(usage: TokenUsage): void {
    const m = this.metrics().usage;
    if (usage.has(USAGE_INPUT)) m[0].record(usage.inputTokens);
    if (usage.has(USAGE_CACHED_INPUT)) m[1].record(usage.cachedInputTokens);
    if (usage.has(USAGE_CACHE_CREATION_INPUT)) m[2].record(usage.cacheCreationInputTokens);
    if (usage.has(USAGE_OUTPUT)) m[3].record(usage.outputTokens);
    if (usage.has(USAGE_REASONING)) m[4].record(usage.reasoningTokens);
  }

  recordDuration(us: u64, failed: bool): void {
    const m = this.metrics();
    (failed ? m.durationFailed : m.duration).record(us);
  }

  recordTimeToFirstToken(us: u64): void {
    this.metrics().ttft.record(us);
  }

  recordTimePerOutputToken(us: u64): void {
    this.metrics().tpot.record(us);
  }
}

/** One request that went to a backend: counted, timed and (when `failed`) counted as an error per endpoint. */
export function recordBackendRequest(backend: string, endpoint: string, us: u64, failed: bool): void {
  const dims = seg("backend", backend) + seg("endpoint", endpoint);
  counter("aigw.backend.requests_total" + dims).increment(1);
  if (failed) counter("aigw.backend.errors_total" + dims).increment(1);
  histogram("aigw.backend.request.duration_microseconds" + dims).record(us);
}

/** How an Endpoint Picker exchange ended (the `outcome` label). */
export namespace EppOutcome {
  /** The EPP named an endpoint. */
  export const PICKED = "picked";
  /** The EPP answered with an immediate response (relayed to the client). */
  export const IMMEDIATE = "immediate_response";
  /** Failures, by cause. */
  export const UNAVAILABLE = "unavailable";
  export const TIMEOUT = "timeout";
  export const STREAM_CLOSED = "stream_closed";
  export const BAD_ANSWER = "bad_answer";
  export const NO_DESTINATION = "no_destination";
}

/** One Endpoint Picker exchange of `pool`, `us` from opening the stream to its outcome. */
export function recordEppCallout(pool: string, outcome: string, us: u64): void {
  const dims = seg("pool", pool) + seg("outcome", outcome);
  counter("aigw.epp.callouts_total" + dims).increment(1);
  histogram("aigw.epp.callout.duration_microseconds" + dims).record(us);
}

/** Rate limit service call phases and outcomes (the `phase` and `outcome` labels). */
export namespace RlsCall {
  export const CHECK = "check";
  export const CHARGE = "charge";
  export const OK = "ok";
  export const OVER_LIMIT = "over_limit";
  export const ERROR = "error";
  /** The call could not even be started (no cluster, no connection). */
  export const UNAVAILABLE = "unavailable";
}

/** One call to the rate limit service; `us` < 0 when it was never sent (no duration to record). */
export function recordRlsCall(phase: string, outcome: string, us: i64): void {
  counter("aigw.ratelimit.calls_total" + seg("phase", phase) + seg("outcome", outcome)).increment(1);
  if (us >= 0) histogram("aigw.ratelimit.call.duration_microseconds" + seg("phase", phase)).record(<u64>us);
}
