// The names of the filter's metrics, the Envoy stats_tags that turn their dimensions into Envoy AI Gateway's
// Prometheus labels, and the histogram buckets (stats_config.histogram_bucket_settings) that make them
// Envoy AI Gateway's (envoyproxy/ai-gateway v1.1.0, internal/metrics/genai.go).
//
// Envoy has no per-call labels: a proxy-wasm metric is one stat per name, so the filter defines one metric
// per combination of dimensions, with the dimensions in its name. Envoy stores it as
// `wasmcustom.<name>`; tag extraction (DataPlaneConfig.statsTags → bootstrap stats_config.stats_tags, and the
// embedded admin's renderer) cuts every dimension out of the name into a label, and the Prometheus output
// drops the `wasmcustom.` namespace without adding `envoy_`. THE FILTER MUST PRODUCE EXACTLY THESE NAMES
// (mirror this comment in AssemblyScript):
//
//   name      = base *( ";" key "=" value )      segments in the order listed below, absent ones left out
//   value     = the dimension with every ";" written as "%3B"; "unknown" when empty
//
//   base                                              segments (in this order)
//   gen_ai.client.token.usage                         op provider original_model request_model response_model token_type
//   gen_ai.server.request.duration_microseconds       op provider original_model request_model response_model [error_type]
//   gen_ai.server.time_to_first_token_microseconds    op provider original_model request_model response_model
//   gen_ai.server.time_per_output_token_microseconds  op provider original_model request_model response_model
//   aigw.backend.requests_total                       backend endpoint
//   aigw.backend.errors_total                         backend endpoint
//   aigw.backend.request.duration_microseconds        backend endpoint
//   aigw.epp.callouts_total                           pool outcome
//   aigw.epp.callout.duration_microseconds            pool outcome
//   aigw.ratelimit.calls_total                        phase outcome
//   aigw.ratelimit.call.duration_microseconds         phase
//
//   key             Prometheus label            values
//   op              gen_ai_operation_name       chat, text_completion, embeddings, ...
//   provider        gen_ai_provider_name        openai, ... (Envoy AI Gateway's names; else the backend name)
//   original_model  gen_ai_original_model       model in the request body
//   request_model   gen_ai_request_model        model sent upstream (after override)
//   response_model  gen_ai_response_model       model in the response
//   token_type      gen_ai_token_type           input, cached_input, cache_creation_input, output, reasoning
//   error_type      error_type                  _OTHER, on failed requests only
//   backend         backend                     x-ai-eg-backend value ("namespace/name")
//   endpoint        endpoint                    "ip:port" of the upstream host
//   pool            pool                        InferencePool name
//   outcome         outcome                     EPP: picked, immediate_response, unavailable, timeout,
//                                               stream_closed, bad_answer, no_destination;
//                                               rate limit service: ok, over_limit, error, unavailable
//   phase           phase                       check (admission, awaited), charge (the real cost, after)
//
// Example: `gen_ai.client.token.usage;op=chat;provider=openai;original_model=mistral:latest;
// request_model=mistral:latest;response_model=mistral:latest;token_type=input` (one line) becomes
// `gen_ai_client_token_usage{gen_ai_operation_name="chat",gen_ai_provider_name="openai",...}`.
// `/`, `:`, `.` and `=` pass unchanged (a value ends at the next ";"), so model names keep their spelling.
//
// Values are proxy-wasm integers and Envoy can neither rename nor rescale a histogram: token counts as they
// are, durations in whole microseconds (*_microseconds where Envoy AI Gateway has fractional *_seconds). The
// bucket boundaries below are Envoy AI Gateway's scaled to those units; the recording rules of
// envoy/prometheus/ (src-host/translate/prometheus-rules.ts) turn the series back into its exact *_seconds ones.

import type { HistogramBuckets, StatsTag } from "../../dataplane-api/bootstrap.js";

export const GEN_AI_TOKEN_USAGE = "gen_ai.client.token.usage";
export const GEN_AI_REQUEST_DURATION = "gen_ai.server.request.duration_microseconds";
export const GEN_AI_TIME_TO_FIRST_TOKEN = "gen_ai.server.time_to_first_token_microseconds";
export const GEN_AI_TIME_PER_OUTPUT_TOKEN = "gen_ai.server.time_per_output_token_microseconds";
export const BACKEND_REQUESTS = "aigw.backend.requests_total";
export const BACKEND_ERRORS = "aigw.backend.errors_total";
export const BACKEND_DURATION = "aigw.backend.request.duration_microseconds";
export const EPP_CALLOUTS = "aigw.epp.callouts_total";
export const EPP_DURATION = "aigw.epp.callout.duration_microseconds";
export const RLS_CALLS = "aigw.ratelimit.calls_total";
export const RLS_DURATION = "aigw.ratelimit.call.duration_microseconds";

/** A histogram of ours and the Envoy AI Gateway series it stands for. */
export interface GenAiHistogram {
  /** Our metric (proxy-wasm name without `wasmcustom.`). */
  name: string;
  /** Envoy AI Gateway's Prometheus metric (its OpenTelemetry name with the unit suffix). */
  upstream: string;
  /** Our unit in Envoy AI Gateway's: a value of ours × scale is its value. */
  scale: number;
  /** Envoy AI Gateway v1.1.0's boundaries, in its unit (internal/metrics/genai.go). */
  upstreamBuckets: readonly number[];
}

const MICROSECOND = 1e-6;
const REQUEST_DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];

export const GENAI_HISTOGRAMS: readonly GenAiHistogram[] = [
  {
    name: GEN_AI_TOKEN_USAGE,
    upstream: "gen_ai_client_token_usage",
    scale: 1,
    upstreamBuckets: [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864],
  },
  {
    name: GEN_AI_REQUEST_DURATION,
    upstream: "gen_ai_server_request_duration_seconds",
    scale: MICROSECOND,
    upstreamBuckets: REQUEST_DURATION_BUCKETS,
  },
  {
    name: GEN_AI_TIME_TO_FIRST_TOKEN,
    upstream: "gen_ai_server_time_to_first_token_seconds",
    scale: MICROSECOND,
    upstreamBuckets: [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0],
  },
  {
    name: GEN_AI_TIME_PER_OUTPUT_TOKEN,
    upstream: "gen_ai_server_time_per_output_token_seconds",
    scale: MICROSECOND,
    upstreamBuckets: [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5],
  },
];

/** A boundary in our unit (an integer: proxy-wasm histograms record integers). */
export function ourBucket(h: GenAiHistogram, upstreamBound: number): number {
  return Math.round(upstreamBound / h.scale);
}

/**
 * Envoy's stats_config.histogram_bucket_settings for our histograms, matched on the full stat name: the
 * GenAI ones with Envoy AI Gateway's boundaries, our own durations with the request duration's (µs), and the
 * EPP and rate limit service calls with finer ones (they take milliseconds, not seconds).
 */
export const GENAI_HISTOGRAM_BUCKETS: readonly HistogramBuckets[] = [
  ...GENAI_HISTOGRAMS.map((h) => ({ prefix: `wasmcustom.${h.name};`, buckets: h.upstreamBuckets.map((b) => ourBucket(h, b)) })),
  { prefix: `wasmcustom.${BACKEND_DURATION};`, buckets: REQUEST_DURATION_BUCKETS.map((b) => Math.round(b / MICROSECOND)) },
  ...[EPP_DURATION, RLS_DURATION].map((name) => ({
    prefix: `wasmcustom.${name};`,
    buckets: [100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000],
  })),
];

/** Name segment key → Prometheus label, in segment order. */
export const METRIC_DIMENSIONS = [
  ["op", "gen_ai_operation_name"],
  ["provider", "gen_ai_provider_name"],
  ["original_model", "gen_ai_original_model"],
  ["request_model", "gen_ai_request_model"],
  ["response_model", "gen_ai_response_model"],
  ["token_type", "gen_ai_token_type"],
  ["error_type", "error_type"],
  ["backend", "backend"],
  ["endpoint", "endpoint"],
  ["pool", "pool"],
  ["phase", "phase"],
  ["outcome", "outcome"],
] as const;

export type DimensionKey = (typeof METRIC_DIMENSIONS)[number][0];

/** Stat name families (after Envoy's `wasmcustom.` namespace) whose names carry dimensions. */
const FAMILIES = "(?:gen_ai|aigw)";

/**
 * Envoy stats_tags for every dimension: group 1 (`;key=value`) is cut from the name, group 2 is the label
 * value. ECMAScript syntax without lookbehind, which both Envoy's std::regex and JavaScript accept.
 */
export const GENAI_STATS_TAGS: readonly StatsTag[] = METRIC_DIMENSIONS.map(([key, label]) => ({
  tagName: label,
  regex: `^wasmcustom\\.${FAMILIES}\\.[^;]*(?:;[^;]*)*?(;${key}=([^;]*))`,
}));

export interface GenAiDimensions {
  operation: string;
  provider: string;
  originalModel: string;
  requestModel: string;
  responseModel: string;
  /** Token usage only. */
  tokenType?: string;
  /** Request duration of a failed request only. */
  errorType?: string;
}

/** A dimension value as it appears in a name. */
export function encodeDimension(value: string): string {
  return value === "" ? "unknown" : value.replaceAll(";", "%3B");
}

function build(base: string, segments: Array<[DimensionKey, string | undefined]>): string {
  let name = base;
  for (const [key, value] of segments) if (value !== undefined) name += `;${key}=${encodeDimension(value)}`;
  return name;
}

/** The proxy-wasm metric name of a GenAI metric (without Envoy's `wasmcustom.`). */
export function genAiMetricName(
  base: typeof GEN_AI_TOKEN_USAGE | typeof GEN_AI_REQUEST_DURATION | typeof GEN_AI_TIME_TO_FIRST_TOKEN | typeof GEN_AI_TIME_PER_OUTPUT_TOKEN,
  d: GenAiDimensions,
): string {
  if (base === GEN_AI_TOKEN_USAGE && d.tokenType === undefined) throw new Error(`${base} needs a token type`);
  return build(base, [
    ["op", d.operation],
    ["provider", d.provider],
    ["original_model", d.originalModel],
    ["request_model", d.requestModel],
    ["response_model", d.responseModel],
    ["token_type", base === GEN_AI_TOKEN_USAGE ? d.tokenType : undefined],
    ["error_type", base === GEN_AI_REQUEST_DURATION ? d.errorType : undefined],
  ]);
}

/** The proxy-wasm metric name of a per-backend, per-endpoint metric. */
export function backendMetricName(base: typeof BACKEND_REQUESTS | typeof BACKEND_ERRORS | typeof BACKEND_DURATION, backend: string, endpoint: string): string {
  return build(base, [
    ["backend", backend],
    ["endpoint", endpoint],
  ]);
}

/** The proxy-wasm metric name of an Endpoint Picker callout metric. */
export function eppMetricName(base: typeof EPP_CALLOUTS | typeof EPP_DURATION, pool: string, outcome: string): string {
  return build(base, [
    ["pool", pool],
    ["outcome", outcome],
  ]);
}

/** The proxy-wasm metric name of a rate limit service call metric (the duration has no outcome). */
export function rlsMetricName(base: typeof RLS_CALLS | typeof RLS_DURATION, phase: string, outcome?: string): string {
  return build(base, [
    ["phase", phase],
    ["outcome", base === RLS_CALLS ? outcome : undefined],
  ]);
}
