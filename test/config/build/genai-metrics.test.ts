// The GenAI metric names the filter defines, turned back into Envoy AI Gateway's Prometheus metrics and labels
// by the stats tags aigw run configures (the same regexes go into Envoy's stats_config.stats_tags).
import { describe, expect, test } from "vitest";
import {
  BACKEND_ERRORS,
  BACKEND_REQUESTS,
  EPP_CALLOUTS,
  GENAI_HISTOGRAM_BUCKETS,
  GENAI_STATS_TAGS,
  RLS_CALLS,
  RLS_DURATION,
  eppMetricName,
  rlsMetricName,
  GEN_AI_REQUEST_DURATION,
  GEN_AI_TIME_PER_OUTPUT_TOKEN,
  GEN_AI_TIME_TO_FIRST_TOKEN,
  GEN_AI_TOKEN_USAGE,
  backendMetricName,
  genAiMetricName,
  type GenAiDimensions,
} from "../../../src-host/config/build/genai-metrics.js";
import { StatsStore, TagExtractor } from "../../../src-host/stats/index.js";

const LLAMA = "meta-llama/Llama-3.1-8B-Instruct";
const chat = (model: string, extra: Partial<GenAiDimensions> = {}): GenAiDimensions => ({
  operation: "chat",
  provider: "openai",
  originalModel: model,
  requestModel: model,
  responseModel: model,
  ...extra,
});

describe("GenAI metric names", () => {
  test("the name carries the dimensions in a fixed order", () => {
    expect(genAiMetricName(GEN_AI_TOKEN_USAGE, chat("mistral:latest", { tokenType: "input" }))).toBe(
      "gen_ai.client.token.usage;op=chat;provider=openai;original_model=mistral:latest;request_model=mistral:latest;response_model=mistral:latest;token_type=input",
    );
    // error_type only on the request duration; token_type only on the token usage.
    expect(genAiMetricName(GEN_AI_REQUEST_DURATION, chat("m", { errorType: "_OTHER", tokenType: "input" }))).toBe(
      "gen_ai.server.request.duration_microseconds;op=chat;provider=openai;original_model=m;request_model=m;response_model=m;error_type=_OTHER",
    );
    expect(genAiMetricName(GEN_AI_TIME_TO_FIRST_TOKEN, chat("", { errorType: "_OTHER" }))).toBe(
      "gen_ai.server.time_to_first_token_microseconds;op=chat;provider=openai;original_model=unknown;request_model=unknown;response_model=unknown",
    );
    expect(() => genAiMetricName(GEN_AI_TOKEN_USAGE, chat("m"))).toThrow(/needs a token type/);
    expect(backendMetricName(BACKEND_REQUESTS, "default/mistral", "127.10.1.1:8000")).toBe(
      "aigw.backend.requests_total;backend=default/mistral;endpoint=127.10.1.1:8000",
    );
  });

  test("tag extraction turns the model names of the seed into labels, spelled as they are", () => {
    const x = new TagExtractor(GENAI_STATS_TAGS);
    const name = `wasmcustom.${genAiMetricName(GEN_AI_TOKEN_USAGE, chat(LLAMA, { responseModel: "mistral:latest", tokenType: "cached_input" }))}`;
    expect(x.extract(name)).toEqual({
      name: "wasmcustom.gen_ai.client.token.usage",
      tags: [
        ["gen_ai_operation_name", "chat"],
        ["gen_ai_provider_name", "openai"],
        ["gen_ai_original_model", LLAMA],
        ["gen_ai_request_model", LLAMA],
        ["gen_ai_response_model", "mistral:latest"],
        ["gen_ai_token_type", "cached_input"],
      ],
    });
    // A ";" inside a value would end it early, so it is escaped; "=" needs no escape.
    const odd = `wasmcustom.${genAiMetricName(GEN_AI_TIME_PER_OUTPUT_TOKEN, chat("a;b=c"))}`;
    expect(x.extract(odd).tags.find(([k]) => k === "gen_ai_request_model")).toEqual(["gen_ai_request_model", "a%3Bb=c"]);
    expect(x.extract(odd).name).toBe("wasmcustom.gen_ai.server.time_per_output_token_microseconds");
    // Other stats are left alone.
    expect(x.extract("wasmcustom.other;op=chat")).toEqual({ name: "wasmcustom.other;op=chat", tags: [] });
  });

  test("the admin's Prometheus output has Envoy AI Gateway's metric names and labels", () => {
    const store = new StatsStore({ tags: GENAI_STATS_TAGS, histogramBuckets: [1, 4, 16] });
    store.histogram(`wasmcustom.${genAiMetricName(GEN_AI_TOKEN_USAGE, chat(LLAMA, { tokenType: "input" }))}`).record(8);
    store.histogram(`wasmcustom.${genAiMetricName(GEN_AI_TOKEN_USAGE, chat("mistral:latest", { tokenType: "output" }))}`).record(3);
    store.histogram(`wasmcustom.${genAiMetricName(GEN_AI_REQUEST_DURATION, chat("mistral:latest", { errorType: "_OTHER" }))}`).record(2);
    store.histogram(`wasmcustom.${genAiMetricName(GEN_AI_TIME_TO_FIRST_TOKEN, chat(LLAMA))}`).record(1);
    store.counter(`wasmcustom.${backendMetricName(BACKEND_REQUESTS, "default/mistral", "127.10.1.1:8000")}`).inc(5);
    store.counter(`wasmcustom.${backendMetricName(BACKEND_ERRORS, "default/mistral", "127.10.1.1:8000")}`).inc();
    const text = store.prometheus();
    const labels = (model: string, extra = "") =>
      `gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_original_model="${model}",gen_ai_request_model="${model}",gen_ai_response_model="${model}"${extra}`;
    expect(text).toContain("# TYPE gen_ai_client_token_usage histogram\n");
    expect(text).toContain(`gen_ai_client_token_usage_bucket{${labels(LLAMA, ',gen_ai_token_type="input"')},le="16"} 1\n`);
    expect(text).toContain(`gen_ai_client_token_usage_sum{${labels("mistral:latest", ',gen_ai_token_type="output"')}} 3\n`);
    expect(text).toContain(`gen_ai_server_request_duration_microseconds_count{${labels("mistral:latest", ',error_type="_OTHER"')}} 1\n`);
    expect(text).toContain(`gen_ai_server_time_to_first_token_microseconds_count{${labels(LLAMA)}} 1\n`);
    expect(text).toContain('aigw_backend_requests_total{backend="default/mistral",endpoint="127.10.1.1:8000"} 5\n');
    expect(text).toContain('aigw_backend_errors_total{backend="default/mistral",endpoint="127.10.1.1:8000"} 1\n');
    // Every metric name is one of the expected families: no dimension leaked into a name.
    const names = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
    expect(names).toEqual([
      "aigw_backend_errors_total",
      "aigw_backend_requests_total",
      "gen_ai_client_token_usage",
      "gen_ai_server_request_duration_microseconds",
      "gen_ai_server_time_to_first_token_microseconds",
    ]);
  });

  test("the regexes use no syntax Envoy's std::regex (ECMAScript) lacks", () => {
    for (const t of GENAI_STATS_TAGS) {
      expect(t.regex).not.toMatch(/\(\?<[=!]|\(\?<[a-z]|\\[pP]\{/); // lookbehind, named groups, Unicode classes
      expect(t.regex.startsWith("^wasmcustom\\.")).toBe(true);
    }
  });

  test("histograms get Envoy AI Gateway's boundaries in our units (first matching prefix, as Envoy)", () => {
    const store = new StatsStore({ tags: GENAI_STATS_TAGS, bucketSettings: GENAI_HISTOGRAM_BUCKETS });
    const hist = (name: string) => store.histogram(`wasmcustom.${name}`).buckets;
    expect(hist(genAiMetricName(GEN_AI_TOKEN_USAGE, chat("m", { tokenType: "input" })))).toEqual([
      1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
    ]);
    expect(hist(genAiMetricName(GEN_AI_REQUEST_DURATION, chat("m", { errorType: "_OTHER" }))).slice(0, 3)).toEqual([10000, 20000, 40000]);
    expect(hist(genAiMetricName(GEN_AI_REQUEST_DURATION, chat("m"))).at(-1)).toBe(81920000);
    expect(hist(genAiMetricName(GEN_AI_TIME_TO_FIRST_TOKEN, chat("m"))).slice(0, 2)).toEqual([1000, 5000]);
    expect(hist(genAiMetricName(GEN_AI_TIME_PER_OUTPUT_TOKEN, chat("m"))).at(-1)).toBe(2500000);
    for (const s of GENAI_HISTOGRAM_BUCKETS) for (const b of s.buckets) expect(Number.isInteger(b), `${s.prefix} ${b}`).toBe(true);
    // Other histograms keep Envoy's defaults.
    expect(store.histogram("cluster.x.upstream_rq_time").buckets[0]).toBe(0.5);
  });

  test("EPP and rate limit service metrics: pool, phase and outcome become labels", () => {
    const store = new StatsStore({ tags: GENAI_STATS_TAGS, bucketSettings: GENAI_HISTOGRAM_BUCKETS });
    store.counter(`wasmcustom.${eppMetricName(EPP_CALLOUTS, "vllm-llama3-8b-instruct", "timeout")}`).inc();
    store.counter(`wasmcustom.${rlsMetricName(RLS_CALLS, "check", "over_limit")}`).inc(2);
    store.histogram(`wasmcustom.${rlsMetricName(RLS_DURATION, "check")}`).record(700);
    const text = store.prometheus();
    expect(text).toContain('aigw_epp_callouts_total{pool="vllm-llama3-8b-instruct",outcome="timeout"} 1\n');
    expect(text).toContain('aigw_ratelimit_calls_total{phase="check",outcome="over_limit"} 2\n');
    expect(text).toContain('aigw_ratelimit_call_duration_microseconds_bucket{phase="check",le="1000"} 1\n');
  });
});
