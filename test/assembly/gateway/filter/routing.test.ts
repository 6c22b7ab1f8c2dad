// The production module under the host: the routing path the gateway depends on.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestSink, attemptLoad, bytes, load, pluginConfig, request } from "./helpers.js";
import { PLUGIN_CONFIG_VERSION } from "../../../../src-host/config/plugin-config.js";
import type { WasmFilter } from "../../../../src-host/proxy-wasm/index.js";

describe("production module: routing", () => {
  let filter: WasmFilter;
  let logs: Array<{ level: number; message: string }>;
  beforeAll(async () => {
    ({ filter, logs } = await load());
  });
  afterAll(() => filter.close());

  it("answers GET /v1/models locally with the configured models", () => {
    const sink = new TestSink().attach(filter);
    sink.stream.requestHeaders(request("GET", "/v1/models"), true);
    expect(sink.localReplies).toHaveLength(1);
    expect(sink.localReplies[0]!.status).toBe(200);
    const body = JSON.parse(sink.localReplies[0]!.body);
    expect(body.data.map((m: { id: string }) => m.id)).toEqual(["m1"]);
    // The reply went back out through the filter's response side.
    expect(sink.responseHeader(":status")).toBe("200");
    expect(JSON.parse(sink.responseText()).data[0].id).toBe("m1");
    expect(sink.requestHeaders).toBeUndefined();
    sink.stream.complete();
  });

  it("routes a chat completion by body model: headers set, route cache cleared, body intact", () => {
    const sink = new TestSink().attach(filter);
    const body = JSON.stringify({ model: "m1", messages: [{ role: "user", content: "hi" }] });
    sink.stream.requestHeaders(
      request("POST", "/v1/chat/completions", [
        ["content-type", "application/json"],
        ["x-ai-eg-backend", "spoofed"],
      ]),
      false,
    );
    expect(sink.requestHeaders).toBeUndefined();
    sink.stream.requestData(bytes(body.slice(0, 10)), false);
    expect(sink.requestHeaders).toBeUndefined();
    sink.stream.requestData(bytes(body.slice(10)), true);
    expect(sink.header("x-ai-eg-model")).toBe("m1");
    expect(sink.header("x-ai-eg-backend")).toBe("default/b1");
    expect(sink.requestHeaders!.filter(([k]) => k === "x-ai-eg-backend")).toHaveLength(1);
    expect(sink.routeCacheCleared).toBe(1);
    expect(sink.requestText()).toBe(body);
    expect(sink.events).toEqual(["clear-route-cache", "req-headers eos=false", `req-data ${body.length} eos=true`]);
    sink.stream.responseHeaders(
      [
        [":status", "200"],
        ["content-type", "application/json"],
      ],
      false,
    );
    sink.stream.responseData(bytes('{"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}}'), true);
    expect(sink.responseHeader(":status")).toBe("200");
    expect(sink.responseEnded).toBe(true);
    sink.stream.complete();
  });

  it("answers malformed JSON with 400 and an unknown path with 404", () => {
    const bad = new TestSink().attach(filter);
    bad.stream.requestHeaders(request("POST", "/v1/chat/completions"), false);
    bad.stream.requestData(bytes("{not json"), true);
    expect(bad.localReplies.map((r) => r.status)).toEqual([400]);
    expect(bad.requestHeaders).toBeUndefined();
    expect(bad.responseHeader(":status")).toBe("400");
    bad.stream.complete();

    const unknown = new TestSink().attach(filter);
    unknown.stream.requestHeaders(request("GET", "/nope"), true);
    expect(unknown.localReplies.map((r) => r.status)).toEqual([404]);
    unknown.stream.complete();
  });

  it("spreads streams over the worker VMs, each configured", () => {
    // Two worker VMs: both exist and neither failed (a third does not).
    expect(filter.failed(0)).toBe(false);
    expect(filter.failed(1)).toBe(false);
    expect(() => filter.failed(2)).toThrow(RangeError);
    for (let i = 0; i < 4; i++) {
      const sink = new TestSink().attach(filter);
      sink.stream.requestHeaders(request("GET", "/v1/models"), true);
      expect(sink.localReplies[0]!.status).toBe(200);
      sink.stream.complete();
    }
    expect(logs.filter((l) => l.level >= 4)).toEqual([]);
  });
});

describe("production module: Envoy's default StopIteration conversion", () => {
  it("without allow_on_headers_stop_iteration the body never reaches the filter", async () => {
    const { filter } = await load({ allowOnHeadersStopIteration: false });
    try {
      const sink = new TestSink().attach(filter);
      sink.stream.requestHeaders(request("POST", "/v1/chat/completions"), false);
      sink.stream.requestData(bytes(JSON.stringify({ model: "m1", messages: [] })), true);
      // StopIteration became StopAll: the body is held by the host, the filter decides nothing.
      expect(sink.events).toEqual([]);
      expect(sink.requestHeaders).toBeUndefined();
      sink.stream.complete();
    } finally {
      await filter.close();
    }
  });
});

describe("production module: limits and configuration", () => {
  it("answers 413 when the buffered body exceeds the buffer limit", async () => {
    const { filter } = await load({}, { bufferLimitBytes: 64 });
    try {
      const sink = new TestSink().attach(filter);
      sink.stream.requestHeaders(request("POST", "/v1/chat/completions"), false);
      sink.stream.requestData(bytes(`{"model":"m1","messages":[{"role":"user","content":"`), false);
      sink.stream.requestData(bytes("x".repeat(100)), false);
      expect(sink.localReplies.map((r) => [r.status, r.details])).toEqual([[413, "request_payload_too_large"]]);
      sink.stream.requestData(bytes(`"}]}`), true);
      expect(sink.requestHeaders).toBeUndefined();
      sink.stream.complete();
    } finally {
      await filter.close();
    }
  });

  for (const length of [String(1048576 + 1), "99999999999999999999", "18446744073709551617"]) {
    it(`answers 413 at the request headers for content-length ${length}, before any body is buffered`, async () => {
      const { filter } = await load();
      try {
        for (const route of [undefined, { name: "httproute/default/r/rule/0/match/0/*", cluster: "inferencepool/default/p" }]) {
          const sink = new TestSink();
          if (route) sink.route = route;
          sink.attach(filter);
          sink.stream.requestHeaders(request("POST", "/v1/chat/completions", [["content-length", length]]), false);
          expect(sink.localReplies.map((r) => [r.status, r.details])).toEqual([[413, "ai_gateway_413"]]);
          sink.stream.complete();
        }
      } finally {
        await filter.close();
      }
    });
  }

  it("refuses to start when on_configure rejects the configuration", async () => {
    await expect(load({ configuration: "{" })).rejects.toThrow(/Failed to configure base Wasm plugin/);
    const broken = { ...pluginConfig(), rules: "nope" };
    await expect(load({ configuration: JSON.stringify(broken) })).rejects.toThrow(/proxy_on_configure returned false/);
  });

  it("refuses a configuration of another contract version, naming both versions", async () => {
    const attempt = await attemptLoad(JSON.stringify({ ...pluginConfig(), version: "0123456789ab" }));
    expect(attempt.error?.message).toMatch(/proxy_on_configure returned false/);
    expect(attempt.logs.split("\n")).toContain(
      `invalid plugin configuration: contract version "0123456789ab" of the configuration differs from ` +
        `"${PLUGIN_CONFIG_VERSION}" of this module: build both from the same release`,
    );
  });

  /** A rate limit rule of the plugin configuration: a Global one unless `over` says otherwise. */
  const rule = (over: Record<string, unknown>) => ({
    name: "r",
    type: "Global",
    routes: [],
    shared: false,
    headers: [],
    limit: 10,
    unitSeconds: 60,
    requestCost: { from: "Number", number: 1, metadataKey: "" },
    responseCost: { from: "Number", number: 0, metadataKey: "" },
    rlsCluster: "ratelimit",
    domain: "ai-gateway",
    failureModeDeny: false,
    timeoutMs: 1000,
    ...over,
  });

  it("refuses Global rules that one ShouldRateLimit call cannot carry", async () => {
    const attempt = (rateLimits: unknown[]) => attemptLoad(JSON.stringify({ ...pluginConfig(), rateLimits }));
    const domains = await attempt([rule({}), rule({ domain: "other" })]);
    expect(domains.loaded).toBe(false);
    expect(domains.logs).toContain('rateLimits[1].domain: "other" differs from "ai-gateway" of rateLimits[0] (one domain for all Global rules)');
    const sameRoute = await attempt([rule({ routes: ["default/a"] }), rule({ routes: ["default/a", "default/b"], failureModeDeny: true })]);
    expect(sameRoute.loaded).toBe(false);
    expect(sameRoute.logs).toContain("rateLimits[1].failureModeDeny: differs from that of rateLimits[0], which applies to the same route");
    // Policies on different routes may differ: one request never meets both.
    const apart = await attempt([rule({ routes: ["default/a"] }), rule({ routes: ["default/b"], failureModeDeny: true, timeoutMs: 50 })]);
    expect(apart).toEqual({ loaded: true, logs: expect.any(String) });
  });

  it("reads the token section through the shape check: escapes and exponents as JSON means them, wrong types named", async () => {
    const limit = (value: string, cel: string) =>
      JSON.stringify({
        ...pluginConfig(),
        costs: [{ route: "", metadataKey: "k", type: "CEL", cel: "CEL" }],
        rateLimits: [rule({ type: "Local", limit: 7, responseCost: { from: "Metadata", number: 0, metadataKey: "k" }, rlsCluster: "", domain: "" })],
      })
        .replace('"limit":7', `"limit":${value}`)
        .replace('"CEL"}', `${JSON.stringify(cel).replace("/", "\\/")}}`);
    // "\/" is "/" (json-as alone read it as NUL and the CEL expression failed to compile).
    expect(await attemptLoad(limit("1e3", "input_tokens / uint(2)"))).toEqual({ loaded: true, logs: "" });
    const wrong = await attemptLoad(limit('"ten"', "input_tokens"));
    expect(wrong.loaded).toBe(false);
    expect(wrong.logs).toContain("invalid plugin configuration: rateLimits[0].limit: must be an integer, got string");
  });
});
