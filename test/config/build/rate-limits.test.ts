// Envoy Gateway BackendTrafficPolicy rateLimit rules → PluginConfig.rateLimits, the rate limit service's
// cluster and pod, and every mistake reported with its file, object and field.
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { loadConfig } from "../../../src-host/config/load-config.js";
import type { RateLimitConfig } from "../../../src-host/config/plugin-config.js";
import { GATEWAY, OPTS, ipBackend, loadFiles, manifestDir, problemsOf, route } from "../helpers.js";

const EXAMPLE = "envoy/examples/inference-pool";

/** Shaped like Envoy AI Gateway's examples/token_ratelimit: one route, its costs, a testupstream Deployment. */
const TOKEN_ROUTE = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: token-ratelimit
spec:
  controllerName: gateway.envoyproxy.io/gatewayclass-controller
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: token-ratelimit
  namespace: default
spec:
  gatewayClassName: token-ratelimit
  listeners:
    - name: http
      protocol: HTTP
      port: 80
  infrastructure:
    parametersRef:
      group: gateway.envoyproxy.io
      kind: EnvoyProxy
      name: token-ratelimit
---
apiVersion: aigateway.envoyproxy.io/v1alpha1
kind: AIGatewayRoute
metadata:
  name: token-ratelimit
  namespace: default
spec:
  parentRefs:
    - name: token-ratelimit
      kind: Gateway
      group: gateway.networking.k8s.io
  rules:
    - matches:
        - headers:
            - type: Exact
              name: x-ai-eg-model
              value: rate-limit-funky-model
      backendRefs:
        - name: token-ratelimit-testupstream
  llmRequestCosts:
    - metadataKey: llm_input_token
      type: InputToken
    - metadataKey: llm_output_token
      type: OutputToken
    - metadataKey: llm_total_token
      type: TotalToken
    - metadataKey: llm_cel_calculated_token
      type: CEL
      cel: "input_tokens == uint(3) ? 100000000 : 0"
---
apiVersion: aigateway.envoyproxy.io/v1alpha1
kind: AIServiceBackend
metadata:
  name: token-ratelimit-testupstream
  namespace: default
spec:
  schema:
    name: OpenAI
  backendRef:
    name: token-ratelimit-testupstream
    kind: Backend
    group: gateway.envoyproxy.io
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: Backend
metadata:
  name: token-ratelimit-testupstream
  namespace: default
spec:
  endpoints:
    - fqdn:
        hostname: token-ratelimit-testupstream.default.svc.cluster.local
        port: 80
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: token-ratelimit-testupstream
  namespace: default
spec:
  replicas: 1
  selector:
    matchLabels:
      app: token-ratelimit-testupstream
  template:
    metadata:
      labels:
        app: token-ratelimit-testupstream
    spec:
      containers:
        - name: testupstream
          image: docker.io/envoyproxy/ai-gateway-testupstream:latest
          ports:
            - containerPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: token-ratelimit-testupstream
  namespace: default
spec:
  selector:
    app: token-ratelimit-testupstream
  ports:
    - protocol: TCP
      port: 80
      targetPort: 8080
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: EnvoyProxy
metadata:
  name: token-ratelimit
  namespace: default
spec:
  provider:
    type: Kubernetes
`;

/** A per-user token budget charged with the response's `key` cost, checked (cost 0) on the request. */
const userRule = (key: string, requests: number) => `        - clientSelectors:
            - headers:
                - name: x-user-id
                  type: Distinct
          limit:
            requests: ${requests}
            unit: Hour
          cost:
            request:
              from: Number
              number: 0
            response:
              from: Metadata
              metadata:
                namespace: io.envoy.ai_gateway
                key: ${key}
`;

const GLOBAL_POLICY = `apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata:
  name: token-ratelimit-policy
  namespace: default
spec:
  targetRefs:
    - name: token-ratelimit
      kind: Gateway
      group: gateway.networking.k8s.io
  rateLimit:
    type: Global
    global:
      rules:
${userRule("llm_input_token", 10)}${userRule("llm_output_token", 100)}${userRule("llm_total_token", 1000)}${userRule("llm_cel_calculated_token", 1000)}        - clientSelectors:
            - headers:
                - name: x-user-id
                  type: Distinct
                - name: x-ai-eg-model
                  value: rate-limit-funky-model
          limit:
            requests: 5000
            unit: Day
          cost:
            response:
              from: Metadata
              metadata:
                namespace: io.envoy.ai_gateway
                key: llm_total_token
`;

const LOCAL_POLICY = `apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata:
  name: local-budget
  namespace: default
spec:
  targetRef:
    name: token-ratelimit
    kind: HTTPRoute
    group: gateway.networking.k8s.io
  rateLimit:
    type: Local
    local:
      rules:
        - clientSelectors:
            - headers:
                - name: X-User-Id
                  type: Distinct
          limit:
            requests: 200
            unit: Minute
          cost:
            request:
              from: Number
              number: 0
            response:
              from: Metadata
              metadata:
                namespace: io.envoy.ai_gateway
                key: llm_output_token
        - limit:
            requests: 3
            unit: Second
`;

const globalRule = (name: string, key: string, limit: number, unitSeconds = 3600): RateLimitConfig => ({
  name,
  type: "Global",
  routes: [],
  shared: false,
  headers: [{ name: "x-user-id", type: "Distinct", value: "" }],
  limit,
  unitSeconds,
  requestCost: { from: "Number", number: 0, metadataKey: "" },
  responseCost: { from: "Metadata", number: 0, metadataKey: key },
  rlsCluster: "ratelimit",
  domain: "ai-gateway",
  failureModeDeny: false,
  timeoutMs: 1000,
});

describe("rate limits", () => {
  test("the seed example has none, and no rate limit service", () => {
    const cfg = loadConfig([EXAMPLE], OPTS);
    expect(cfg.plugin.rateLimits).toEqual([]);
    expect(cfg.gateway.clusters.map((c) => c.name)).not.toContain("ratelimit");
    expect(cfg.workloads.pods.filter((p) => p.kind === "ratelimit")).toEqual([]);
  });

  test("token_ratelimit: Global rules on the Gateway become one budget per rule (counted per xDS route by the filter), per x-user-id", () => {
    const { cfg } = loadFiles({ "example.yaml": TOKEN_ROUTE, "policy.yaml": GLOBAL_POLICY });
    const base = "default/token-ratelimit-policy/rule";
    expect(cfg.plugin.rateLimits).toEqual([
      globalRule(`${base}/0`, "llm_input_token", 10),
      globalRule(`${base}/1`, "llm_output_token", 100),
      globalRule(`${base}/2`, "llm_total_token", 1000),
      globalRule(`${base}/3`, "llm_cel_calculated_token", 1000),
      {
        ...globalRule(`${base}/4`, "llm_total_token", 5000, 86_400),
        headers: [
          { name: "x-user-id", type: "Distinct", value: "" },
          { name: "x-ai-eg-model", type: "Exact", value: "rate-limit-funky-model" },
        ],
        // Envoy Gateway's default request cost: 1 per request.
        requestCost: { from: "Number", number: 1, metadataKey: "" },
      },
    ]);
    expect(JSON.parse(cfg.gateway.wasm!.configuration).rateLimits).toEqual(cfg.plugin.rateLimits);
    expect(cfg.warnings).toEqual([]);
  });

  test("Global rules and no rate limit Deployment: an embedded service is planned and the ratelimit cluster points at it", () => {
    const { cfg } = loadFiles({ "example.yaml": TOKEN_ROUTE, "policy.yaml": GLOBAL_POLICY });
    const rls = cfg.workloads.pods.filter((p) => p.kind === "ratelimit");
    expect(rls).toMatchObject([{ namespace: "envoy-gateway-system", name: "envoy-ratelimit-0", ip: "127.10.0.1", ports: [{ containerPort: 8081 }] }]);
    const cluster = cfg.gateway.clusters.find((c) => c.name === "ratelimit");
    expect(cluster).toEqual({
      name: "ratelimit",
      type: "STATIC",
      endpoints: [{ address: "127.10.0.1", port: 8081, hostname: "envoy-ratelimit-0", ready: false }],
      lbPolicy: "ROUND_ROBIN",
      http2: true,
      connectTimeoutMs: 10_000,
    });
    // Readiness follows the pod, as for every materialized workload.
    cfg.setPodReady("envoy-gateway-system", "envoy-ratelimit-0", true);
    expect(cluster!.endpoints[0]!.ready).toBe(true);
  });

  test("a declared envoyproxy/ratelimit Deployment is the service: one replica, its GRPC_PORT, no embedded one", () => {
    const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: envoy-ratelimit
  namespace: default
spec:
  replicas: 2
  selector:
    matchLabels: {app: ratelimit}
  template:
    metadata:
      labels: {app: ratelimit}
    spec:
      containers:
        - name: envoy-ratelimit
          image: docker.io/envoyproxy/ratelimit:master
          env:
            - {name: GRPC_PORT, value: "9091"}
            - {name: LIMIT_RESPONSE_HEADERS_ENABLED, value: "true"}
`;
    const { dir, cfg } = loadFiles({ "example.yaml": TOKEN_ROUTE, "policy.yaml": GLOBAL_POLICY, "rls.yaml": deployment });
    const rls = cfg.workloads.pods.filter((p) => p.kind === "ratelimit");
    expect(rls.map((p) => [p.namespace, p.name, p.env.GRPC_PORT])).toEqual([["default", "envoy-ratelimit-0", "9091"]]);
    const cluster = cfg.gateway.clusters.find((c) => c.name === "ratelimit")!;
    expect(cluster.endpoints).toEqual([{ address: rls[0]!.ip, port: 9091, hostname: "envoy-ratelimit-0", ready: false }]);
    expect(cfg.warnings).toEqual([
      `${join(dir, "rls.yaml")}: Deployment default/envoy-ratelimit: spec.replicas: aigw run's rate limit service keeps its counters in memory: starting 1 replica`,
    ]);
  });

  test("a Local policy on the HTTPRoute beats the Gateway's Global one for that route; header names are lower-cased", () => {
    const { dir, cfg } = loadFiles({ "example.yaml": TOKEN_ROUTE, "policy.yaml": GLOBAL_POLICY, "local.yaml": LOCAL_POLICY });
    const local = (name: string, extra: Partial<RateLimitConfig>): RateLimitConfig => ({
      name,
      type: "Local",
      routes: ["default/token-ratelimit"],
      shared: false,
      headers: [],
      limit: 0,
      unitSeconds: 0,
      requestCost: { from: "Number", number: 1, metadataKey: "" },
      responseCost: { from: "Number", number: 0, metadataKey: "" },
      rlsCluster: "",
      domain: "",
      failureModeDeny: false,
      timeoutMs: 0,
      ...extra,
    });
    expect(cfg.plugin.rateLimits).toEqual([
      local("default/local-budget/rule/0", {
        headers: [{ name: "x-user-id", type: "Distinct", value: "" }],
        limit: 200,
        unitSeconds: 60,
        requestCost: { from: "Number", number: 0, metadataKey: "" },
        responseCost: { from: "Metadata", number: 0, metadataKey: "llm_output_token" },
      }),
      local("default/local-budget/rule/1", { limit: 3, unitSeconds: 1 }),
    ]);
    // No Global rule is left, so no rate limit service.
    expect(cfg.gateway.clusters.map((c) => c.name)).not.toContain("ratelimit");
    expect(cfg.warnings).toEqual([
      `${join(dir, "local.yaml")}: BackendTrafficPolicy default/local-budget: spec.rateLimit.local.rules[0].cost.response: Envoy Gateway refuses response costs on Local rules; aigw run applies them (use Global to stay portable)`,
      `${join(dir, "policy.yaml")}: BackendTrafficPolicy default/token-ratelimit-policy: spec.rateLimit: not applied to route default/token-ratelimit: BackendTrafficPolicy default/local-budget targets it (policies are not merged)`,
      `${join(dir, "policy.yaml")}: BackendTrafficPolicy default/token-ratelimit-policy: spec.rateLimit: applies to no served route`,
    ]);
  });

  test("a rule is one RateLimitConfig over its routes, shared or not (the filter counts an unshared one per xDS route); the Gateway's on every route is routes: []", () => {
    const twoRoutes = {
      "gw.yaml": GATEWAY,
      "b.yaml": ipBackend("b"),
      "r1.yaml": route("r1", [["m1", "{name: b}"]]) + "  llmRequestCosts: [{metadataKey: t, type: TotalToken}]\n",
      "r2.yaml": route("r2", [["m2", "{name: b}"]]) + "  llmRequestCosts: [{metadataKey: t, type: TotalToken}]\n",
    };
    const policy = (targets: string, shared: boolean) => `apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata:
  name: p
  annotations:
    ai-gateway-wasm/ratelimit-failure-mode: deny
    ai-gateway-wasm/ratelimit-timeout: 250ms
spec:
  targetRefs: ${targets}
  rateLimit:
    global:
      rules:
        - limit: {requests: 100, unit: Minute}
          shared: ${shared}
          cost:
            response: {from: Metadata, metadata: {namespace: io.envoy.ai_gateway, key: t}}
`;
    const gw = "[{group: gateway.networking.k8s.io, kind: Gateway, name: gw}]";
    const routes = "[{group: gateway.networking.k8s.io, kind: HTTPRoute, name: r1}, {group: gateway.networking.k8s.io, kind: HTTPRoute, name: r2}]";
    const summary = (p: string, shared: boolean) =>
      loadFiles({ ...twoRoutes, "p.yaml": policy(p, shared) }).cfg.plugin.rateLimits.map((r) => [r.name, r.routes, r.shared, r.failureModeDeny, r.timeoutMs]);
    expect(summary(gw, true)).toEqual([["default/p/rule/0", [], true, true, 250]]);
    expect(summary(routes, true)).toEqual([["default/p/rule/0", ["default/r1", "default/r2"], true, true, 250]]);
    expect(summary(gw, false)).toEqual([["default/p/rule/0", [], false, true, 250]]);
    expect(summary(routes, false)).toEqual([["default/p/rule/0", ["default/r1", "default/r2"], false, true, 250]]);
  });

  test("a policy with both global and local rules names them apart; a key only some routes define is a warning", () => {
    const { dir, cfg } = loadFiles({
      "gw.yaml": GATEWAY,
      "b.yaml": ipBackend("b"),
      "r1.yaml": route("r1", [["m1", "{name: b}"]]) + "  llmRequestCosts: [{metadataKey: t, type: TotalToken}]\n",
      "r2.yaml": route("r2", [["m2", "{name: b}"]]),
      "p.yaml": `apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata: {name: p}
spec:
  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: gw, sectionName: http}]
  rateLimit:
    global:
      rules:
        - limit: {requests: 10, unit: Hour}
          shared: true
          cost: {response: {from: Metadata, metadata: {namespace: io.envoy.ai_gateway, key: t}}}
    local:
      rules:
        - limit: {requests: 5, unit: Second}
          shared: true
`,
    });
    expect(cfg.plugin.rateLimits.map((r) => [r.name, r.type])).toEqual([
      ["default/p/global/rule/0", "Global"],
      ["default/p/local/rule/0", "Local"],
    ]);
    expect(cfg.warnings).toEqual([
      `${join(dir, "p.yaml")}: BackendTrafficPolicy default/p: spec.rateLimit.global.rules[0].cost.response.metadata.key: no llmRequestCosts defines "t" for default/r2: their responses charge nothing`,
    ]);
  });
});

describe("rate limit errors", () => {
  const base = {
    "gw.yaml": GATEWAY,
    "b.yaml": ipBackend("b"),
    "r.yaml": route("r", [["m", "{name: b}"]]) + "  llmRequestCosts: [{metadataKey: t, type: TotalToken}]\n",
  };
  const policy = (spec: string, name = "p") => `apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata: {name: ${name}}
spec:
${spec}`;
  const onRoute = "  targetRefs: [{group: gateway.networking.k8s.io, kind: HTTPRoute, name: r}]\n";

  test("unknown cost key, foreign metadata namespace, bad unit, missing limit, request cost from metadata", () => {
    const { dir, problems } = problemsOf({
      ...base,
      "p.yaml": policy(`${onRoute}  rateLimit:
    type: Global
    global:
      rules:
        - limit: {requests: 10, unit: Hour}
          cost: {response: {from: Metadata, metadata: {namespace: io.envoy.ai_gateway, key: llm_nope}}}
        - limit: {requests: 10, unit: Hour}
          cost: {response: {from: Metadata, metadata: {namespace: envoy.filters.http.lua, key: t}}}
        - limit: {requests: 10, unit: Fortnight}
        - clientSelectors: [{headers: [{name: x-user-id, type: Distinct}]}]
        - limit: {requests: 10, unit: Hour}
          cost: {request: {from: Metadata, metadata: {namespace: io.envoy.ai_gateway, key: t}}}
        - limit: {requests: 10}
`),
    });
    const p = `${join(dir, "p.yaml")}: BackendTrafficPolicy default/p`;
    const rules = "spec.rateLimit.global.rules";
    expect(problems).toEqual([
      `${p}: ${rules}[1].cost.response.metadata.namespace: must be io.envoy.ai_gateway (where llmRequestCosts are written), got "envoy.filters.http.lua"`,
      `${p}: ${rules}[2].limit.unit: must be one of Second, Minute, Hour, Day, Month, Year, got "Fortnight"`,
      `${p}: ${rules}[3].limit: required`,
      `${p}: ${rules}[4].cost.request.from: Metadata is known only when the response ends: use cost.response for llmRequestCosts`,
      `${p}: ${rules}[5].limit.unit: required`,
      `${p}: ${rules}[0].cost.response.metadata.key: no llmRequestCosts defines "llm_nope" for default/r (defined: t)`,
    ]);
  });

  test("selectors aigw run cannot apply are refused, not ignored", () => {
    const { dir, problems } = problemsOf({
      ...base,
      "p.yaml": policy(`${onRoute}  rateLimit:
    local:
      rules:
        - clientSelectors:
            - headers:
                - {name: x-org, type: RegularExpression, value: "acme-.*"}
                - {name: x-user-id, type: Distinct, value: bob}
                - {name: x-tier}
                - {name: x-ban, value: "1", invert: true}
            - sourceCIDR: {value: 10.0.0.0/8}
            - {}
          limit: {requests: 1, unit: Second}
`),
    });
    const p = `${join(dir, "p.yaml")}: BackendTrafficPolicy default/p: spec.rateLimit.local.rules[0].clientSelectors`;
    expect(problems).toEqual([
      `${p}[0].headers[0].type: RegularExpression is not supported by aigw run (use Exact, or Distinct for a bucket per value)`,
      `${p}[0].headers[1].value: must not be set for type Distinct (every value gets its own bucket)`,
      `${p}[0].headers[2].value: required for type Exact`,
      `${p}[0].headers[3].invert: not supported by aigw run`,
      `${p}[1].sourceCIDR: not supported by aigw run (only headers)`,
      `${p}[2]: needs at least one of headers, methods, path or sourceCIDR`,
    ]);
  });

  test("targets: a missing route or Gateway, an AIGatewayRoute kind, another kind, two policies on one target", () => {
    const { dir, problems } = problemsOf({
      ...base,
      "p.yaml": policy(`  targetRefs:
    - {group: gateway.networking.k8s.io, kind: HTTPRoute, name: nope}
    - {group: gateway.networking.k8s.io, kind: Gateway, name: nope}
    - {group: aigateway.envoyproxy.io, kind: AIGatewayRoute, name: r}
    - {group: gateway.networking.k8s.io, kind: GRPCRoute, name: r}
    - {group: gateway.networking.k8s.io, kind: HTTPRoute, name: r}
  rateLimit:
    local:
      rules: [{limit: {requests: 1, unit: Second}}]
`),
      "q.yaml": policy(`${onRoute}  retry: {numRetries: 2}\n`, "q"),
    });
    const p = `${join(dir, "p.yaml")}: BackendTrafficPolicy default/p`;
    expect(problems).toEqual([
      `${p}: spec.targetRefs[0].name: HTTPRoute default/nope not found: aigw run knows the HTTPRoutes Envoy AI Gateway generates, one per AIGatewayRoute, named after it`,
      `${p}: spec.targetRefs[1].name: Gateway default/nope not found`,
      `${p}: spec.targetRefs[2].kind: policies attach to the HTTPRoute Envoy AI Gateway generates for an AIGatewayRoute: use group gateway.networking.k8s.io, kind HTTPRoute, name r`,
      `${p}: spec.targetRefs[3]: must target a Gateway or an HTTPRoute (gateway.networking.k8s.io), got gateway.networking.k8s.io/GRPCRoute`,
      `${join(dir, "q.yaml")}: BackendTrafficPolicy default/q: spec.targetRefs: HTTPRoute default/r is already targeted by BackendTrafficPolicy default/p (Envoy Gateway applies one policy per target)`,
    ]);
  });

  test("annotations with bad values, and a type without its block", () => {
    const { dir, problems } = problemsOf({
      ...base,
      "p.yaml": `apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata:
  name: p
  annotations:
    ai-gateway-wasm/ratelimit-failure-mode: closed
    ai-gateway-wasm/ratelimit-timeout: soon
spec:
${onRoute}  rateLimit:
    type: Global
    local:
      rules: [{limit: {requests: 1, unit: Second}}]
`,
    });
    const p = `${join(dir, "p.yaml")}: BackendTrafficPolicy default/p`;
    expect(problems).toEqual([
      `${p}: spec.rateLimit.global: required when type is Global`,
      `${p}: spec.rateLimit.local: set, but spec.rateLimit.type is Global`,
      `${p}: metadata.annotations.ai-gateway-wasm/ratelimit-failure-mode: must be "allow" or "deny", got "closed"`,
      `${p}: metadata.annotations.ai-gateway-wasm/ratelimit-timeout: must be a Gateway API duration such as "60s" or "1m30s", got "soon"`,
    ]);
  });

  test("the embedded service's address taken by a declared Pod", () => {
    const { problems } = problemsOf({
      ...base,
      "p.yaml": policy(`${onRoute}  rateLimit:\n    global:\n      rules: [{limit: {requests: 1, unit: Second}}]\n`),
      "pod.yaml": `apiVersion: v1
kind: Pod
metadata: {name: squatter}
spec:
  containers: [{name: c, image: busybox}]
status:
  podIP: 127.10.0.1
  conditions: [{type: Ready, status: "True"}]
`,
    });
    expect(problems).toEqual(["the embedded rate limit service needs pod envoy-gateway-system/envoy-ratelimit-0 on 127.10.0.1, taken by Pod default/squatter"]);
  });

  test("a manifest directory with only a BackendTrafficPolicy added to the seed example loads", () => {
    const dir = manifestDir({
      "policy.yaml": policy(`  targetRefs: [{group: gateway.networking.k8s.io, kind: Gateway, name: inference-pool-with-aigwroute}]
  rateLimit:
    global:
      rules:
        - clientSelectors: [{headers: [{name: x-user-id, type: Distinct}]}]
          limit: {requests: 3, unit: Minute}
`),
    });
    const cfg = loadConfig([EXAMPLE, dir], OPTS);
    expect(cfg.plugin.rateLimits.map((r) => [r.name, r.routes, r.limit, r.requestCost.number])).toEqual([["default/p/rule/0", [], 3, 1]]);
    expect(cfg.workloads.pods.filter((p) => p.kind === "ratelimit").map((p) => p.ip)).toEqual(["127.10.0.1"]);
  });
});
