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
//
// What is recorded, under which name, is decided here; where it goes is the MetricSink port, which the glue
// implements with proxy-wasm metrics (host-ports.ts) and a logic test with memory.

import { TokenUsage, USAGE_CACHE_CREATION_INPUT, USAGE_CACHED_INPUT, USAGE_INPUT, USAGE_OUTPUT, USAGE_REASONING } from "../response/usage";

/** A counter the sink defined. */
export abstract class CounterMetric {
  abstract increment(delta: u64): void;
}

/** A histogram the sink defined. */
export abstract class HistogramMetric {
  abstract record(value: u64): void;
}

/** Where metrics go. Each name is asked for once and the metric kept (names are long; requests repeat them). */
export abstract class MetricSink {
  abstract counter(name: string): CounterMetric;
  abstract histogram(name: string): HistogramMetric;
}

/** Microseconds from `startNs` to `nowNs`; 0 if the wall clock stepped back (u64 must not wrap). */
export function microsBetween(startNs: u64, nowNs: u64): u64 {
  return nowNs > startNs ? (nowNs - startNs) / 1000 : 0;
}

/** Envoy AI Gateway's error.type for every failure (it has no typed errors either). */
const ERROR_TYPE = "_OTHER";

function seg(key: string, value: string): string {
  return ";" + key + "=" + (value.length == 0 ? "unknown" : escapeSemicolons(value));
}

/**
 * `value` with each ";" written "%3B". Not String#replaceAll: AssemblyScript 0.28's grows its output by one
 * doubling per match, too little when a match comes after a run of unmatched text, and writes past it.
 */
function escapeSemicolons(value: string): string {
  return value.includes(";") ? value.split(";").join("%3B") : value;
}

const TOKEN_TYPES: StaticArray<string> = ["input", "cached_input", "cache_creation_input", "output", "reasoning"];

/** The metrics of one label combination, named once. */
class MetricSet {
  readonly usage: StaticArray<HistogramMetric>;
  readonly duration: HistogramMetric;
  readonly durationFailed: HistogramMetric;
  readonly ttft: HistogramMetric;
  readonly tpot: HistogramMetric;

  /** `dims`: the ";key=value" segments shared by every metric of the combination. */
  constructor(sink: MetricSink, dims: string) {
    const usage = new StaticArray<HistogramMetric>(5);
    for (let i = 0; i < 5; i++) usage[i] = sink.histogram("gen_ai.client.token.usage" + dims + seg("token_type", TOKEN_TYPES[i]));
    const duration = "gen_ai.server.request.duration_microseconds" + dims;
    this.usage = usage;
    this.duration = sink.histogram(duration);
    this.durationFailed = sink.histogram(duration + seg("error_type", ERROR_TYPE));
    this.ttft = sink.histogram("gen_ai.server.time_to_first_token_microseconds" + dims);
    this.tpot = sink.histogram("gen_ai.server.time_per_output_token_microseconds" + dims);
  }
}

/** The dimensions every GenAI metric of one request shares. */
export class GenAiLabels {
  op: string = "";
  provider: string = "";
  originalModel: string = "";
  requestModel: string = "";
  responseModel: string = "";

  same(o: GenAiLabels): bool {
    return o.op == this.op && o.provider == this.provider && o.originalModel == this.originalModel &&
      o.requestModel == this.requestModel && o.responseModel == this.responseModel;
  }
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

/** What the gateway records, into one sink. */
export class GatewayMetrics {
  private readonly counters: Map<string, CounterMetric> = new Map();
  private readonly histograms: Map<string, HistogramMetric> = new Map();
  private readonly sets: Map<string, MetricSet> = new Map();
  private last: GenAiLabels | null = null;
  private lastSet: MetricSet | null = null;

  constructor(private readonly sink: MetricSink) {}

  private counter(name: string): CounterMetric {
    if (!this.counters.has(name)) this.counters.set(name, this.sink.counter(name));
    return this.counters.get(name);
  }

  private histogram(name: string): HistogramMetric {
    if (!this.histograms.has(name)) this.histograms.set(name, this.sink.histogram(name));
    return this.histograms.get(name);
  }

  private genAi(labels: GenAiLabels): MetricSet {
    const l = this.last;
    if (l != null && labels.same(l)) return this.lastSet!;
    const dims = seg("op", labels.op) + seg("provider", labels.provider) + seg("original_model", labels.originalModel) +
      seg("request_model", labels.requestModel) + seg("response_model", labels.responseModel);
    let set: MetricSet;
    if (this.sets.has(dims)) {
      set = this.sets.get(dims);
    } else {
      set = new MetricSet(this.sink, dims);
      this.sets.set(dims, set);
    }
    this.last = labels;
    this.lastSet = set;
    return set;
  }

  recordUsage(labels: GenAiLabels, usage: TokenUsage): void {
    const m = this.genAi(labels).usage;
    if (usage.has(USAGE_INPUT)) m[0].record(usage.inputTokens);
    if (usage.has(USAGE_CACHED_INPUT)) m[1].record(usage.cachedInputTokens);
    if (usage.has(USAGE_CACHE_CREATION_INPUT)) m[2].record(usage.cacheCreationInputTokens);
    if (usage.has(USAGE_OUTPUT)) m[3].record(usage.outputTokens);
    if (usage.has(USAGE_REASONING)) m[4].record(usage.reasoningTokens);
  }

  recordDuration(labels: GenAiLabels, us: u64, failed: bool): void {
    const m = this.genAi(labels);
    (failed ? m.durationFailed : m.duration).record(us);
  }

  recordTimeToFirstToken(labels: GenAiLabels, us: u64): void {
    this.genAi(labels).ttft.record(us);
  }

  recordTimePerOutputToken(labels: GenAiLabels, us: u64): void {
    this.genAi(labels).tpot.record(us);
  }

  /** One request that went to a backend: counted, timed and (when `failed`) counted as an error per endpoint. */
  recordBackendRequest(backend: string, endpoint: string, us: u64, failed: bool): void {
    const dims = seg("backend", backend) + seg("endpoint", endpoint);
    this.counter("aigw.backend.requests_total" + dims).increment(1);
    if (failed) this.counter("aigw.backend.errors_total" + dims).increment(1);
    this.histogram("aigw.backend.request.duration_microseconds" + dims).record(us);
  }

  /** One Endpoint Picker exchange of `pool`, `us` from opening the stream to its outcome. */
  recordEppCallout(pool: string, outcome: string, us: u64): void {
    const dims = seg("pool", pool) + seg("outcome", outcome);
    this.counter("aigw.epp.callouts_total" + dims).increment(1);
    this.histogram("aigw.epp.callout.duration_microseconds" + dims).record(us);
  }

  /** One call to the rate limit service; `us` < 0 when it was never sent (no duration to record). */
  recordRlsCall(phase: string, outcome: string, us: i64): void {
    this.counter("aigw.ratelimit.calls_total" + seg("phase", phase) + seg("outcome", outcome)).increment(1);
    if (us >= 0) this.histogram("aigw.ratelimit.call.duration_microseconds" + seg("phase", phase)).record(<u64>us);
  }
}
