// Token costs and Local token budgets end to end through `aigw run`, configured as users write them for
// Envoy AI Gateway: llmRequestCosts on the AIGatewayRoute, a BackendTrafficPolicy rateLimit on its route.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningGateway } from "../../src-host/cli/run.js";
import { GATEWAY, runManifests, testUpstreamBackend } from "./manifests.js";

const manifests = `${testUpstreamBackend(8080)}
apiVersion: aigateway.envoyproxy.io/v1alpha1
kind: AIGatewayRoute
metadata: { name: tokens }
spec:
  parentRefs: [{ name: eg, kind: Gateway, group: gateway.networking.k8s.io }]
  rules:
  - matches: [{ headers: [{ type: Exact, name: x-ai-eg-model, value: some-model }] }]
    backendRefs: [{ name: upstream }]
  llmRequestCosts:
  - metadataKey: llm_input_token
    type: InputToken
  - metadataKey: llm_output_token
    type: OutputToken
  - metadataKey: llm_total_token
    type: TotalToken
  - metadataKey: weighted
    type: CEL
    cel: "input_tokens * uint(3) + output_tokens"
`;

const localPolicy = `
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata: { name: token-budget }
spec:
  targetRefs: [{ group: gateway.networking.k8s.io, kind: HTTPRoute, name: tokens }]
  rateLimit:
    type: Local
    local:
      rules:
      - clientSelectors:
        - headers: [{ name: x-user-id, type: Distinct }]
        limit: { requests: 1000, unit: Hour }
        cost:
          request: { from: Number, number: 0 }
          response:
            from: Metadata
            metadata: { namespace: io.envoy.ai_gateway, key: llm_total_token }
`;

// The same budget enforced by the rate limit service (envoy.service.ratelimit.v3) that aigw run starts.
const globalPolicy = localPolicy.replace("type: Local\n    local:", "type: Global\n    global:");

let gw: RunningGateway;
let client: OpenAI;
const accessLog: string[] = [];

beforeAll(async () => {
  gw = await runManifests({ "tokens.yaml": GATEWAY + "---" + manifests + "---" + localPolicy }, { accessLog: (l) => accessLog.push(l) });
  const a = gw.gateway.listenerAddress;
  client = new OpenAI({ baseURL: `http://${a.address}:${a.port}/v1`, apiKey: "unused", maxRetries: 0 });
}, 60_000);

afterAll(async () => {
  await gw?.close();
});

const ask = (user: string) =>
  client.chat.completions.create({ model: "some-model", messages: [{ role: "user", content: "hello" }] }, { headers: { "x-user-id": user } }).withResponse();

describe("llmRequestCosts", () => {
  it("exports each cost of a 2xx response as filter state, printed in the access log", async () => {
    // The test upstream's canned chat answer reports usage prompt 1, completion 100, total 300.
    const { response } = await ask("costs");
    expect(response.status).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    const line = accessLog.find((l) => l.includes("wasm.llm_total_token="));
    expect(line, accessLog.join("\n")).toBeDefined();
    expect(line).toContain("wasm.llm_input_token=1");
    expect(line).toContain("wasm.llm_output_token=100");
    expect(line).toContain("wasm.llm_total_token=300");
    expect(line).toContain("wasm.weighted=103");
    expect(line).toContain("wasm.route_name=default/tokens");
  });
});

describe("a Local token budget per x-user-id", () => {
  it("admits while tokens remain, then answers 429 with headers counting what was spent", async () => {
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { response } = await ask("alice");
      expect(response.status).toBe(200);
      remaining.push(response.headers.get("x-ratelimit-remaining") ?? "");
      expect(response.headers.get("x-ratelimit-limit")).toBe("1000");
    }
    // 300 tokens per answer, settled before the headers of a JSON answer leave.
    expect(remaining).toEqual(["700", "400", "100"]);
    const err = (await ask("alice").catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.status).toBe(429);
    // 100 tokens are left; the request's estimate (prompt bytes / 4 + the model's recent output) does not fit.
    expect(err.headers?.get("x-ratelimit-remaining")).toBe("100");
    expect(err.message).toContain("900 of 1000 tokens used or reserved");
    expect(Number(err.headers?.get("x-ratelimit-reset"))).toBeGreaterThan(0);
    expect(Number(err.headers?.get("x-ratelimit-reset"))).toBeLessThanOrEqual(3600);
  });

  it("the access log names the route of a refused request, not the catch-all it first matched", async () => {
    const refused = accessLog.filter((l) => l.includes(" 429 ") && l.includes("token_rate_limited"));
    expect(refused.length, accessLog.join("\n")).toBeGreaterThan(0);
    for (const l of refused) expect(l).toContain(" aigatewayroute/default/tokens/rule/0/match/0/backend/default/upstream");
  });

  it("keeps every user's budget apart", async () => {
    const { response } = await ask("bob");
    expect(response.status).toBe(200);
    expect(response.headers.get("x-ratelimit-remaining")).toBe("700");
  });

  it("does not overshoot under a burst: concurrent requests see each other's reservations", async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, () =>
        ask("carol").then(
          (r) => r.response.status,
          (e) => (e as { status: number }).status,
        ),
      ),
    );
    const admitted = results.filter((s) => s === 200).length;
    // 1000 tokens at 300 per answer: at most 4 may start (the fourth on an estimate that still fits).
    expect(admitted).toBeGreaterThanOrEqual(1);
    expect(admitted).toBeLessThanOrEqual(4);
    expect(results.filter((s) => s === 429).length).toBe(8 - admitted);
  });
});

describe("GenAI metrics", () => {
  it("exports token usage, durations and backend counters with Envoy AI Gateway's labels", async () => {
    const a = gw.gateway.adminAddress;
    const text = await (await fetch(`http://${a.address}:${a.port}/metrics`)).text();
    const labels =
      'gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_original_model="some-model",' +
      'gen_ai_request_model="some-model",gen_ai_response_model="some-model"';
    const sum = (type: string) => {
      const m = text.match(new RegExp(`^gen_ai_client_token_usage_sum\\{[^}]*gen_ai_token_type="${type}"[^}]*\\} (\\d+)`, "m"));
      expect(
        m,
        `${type} in\n${text
          .split("\n")
          .filter((l) => l.startsWith("gen_ai"))
          .join("\n")}`,
      ).not.toBeNull();
      expect(m![0]).toContain(labels);
      return Number(m![1]);
    };
    // Every admitted request of this file got usage 1/100 (prompt/completion) from the test upstream.
    const input = sum("input");
    expect(sum("output")).toBe(input * 100);
    expect(input).toBeGreaterThanOrEqual(5);
    const count = text.match(/^gen_ai_server_request_duration_microseconds_count\{[^}]*gen_ai_original_model="some-model"[^}]*\} (\d+)/m);
    expect(Number(count?.[1])).toBe(input);
    // Like Envoy AI Gateway, requests refused before going upstream (the 429s) are not GenAI requests.
    expect(text).not.toMatch(/^gen_ai_server_request_duration_microseconds_count\{[^}]*error_type=/m);
    expect(text).toMatch(/^aigw_backend_requests_total\{[^}]*backend="default\/upstream"[^}]*\} \d+/m);
  });
});

describe("a Global token budget per x-user-id, through the rate limit service", () => {
  let global: RunningGateway;
  let c: OpenAI;
  beforeAll(async () => {
    await gw.close(); // the Local gateway's pods use the same loopback addresses
    global = await runManifests({ "tokens.yaml": GATEWAY + "---" + manifests + "---" + globalPolicy });
    const a = global.gateway.listenerAddress;
    c = new OpenAI({ baseURL: `http://${a.address}:${a.port}/v1`, apiKey: "unused", maxRetries: 0 });
  }, 60_000);
  afterAll(async () => {
    await global?.close();
  });

  const askGlobal = (user: string) =>
    c.chat.completions.create({ model: "some-model", messages: [{ role: "user", content: "hello" }] }, { headers: { "x-user-id": user } }).withResponse();

  it("reserves the estimate at admission and charges the rest at the end: 429 once an estimate does not fit", async () => {
    // Each request reserves its estimate (70 bytes of body → 18 input tokens, plus the model's recent
    // output: none at first, then 100) and the end charges what the real 300 exceed it by: the window holds
    // 300, 600, 900 after each answer, and the fourth request's 118 do not fit in the 100 left.
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { response } = await askGlobal("dave");
      expect(response.status).toBe(200);
      remaining.push(response.headers.get("x-ratelimit-remaining") ?? "");
      await new Promise((r) => setTimeout(r, 50)); // the charge is not awaited by the response
    }
    // The service's count at admission, this request's reservation included: never tokens already promised.
    expect(remaining).toEqual(["982", "582", "282"]);
    const err = (await askGlobal("dave").catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
    expect(err.message).toContain("token budget of rate limit default/token-budget/rule/0: this request is estimated at 118 tokens");
    expect(err.headers?.get("x-ratelimit-limit")).toBe("1000");
    expect(err.headers?.get("x-ratelimit-remaining")).toBe("0");
    const other = await askGlobal("erin");
    expect(other.response.status).toBe(200);
  });

  it("counts and times the rate limit service calls by phase and outcome, on the service's cluster too", async () => {
    await new Promise((r) => setTimeout(r, 100)); // the last charge is not awaited by the response
    const a = global.gateway.adminAddress;
    const text = await (await fetch(`http://${a.address}:${a.port}/metrics`)).text();
    const value = (series: string) => Number(text.match(new RegExp(`^${series.replace(/[{}]/g, "\\$&")} (\\d+)$`, "m"))?.[1]);
    // Four admitted requests (three of dave's, erin's) each checked and then charged the cost above their
    // estimate; dave's fourth refused.
    expect(value('aigw_ratelimit_calls_total{phase="check",outcome="ok"}')).toBe(4);
    expect(value('aigw_ratelimit_calls_total{phase="check",outcome="over_limit"}')).toBe(1);
    expect(value('aigw_ratelimit_calls_total{phase="charge",outcome="ok"}')).toBe(4);
    expect(value('aigw_ratelimit_call_duration_microseconds_count{phase="check"}')).toBe(5);
    expect(value('aigw_ratelimit_call_duration_microseconds_count{phase="charge"}')).toBe(4);
    const cluster = text.match(/^envoy_cluster_upstream_rq_total\{envoy_cluster_name="([^"]*ratelimit[^"]*)"\} (\d+)$/m);
    expect(
      cluster,
      text
        .split("\n")
        .filter((l) => l.startsWith("envoy_cluster_upstream_rq_total"))
        .join("\n"),
    ).not.toBeNull();
    expect(Number(cluster![2])).toBe(9);
  });
});
