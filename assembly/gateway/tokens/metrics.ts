// GenAI metrics with Envoy AI Gateway's names and labels (ai-gateway.md §1.7). Envoy has no per-call
// labels, so every combination of dimensions is its own proxy-wasm metric whose NAME carries them; the
// stats_tags of src-host/config/genai-metrics.ts (mirrored here, keep in step) cut them back out:
//
//   name  = base *( ";" key "=" value )   segments in a fixed order; ";" in a value written "%3B";
//                                         an empty value is "unknown"
//   gen_ai.client.token.usage                        op provider original_model request_model response_model token_type
//   gen_ai.server.request.duration_milliseconds     op provider original_model request_model response_model [error_type]
//   gen_ai.server.time_to_first_token_milliseconds  op provider original_model request_model response_model
//   gen_ai.server.time_per_output_token_milliseconds  (same)
//   aigw.backend.requests_total / aigw.backend.errors_total   backend endpoint
//
// proxy-wasm metrics hold integers, so durations are whole milliseconds (Envoy's histogram convention)
// under *_milliseconds names rather than Envoy AI Gateway's fractional *_seconds.

import { Counter, Histogram } from "../../proxy-wasm";
import { TokenUsage, USAGE_CACHE_CREATION_INPUT, USAGE_CACHED_INPUT, USAGE_INPUT, USAGE_OUTPUT, USAGE_REASONING } from "../response/usage";

const counters = new Map<string, Counter>();

function counter(name: string): Counter {
  if (!counters.has(name)) counters.set(name, new Counter(name));
  return counters.get(name);
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
    const duration = "gen_ai.server.request.duration_milliseconds" + dims;
    this.usage = usage;
    this.duration = new Histogram(duration);
    this.durationFailed = new Histogram(duration + seg("error_type", "_OTHER"));
    this.ttft = new Histogram("gen_ai.server.time_to_first_token_milliseconds" + dims);
    this.tpot = new Histogram("gen_ai.server.time_per_output_token_milliseconds" + dims);
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

  recordDuration(ms: u64, failed: bool): void {
    const m = this.metrics();
    (failed ? m.durationFailed : m.duration).record(ms);
  }

  recordTimeToFirstToken(ms: u64): void {
    this.metrics().ttft.record(ms);
  }

  recordTimePerOutputToken(ms: u64): void {
    this.metrics().tpot.record(ms);
  }
}

/** Requests and failures per backend and endpoint. */
export function countBackendRequest(backend: string, endpoint: string, failed: bool): void {
  const dims = seg("backend", backend) + seg("endpoint", endpoint);
  counter("aigw.backend.requests_total" + dims).increment(1);
  if (failed) counter("aigw.backend.errors_total" + dims).increment(1);
}
