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

import { Histogram, Counter } from "../../proxy-wasm";
import { TokenUsage, USAGE_CACHE_CREATION_INPUT, USAGE_CACHED_INPUT, USAGE_INPUT, USAGE_OUTPUT, USAGE_REASONING } from "../response/usage";

const histograms = new Map<string, Histogram>();
const counters = new Map<string, Counter>();

function histogram(name: string): Histogram {
  if (!histograms.has(name)) histograms.set(name, new Histogram(name));
  return histograms.get(name);
}

function counter(name: string): Counter {
  if (!counters.has(name)) counters.set(name, new Counter(name));
  return counters.get(name);
}

function seg(key: string, value: string): string {
  return ";" + key + "=" + (value.length == 0 ? "unknown" : value.replaceAll(";", "%3B"));
}

/** The dimensions every GenAI metric of one request shares. */
export class GenAiLabels {
  op: string = "";
  provider: string = "";
  originalModel: string = "";
  requestModel: string = "";
  responseModel: string = "";

  private prefix(base: string): string {
    return base + seg("op", this.op) + seg("provider", this.provider) + seg("original_model", this.originalModel) +
      seg("request_model", this.requestModel) + seg("response_model", this.responseModel);
  }

  recordUsage(usage: TokenUsage): void {
    const base = this.prefix("gen_ai.client.token.usage");
    if (usage.has(USAGE_INPUT)) histogram(base + seg("token_type", "input")).record(usage.inputTokens);
    if (usage.has(USAGE_CACHED_INPUT)) histogram(base + seg("token_type", "cached_input")).record(usage.cachedInputTokens);
    if (usage.has(USAGE_CACHE_CREATION_INPUT)) {
      histogram(base + seg("token_type", "cache_creation_input")).record(usage.cacheCreationInputTokens);
    }
    if (usage.has(USAGE_OUTPUT)) histogram(base + seg("token_type", "output")).record(usage.outputTokens);
    if (usage.has(USAGE_REASONING)) histogram(base + seg("token_type", "reasoning")).record(usage.reasoningTokens);
  }

  recordDuration(ms: u64, failed: bool): void {
    const name = this.prefix("gen_ai.server.request.duration_milliseconds") + (failed ? seg("error_type", "_OTHER") : "");
    histogram(name).record(ms);
  }

  recordTimeToFirstToken(ms: u64): void {
    histogram(this.prefix("gen_ai.server.time_to_first_token_milliseconds")).record(ms);
  }

  recordTimePerOutputToken(ms: u64): void {
    histogram(this.prefix("gen_ai.server.time_per_output_token_milliseconds")).record(ms);
  }
}

/** Requests and failures per backend and endpoint. */
export function countBackendRequest(backend: string, endpoint: string, failed: bool): void {
  const dims = seg("backend", backend) + seg("endpoint", endpoint);
  counter("aigw.backend.requests_total" + dims).increment(1);
  if (failed) counter("aigw.backend.errors_total" + dims).increment(1);
}
