// HTTPRoute routes through the production module: the filter reads xds.route_name, does no AI processing on
// them, and asks the pool's Endpoint Picker (a grpc-js ext_proc server on loopback) for routes to a pool —
// with request_headers alone and end of stream when the request has no body.
import { afterEach, describe, expect, it } from "vitest";
import type { ClusterConfig } from "../../../../src-host/dataplane-api/bootstrap.js";
import { eppCluster, poolConfig, startPicker } from "./pickers.js";
import type { HTTPRouteRuleConfig, PoolConfig } from "../../../../src-host/config/plugin-config.js";
import { TestSink, attemptLoad, bytes, load, pluginConfig, request, until } from "./helpers.js";

/** One HTTPRoute rule per entry; the default plugin config's AIGatewayRoute rule stays. */
async function loadPlain(rules: HTTPRouteRuleConfig[], pools: PoolConfig[], clusters: ClusterConfig[]) {
  const config = pluginConfig({ pools, httpRoutes: rules });
  return load({ configuration: JSON.stringify(config) }, { clusters });
}

const POOL_ROUTE = "httproute/default/r/rule/0/match/0/*";
const SERVICE_ROUTE = "httproute/default/r/rule/1/match/0/*";
const PLAIN_RULES: HTTPRouteRuleConfig[] = [
  { name: "httproute/default/r/rule/0", backends: [{ cluster: "inferencepool/default/p", pool: "default/p" }] },
  { name: "httproute/default/r/rule/1", backends: [{ cluster: "service/default/s/80", pool: "" }] },
];

describe("plain HTTPRoute routes", () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    while (cleanups.length) await cleanups.pop()!();
  });

  async function setup(failureMode: "FailOpen" | "FailClose" = "FailClose", eppReady = true) {
    const picker = await startPicker("10.0.0.7:8000");
    cleanups.push(() => picker.close());
    const { filter } = await loadPlain(PLAIN_RULES, [poolConfig("default/p", failureMode)], [eppCluster("default/p", picker.port, eppReady)]);
    cleanups.push(() => filter.close());
    return { picker, filter };
  }

  it("a bodiless GET to a pool: request_headers with end of stream, and the request follows the pick", async () => {
    const { picker, filter } = await setup();
    const sink = new TestSink();
    sink.route = { name: POOL_ROUTE, cluster: "inferencepool/default/p" };
    sink.attach(filter);
    sink.stream.requestHeaders(
      request("GET", "/anything?x=1", [
        ["x-gateway-destination-endpoint", "10.9.9.9:1"],
        ["x-ai-eg-model", "m1"],
      ]),
      true,
    );
    expect(sink.requestHeaders).toBeUndefined(); // waiting for the picker
    await until(() => sink.requestHeaders !== undefined);
    expect(picker.log).toEqual(["request_headers eos=true"]);
    expect(sink.events.filter((e) => e.startsWith("req-"))).toEqual(["req-headers eos=true"]);
    expect(sink.header("x-gateway-destination-endpoint")).toBe("10.0.0.7:8000");
    expect(sink.header(":path")).toBe("/anything?x=1");
    // No AI processing: the client's model header stays, no backend header is set.
    expect(sink.header("x-ai-eg-model")).toBe("m1");
    expect(sink.header("x-ai-eg-backend")).toBeUndefined();
    expect(sink.routeCacheCleared).toBeGreaterThanOrEqual(1);
    expect(sink.localReplies).toEqual([]);

    // The response phase reaches the picker; the client's response is not held.
    sink.stream.responseHeaders(
      [
        [":status", "200"],
        ["content-type", "text/plain"],
      ],
      false,
    );
    expect(sink.responseHeaders).toBeDefined();
    sink.stream.responseData(bytes("hello"), true);
    expect(sink.responseText()).toBe("hello");
    await until(() => picker.log.length === 3);
    expect(picker.log).toEqual(["request_headers eos=true", "response_headers eos=false", "response_body 5 eos=true"]);
  });

  it("a POST to a pool needs no model: headers, then the whole body, and the picker's body goes upstream", async () => {
    const picker = await startPicker("10.0.0.8:8000", { body: (b) => Buffer.from(`${b.toString()}!`) });
    cleanups.push(() => picker.close());
    const { filter } = await loadPlain(PLAIN_RULES, [poolConfig("default/p")], [eppCluster("default/p", picker.port)]);
    cleanups.push(() => filter.close());
    const sink = new TestSink();
    sink.route = { name: POOL_ROUTE, cluster: "inferencepool/default/p" };
    sink.attach(filter);
    sink.stream.requestHeaders(
      request("POST", "/upload", [
        ["content-type", "text/plain"],
        ["content-length", "9"],
      ]),
      false,
    );
    sink.stream.requestData(bytes("not "), false);
    sink.stream.requestData(bytes("json"), true);
    await until(() => sink.requestEnded);
    expect(picker.log).toEqual(["request_headers eos=false", "request_body 8 eos=true"]);
    expect(sink.header("x-gateway-destination-endpoint")).toBe("10.0.0.8:8000");
    expect(sink.requestText()).toBe("not json!");
    expect(sink.header("content-length")).toBe("9");
    expect(sink.localReplies).toEqual([]);
  });

  it("a route to a Service continues at once, body untouched and not buffered; the client's endpoint header is dropped", async () => {
    const { picker, filter } = await setup();
    const sink = new TestSink();
    sink.route = { name: SERVICE_ROUTE, cluster: "service/default/s/80" };
    sink.attach(filter);
    sink.stream.requestHeaders(request("POST", "/v1/chat/completions", [["x-gateway-destination-endpoint", "10.9.9.9:1"]]), false);
    expect(sink.events).toEqual(["req-headers eos=false"]);
    expect(sink.header("x-gateway-destination-endpoint")).toBeUndefined();
    sink.stream.requestData(bytes("{no model"), false);
    sink.stream.requestData(bytes("}"), true);
    expect(sink.events).toEqual(["req-headers eos=false", "req-data 9 eos=false", "req-data 1 eos=true"]);
    sink.stream.responseHeaders([[":status", "200"]], false);
    sink.stream.responseData(bytes("ok"), true);
    expect(sink.responseText()).toBe("ok");
    expect(picker.log).toEqual([]);
    expect(sink.localReplies).toEqual([]);
  });

  it("other routes keep the AI processing: the catch-all still answers unsupported paths", async () => {
    const { filter } = await setup();
    const sink = new TestSink();
    sink.route = { name: "route-not-found" };
    sink.attach(filter);
    sink.stream.requestHeaders(request("GET", "/anything"), true);
    expect(sink.localReplies.map((r) => r.status)).toEqual([404]);
    expect(sink.localReplies[0]!.body).toContain("unsupported path: /anything");
  });

  it("no ready picker: FailClose answers 503, FailOpen sends the bodiless request on without a destination", async () => {
    const closed = await setup("FailClose", false);
    const a = new TestSink();
    a.route = { name: POOL_ROUTE, cluster: "inferencepool/default/p" };
    a.attach(closed.filter);
    a.stream.requestHeaders(request("GET", "/"), true);
    await until(() => a.localReplies.length > 0);
    expect(a.localReplies[0]!.status).toBe(503);
    expect(a.localReplies[0]!.body).toContain("default/p");

    const open = await setup("FailOpen", false);
    const b = new TestSink();
    b.route = { name: POOL_ROUTE, cluster: "inferencepool/default/p" };
    b.attach(open.filter);
    b.stream.requestHeaders(request("GET", "/", [["x-gateway-destination-endpoint", "10.9.9.9:1"]]), true);
    await until(() => b.requestEnded);
    expect(b.header("x-gateway-destination-endpoint")).toBeUndefined();
    expect(b.localReplies).toEqual([]);
  });

  it("a rule weighted over two pools asks the picker of the cluster the route chose", async () => {
    const first = await startPicker("10.0.1.1:8000");
    const second = await startPicker("10.0.2.2:8000");
    cleanups.push(
      () => first.close(),
      () => second.close(),
    );
    const rules: HTTPRouteRuleConfig[] = [
      {
        name: "httproute/default/w/rule/0",
        backends: [
          { cluster: "inferencepool/default/a", pool: "default/a" },
          { cluster: "inferencepool/default/b", pool: "default/b" },
        ],
      },
    ];
    const { filter } = await loadPlain(
      rules,
      [poolConfig("default/a"), poolConfig("default/b")],
      [eppCluster("default/a", first.port), eppCluster("default/b", second.port)],
    );
    cleanups.push(() => filter.close());
    for (const [cluster, want] of [
      ["inferencepool/default/b", "10.0.2.2:8000"],
      ["inferencepool/default/a", "10.0.1.1:8000"],
    ]) {
      const sink = new TestSink();
      sink.route = { name: "httproute/default/w/rule/0/match/0/*", cluster };
      sink.attach(filter);
      sink.stream.requestHeaders(request("GET", "/w"), true);
      await until(() => sink.requestEnded);
      expect(sink.header("x-gateway-destination-endpoint")).toBe(want);
    }
    expect(first.log).toEqual(["request_headers eos=true"]);
    expect(second.log).toEqual(["request_headers eos=true"]);
  });

  it("refuses an HTTPRoute rule naming a pool the configuration does not define", async () => {
    const config = pluginConfig({ httpRoutes: [{ name: "httproute/default/r/rule/0", backends: [{ cluster: "c", pool: "default/missing" }] }] });
    const attempt = await attemptLoad(JSON.stringify(config));
    expect(attempt.error?.message).toMatch(/proxy_on_configure returned false/);
    expect(attempt.logs).toContain('httpRoutes[0].backends[0].pool: no pool "default/missing" in pools');
  });
});
