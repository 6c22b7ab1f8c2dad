// The ext_proc conversation with our EPP over real gRPC on loopback, against model servers serving /metrics.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type * as grpc from "@grpc/grpc-js";
import {
  ExtProcStream,
  TestDiscovery,
  bodyMsg,
  extProcClient,
  headerMap,
  headersMsg,
  poolSpec,
  startModelServers,
  startTestEpp,
  subsetHint,
  until,
  vllmMetrics,
  type ModelServers,
  type Reply,
} from "./helpers.js";
import type { RunningEpp } from "../../src-host/epp/epp.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

let servers: ModelServers;
let discovery: TestDiscovery;
let epp: RunningEpp;
let client: grpc.Client;

beforeAll(async () => {
  servers = await startModelServers([vllmMetrics({ waiting: 0 }), vllmMetrics({ waiting: 3 }), vllmMetrics({ waiting: 6 })]);
  discovery = new TestDiscovery(poolSpec(servers.port), servers.pods, [
    { name: "sheddable", priority: -1, poolName: "pool" },
    { name: "critical", priority: 2, poolName: "pool" },
  ]);
  epp = await startTestEpp(discovery);
  client = extProcClient(epp.grpcAddress);
  await until(() => servers.scrapes(0) > 0 && servers.scrapes(1) > 0 && servers.scrapes(2) > 0, "first scrapes");
});

afterAll(async () => {
  client?.close();
  await epp?.close();
  await servers?.close();
});

const stream = () => new ExtProcStream(client);

async function bodyReplies(s: ExtProcStream): Promise<Reply[]> {
  const out: Reply[] = [];
  for (;;) {
    const r = await s.next();
    expect(r.request_body, "a request_body reply").toBeDefined();
    out.push(r);
    if (r.request_body!.response.body_mutation.streamed_response.end_of_stream) return out;
  }
}

const joined = (replies: Reply[]) => Buffer.concat(replies.map((r) => r.request_body!.response.body_mutation.streamed_response.body ?? Buffer.alloc(0)));

describe("request phase", () => {
  it("defers the header reply until the body ends, then sends headers, metadata and the streamed body", async () => {
    const s = stream();
    const headers = {
      ":method": "POST",
      ":path": "/v1/completions",
      ":authority": "gw.example",
      "content-type": "application/json",
      "x-request-id": "req-1",
      "x-gateway-inference-objective": "critical",
      "x-gateway-inference-fairness-id": "tenant-a",
      "x-custom": "kept",
    };
    const body = JSON.stringify({ prompt: "hello <world> & more", model: "m", max_tokens: 5, temperature: 0.5 });
    s.send(headersMsg(headers), bodyMsg(body.slice(0, 20), false));
    expect(await s.pending(150)).toEqual([]); // nothing before the body is complete
    s.send(bodyMsg(body.slice(20), true));

    const first = await s.next();
    expect(first.request_headers).toBeDefined();
    const common = first.request_headers!.response;
    expect(common.clear_route_cache).toBe(true);
    const set = common.header_mutation!.set_headers;
    expect(set[0].header.key).toBe("x-gateway-destination-endpoint");
    const endpoint = set[0].header.raw_value.toString();
    expect(servers.ips.map((ip) => `${ip}:${servers.port}`)).toContain(endpoint);
    const h = headerMap(set);
    const expectedBody = '{"max_tokens":5,"model":"m","prompt":"hello \\u003cworld\\u003e \\u0026 more","temperature":0.5}';
    expect(set[1].header.key).toBe("Content-Length");
    expect(h.get("Content-Length")).toBe(String(Buffer.byteLength(expectedBody)));
    for (const k of [":method", ":path", ":authority", "content-type", "x-request-id", "x-custom"]) {
      expect(h.get(k), k).toBe(headers[k as keyof typeof headers]);
    }
    for (const k of ["x-gateway-inference-objective", "x-gateway-inference-fairness-id"]) expect(h.has(k), k).toBe(false);
    expect(first.dynamic_metadata!.fields["envoy.lb"].structValue.fields["x-gateway-destination-endpoint"].stringValue).toBe(endpoint);

    const bodies = await bodyReplies(s);
    expect(bodies).toHaveLength(1);
    expect(joined(bodies).toString()).toBe(expectedBody);
    s.end();
    expect((await s.status).code).toBe(0);
  });

  it("splits a body over 62,000 bytes into streamed chunks with end_of_stream on the last", async () => {
    const s = stream();
    const prompt = "x".repeat(150_000);
    const body = JSON.stringify({ model: "m", prompt });
    s.send(headersMsg({ ":path": "/v1/completions" }));
    for (let i = 0; i < body.length; i += 40_000) s.send(bodyMsg(body.slice(i, i + 40_000), i + 40_000 >= body.length));
    const head = await s.next();
    const len = Number(headerMap(head.request_headers!.response.header_mutation!.set_headers).get("Content-Length"));
    const chunks = await bodyReplies(s);
    expect(chunks.length).toBe(3);
    for (const c of chunks) expect(c.request_body!.response.body_mutation.streamed_response.body!.length).toBeLessThanOrEqual(62_000);
    expect(chunks.slice(0, -1).every((c) => !c.request_body!.response.body_mutation.streamed_response.end_of_stream)).toBe(true);
    const out = joined(chunks);
    expect(out.length).toBe(len);
    expect(out.toString()).toBe(body); // keys already sorted: model < prompt
    s.end();
  });

  it("generates x-request-id when absent and sets it back", async () => {
    const s = stream().send(headersMsg({ ":path": "/v1/completions" }), bodyMsg('{"model":"m","prompt":"p"}', true));
    const h = headerMap((await s.next()).request_headers!.response.header_mutation!.set_headers);
    expect(h.get("x-request-id")).toMatch(UUID);
    s.end();
  });

  it("rewrites the model from x-gateway-model-name-rewrite and drops the header from the set", async () => {
    const s = stream().send(
      headersMsg({ ":path": "/v1/chat/completions", "x-gateway-model-name-rewrite": "m-lora" }),
      bodyMsg(JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }], stream: true }), true),
    );
    const h = headerMap((await s.next()).request_headers!.response.header_mutation!.set_headers);
    expect(h.has("x-gateway-model-name-rewrite")).toBe(false);
    const out = joined(await bodyReplies(s)).toString();
    expect(out).toBe('{"messages":[{"content":"hi","role":"user"}],"model":"m-lora","stream":true}');
    expect(h.get("Content-Length")).toBe(String(out.length));
    s.end();
  });

  it("routes a bodiless request to a random ready pod with a headers reply only", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 24; i++) {
      const s = stream().send(headersMsg({ ":method": "GET", ":path": "/v1/models", "x-request-id": "g" }, true));
      const r = await s.next();
      const set = r.request_headers!.response.header_mutation!.set_headers;
      expect(set.map((x) => x.header.key)).toEqual(["x-gateway-destination-endpoint"]);
      const ep = set[0].header.raw_value.toString();
      expect(r.dynamic_metadata!.fields["envoy.lb"].structValue.fields["x-gateway-destination-endpoint"].stringValue).toBe(ep);
      seen.add(ep);
      expect(await s.pending(0)).toEqual([]);
      s.end();
      expect((await s.status).code).toBe(0);
    }
    expect(seen.size).toBeGreaterThan(1);
    expect([...seen].every((ep) => servers.ips.some((ip) => ep === `${ip}:${servers.port}`))).toBe(true);
  });

  it("honours the subset hint (matched on IP) and answers 503 when it is empty or matches nothing", async () => {
    for (let i = 0; i < 5; i++) {
      const hint = subsetHint([`${servers.ips[2]}:1234`]);
      const s = stream().send(headersMsg({ ":path": "/v1/completions" }, false, hint), bodyMsg('{"model":"m","prompt":"p"}', true));
      const h = headerMap((await s.next()).request_headers!.response.header_mutation!.set_headers);
      expect(h.get("x-gateway-destination-endpoint")).toBe(`${servers.ips[2]}:${servers.port}`);
      s.end();
    }
    for (const hint of [[], ["10.9.9.9:8000"]]) {
      const s = stream().send(headersMsg({ ":path": "/v1/completions" }, false, subsetHint(hint)), bodyMsg('{"model":"m","prompt":"p"}', true));
      const r = await s.next();
      expect(r.immediate_response!.status.code).toBe(503);
      expect(r.immediate_response!.body!.toString()).toBe("inference gateway: ServiceUnavailable - failed to find candidate pods for serving the request");
      expect((await s.status).code).toBe(0);
    }
  });

  it("answers malformed bodies with 400 and the upstream message", async () => {
    const cases: [string, string][] = [
      ["{not json", "Error unmarshaling request body"],
      ["[1,2]", "Error unmarshaling request body"],
      ["", "Error unmarshaling request body"],
      ['{"prompt":"p"}', "model not found in request body"],
      ['{"model":7,"prompt":"p"}', "model not found in request body"],
      ['{"model":"m"}', "prompt not found in request"],
      ['{"model":"m","prompt":["a"]}', "prompt is not a string"],
      ['{"model":"m","messages":[]}', "messages is empty"],
      ['{"model":"m","messages":"hi"}', "messages is not a list"],
    ];
    for (const [body, msg] of cases) {
      const s = stream().send(headersMsg({ ":path": "/v1/completions" }), bodyMsg(body, true));
      const r = await s.next();
      expect(r.immediate_response, body).toBeDefined();
      expect(r.immediate_response!.status.code).toBe(400);
      expect(r.immediate_response!.body!.toString()).toBe(`inference gateway: BadRequest - ${msg}`);
      expect((await s.status).code).toBe(0);
    }
  });

  it("ends cleanly when the client half-closes or cancels mid-request", async () => {
    const s = stream().send(headersMsg({ ":path": "/v1/completions" }), bodyMsg('{"model":', false));
    s.end();
    expect((await s.status).code).toBe(0);
    const c = stream().send(headersMsg({ ":path": "/v1/completions" }));
    await c.pending(50);
    c.call.cancel();
    expect((await c.status).code).toBe(1); // CANCELLED, seen from the client
  });
});

describe("priority and shedding", () => {
  it("sheds a negative-priority request with 429 only while the pool is saturated", async () => {
    const send = async (objective: string) => {
      const s = stream().send(
        headersMsg({ ":path": "/v1/completions", "x-gateway-inference-objective": objective }),
        bodyMsg('{"model":"m","prompt":"p"}', true),
      );
      const r = await s.next();
      s.end();
      return r;
    };
    // Pod 0 has queue 0 and fresh metrics: not saturated.
    expect((await send("sheddable")).request_headers).toBeDefined();
    for (let i = 0; i < 3; i++) servers.setMetrics(i, vllmMetrics({ waiting: 10, kv: 0.2 }));
    await servers.rescraped();
    const shed = await send("sheddable");
    expect(shed.immediate_response!.status.code).toBe(429);
    expect(shed.immediate_response!.body!.toString()).toBe("inference gateway: InferencePoolResourceExhausted - system saturated, sheddable request dropped");
    // Priority 2 and unknown objectives (priority 0) are never shed.
    expect((await send("critical")).request_headers).toBeDefined();
    expect((await send("no-such-objective")).request_headers).toBeDefined();
    // KV headroom alone is not enough: queue <= 5 AND kv <= 0.8.
    servers.setMetrics(1, vllmMetrics({ waiting: 1, kv: 0.9 }));
    await servers.rescraped();
    expect((await send("sheddable")).immediate_response!.status.code).toBe(429);
    servers.setMetrics(1, vllmMetrics({ waiting: 1, kv: 0.5 }));
    await servers.rescraped();
    expect((await send("sheddable")).request_headers).toBeDefined();
    // Stale metrics do not count: when scraping fails the pool looks saturated after 200 ms.
    for (let i = 0; i < 3; i++) servers.setMetrics(i, 500);
    await servers.rescraped();
    await new Promise((r) => setTimeout(r, 250));
    expect((await send("sheddable")).immediate_response!.status.code).toBe(429);
    // Pods whose scrapes fail stay schedulable for requests that are not sheddable.
    expect((await send("critical")).request_headers).toBeDefined();
    for (let i = 0; i < 3; i++) servers.setMetrics(i, vllmMetrics({ waiting: i * 3 }));
    await servers.rescraped();
    expect((await send("sheddable")).request_headers).toBeDefined();
  });
});

describe("response phase", () => {
  it("echoes response headers with x-went-into-resp-headers and passes SSE chunks through", async () => {
    const s = stream().send(
      headersMsg({ ":path": "/v1/chat/completions" }),
      bodyMsg('{"model":"m","messages":[{"role":"user","content":"x"}],"stream":true}', true),
    );
    await s.next();
    await bodyReplies(s);
    s.send({
      response_headers: {
        headers: {
          headers: [
            { key: ":status", raw_value: Buffer.from("200") },
            { key: "content-type", raw_value: Buffer.from("text/event-stream") },
          ],
        },
      },
    });
    const rh = await s.next();
    const h = headerMap(rh.response_headers!.response.header_mutation.set_headers);
    expect(h.get("x-went-into-resp-headers")).toBe("true");
    expect(h.get("content-type")).toBe("text/event-stream");
    expect(h.get(":status")).toBe("200");
    const c1 = 'data: {"choices":[{"delta":{"content":"a"}}]}\n\n';
    s.send({ response_body: { body: Buffer.from(c1), end_of_stream: false } });
    const r1 = await s.next();
    expect(r1.response_body!.response.body_mutation.streamed_response.body!.toString()).toBe(c1);
    expect(r1.response_body!.response.body_mutation.streamed_response.end_of_stream).toBeFalsy();
    const c2 = 'data: {"choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}\n\ndata: [DONE]\n\n';
    s.send({ response_body: { body: Buffer.from(c2), end_of_stream: true } });
    const r2 = await s.next();
    expect(r2.response_body!.response.body_mutation.streamed_response.body!.toString()).toBe(c2);
    expect(r2.response_body!.response.body_mutation.streamed_response.end_of_stream).toBe(true);
    s.send({ response_trailers: { trailers: { headers: [] } } });
    expect(await s.pending(100)).toEqual([]);
    s.end();
    expect((await s.status).code).toBe(0);
    const text = await (await fetch(`http://${epp.metricsAddress}/metrics`)).text();
    expect(text).toMatch(/inference_model_input_tokens_sum\{model_name="m",target_model_name="m"\} 7/);
    expect(text).toMatch(/inference_model_output_tokens_sum\{model_name="m",target_model_name="m"\} 3/);
  });

  it("buffers a JSON response to end of stream and sends it back re-serialised", async () => {
    const s = stream().send(headersMsg({ ":path": "/v1/completions" }), bodyMsg('{"model":"m","prompt":"p"}', true));
    await s.next();
    await bodyReplies(s);
    s.send({ response_headers: { headers: { headers: [{ key: "content-type", raw_value: Buffer.from("application/json") }] } } });
    await s.next();
    const json = '{"usage": {"total_tokens": 3, "prompt_tokens": 1, "completion_tokens": 2}, "id": "x"}';
    s.send({ response_body: { body: Buffer.from(json.slice(0, 30)), end_of_stream: false } });
    expect(await s.pending(100)).toEqual([]);
    s.send({ response_body: { body: Buffer.from(json.slice(30)), end_of_stream: true } });
    const r = await s.next();
    expect(r.response_body!.response.body_mutation.streamed_response.body!.toString()).toBe(
      '{"id":"x","usage":{"completion_tokens":2,"prompt_tokens":1,"total_tokens":3}}',
    );
    expect(r.response_body!.response.body_mutation.streamed_response.end_of_stream).toBe(true);
    s.end();
  });
});
