// gzip'd responses counted end to end through `aigw run`: the test upstream answers `x-response-type: gzip`
// (one gzip member) and `sse-gzip` (an event stream, each event ending in a sync flush). The client must
// get the upstream's compressed bytes untouched while the filter inflates a copy to read the usage: costs
// in the access log, GenAI token metrics, and a Local token budget charged with the real usage.
import http from "node:http";
import zlib from "node:zlib";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningGateway } from "../../src-host/cli/run.js";
import { GATEWAY, runManifests, testUpstreamBackend } from "./manifests.js";

// Port 8086 rather than the 8080 of the other e2e files: materialized pods take the same loopback
// addresses in every file (127.10.<owner>.<replica+1>), so a distinct port keeps parallel files apart.
const UPSTREAM_PORT = 8086;

const manifests = `${testUpstreamBackend(UPSTREAM_PORT)}
apiVersion: aigateway.envoyproxy.io/v1alpha1
kind: AIGatewayRoute
metadata: { name: gzip }
spec:
  parentRefs: [{ name: eg, kind: Gateway, group: gateway.networking.k8s.io }]
  rules:
  - matches:
    - headers: [{ type: Exact, name: x-ai-eg-model, value: gzip-json }]
    - headers: [{ type: Exact, name: x-ai-eg-model, value: gzip-sse }]
    - headers: [{ type: Exact, name: x-ai-eg-model, value: gzip-budget }]
    backendRefs: [{ name: upstream }]
  llmRequestCosts:
  - { metadataKey: in, type: InputToken }
  - { metadataKey: cached, type: CachedInputToken }
  - { metadataKey: out, type: OutputToken }
  - { metadataKey: total, type: TotalToken }
  - { metadataKey: reasoning, type: ReasoningToken }
  - metadataKey: weighted
    type: CEL
    cel: "(input_tokens - cached_input_tokens) * uint(2) + cached_input_tokens + output_tokens"
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata: { name: token-budget }
spec:
  targetRefs: [{ group: gateway.networking.k8s.io, kind: HTTPRoute, name: gzip }]
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
            metadata: { namespace: io.envoy.ai_gateway, key: total }
`;

// The JSON answer: usage 17 in (5 cached), 29 out (7 reasoning), 46 total; a response model with the
// characters metric tag extraction must survive.
const JSON_MODEL = "acme/gz-json:1.5";
const jsonAnswer = JSON.stringify({
  id: "chatcmpl-gz",
  object: "chat.completion",
  created: 1,
  model: JSON_MODEL,
  choices: [{ index: 0, message: { role: "assistant", content: "compressed hello" }, finish_reason: "stop" }],
  usage: {
    prompt_tokens: 17,
    completion_tokens: 29,
    total_tokens: 46,
    prompt_tokens_details: { cached_tokens: 5 },
    completion_tokens_details: { reasoning_tokens: 7 },
  },
});

// The streamed answer: three content chunks with usage null, then the usage chunk (11 in, 3 out, 14 total).
const SSE_MODEL = "acme/gz-sse:2.0";
const chunk = (delta: object, finish: string | null) =>
  JSON.stringify({
    id: "c",
    object: "chat.completion.chunk",
    created: 1,
    model: SSE_MODEL,
    choices: [{ index: 0, delta, finish_reason: finish }],
    usage: null,
  });
const sseAnswer = [
  chunk({ role: "assistant", content: "Hel" }, null),
  chunk({ content: "lo " }, null),
  chunk({ content: "there" }, "stop"),
  JSON.stringify({
    id: "c",
    object: "chat.completion.chunk",
    created: 1,
    model: SSE_MODEL,
    choices: [],
    usage: { prompt_tokens: 11, completion_tokens: 3, total_tokens: 14 },
  }),
  "[DONE]",
]
  .map((data) => `data: ${data}\n\n`)
  .join("");

/** Request headers of the test upstream's protocol for one canned answer. */
const answer = (type: "gzip" | "sse-gzip", body: string) => ({
  "x-response-type": type,
  "x-response-body": Buffer.from(body).toString("base64"),
});

interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** POST without any decoding on the client side: the bytes as they came off the wire. */
function post(host: string, port: number, headers: Record<string, string>, body: object): Promise<RawResponse> {
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host,
        port,
        path: "/v1/chat/completions",
        method: "POST",
        headers: { "content-type": "application/json", "content-length": String(payload.length), ...headers },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on("data", (b: Buffer) => parts.push(b));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts) }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

let gw: RunningGateway;
const accessLog: string[] = [];
/** Through the gateway, and straight to the upstream pod for the reference bytes. */
let viaGateway: (headers: Record<string, string>, body: object) => Promise<RawResponse>;
let direct: (headers: Record<string, string>, body: object) => Promise<RawResponse>;

beforeAll(async () => {
  gw = await runManifests({ "gzip.yaml": GATEWAY + "---" + manifests }, { accessLog: (l) => accessLog.push(l) });
  const l = gw.gateway.listenerAddress;
  const pod = gw.pods.get("default/upstream-0");
  if (pod === undefined) throw new Error(`no upstream pod in ${[...gw.pods.keys()].join(", ")}`);
  viaGateway = (h, b) => post(l.address, l.port, h, b);
  direct = (h, b) => post(pod, UPSTREAM_PORT, h, b);
}, 60_000);

afterAll(async () => {
  await gw?.close();
});

const chat = (model: string, extra: object = {}) => ({ model, messages: [{ role: "user", content: "hello" }], ...extra });

/** The one access-log line of the requests for `model` (written just after the response ends). */
async function logLineFor(model: string): Promise<string> {
  const mine = () => accessLog.filter((l) => l.includes(` wasm.model_name_override=${model} `));
  for (let i = 0; i < 40 && mine().length === 0; i++) await new Promise((r) => setTimeout(r, 25));
  expect(mine(), accessLog.join("\n")).toHaveLength(1);
  return mine()[0];
}

async function metricsText(): Promise<string> {
  const a = gw.gateway.adminAddress;
  return (await fetch(`http://${a.address}:${a.port}/metrics`)).text();
}

/** The samples `name{...}` whose labels include every `labels` pair. */
function samples(text: string, name: string, labels: Record<string, string>): string[] {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return text.split("\n").filter((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
}

/** The value of the one sample `name{...}` whose labels include every `labels` pair. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const lines = samples(text, name, labels);
  const shown = text
    .split("\n")
    .filter((l) => l.startsWith("gen_ai") && !l.includes("_bucket{"))
    .join("\n");
  expect(lines, `${name} ${JSON.stringify(labels)} in\n${shown}`).toHaveLength(1);
  return Number(lines[0].slice(lines[0].lastIndexOf(" ") + 1));
}

/** The labels of one request model's GenAI metrics (no route rewrites the model here). */
function genAiLabels(model: string): Record<string, string> {
  return { gen_ai_operation_name: "chat", gen_ai_provider_name: "openai", gen_ai_original_model: model, gen_ai_request_model: model };
}

/** The same request through the gateway and straight to the upstream pod: [client's bytes, upstream's bytes]. */
function bothWays(type: "gzip" | "sse-gzip", answerBody: string, body: object): Promise<RawResponse[]> {
  const headers = answer(type, answerBody);
  return Promise.all([viaGateway(headers, body), direct(headers, body)]);
}

/** The client got exactly the upstream's bytes, still compressed, inflating to `plain`. */
function expectUpstreamBytes([res, reference]: RawResponse[], plain: string): void {
  expect(res.status).toBe(200);
  expect(res.headers["content-encoding"]).toBe("gzip");
  expect(reference.headers["content-encoding"]).toBe("gzip");
  expect(res.body.equals(reference.body)).toBe(true);
  expect(zlib.gunzipSync(res.body).toString()).toBe(plain);
}

/** The access-log line of `model` carries every `key=value` of `costs` as filter state. */
async function expectCosts(model: string, costs: string[]): Promise<string> {
  const line = await logLineFor(model);
  for (const cost of costs) expect(line).toContain(` wasm.${cost} `);
  return line;
}

describe("a gzip'd JSON answer", () => {
  let both: RawResponse[];
  beforeAll(async () => {
    both = await bothWays("gzip", jsonAnswer, chat("gzip-json"));
  });

  it("reaches the client as the upstream's compressed bytes, content-encoding kept", () => {
    expectUpstreamBytes(both, jsonAnswer);
  });

  it("turns the inflated usage into llmRequestCosts in the access log", async () => {
    const line = await expectCosts("gzip-json", ["in=17", "cached=5", "out=29", "total=46", "reasoning=7", "weighted=58"]);
    expect(line).toContain(`wasm.response_model=${JSON_MODEL}`);
    expect(line).toContain("wasm.route_name=default/gzip");
  });

  it("records every token type in gen_ai_client_token_usage", async () => {
    const text = await metricsText();
    const labels = { ...genAiLabels("gzip-json"), gen_ai_response_model: JSON_MODEL };
    const usage = (type: string, what: "sum" | "count") => sample(text, `gen_ai_client_token_usage_${what}`, { ...labels, gen_ai_token_type: type });
    expect([usage("input", "sum"), usage("cached_input", "sum"), usage("output", "sum"), usage("reasoning", "sum")]).toEqual([17, 5, 29, 7]);
    expect(usage("input", "count")).toBe(1);
    expect(sample(text, "gen_ai_server_request_duration_microseconds_count", labels)).toBe(1);
  });
});

describe("a gzip'd event stream", () => {
  let both: RawResponse[];
  beforeAll(async () => {
    both = await bothWays("sse-gzip", sseAnswer, chat("gzip-sse", { stream: true }));
  });

  it("reaches the client as the upstream's compressed bytes, content-encoding kept", () => {
    expect(both[0].headers["content-type"]).toBe("text/event-stream");
    expectUpstreamBytes(both, sseAnswer);
  });

  it("turns the usage chunk into llmRequestCosts in the access log", async () => {
    await expectCosts("gzip-sse", ["in=11", "cached=0", "out=3", "total=14", "reasoning=0", "weighted=25"]);
  });

  it("records token usage, time to first token and time per output token", async () => {
    const text = await metricsText();
    const labels = genAiLabels("gzip-sse");
    const usage = (type: string) => sample(text, "gen_ai_client_token_usage_sum", { ...labels, gen_ai_token_type: type });
    expect([usage("input"), usage("output")]).toEqual([11, 3]);
    // The stream reported no cached or reasoning tokens: those histograms got no sample.
    expect(samples(text, "gen_ai_client_token_usage_count", { ...labels, gen_ai_token_type: "cached_input" })).toEqual([]);
    expect(sample(text, "gen_ai_server_time_to_first_token_microseconds_count", labels)).toBe(1);
    // The test upstream waits 200 ms before its first event.
    expect(sample(text, "gen_ai_server_time_to_first_token_microseconds_sum", labels)).toBeGreaterThanOrEqual(150_000);
    expect(sample(text, "gen_ai_server_time_per_output_token_microseconds_count", labels)).toBe(1);
  });

  // Known bug: UsageTracker.finishStream (assembly/gateway/tokens/usage-tracker.ts) merges the scanner's
  // counts but not its model, so a stream's response model falls back to the request model. Flip to `it`
  // once fixed.
  it("names the chunks' model as the response model", async () => {
    expect(await logLineFor("gzip-sse")).toContain(`wasm.response_model=${SSE_MODEL}`);
    const labels = { ...genAiLabels("gzip-sse"), gen_ai_response_model: SSE_MODEL, gen_ai_token_type: "output" };
    expect(sample(await metricsText(), "gen_ai_client_token_usage_sum", labels)).toBe(3);
  });
});

describe("a Local token budget charged from gzip'd answers", () => {
  it("counts the real usage of a gzip'd JSON answer and of a gzip'd stream, seen by the next request", async () => {
    const a = gw.gateway.listenerAddress;
    const client = new OpenAI({ baseURL: `http://${a.address}:${a.port}/v1`, apiKey: "unused", maxRetries: 0 });
    const user = { "x-user-id": "gzip-user" };
    const messages = [{ role: "user" as const, content: "hello" }];

    // A JSON answer's headers wait for its usage: 1000 - 46.
    const first = await client.chat.completions
      .create({ model: "gzip-budget", messages }, { headers: { ...user, ...answer("gzip", jsonAnswer) } })
      .withResponse();
    expect(first.data.usage?.total_tokens).toBe(46);
    expect(first.response.headers.get("x-ratelimit-remaining")).toBe("954");

    // A stream's headers leave before its usage, carrying its reservation (request bytes / 4 + max_tokens,
    // so at least 250); the end of the stream replaces the reservation by the 14 tokens it reported.
    const second = await client.chat.completions
      .create({ model: "gzip-budget", messages, stream: true, max_tokens: 250 }, { headers: { ...user, ...answer("sse-gzip", sseAnswer) } })
      .withResponse();
    expect(Number(second.response.headers.get("x-ratelimit-remaining"))).toBeLessThanOrEqual(954 - 250);
    let text = "";
    let reported = 0;
    for await (const c of second.data) {
      text += c.choices[0]?.delta.content ?? "";
      reported = c.usage?.total_tokens ?? reported;
    }
    expect([text, reported]).toEqual(["Hello there", 14]);

    const third = await client.chat.completions
      .create({ model: "gzip-budget", messages }, { headers: { ...user, ...answer("gzip", jsonAnswer) } })
      .withResponse();
    expect(third.response.headers.get("x-ratelimit-remaining")).toBe(String(1000 - 46 - 14 - 46));
  });
});
