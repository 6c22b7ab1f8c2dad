// Trailers end a body: Envoy calls decodeTrailers/encodeTrailers after the last data callback, which then
// carried end_stream = false (HTTP/1.1 chunked trailer fields, HTTP/2 trailers). The filter must decide on
// such a request exactly as on one ended by data — routing, the EPP, refusals — holding the trailers until
// it has, and must settle usage and costs of a response that ends in trailers.
import { afterEach, describe, expect, it } from "vitest";
import type { ClusterConfig } from "../../../../src-host/dataplane-api/bootstrap.js";
import type { HeaderList } from "../../../../src-host/dataplane-api/http-filter.js";
import { TestSink, bytes, load, pluginConfig, request, until } from "./helpers.js";
import { eppCluster, poolConfig, startPicker } from "./pickers.js";

const CHAT_HEAD = '{"messages":[{"role":"user","content":"hi"}],';
const CHAT_TAIL = '"model":"m1"}';
const TRAILERS: HeaderList = [["x-checksum", "abc"]];
const JSON_HEADERS: HeaderList = [["content-type", "application/json"]];

/** A request whose body comes in two chunks without end of stream, then trailers. */
function sendWithTrailers(sink: TestSink, path = "/v1/chat/completions", head = CHAT_HEAD, tail = CHAT_TAIL): void {
  sink.stream.requestHeaders(request("POST", path, JSON_HEADERS), false);
  sink.stream.requestData(bytes(head), false);
  sink.stream.requestData(bytes(tail), false);
  sink.stream.requestTrailers(TRAILERS);
}

const upstreamEvents = (sink: TestSink) => sink.events.filter((e) => e.startsWith("req-") || e.startsWith("local-reply"));

describe("request trailers end the body", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  async function loaded(over: Parameters<typeof pluginConfig>[0] = {}, clusters: ClusterConfig[] = []) {
    const { filter, stats } = await load({ configuration: JSON.stringify(pluginConfig(over)) }, { clusters });
    cleanups.push(() => filter.close());
    return { filter, stats };
  }

  it("an AIGatewayRoute request is routed on its body's model, then forwarded with its trailers", async () => {
    const { filter } = await loaded();
    const sink = new TestSink().attach(filter);
    sendWithTrailers(sink);
    expect(upstreamEvents(sink)).toEqual([`req-headers eos=false`, `req-data ${(CHAT_HEAD + CHAT_TAIL).length} eos=false`, "req-trailers 1"]);
    expect(sink.header("x-ai-eg-model")).toBe("m1");
    expect(sink.header("x-ai-eg-backend")).toBe("default/b1");
    expect(sink.routeCacheCleared).toBeGreaterThanOrEqual(1);
    expect(sink.requestText()).toBe(CHAT_HEAD + CHAT_TAIL);
  });

  it("a modelNameOverride is applied to a body ended by trailers", async () => {
    const { filter } = await loaded({
      rules: [
        {
          route: "default/r",
          index: 0,
          matches: [{ headers: [{ name: "x-ai-eg-model", type: "Exact", value: "m1" }] }],
          backends: [{ name: "default/b1", kind: "AIServiceBackend", weight: 1, modelNameOverride: "upstream-name" }],
        },
      ],
    });
    const sink = new TestSink().attach(filter);
    sendWithTrailers(sink);
    expect(JSON.parse(sink.requestText())).toEqual({ messages: [{ role: "user", content: "hi" }], model: "upstream-name" });
    expect(sink.header("content-length")).toBe(String(sink.requestText().length));
    expect(sink.events.at(-1)).toBe("req-trailers 1");
  });

  it("a malformed body ended by trailers gets the 400, and nothing reaches the upstream", async () => {
    const { filter } = await loaded();
    const sink = new TestSink().attach(filter);
    sendWithTrailers(sink, "/v1/chat/completions", '{"model":"m1",', '"messages":[}');
    expect(sink.localReplies.map((r) => r.status)).toEqual([400]);
    expect(upstreamEvents(sink).filter((e) => e.startsWith("req-"))).toEqual([]);
  });

  it("a body over the limit that ends in trailers gets 413", async () => {
    const { filter } = await loaded({ maxRequestBodyBytes: 64 });
    const sink = new TestSink().attach(filter);
    sendWithTrailers(sink, "/v1/chat/completions", CHAT_HEAD, `"model":"m1","pad":"${"x".repeat(40)}"}`);
    expect(sink.localReplies.map((r) => r.status)).toEqual([413]);
    expect(upstreamEvents(sink).filter((e) => e.startsWith("req-"))).toEqual([]);
  });

  describe("to an InferencePool", () => {
    const POOL_ROUTE = "httproute/default/r/rule/0/match/0/*";
    const rule = { name: "httproute/default/r/rule/0", backends: [{ cluster: "inferencepool/default/p", pool: "default/p" }] };
    const aiPoolRule = {
      route: "default/r",
      index: 0,
      matches: [{ headers: [{ name: "x-ai-eg-model", type: "Exact" as const, value: "m1" }] }],
      backends: [{ name: "default/p", kind: "InferencePool" as const, weight: 1, modelNameOverride: "" }],
    };

    it("an HTTPRoute request to a FailClose pool whose EPP is unreachable gets 503", async () => {
      const { filter } = await loaded({ pools: [poolConfig("default/p")], httpRoutes: [rule] }, [eppCluster("default/p", 1, false)]);
      const sink = new TestSink();
      sink.route = { name: POOL_ROUTE, cluster: "inferencepool/default/p" };
      sink.attach(filter);
      sendWithTrailers(sink, "/anything");
      await until(() => sink.localReplies.length > 0);
      expect(sink.localReplies[0]!.status).toBe(503);
      expect(upstreamEvents(sink).filter((e) => e.startsWith("req-"))).toEqual([]);
    });

    it("an EPP's refusal (429) is relayed, and nothing reaches a pod", async () => {
      const picker = await startPicker("10.0.0.7:8000", { immediate: { code: 429, text: "shed" } });
      cleanups.push(() => picker.close());
      const { filter } = await loaded({ rules: [aiPoolRule], pools: [poolConfig("default/p")] }, [eppCluster("default/p", picker.port)]);
      const sink = new TestSink().attach(filter);
      sendWithTrailers(sink);
      await until(() => sink.localReplies.length > 0);
      expect(sink.localReplies[0]!.status).toBe(429);
      expect(upstreamEvents(sink).filter((e) => e.startsWith("req-"))).toEqual([]);
      expect(picker.log).toEqual(["request_headers eos=false", `request_body ${(CHAT_HEAD + CHAT_TAIL).length} eos=true`]);
    });

    it("the request waits for the EPP's pick, then goes on with the body and its trailers", async () => {
      const picker = await startPicker("10.0.0.7:8000");
      cleanups.push(() => picker.close());
      const { filter } = await loaded({ rules: [aiPoolRule], pools: [poolConfig("default/p")] }, [eppCluster("default/p", picker.port)]);
      const sink = new TestSink().attach(filter);
      sendWithTrailers(sink);
      expect(sink.requestHeaders).toBeUndefined();
      await until(() => sink.requestEnded);
      expect(sink.header("x-gateway-destination-endpoint")).toBe("10.0.0.7:8000");
      expect(sink.requestText()).toBe(CHAT_HEAD + CHAT_TAIL);
      expect(sink.events.at(-1)).toBe("req-trailers 1");
    });
  });
});

describe("response trailers end the response", () => {
  const USAGE = { prompt_tokens: 7, completion_tokens: 5, total_tokens: 12 };
  const costs = [
    { route: "", metadataKey: "out", type: "OutputToken" as const, cel: "" },
    { route: "", metadataKey: "in", type: "InputToken" as const, cel: "" },
  ];

  async function routed() {
    const { filter } = await load({ configuration: JSON.stringify(pluginConfig({ costs })) });
    const sink = new TestSink().attach(filter);
    sink.stream.requestHeaders(request("POST", "/v1/chat/completions", JSON_HEADERS), false);
    sink.stream.requestData(bytes(CHAT_HEAD + CHAT_TAIL), true);
    return { filter, sink };
  }
  const state = (sink: TestSink, key: string) => new TextDecoder().decode(sink.info.filterState.get(`wasm.${key}`));

  it("a JSON answer ending in trailers is metered and priced", async () => {
    const { filter, sink } = await routed();
    const body = JSON.stringify({ id: "x", model: "m1", choices: [], usage: USAGE });
    sink.stream.responseHeaders([[":status", "200"], ...JSON_HEADERS], false);
    sink.stream.responseData(bytes(body.slice(0, 20)), false);
    sink.stream.responseData(bytes(body.slice(20)), false);
    sink.stream.responseTrailers([["grpc-status", "0"]]);
    expect(sink.responseText()).toBe(body);
    expect(sink.events.at(-1)).toBe("resp-trailers 1");
    expect(state(sink, "out")).toBe("5");
    expect(state(sink, "in")).toBe("7");
    sink.stream.complete();
    await filter.close();
  });

  it("an event stream ending in trailers is metered and priced", async () => {
    const { filter, sink } = await routed();
    sink.stream.responseHeaders(
      [
        [":status", "200"],
        ["content-type", "text/event-stream"],
      ],
      false,
    );
    sink.stream.responseData(bytes('data: {"model":"m1","choices":[{"delta":{"content":"a"}}]}\n\n'), false);
    sink.stream.responseData(bytes(`data: {"model":"m1","choices":[],"usage":${JSON.stringify(USAGE)}}\n\ndata: [DONE]\n\n`), false);
    sink.stream.responseTrailers([["x-end", "1"]]);
    expect(state(sink, "out")).toBe("5");
    expect(state(sink, "in")).toBe("7");
    sink.stream.complete();
    await filter.close();
  });
});
