// Gateway API HTTPRoutes in aigw run's configuration: routes in the table (names, matchers, precedence,
// place before the AIGatewayRoute routes), Service and InferencePool backends with weights, invalid
// references (warning, 500), host names, what is refused, and the filter's view (PluginConfig.httpRoutes).
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import type { Route } from "../../../src-host/dataplane-api/bootstrap.js";
import { GATEWAY, ipBackend, loadFiles, pool, problemsOf, route } from "../helpers.js";

/** An HTTPRoute on gw: `rules` is the YAML of spec.rules (indented by four spaces). */
function httpRoute(name: string, rules: string, extra: { namespace?: string; spec?: string; meta?: string } = {}): string {
  return `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: ${name}
${extra.namespace ? `  namespace: ${extra.namespace}\n` : ""}${extra.meta ?? ""}spec:
  parentRefs: [{name: gw, namespace: default}]
${extra.spec ?? ""}  rules:
${rules}`;
}

const poolRef = (name: string, more = "") => `{group: inference.networking.k8s.io, kind: InferencePool, name: ${name}${more}}`;

/** Service "echo" port 80 → 127.0.0.9:8080 through an EndpointSlice. */
const ECHO_SERVICE = `apiVersion: v1
kind: Service
metadata: {name: echo}
spec:
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: echo-1
  labels: {kubernetes.io/service-name: echo}
addressType: IPv4
ports: [{port: 8080}]
endpoints: [{addresses: [127.0.0.9]}]
`;

const routesOf = (cfg: ReturnType<typeof loadFiles>["cfg"]): Route[] => cfg.gateway.routes.virtualHosts[0]!.routes;
const names = (cfg: ReturnType<typeof loadFiles>["cfg"]) => routesOf(cfg).map((r) => r.name);
/** Warnings without the pools' own ones (their selectors match no pods here). */
const ownWarnings = (cfg: ReturnType<typeof loadFiles>["cfg"]) => cfg.warnings.filter((w) => w.includes("HTTPRoute"));

describe("HTTPRoutes in the route table", () => {
  const files = {
    "gw.yaml": GATEWAY,
    "pools.yaml": `${pool("a")}---\n${pool("b")}`,
    "echo.yaml": ECHO_SERVICE,
    "ai.yaml": `${ipBackend("openai")}---\n${route("ai", [["gpt", "{name: openai}"]])}`,
    "h.yaml": httpRoute(
      "h",
      `    - matches: [{path: {type: PathPrefix, value: /primary}}]
      backendRefs: [${poolRef("a", ", port: 80")}]
    - matches: [{path: {type: PathPrefix, value: /secondary/}}]
      backendRefs: [${poolRef("b")}]
      timeouts: {request: 90s}
    - matches: [{path: {type: Exact, value: /echo}, method: POST, headers: [{name: X-Tenant, value: t1}]}]
      backendRefs: [{name: echo, port: 80}]
`,
    ),
  };

  test("one route per rule and match, named as Envoy Gateway does, before the AIGatewayRoute routes and the catch-all", () => {
    const { cfg } = loadFiles(files);
    expect(names(cfg)).toEqual([
      "httproute/default/h/rule/2/match/0/*",
      "httproute/default/h/rule/1/match/0/*",
      "httproute/default/h/rule/0/match/0/*",
      "aigatewayroute/default/ai/rule/0/match/0/backend/default/openai",
      "route-not-found",
    ]);
    const [echo, secondary, primary] = routesOf(cfg);
    expect(echo).toEqual({
      name: "httproute/default/h/rule/2/match/0/*",
      match: {
        path: "/echo",
        headers: [
          { name: ":method", exact: "POST" },
          { name: "x-tenant", exact: "t1" },
        ],
      },
      action: { cluster: "service/default/echo/80" },
      timeoutMs: 15_000,
    });
    // PathPrefix matches whole segments; the trailing "/" is trimmed as Envoy Gateway does.
    expect(secondary!.match).toEqual({ pathSeparatedPrefix: "/secondary", headers: [] });
    expect(secondary!.action).toEqual({ cluster: "inferencepool/default/b" });
    expect(secondary!.timeoutMs).toBe(90_000);
    expect(primary!.match).toEqual({ pathSeparatedPrefix: "/primary", headers: [] });
    expect(primary!.action).toEqual({ cluster: "inferencepool/default/a" });
    // The filter runs on them: it asks the pools' Endpoint Pickers.
    expect(routesOf(cfg).every((r) => r.filterEnabled !== false)).toBe(true);
    expect(ownWarnings(cfg)).toEqual([]);
  });

  test("the filter learns each rule's clusters and pools; the pools and their EPP clusters are configured", () => {
    const { cfg } = loadFiles(files);
    expect(cfg.plugin.httpRoutes).toEqual([
      { name: "httproute/default/h/rule/0", backends: [{ cluster: "inferencepool/default/a", pool: "default/a" }] },
      { name: "httproute/default/h/rule/1", backends: [{ cluster: "inferencepool/default/b", pool: "default/b" }] },
      { name: "httproute/default/h/rule/2", backends: [{ cluster: "service/default/echo/80", pool: "" }] },
    ]);
    expect(cfg.plugin.pools.map((p) => p.name)).toEqual(["default/a", "default/b"]);
    expect(JSON.parse(cfg.gateway.wasm!.configuration)).toEqual(cfg.plugin);
    const clusters = new Map(cfg.gateway.clusters.map((c) => [c.name, c]));
    expect([...clusters.keys()]).toEqual([
      "aiservicebackend/default/openai",
      "epp/default/a",
      "epp/default/b",
      "inferencepool/default/a",
      "inferencepool/default/b",
      "service/default/echo/80",
    ]);
    expect(clusters.get("service/default/echo/80")).toEqual({
      name: "service/default/echo/80",
      type: "STATIC",
      endpoints: [{ address: "127.0.0.9", port: 8080, hostname: "127.0.0.9", ready: true }],
      lbPolicy: "LEAST_REQUEST",
      connectTimeoutMs: 10_000,
    });
  });

  test("without HTTPRoutes the plugin configuration has no httpRoutes field", () => {
    const { cfg } = loadFiles({ "gw.yaml": GATEWAY, "ai.yaml": `${ipBackend("openai")}---\n${route("ai", [["gpt", "{name: openai}"]])}` });
    expect("httpRoutes" in cfg.plugin).toBe(false);
  });

  test("Gateway API precedence: exact path, longer path, method, more headers; then the older route, then rule order", () => {
    const { cfg } = loadFiles({
      "gw.yaml": GATEWAY,
      "echo.yaml": ECHO_SERVICE,
      "old.yaml": httpRoute(
        "old",
        `    - matches: [{path: {value: /a}}, {path: {value: /a}, headers: [{name: x, value: "1"}]}]
      backendRefs: [{name: echo, port: 80}]
    - matches: [{path: {value: /a}}]
      backendRefs: [{name: echo, port: 80}]
`,
        { meta: '  creationTimestamp: "2024-01-01T00:00:00Z"\n' },
      ),
      "new.yaml": httpRoute(
        "new",
        `    - matches: [{path: {value: /a}}, {path: {value: /a/b}}, {path: {type: RegularExpression, value: "/a/.*"}}, {path: {type: Exact, value: /a}}, {path: {value: /a}, method: GET}]
      backendRefs: [{name: echo, port: 80}]
`,
        { meta: '  creationTimestamp: "2025-01-01T00:00:00Z"\n' },
      ),
    });
    expect(names(cfg).slice(0, -1)).toEqual([
      "httproute/default/new/rule/0/match/3/*", // Exact
      "httproute/default/new/rule/0/match/2/*", // RegularExpression
      "httproute/default/new/rule/0/match/1/*", // the longest prefix
      "httproute/default/new/rule/0/match/4/*", // a method
      "httproute/default/old/rule/0/match/1/*", // a header
      "httproute/default/old/rule/0/match/0/*", // the older route, first rule
      "httproute/default/old/rule/1/match/0/*",
      "httproute/default/new/rule/0/match/0/*",
    ]);
    expect(routesOf(cfg)[1]!.match).toEqual({ safeRegex: "/a/.*", headers: [] });
  });

  test("host names: :authority matchers (port ignored), the most specific first; a listener's host name intersects them", () => {
    /** Dots escaped, each letter a class of both cases. */
    const hostRegex = (h: string) => h.replaceAll(".", "\\.").replace(/[a-z]/g, (c) => `[${c}${c.toUpperCase()}]`);
    const { cfg } = loadFiles({
      "gw.yaml": GATEWAY,
      "echo.yaml": ECHO_SERVICE,
      "h.yaml": httpRoute("h", "    - backendRefs: [{name: echo, port: 80}]\n", { spec: '  hostnames: ["*.example.com", api.example.com]\n' }),
    });
    expect(
      routesOf(cfg)
        .slice(0, 2)
        .map((r) => [r.name, r.match]),
    ).toEqual([
      [
        "httproute/default/h/rule/0/match/0/api_example_com",
        { prefix: "/", headers: [{ name: ":authority", regex: `${hostRegex("api.example.com")}(:[0-9]+)?` }] },
      ],
      [
        "httproute/default/h/rule/0/match/0/*_example_com",
        { prefix: "/", headers: [{ name: ":authority", regex: `[^:]+${hostRegex(".example.com")}(:[0-9]+)?` }] },
      ],
    ]);

    const listener = GATEWAY.replace("      port: 80\n", '      port: 80\n      hostname: "*.example.com"\n');
    const { dir, cfg: narrowed } = loadFiles({
      "gw.yaml": listener,
      "echo.yaml": ECHO_SERVICE,
      "h.yaml": httpRoute("h", "    - backendRefs: [{name: echo, port: 80}]\n", { spec: '  hostnames: ["*.example.com", a.b.example.com, other.org]\n' }),
      "n.yaml": httpRoute("n", "    - backendRefs: [{name: echo, port: 80}]\n", { spec: "  hostnames: [other.org]\n" }),
    });
    // The listener's own host name needs no matcher (the virtual host has it); other.org is outside it.
    expect(
      routesOf(narrowed)
        .slice(0, -1)
        .map((r) => [r.name, r.match.headers]),
    ).toEqual([
      ["httproute/default/h/rule/0/match/0/a_b_example_com", [{ name: ":authority", regex: `${hostRegex("a.b.example.com")}(:[0-9]+)?` }]],
      ["httproute/default/h/rule/0/match/0/*_example_com", []],
    ]);
    expect(ownWarnings(narrowed)).toEqual([
      `${join(dir, "n.yaml")}: HTTPRoute default/n: spec.hostnames: no host name matches listener http's hostname *.example.com: the route gets no requests`,
    ]);
  });
});

describe("invalid references: a warning, and 500 for their share of the requests", () => {
  test("a missing pool makes the rule answer 500; a missing Service in a weighted rule takes its share through a missing cluster", () => {
    const { dir, cfg } = loadFiles({
      "gw.yaml": GATEWAY,
      "pools.yaml": pool("a"),
      "echo.yaml": ECHO_SERVICE,
      "h.yaml": httpRoute(
        "h",
        `    - matches: [{path: {value: /gone}}]
      backendRefs: [${poolRef("nope")}]
    - matches: [{path: {value: /half}}]
      backendRefs: [{name: echo, port: 80, weight: 3}, {name: ghost, port: 80, weight: 1}, ${poolRef("a", ", weight: 2")}]
    - matches: [{path: {value: /none}}]
`,
      ),
    });
    const f = join(dir, "h.yaml");
    expect(ownWarnings(cfg)).toEqual([
      `${f}: HTTPRoute default/h: spec.rules[0].backendRefs[0]: InferencePool default/nope not found: its share of the requests gets 500`,
      `${f}: HTTPRoute default/h: spec.rules[1].backendRefs[1]: Service default/ghost not found: its share of the requests gets 500`,
      `${f}: HTTPRoute default/h: spec.rules[2].backendRefs: no backends: requests matching this rule get 500`,
    ]);
    const byName = new Map(routesOf(cfg).map((r) => [r.name, r]));
    expect(byName.get("httproute/default/h/rule/0/match/0/*")!.action).toEqual({ directResponse: { status: 500, body: "" } });
    expect(byName.get("httproute/default/h/rule/2/match/0/*")!.action).toEqual({ directResponse: { status: 500, body: "" } });
    const half = byName.get("httproute/default/h/rule/1/match/0/*")!;
    expect(half.action).toEqual({
      weightedClusters: [
        { name: "service/default/echo/80", weight: 3 },
        { name: "inferencepool/default/a", weight: 2 },
        { name: "invalid-backend-ref", weight: 1 },
      ],
    });
    expect(half.clusterNotFoundStatus).toBe(500);
    expect(cfg.gateway.clusters.some((c) => c.name === "invalid-backend-ref")).toBe(false);
    expect(cfg.plugin.httpRoutes![1]).toEqual({
      name: "httproute/default/h/rule/1",
      backends: [
        { cluster: "service/default/echo/80", pool: "" },
        { cluster: "inferencepool/default/a", pool: "default/a" },
      ],
    });
    expect(cfg.plugin.httpRoutes![0]).toEqual({ name: "httproute/default/h/rule/0", backends: [] });
  });

  test("a pool in another namespace needs a ReferenceGrant there", () => {
    const grant = `apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: g, namespace: models}
spec:
  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute, namespace: default}]
  to: [{group: inference.networking.k8s.io, kind: InferencePool}]
`;
    const files = {
      "gw.yaml": GATEWAY,
      "pools.yaml": pool("a").replaceAll("metadata:\n  name: ", "metadata:\n  namespace: models\n  name: "),
      "h.yaml": httpRoute("h", `    - backendRefs: [${poolRef("a", ", namespace: models")}]\n`),
    };
    const denied = loadFiles(files);
    expect(ownWarnings(denied.cfg)).toEqual([
      `${join(denied.dir, "h.yaml")}: HTTPRoute default/h: spec.rules[0].backendRefs[0]: InferencePool models/a is in another namespace and no ReferenceGrant there allows it: its share of the requests gets 500`,
    ]);
    const granted = loadFiles({ ...files, "grant.yaml": grant });
    expect(ownWarnings(granted.cfg)).toEqual([]);
    expect(routesOf(granted.cfg)[0]!.action).toEqual({ cluster: "inferencepool/models/a" });
  });
});

describe("what aigw run refuses or ignores", () => {
  test("filters, query parameter matches, other backend kinds, a Service without port, bad paths and regexes are errors", () => {
    const { dir, problems } = problemsOf({
      "gw.yaml": GATEWAY,
      "echo.yaml": ECHO_SERVICE,
      "h.yaml": httpRoute(
        "h",
        `    - matches: [{path: {value: /x}, queryParams: [{name: a, value: b}]}, {path: {value: "no-slash"}}, {path: {type: RegularExpression, value: "(unclosed"}}]
      filters: [{type: RequestHeaderModifier}]
      backendRefs: [{name: echo}, {group: gateway.envoyproxy.io, kind: Backend, name: b}, {name: echo, port: 80, filters: []}]
    - matches: [{method: BREW}]
      backendRefs: [{name: echo, port: 80, weight: -1}]
`,
      ),
    });
    const f = join(dir, "h.yaml");
    expect(problems).toEqual([
      `${f}: HTTPRoute default/h: spec.rules[0].filters: not supported by aigw run`,
      `${f}: HTTPRoute default/h: spec.rules[0].matches[0].queryParams: not supported by aigw run`,
      `${f}: HTTPRoute default/h: spec.rules[0].matches[1].path.value: must be an absolute path without "//", "/./", "/../", "?" or "#", got "no-slash"`,
      expect.stringMatching(new RegExp(`^${f}: HTTPRoute default/h: spec\\.rules\\[0\\]\\.matches\\[2\\]\\.path\\.value: not a valid regular expression: `)),
      `${f}: HTTPRoute default/h: spec.rules[0].backendRefs[0].port: required for a Service backend`,
      `${f}: HTTPRoute default/h: spec.rules[0].backendRefs[1]: must be a Service (group "") or an InferencePool (group inference.networking.k8s.io), got gateway.envoyproxy.io/Backend`,
      `${f}: HTTPRoute default/h: spec.rules[0].backendRefs[2].filters: not supported by aigw run`,
      `${f}: HTTPRoute default/h: spec.rules[1].matches[0].method: must be one of GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH, got "BREW"`,
      `${f}: HTTPRoute default/h: spec.rules[1].backendRefs[0].weight: must be between 0 and 1000000, got -1`,
    ]);
  });

  test("a pool backendRef's port is ignored (GIE conformance); unknown fields are warned about; a parentRef to another Gateway is an error", () => {
    const { dir, cfg } = loadFiles({
      "gw.yaml": GATEWAY,
      "pools.yaml": pool("a"),
      "h.yaml": httpRoute("h", `    - backendRefs: [${poolRef("a", ", port: 8888")}]\n      retry: {attempts: 2}\n      sessionPersistence: {}\n`, {
        spec: "  useDefaultGateways: All\n",
      }),
    });
    const f = join(dir, "h.yaml");
    expect(ownWarnings(cfg)).toEqual([
      `${f}: HTTPRoute default/h: spec.useDefaultGateways: ignored by aigw run`,
      `${f}: HTTPRoute default/h: spec.rules[0].retry: ignored by aigw run`,
      `${f}: HTTPRoute default/h: spec.rules[0].sessionPersistence: ignored by aigw run`,
    ]);
    expect(routesOf(cfg)[0]!.action).toEqual({ cluster: "inferencepool/default/a" });

    const other = problemsOf({
      "gw.yaml": GATEWAY,
      "h.yaml": httpRoute("h", "    - backendRefs: []\n").replace("{name: gw, namespace: default}", "{name: elsewhere}"),
    });
    expect(other.problems).toEqual([`${join(other.dir, "h.yaml")}: HTTPRoute default/h: spec.parentRefs[0]: Gateway default/elsewhere not found`]);
  });

  test("an HTTPRoute that takes the AIGatewayRoutes' paths is worth a warning", () => {
    const { dir, cfg } = loadFiles({
      "gw.yaml": GATEWAY,
      "echo.yaml": ECHO_SERVICE,
      "ai.yaml": `${ipBackend("openai")}---\n${route("ai", [["gpt", "{name: openai}"]])}`,
      "h.yaml": httpRoute(
        "h",
        `    - matches: [{path: {value: /v1}}, {path: {value: /v1}, headers: [{name: x-plain, value: "1"}]}, {path: {value: /other}}]
      backendRefs: [{name: echo, port: 80}]
`,
      ),
    });
    expect(ownWarnings(cfg)).toEqual([
      `${join(dir, "h.yaml")}: HTTPRoute default/h: spec.rules[0].matches[0]: takes /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/responses, /v1/responses/input_tokens, /v1/images/generations, ` +
        `/v1/audio/speech, /v1/audio/transcriptions, /v1/audio/translations, /v1/models: those requests are served as plain HTTPRoute requests, not by the AIGatewayRoutes`,
    ]);
  });
});
