// Workloads outside the process declared the Kubernetes way (Pod, Service + EndpointSlice, Backend ip),
// Service resolution details, and what routes, pools and workloads carry over from the manifests.
import { describe, expect, test } from "vitest";
import { GATEWAY, ipBackend, loadFiles, pool, route } from "../helpers.js";

const POOL_REF = "{group: inference.networking.k8s.io, kind: InferencePool, name: llama}";

const declaredPod = (
  name: string,
  ip: string,
  ready: string | undefined,
  labels = "{app: llama}",
  containers = "[{name: c, image: my/server}]",
) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: ${labels}}
spec:
  containers: ${containers}
status:
  podIP: ${ip}
${ready === undefined ? "" : `  conditions: [{type: Ready, status: "${ready}"}]\n`}`;

describe("declared workloads", () => {
  test("Pod objects with status.podIP and a Ready condition serve an InferencePool and its EPP", () => {
    const { cfg } = loadFiles({
      "gw.yaml": GATEWAY,
      "p.yaml": pool("llama"),
      "pods.yaml": [
        declaredPod("llama-a", "127.0.0.11", "True"),
        declaredPod("llama-b", "127.0.0.12", "False"),
        declaredPod("other", "127.0.0.13", "True", "{app: other}"),
        declaredPod("epp", "127.0.0.20", "True", "{app: llama-epp}", `[{name: epp, image: my/epp, args: ["--secure-serving=false"]}]`),
      ].join("---\n"),
      "r.yaml": route("r", [["llama", POOL_REF]]),
    });
    expect(cfg.warnings).toEqual([]);
    expect(cfg.workloads).toEqual({ pods: [], skipped: [] });
    const pool_ = cfg.gateway.clusters.find((c) => c.name === "inferencepool/default/llama")!;
    expect(pool_.endpoints).toEqual([
      { address: "127.0.0.11", port: 8000, hostname: "llama-a", ready: true },
      { address: "127.0.0.12", port: 8000, hostname: "llama-b", ready: false },
    ]);
    // The EPP says --secure-serving=false: plaintext HTTP/2.
    const epp = cfg.gateway.clusters.find((c) => c.name === "epp/default/llama")!;
    expect(epp.endpoints).toEqual([{ address: "127.0.0.20", port: 9002, hostname: "epp", ready: true }]);
    expect(epp.http2).toBe(true);
    expect(epp.tls).toBeUndefined();

    const d = cfg.discovery("default/llama");
    expect(d.pods().map((p) => [p.name, p.ip, p.ready])).toEqual([
      ["epp", "127.0.0.20", true],
      ["llama-a", "127.0.0.11", true],
      ["llama-b", "127.0.0.12", false],
      ["other", "127.0.0.13", true],
    ]);
    let changed = 0;
    d.onChange(() => changed++);
    cfg.setPodReady("default", "llama-b", true);
    expect(changed).toBe(1);
    expect(pool_.endpoints[1]!.ready).toBe(true);
  });

  test("a Pod without a Ready condition is not ready, with a warning", () => {
    const { dir, cfg } = loadFiles({
      "gw.yaml": GATEWAY,
      "p.yaml": pool("llama"),
      "pods.yaml": declaredPod("llama-a", "127.0.0.11", undefined),
      "r.yaml": route("r", [["llama", POOL_REF]]),
    });
    expect(cfg.pods()).toEqual([{ name: "llama-a", namespace: "default", ip: "127.0.0.11", labels: { app: "llama" }, ready: false }]);
    expect(cfg.warnings).toContain(`${dir}/pods.yaml: Pod default/llama-a: status.conditions: no Ready condition: the pod is not ready and gets no traffic`);
  });

  test("Service + EndpointSlice, reached by Backend fqdn in its three spellings; Backend ip and localhost", () => {
    const slice = `apiVersion: v1
kind: Service
metadata: {name: ext, namespace: models}
spec:
  ports:
    - {name: web, port: 80, targetPort: 8081}
    - {name: admin, port: 81}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ext-abc
  namespace: models
  labels: {kubernetes.io/service-name: ext}
addressType: IPv4
ports: [{name: web, port: 18081}, {name: admin, port: 18082}]
endpoints:
  - addresses: [127.0.0.31]
    conditions: {ready: true}
    targetRef: {kind: Pod, name: ext-0}
  - addresses: [127.0.0.32]
    conditions: {ready: false}
  - addresses: [127.0.0.33]
`;
    const backend = (name: string, endpoints: string) => `apiVersion: aigateway.envoyproxy.io/v1alpha1
kind: AIServiceBackend
metadata: {name: ${name}}
spec:
  schema: {name: OpenAI}
  backendRef: {name: ${name}, kind: Backend, group: gateway.envoyproxy.io}
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: Backend
metadata: {name: ${name}}
spec:
  endpoints: ${endpoints}
`;
    const { cfg } = loadFiles({
      "gw.yaml": GATEWAY,
      "svc.yaml": slice,
      "b.yaml": [
        backend("full", "[{fqdn: {hostname: ext.models.svc.cluster.local, port: 80}}]"),
        backend("svc", "[{fqdn: {hostname: ext.models.svc, port: 81}}]"),
        backend("short", "[{fqdn: {hostname: EXT.models., port: 80}}]"),
        backend("ips", "[{ip: {address: 127.0.0.41, port: 9000}}, {fqdn: {hostname: localhost, port: 9001}}]"),
      ].join("---\n"),
      "r.yaml": route("r", [
        ["a", "{name: full}"],
        ["b", "{name: svc}"],
        ["c", "{name: short}"],
        ["d", "{name: ips}"],
      ]),
    });
    const endpoints = (name: string) => cfg.gateway.clusters.find((c) => c.name === `aiservicebackend/default/${name}`)!.endpoints;
    // Service port 80 is named "web": the slice's "web" port is used (the Service's targetPort is the controller's business).
    const web = [
      { address: "127.0.0.31", port: 18081, hostname: "ext-0", ready: true },
      { address: "127.0.0.32", port: 18081, hostname: "127.0.0.32", ready: false },
      { address: "127.0.0.33", port: 18081, hostname: "127.0.0.33", ready: true },
    ];
    expect(endpoints("full")).toEqual(web);
    expect(endpoints("short")).toEqual(web);
    expect(endpoints("svc").map((e) => e.port)).toEqual([18082, 18082, 18082]);
    expect(endpoints("ips")).toEqual([
      { address: "127.0.0.41", port: 9000, hostname: "127.0.0.41", ready: true },
      { address: "127.0.0.1", port: 9001, hostname: "localhost", ready: true },
    ]);
  });

  test("named targetPorts resolve through container port names; headless Services keep the client's port", () => {
    const { cfg } = loadFiles({
      "gw.yaml": GATEWAY,
      "d.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: sim}
spec:
  replicas: 2
  selector: {matchLabels: {app: sim}}
  template:
    metadata: {labels: {app: sim}}
    spec:
      containers:
        - name: vllm
          image: ghcr.io/llm-d/llm-d-inference-sim:v0.4.0
          args: [--port, "8200"]
          ports: [{name: http, containerPort: 8200}]
---
apiVersion: v1
kind: Service
metadata: {name: sim}
spec:
  selector: {app: sim}
  ports: [{port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: sim-headless}
spec:
  clusterIP: None
  selector: {app: sim}
  ports: [{port: 8200}]
`,
      "b.yaml": `apiVersion: aigateway.envoyproxy.io/v1alpha1
kind: AIServiceBackend
metadata: {name: named}
spec:
  schema: {name: OpenAI}
  backendRef: {name: sim, port: 80}
---
apiVersion: aigateway.envoyproxy.io/v1alpha1
kind: AIServiceBackend
metadata: {name: headless}
spec:
  schema: {name: OpenAI}
  backendRef: {name: headless, kind: Backend, group: gateway.envoyproxy.io}
---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: Backend
metadata: {name: headless}
spec:
  endpoints: [{fqdn: {hostname: sim-headless.default.svc.cluster.local, port: 8200}}]
`,
      "r.yaml": route("r", [
        ["a", "{name: named}"],
        ["b", "{name: headless}"],
      ]),
    });
    const endpoints = (name: string) => cfg.gateway.clusters.find((c) => c.name === `aiservicebackend/default/${name}`)!.endpoints;
    const pods = [
      { address: "127.10.1.1", port: 8200, hostname: "sim-0", ready: false },
      { address: "127.10.1.2", port: 8200, hostname: "sim-1", ready: false },
    ];
    expect(endpoints("named")).toEqual(pods);
    expect(endpoints("headless")).toEqual(pods);
  });

  test("a Deployment with an unknown image is not started and reported; a bare Pod with a known image is", () => {
    const { dir, cfg } = loadFiles({
      "gw.yaml": GATEWAY,
      "w.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: redis}
spec:
  selector: {matchLabels: {app: redis}}
  template:
    metadata: {labels: {app: redis}}
    spec: {containers: [{name: redis, image: "redis:7"}]}
---
apiVersion: v1
kind: Pod
metadata: {name: lonely, labels: {app: lonely}}
spec:
  containers:
    - name: up
      image: envoyproxy/ai-gateway-testupstream@sha256:0123
      ports: [{containerPort: 8080}]
      env:
        - {name: MY_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
        - {name: GREETING, valueFrom: {configMapKeyRef: {name: settings, key: greeting}}}
        - {name: MESSAGE, value: "$(GREETING) from $(MY_IP) $$(MY_IP) $(UNSET)"}
      args: ["--id=$(MESSAGE)"]
    - name: sidecar
      image: busybox
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {greeting: hello}
`,
      "b.yaml": ipBackend("b"),
      "r.yaml": route("r", [["m", "{name: b}"]]),
    });
    expect(cfg.workloads.skipped).toEqual([{ owner: "Deployment default/redis", images: ["redis:7"], reason: "no container image aigw run can start" }]);
    expect(cfg.warnings).toEqual([
      `${dir}/w.yaml: Deployment default/redis: spec.template.spec.containers: not started: no container image aigw run can start (redis:7)`,
      `${dir}/w.yaml: Pod default/lonely: spec.containers[1]: container sidecar (busybox) is not started by aigw run`,
    ]);
    expect(cfg.workloads.pods).toHaveLength(1);
    expect(cfg.workloads.pods[0]).toMatchObject({
      kind: "testupstream",
      name: "lonely",
      owner: "Pod default/lonely",
      ip: "127.10.1.1",
      env: { MY_IP: "127.10.1.1", GREETING: "hello", MESSAGE: "hello from 127.10.1.1 $(MY_IP) $(UNSET)" },
      args: ["--id=hello from 127.10.1.1 $(MY_IP) $(UNSET)"],
    });
    expect(cfg.pods().map((p) => p.name)).toEqual(["lonely"]);
  });
});

describe("routes, pools and models", () => {
  test("routes are ordered by creationTimestamp then namespace/name; models carry the route's timestamp", () => {
    const { cfg } = loadFiles(
      {
        "gw.yaml": GATEWAY,
        "b.yaml": ipBackend("b"),
        "r.yaml": [
          route("zeta", [["z-model", "{name: b}"]], "  creationTimestamp: 2024-01-01T00:00:00Z\n"),
          route("alpha", [["a-model", "{name: b}"]], "  creationTimestamp: 2024-06-01T00:00:00Z\n"),
          route("beta", [["b-model", "{name: b}"]], "  creationTimestamp: 2024-06-01T00:00:00Z\n"),
          route("newest", [["n-model", "{name: b}"]]),
        ].join("---\n"),
      },
      { loadTime: 1_800_000_000 },
    );
    expect(cfg.plugin.rules.map((r) => r.route)).toEqual(["default/zeta", "default/alpha", "default/beta", "default/newest"]);
    expect(cfg.plugin.models).toEqual([
      { id: "z-model", ownedBy: "Envoy AI Gateway", created: 1704067200 },
      { id: "a-model", ownedBy: "Envoy AI Gateway", created: 1717200000 },
      { id: "b-model", ownedBy: "Envoy AI Gateway", created: 1717200000 },
      // Without creationTimestamp an object is created when loaded.
      { id: "n-model", ownedBy: "Envoy AI Gateway", created: 1_800_000_000 },
    ]);
  });

  test("weights, modelNameOverride, several matches, regular expressions, rules without matches, timeouts, streamIdleTimeout", () => {
    const { cfg } = loadFiles({
      "gw.yaml": GATEWAY,
      "b.yaml": ipBackend("one") + "---\n" + ipBackend("two", "127.0.0.2"),
      "r.yaml": `apiVersion: aigateway.envoyproxy.io/v1beta1
kind: AIGatewayRoute
metadata: {name: r}
spec:
  parentRefs: [{name: gw}]
  rules:
    - matches:
        - headers: [{name: X-AI-EG-Model, value: gpt-4o}, {name: x-tenant, type: RegularExpression, value: "team-.*"}]
        - headers: [{type: Exact, name: x-ai-eg-model, value: gpt-4o-mini}]
        - headers: [{type: RegularExpression, name: x-ai-eg-model, value: "llama-.*"}]
      backendRefs:
        - {name: one, weight: 3, modelNameOverride: gpt-4o-2024}
        - {name: two, weight: 0}
      timeouts: {request: 1m30s}
      streamIdleTimeout: 1m5s
      modelsOwnedBy: OpenAI
      modelsCreatedAt: "2025-01-01T00:00:00Z"
    - backendRefs: [{name: two}]
`,
    });
    expect(cfg.plugin.rules).toEqual([
      {
        route: "default/r",
        index: 0,
        matches: [
          {
            headers: [
              { name: "x-ai-eg-model", type: "Exact", value: "gpt-4o" },
              { name: "x-tenant", type: "RegularExpression", value: "team-.*" },
            ],
          },
          { headers: [{ name: "x-ai-eg-model", type: "Exact", value: "gpt-4o-mini" }] },
          { headers: [{ name: "x-ai-eg-model", type: "RegularExpression", value: "llama-.*" }] },
        ],
        backends: [
          { name: "default/one", kind: "AIServiceBackend", weight: 3, modelNameOverride: "gpt-4o-2024" },
          { name: "default/two", kind: "AIServiceBackend", weight: 0, modelNameOverride: "" },
        ],
      },
      { route: "default/r", index: 1, matches: [], backends: [{ name: "default/two", kind: "AIServiceBackend", weight: 1, modelNameOverride: "" }] },
    ]);
    // Regular expressions are not listed in /v1/models.
    expect(cfg.plugin.models).toEqual([
      { id: "gpt-4o", ownedBy: "OpenAI", created: 1735689600 },
      { id: "gpt-4o-mini", ownedBy: "OpenAI", created: 1735689600 },
    ]);
    const routes = cfg.gateway.routes.virtualHosts[0]!.routes;
    expect(routes.map((r) => r.name)).toEqual([
      "aigatewayroute/default/r/rule/0/match/0/backend/default/one",
      "aigatewayroute/default/r/rule/0/match/0/backend/default/two",
      "aigatewayroute/default/r/rule/0/match/1/backend/default/one",
      "aigatewayroute/default/r/rule/0/match/1/backend/default/two",
      "aigatewayroute/default/r/rule/0/match/2/backend/default/one",
      "aigatewayroute/default/r/rule/0/match/2/backend/default/two",
      "aigatewayroute/default/r/rule/1/match/0/backend/default/two",
      "route-not-found",
    ]);
    expect(routes[0]).toEqual({
      name: "aigatewayroute/default/r/rule/0/match/0/backend/default/one",
      match: {
        prefix: "/",
        headers: [
          { name: "x-ai-eg-model", exact: "gpt-4o" },
          { name: "x-tenant", regex: "team-.*" },
          { name: "x-ai-eg-backend", exact: "default/one" },
        ],
      },
      action: { cluster: "aiservicebackend/default/one" },
      timeoutMs: 90000,
      perTryIdleTimeoutMs: 65000,
    });
    expect(routes[6]!.match.headers).toEqual([{ name: "x-ai-eg-backend", exact: "default/two" }]);
    expect(routes[6]!.timeoutMs).toBe(60000);
    expect(routes[6]!.perTryIdleTimeoutMs).toBeUndefined();
  });

  test("pool annotations, failure mode and an unknown body mode", () => {
    const { dir, cfg } = loadFiles({
      "gw.yaml": GATEWAY,
      "p.yaml": [
        pool("llama", {
          annotations: `    aigateway.envoyproxy.io/processing-body-mode: "buffered"\n    aigateway.envoyproxy.io/allow-mode-override: "true"\n`,
          failureMode: "FailOpen",
        }),
        pool("odd", { annotations: `    aigateway.envoyproxy.io/processing-body-mode: "streamed"\n` }),
      ].join("---\n"),
      "r.yaml": route("r", [
        ["llama", POOL_REF],
        ["odd", "{group: inference.networking.k8s.io, kind: InferencePool, name: odd}"],
      ]),
    });
    expect(cfg.plugin.pools.map((p) => [p.name, p.bodyMode, p.allowModeOverride, p.failureMode])).toEqual([
      ["default/llama", "buffered", true, "FailOpen"],
      ["default/odd", "duplex", false, "FailClose"],
    ]);
    expect(cfg.warnings).toContain(
      `${dir}/p.yaml: InferencePool default/odd: metadata.annotations.aigateway.envoyproxy.io/processing-body-mode: unknown value "streamed", using "duplex"`,
    );
    // No pods and no EPP pods: accepted, with warnings that say what each failure mode does.
    expect(cfg.warnings).toContain(`${dir}/p.yaml: InferencePool default/llama: spec.selector: selects no pod: requests to this pool get 503`);
    expect(cfg.warnings).toContain(
      `${dir}/p.yaml: InferencePool default/llama: spec.endpointPickerRef: Service default/llama-epp has no endpoints: with failureMode FailOpen ` +
        "the pool's requests go to an endpoint the gateway picks from the pool, without the EPP (503 when no pool endpoint is ready)",
    );
    expect(cfg.warnings).toContain(
      `${dir}/p.yaml: InferencePool default/odd: spec.endpointPickerRef: Service default/odd-epp has no endpoints: with failureMode FailClose ` +
        "(the default) the pool's requests get 503",
    );
  });

  test("more rules than Envoy AI Gateway accepts are served, with a warning", () => {
    const rules = Array.from({ length: 16 }, (_, i): [string, string] => [`m${i}`, "{name: b}"]);
    const { dir, cfg } = loadFiles({ "gw.yaml": GATEWAY, "b.yaml": ipBackend("b"), "r.yaml": route("r", rules) });
    expect(cfg.plugin.rules).toHaveLength(16);
    expect(cfg.warnings).toEqual([
      `${dir}/r.yaml: AIGatewayRoute default/r: spec.rules: Envoy AI Gateway accepts at most 15 rules per route (aigw run serves all 16); split the route to stay portable`,
    ]);
  });

  test("a ReferenceGrant allows a cross-namespace backendRef", () => {
    const { cfg } = loadFiles({
      "gw.yaml": GATEWAY,
      "b.yaml": ipBackend("b", "127.0.0.1", 18080, "other"),
      "g.yaml": `apiVersion: gateway.networking.k8s.io/v1beta1
kind: ReferenceGrant
metadata: {name: allow-routes, namespace: other}
spec:
  from: [{group: aigateway.envoyproxy.io, kind: AIGatewayRoute, namespace: default}]
  to: [{group: aigateway.envoyproxy.io, kind: AIServiceBackend}]
`,
      "r.yaml": route("r", [["m", "{name: b, namespace: other}"]]),
    });
    expect(cfg.plugin.rules[0]!.backends[0]!.name).toBe("other/b");
    expect(cfg.gateway.clusters.map((c) => c.name)).toEqual(["aiservicebackend/other/b"]);
  });

  test("the EPP Service's appProtocol kubernetes.io/h2c means plaintext", () => {
    const { cfg } = loadFiles({
      "gw.yaml": GATEWAY,
      "p.yaml": pool("llama").replace("appProtocol: http2", "appProtocol: kubernetes.io/h2c"),
      "r.yaml": route("r", [["llama", POOL_REF]]),
    });
    expect(cfg.gateway.clusters.find((c) => c.name === "epp/default/llama")!.tls).toBeUndefined();
  });
});
