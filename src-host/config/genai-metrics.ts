// The names of the filter's GenAI metrics, and the Envoy stats_tags that turn them into Envoy AI Gateway's
// Prometheus metrics and labels (ai-gateway.md §1.7).
//
// Envoy has no per-call labels: a proxy-wasm metric is one stat per name, so the filter defines one metric
// per combination of dimensions, with the dimensions in its name. Envoy stores it as
// `wasmcustom.<name>`; tag extraction (GatewayConfig.statsTags → bootstrap stats_config.stats_tags, and the
// embedded admin's renderer) cuts every dimension out of the name into a label, and the Prometheus output
// drops the `wasmcustom.` namespace without adding `envoy_`. THE FILTER MUST PRODUCE EXACTLY THESE NAMES
// (mirror this comment in AssemblyScript):
//
//   name      = base *( ";" key "=" value )      segments in the order listed below, absent ones left out
//   value     = the dimension with every ";" written as "%3B"; "unknown" when empty
//
//   base                                          segments (in this order)
//   gen_ai.client.token.usage                     op provider original_model request_model response_model token_type
//   gen_ai.server.request.duration_milliseconds       op provider original_model request_model response_model [error_type]
//   gen_ai.server.time_to_first_token_milliseconds    op provider original_model request_model response_model
//   gen_ai.server.time_per_output_token_milliseconds  op provider original_model request_model response_model
//   aigw.backend.requests_total                   backend endpoint
//   aigw.backend.errors_total                     backend endpoint
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
//
// Example: `gen_ai.client.token.usage;op=chat;provider=openai;original_model=mistral:latest;
// request_model=mistral:latest;response_model=mistral:latest;token_type=input` (one line) becomes
// `gen_ai_client_token_usage{gen_ai_operation_name="chat",gen_ai_provider_name="openai",...}`.
// `/`, `:`, `.` and `=` pass unchanged (a value ends at the next ";"), so model names keep their spelling.
//
// Values are proxy-wasm integers: token counts as they are, durations in whole milliseconds (Envoy's
// histogram convention) — hence *_milliseconds where Envoy AI Gateway has fractional *_seconds.

import type { StatsTag } from "../gateway/config.js";

export const GEN_AI_TOKEN_USAGE = "gen_ai.client.token.usage";
export const GEN_AI_REQUEST_DURATION = "gen_ai.server.request.duration_milliseconds";
export const GEN_AI_TIME_TO_FIRST_TOKEN = "gen_ai.server.time_to_first_token_milliseconds";
export const GEN_AI_TIME_PER_OUTPUT_TOKEN = "gen_ai.server.time_per_output_token_milliseconds";
export const BACKEND_REQUESTS = "aigw.backend.requests_total";
export const BACKEND_ERRORS = "aigw.backend.errors_total";

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

/** The proxy-wasm metric name of a per-backend, per-endpoint counter. */
export function backendMetricName(base: typeof BACKEND_REQUESTS | typeof BACKEND_ERRORS, backend: string, endpoint: string): string {
  return build(base, [
    ["backend", backend],
    ["endpoint", endpoint],
  ]);
}
