// --target envoy-gateway: what each generated resource says, checked against the loaded configuration
// (the same one aigw run serves), the golden file, and the cases that change the shape of the output.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { parse, parseAllDocuments, stringify } from "yaml";
import { loadConfig } from "../../src-host/config/load-config.js";
import { StatsStore } from "../../src-host/stats/index.js";
import { loadWasmFilter } from "../../src-host/proxy-wasm/index.js";
import { rateLimitConfigFiles } from "../../src-host/translate/docker.js";
import { checkBootstrap, checkMessage } from "../../src-host/translate/envoy-schema.js";
import type { WasmCode } from "../../src-host/translate/envoy-gateway.js";
import { BUILT_MODULE, DEFAULT_INPUT, translate, type TranslateOptions } from "../../src-host/translate/translate.js";
import { expectGolden, seedWith, tempDir } from "./helpers.js";

type Obj = Record<string, any>;
const IMAGE: WasmCode = {
  type: "Image",
  url: "registry.example.com/ai-gateway-wasm:0.1.0",
  sha256: "50d858e0985ecc7f60418aaf0cc5ab587f42c2570a884095a9e8ccacd0f6545c",
};
const seed = loadConfig([DEFAULT_INPUT], { modulePath: "/etc/envoy/ai-gateway.wasm", adminPort: 9901, loadTime: 0 });

function resources(opts: Partial<TranslateOptions> = {}): { docs: Obj[]; warnings: string[]; content: string } {
  const r = translate({ target: "envoy-gateway", code: IMAGE, ...opts });
  const content = r.files[0]!.content;
  return { docs: parseAllDocuments(content).map((d) => d.toJS()), warnings: r.warnings, content };
}

const find = (docs: Obj[], kind: string, name?: string): Obj[] => docs.filter((d) => d.kind === kind && (name === undefined || d.metadata.name === name));

describe("the seed example", () => {
  const { docs, warnings, content } = resources();

  test("golden file (reviewed once; any change shows up here)", () => {
    expectGolden("envoy-gateway.yaml", content);
    expect(warnings).toEqual([]);
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual([
      "Service/aigw-pool-mistral",
      "Service/aigw-pool-vllm-llama3-8b-instruct",
      "HTTPRouteFilter/aigw-route-not-found",
      "HTTPRoute/inference-pool-with-aigwroute",
      "HTTPRoute/aigw-route-not-found",
      "BackendTrafficPolicy/inference-pool-with-aigwroute",
      "ClientTrafficPolicy/inference-pool-with-aigwroute-ai-gateway",
      "EnvoyExtensionPolicy/ai-gateway",
      "EnvoyPatchPolicy/inference-pool-with-aigwroute-ai-gateway",
    ]);
  });

  test("the HTTPRoute routes as the bootstrap does: the rule's headers plus x-ai-eg-backend, to the backend's cluster", () => {
    const [route] = find(docs, "HTTPRoute", "inference-pool-with-aigwroute");
    expect(route!.spec.parentRefs).toEqual([
      { group: "gateway.networking.k8s.io", kind: "Gateway", name: "inference-pool-with-aigwroute", sectionName: "http" },
    ]);
    const table = seed.gateway.routes.virtualHosts[0]!.routes.filter((r) => "cluster" in r.action);
    expect(route!.spec.rules).toHaveLength(table.length);
    route!.spec.rules.forEach((rule: Obj, i: number) => {
      const r = table[i]!;
      expect(rule.matches).toEqual([
        { path: { type: "PathPrefix", value: "/" }, headers: r.match.headers!.map((h) => ({ type: "Exact", name: h.name, value: h.exact })) },
      ]);
      expect(rule.timeouts).toEqual({ request: "60s" });
    });
    expect(route!.spec.rules.map((r: Obj) => r.backendRefs)).toEqual([
      [{ group: "", kind: "Service", name: "aigw-pool-vllm-llama3-8b-instruct", port: 8000 }],
      [{ group: "", kind: "Service", name: "aigw-pool-mistral", port: 8080 }],
      [{ group: "gateway.envoyproxy.io", kind: "Backend", name: "envoy-ai-gateway-basic-testupstream" }],
    ]);
  });

  test("each pool is a headless Service selecting its pods on the target port; overridden by the EPP's header", () => {
    const [svc] = find(docs, "Service", "aigw-pool-mistral");
    expect(svc!.spec).toEqual({
      clusterIP: "None",
      selector: { app: "mistral-upstream" },
      ports: [{ name: "http", port: 8080, targetPort: 8080, protocol: "TCP" }],
    });
    const [btp] = find(docs, "BackendTrafficPolicy");
    expect(btp!.spec.targetRefs).toEqual([{ group: "gateway.networking.k8s.io", kind: "HTTPRoute", name: "inference-pool-with-aigwroute" }]);
    expect(btp!.spec.loadBalancer).toEqual({ type: "RoundRobin", endpointOverride: { extractFrom: [{ header: "x-gateway-destination-endpoint" }] } });
  });

  test("buffer limits above the filter's on both sides", () => {
    const bytes = (q: string) => Number(q.replace(/Mi$/, "")) * 1024 * 1024;
    const [ctp] = find(docs, "ClientTrafficPolicy");
    expect(ctp!.spec.targetRefs).toEqual([{ group: "gateway.networking.k8s.io", kind: "Gateway", name: "inference-pool-with-aigwroute" }]);
    expect(bytes(ctp!.spec.connection.bufferLimit)).toBeGreaterThan(seed.plugin.maxRequestBodyBytes);
    expect(bytes(find(docs, "BackendTrafficPolicy")[0]!.spec.connection.bufferLimit)).toBeGreaterThan(seed.plugin.maxRequestBodyBytes);
  });

  test("the catch-all answers 404 with the bootstrap's body, and the filter runs on it", () => {
    const [filter] = find(docs, "HTTPRouteFilter");
    const nf = seed.gateway.routes.virtualHosts[0]!.routes.at(-1)!;
    expect(filter!.spec.directResponse).toEqual({
      contentType: "text/plain",
      statusCode: 404,
      body: { type: "Inline", inline: (nf.action as { directResponse: { body: string } }).directResponse.body },
    });
    const [route] = find(docs, "HTTPRoute", "aigw-route-not-found");
    expect(route!.spec.rules[0].filters[0].extensionRef).toEqual({ group: "gateway.envoyproxy.io", kind: "HTTPRouteFilter", name: "aigw-route-not-found" });
    const [eep] = find(docs, "EnvoyExtensionPolicy");
    expect(eep!.spec.targetRefs.map((t: Obj) => t.name)).toEqual(["inference-pool-with-aigwroute", "aigw-route-not-found"]);
  });

  test("the EnvoyExtensionPolicy carries the module and exactly the plugin configuration aigw run uses", () => {
    const [eep] = find(docs, "EnvoyExtensionPolicy");
    const [wasm] = eep!.spec.wasm;
    expect(wasm).toMatchObject({
      name: "ai-gateway",
      rootID: "ai-gateway",
      failOpen: false,
      code: { type: "Image", image: { url: IMAGE.url, sha256: IMAGE.sha256 } },
    });
    expect(wasm.config).toEqual(seed.plugin);
  });

  test("the EnvoyPatchPolicy: stop-iteration on the policy's filter in the Gateway's listener, and Envoy-valid EPP clusters", () => {
    const [epp] = find(docs, "EnvoyPatchPolicy");
    expect(epp!.spec.targetRef).toEqual({ group: "gateway.networking.k8s.io", kind: "Gateway", name: "inference-pool-with-aigwroute" });
    const [listener, ...clusters] = epp!.spec.jsonPatches;
    expect(listener).toEqual({
      type: "type.googleapis.com/envoy.config.listener.v3.Listener",
      name: "default/inference-pool-with-aigwroute/http",
      operation: {
        op: "add",
        jsonPath: "..http_filters[?(@.name=='envoy.filters.http.wasm/envoyextensionpolicy/default/ai-gateway/wasm/0')]",
        path: "/typed_config/config/allow_on_headers_stop_iteration",
        value: true,
      },
    });
    expect(clusters.map((p: Obj) => p.name)).toEqual(seed.plugin.pools.map((p) => p.eppCluster));
    for (const p of clusters) {
      expect(p.operation).toMatchObject({ op: "add", path: "" });
      expect(checkMessage("envoy.config.cluster.v3.Cluster", p.operation.value)).toEqual([]);
    }
    expect(clusters[0].operation.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address).toEqual({
      address: "mistral-epp.default.svc.cluster.local",
      port_value: 9002,
    });
    expect(clusters[0].operation.value.transport_socket.typed_config.common_tls_context).toEqual({ alpn_protocols: ["h2"] });
  });
});

describe("options", () => {
  test("an HTTP URL carries the module's checksum; the cluster domain reaches the EPP addresses", () => {
    const sha = "0".repeat(64);
    const { docs } = resources({ code: { type: "HTTP", url: "https://example.com/ai-gateway.wasm", sha256: sha }, clusterDomain: "corp.internal" });
    expect(find(docs, "EnvoyExtensionPolicy")[0]!.spec.wasm[0].code).toEqual({
      type: "HTTP",
      http: { url: "https://example.com/ai-gateway.wasm", sha256: sha },
    });
    const patch = find(docs, "EnvoyPatchPolicy")[0]!.spec.jsonPatches[1];
    expect(patch.operation.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address.address).toBe(
      "mistral-epp.default.svc.corp.internal",
    );
  });
});

/** The seed's AIGatewayRoute file with its route changed by `edit`. */
function editedRoute(edit: (spec: Obj) => void): Record<string, string> {
  const docs = parseAllDocuments(readFileSync(join(DEFAULT_INPUT, "06-aigatewayroute.yaml"), "utf8")).map((d) => d.toJS());
  edit(docs.find((d) => d.kind === "AIGatewayRoute").spec);
  return { "06-aigatewayroute.yaml": docs.map((d) => stringify(d)).join("---\n") };
}

describe("shapes", () => {
  test("a rule with two matches and two weighted backends becomes one HTTPRoute rule per backend", () => {
    const second = `apiVersion: aigateway.envoyproxy.io/v1alpha1
kind: AIServiceBackend
metadata:
  name: second
  namespace: default
spec:
  schema:
    name: OpenAI
  backendRef:
    name: envoy-ai-gateway-basic-testupstream
    kind: Backend
    group: gateway.envoyproxy.io
`;
    const dir = seedWith({
      ...editedRoute((spec) => {
        spec.rules[2].matches.push({ headers: [{ type: "RegularExpression", name: "x-ai-eg-model", value: "cool-.*" }] });
        spec.rules[2].backendRefs = [
          { name: "envoy-ai-gateway-basic-testupstream", weight: 3 },
          { name: "second", weight: 1 },
        ];
      }),
      "07-second.yaml": second,
    });
    const { docs } = resources({ paths: [dir] });
    const rules = find(docs, "HTTPRoute", "inference-pool-with-aigwroute")[0]!.spec.rules;
    expect(rules).toHaveLength(4);
    expect(rules.slice(2).map((r: Obj) => r.matches.map((m: Obj) => m.headers.map((h: Obj) => `${h.type}:${h.value}`)))).toEqual([
      [
        ["Exact:some-cool-self-hosted-model", "Exact:default/envoy-ai-gateway-basic-testupstream"],
        ["RegularExpression:cool-.*", "Exact:default/envoy-ai-gateway-basic-testupstream"],
      ],
      [
        ["Exact:some-cool-self-hosted-model", "Exact:default/second"],
        ["RegularExpression:cool-.*", "Exact:default/second"],
      ],
    ]);
    expect(rules[3].backendRefs).toEqual([{ group: "gateway.envoyproxy.io", kind: "Backend", name: "envoy-ai-gateway-basic-testupstream" }]);
  });

  test("streamIdleTimeout: route retry_policy.per_try_idle_timeout in the bootstrap, and patched onto the rule's xDS routes for Envoy Gateway", () => {
    const dir = seedWith(
      editedRoute((spec) => {
        spec.rules[0].streamIdleTimeout = "10s";
        spec.rules[2].streamIdleTimeout = "1m500ms";
      }),
    );
    // Envoy: the pool rule's retry policy gains the timeout; the Backend rule gets a policy of its own.
    const bootstrap = parse(translate({ paths: [dir], outDir: tempDir() }).files[0]!.content);
    expect(checkBootstrap(bootstrap)).toEqual([]);
    const routes: Obj[] = bootstrap.static_resources.listeners[0].filter_chains[0].filters[0].typed_config.route_config.virtual_hosts[0].routes;
    const idle = Object.fromEntries(routes.map((r) => [r.name.replace(/\/match.*/, ""), r.route?.retry_policy]));
    expect(idle["aigatewayroute/default/inference-pool-with-aigwroute/rule/0"]).toMatchObject({ retry_on: "connect-failure", per_try_idle_timeout: "10s" });
    expect(idle["aigatewayroute/default/inference-pool-with-aigwroute/rule/1"]).toEqual(
      expect.not.objectContaining({ per_try_idle_timeout: expect.anything() }),
    );
    expect(idle["aigatewayroute/default/inference-pool-with-aigwroute/rule/2"]).toEqual({ per_try_idle_timeout: "60.500s" });
    // Envoy Gateway: one JSON patch per generated HTTPRoute rule (the pools' BackendTrafficPolicy gives every
    // route of the HTTPRoute a retry policy, so the timeout is added to it).
    const { docs } = resources({ paths: [dir] });
    const patches = find(docs, "EnvoyPatchPolicy")[0]!.spec.jsonPatches.filter((p: Obj) => p.type.endsWith("RouteConfiguration"));
    expect(patches).toEqual(
      [0, 2].map((rule) => ({
        type: "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
        name: "default/inference-pool-with-aigwroute/http",
        operation: {
          op: "add",
          jsonPath: `..routes[?(@.name =~ '^httproute/default/inference-pool-with-aigwroute/rule/${rule}/match/')]`,
          path: "/route/retry_policy/per_try_idle_timeout",
          value: rule === 0 ? "10s" : "60.500s",
        },
      })),
    );
    expect(find(docs, "BackendTrafficPolicy")[0]!.spec.retry).toBeDefined();
  });

  test("more rules than an HTTPRoute holds are split over several, each with its policies", () => {
    const dir = seedWith(
      editedRoute((spec) => {
        for (let i = 0; i < 16; i++) {
          spec.rules.push({
            matches: [{ headers: [{ type: "Exact", name: "x-ai-eg-model", value: `m-${i}` }] }],
            backendRefs: [{ name: "envoy-ai-gateway-basic-testupstream" }],
          });
        }
      }),
    );
    const { docs } = resources({ paths: [dir] });
    const routes = find(docs, "HTTPRoute").map((r) => [r.metadata.name, r.spec.rules.length]);
    expect(routes).toEqual([
      ["inference-pool-with-aigwroute", 16],
      ["inference-pool-with-aigwroute-2", 3],
      ["aigw-route-not-found", 1],
    ]);
    expect(find(docs, "BackendTrafficPolicy").map((p) => p.spec.targetRefs[0].name)).toEqual([
      "inference-pool-with-aigwroute",
      "inference-pool-with-aigwroute-2",
    ]);
    expect(find(docs, "EnvoyExtensionPolicy")[0]!.spec.targetRefs.map((t: Obj) => t.name)).toEqual([
      "inference-pool-with-aigwroute",
      "inference-pool-with-aigwroute-2",
      "aigw-route-not-found",
    ]);
  });

  const GLOBAL = `apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata:
  name: tokens
  namespace: default
spec:
  targetRefs:
    - group: gateway.networking.k8s.io
      kind: HTTPRoute
      name: inference-pool-with-aigwroute
  rateLimit:
    type: Global
    global:
      rules:
        - limit:
            requests: 100
            unit: Minute
`;

  test("Global rate limits: the rate limit service and its Redis are generated, and the patch adds them as cluster ratelimit", () => {
    const dir = seedWith({ "07-tokens.yaml": GLOBAL });
    const { docs, warnings } = resources({ paths: [dir] });
    const patch = find(docs, "EnvoyPatchPolicy")[0]!.spec.jsonPatches.find((p: Obj) => p.name === "ratelimit");
    expect(patch.operation.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address).toEqual({
      address: "aigw-ratelimit.default.svc.cluster.local",
      port_value: 8081,
    });
    expect(checkMessage("envoy.config.cluster.v3.Cluster", patch.operation.value)).toEqual([]);

    const named = (kind: string, name: string) => find(docs, kind).find((d) => d.metadata.name === name)!;
    // envoyproxy/ratelimit reads the --docker output's configuration (the filter's descriptors) from the ConfigMap.
    const loaded = loadConfig([dir], { modulePath: BUILT_MODULE, loadTime: 0 });
    expect(named("ConfigMap", "aigw-ratelimit").data).toEqual(Object.fromEntries(rateLimitConfigFiles(loaded.plugin.rateLimits)));
    expect(parse(named("ConfigMap", "aigw-ratelimit").data["ratelimit-ai-gateway.yaml"]).descriptors[0]).toMatchObject({ key: "rule" });
    const rl = named("Deployment", "aigw-ratelimit");
    const container = rl.spec.template.spec.containers[0];
    expect(container.volumeMounts).toEqual([{ name: "config", mountPath: "/data/ratelimit/config", readOnly: true }]);
    expect(rl.spec.template.spec.volumes).toEqual([{ name: "config", configMap: { name: "aigw-ratelimit" } }]);
    const env = Object.fromEntries(container.env.map((e: Obj) => [e.name, e.value]));
    expect(env).toMatchObject({
      GRPC_PORT: "8081",
      REDIS_URL: "aigw-redis.default.svc.cluster.local:6379",
      RUNTIME_ROOT: "/data",
      RUNTIME_SUBDIRECTORY: "ratelimit",
    });
    // Each Service selects its Deployment's pods and targets a port the container declares.
    for (const name of ["aigw-ratelimit", "aigw-redis"]) {
      const svc = named("Service", name);
      const pod = named("Deployment", name).spec.template;
      expect(pod.metadata.labels).toMatchObject(svc.spec.selector);
      expect(named("Deployment", name).spec.selector.matchLabels).toEqual(svc.spec.selector);
      expect(pod.spec.containers[0].ports.map((p: Obj) => p.containerPort)).toContain(svc.spec.ports[0].targetPort);
    }
    expect(named("Service", "aigw-ratelimit").spec.ports[0].appProtocol).toBe("kubernetes.io/h2c");
    // The user's policy targets the HTTPRoute the generated BackendTrafficPolicy targets: one must go.
    expect(warnings).toEqual([expect.stringMatching(/BackendTrafficPolicy default\/tokens targets HTTPRoute default\/inference-pool-with-aigwroute/)]);
  });

  test("Global rate limits with --ratelimit: the patch points there, and no rate limit service is generated", () => {
    const dir = seedWith({ "07-tokens.yaml": GLOBAL });
    const { docs } = resources({ paths: [dir], rateLimitService: { address: "rls.example.svc.cluster.local", port: 8081 } });
    const patch = find(docs, "EnvoyPatchPolicy")[0]!.spec.jsonPatches.find((p: Obj) => p.name === "ratelimit");
    expect(patch.operation.value.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address).toEqual({
      address: "rls.example.svc.cluster.local",
      port_value: 8081,
    });
    expect(docs.filter((d) => ["ConfigMap", "Deployment", "Service"].includes(d.kind) && String(d.metadata.name).startsWith("aigw-r"))).toEqual([]);
  });
});

/** JSON as Go's encoding/json writes it, which is how Kubernetes hands the policy's config to Envoy Gateway. */
function goJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(goJson).join(",")}]`;
  if (typeof v === "object" && v !== null) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${goJson(k)}:${goJson((v as Obj)[k])}`)
      .join(",")}}`;
  }
  if (typeof v === "string") return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return JSON.stringify(v);
}

test("the module accepts the EnvoyExtensionPolicy config as Envoy Gateway passes it (keys sorted, <>& escaped)", async () => {
  const dir = seedWith(
    editedRoute((spec) => spec.rules[2].matches.push({ headers: [{ type: "RegularExpression", name: "x-ai-eg-model", value: "a<b>&c.*" }] })),
  );
  const { docs } = resources({ paths: [dir] });
  const config = goJson(find(docs, "EnvoyExtensionPolicy")[0]!.spec.wasm[0].config);
  expect(config).toContain("a\\u003cb\\u003e\\u0026c");
  expect(config.startsWith('{"costs":')).toBe(true);
  const loaded = loadConfig([dir], { modulePath: BUILT_MODULE, loadTime: 0 });
  const filter = await loadWasmFilter({
    config: { ...loaded.gateway.wasm!, configuration: config, workers: 1 },
    clusters: loaded.gateway.clusters,
    bufferLimitBytes: loaded.gateway.listener.bufferLimitBytes,
    stats: new StatsStore(),
    log: () => {},
  });
  await filter.close();
});

test("the golden file parses as plain YAML documents", () => {
  expect(() => parse(readFileSync(join(import.meta.dirname, "golden", "envoy-gateway.yaml"), "utf8").split("---\n")[1]!)).not.toThrow();
});

test("a BackendTrafficPolicy loadBalancer on an AIGatewayRoute's route is carried into the generated policy that shadows it", () => {
  // The seed's AIGatewayRoute reaches pools (RoundRobin + endpointOverride already): a route of its own to the
  // AIServiceBackend shows the user's balancer.
  const route = `apiVersion: aigateway.envoyproxy.io/v1alpha1
kind: AIGatewayRoute
metadata:
  name: plain-backend
  namespace: default
spec:
  parentRefs:
    - name: inference-pool-with-aigwroute
      kind: Gateway
      group: gateway.networking.k8s.io
  rules:
    - matches:
        - headers:
            - type: Exact
              name: x-ai-eg-model
              value: another-model
      backendRefs:
        - name: envoy-ai-gateway-basic-testupstream
`;
  const policy = `apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata:
  name: rr
  namespace: default
spec:
  targetRefs:
    - group: gateway.networking.k8s.io
      kind: HTTPRoute
      name: plain-backend
  loadBalancer:
    type: RoundRobin
`;
  const without = resources({ paths: [seedWith({ "07-route.yaml": route })] });
  expect(find(without.docs, "BackendTrafficPolicy", "plain-backend")[0]!.spec.loadBalancer).toBeUndefined();
  const { docs, warnings } = resources({ paths: [seedWith({ "07-route.yaml": route, "08-policy.yaml": policy })] });
  expect(find(docs, "BackendTrafficPolicy", "plain-backend")[0]!.spec.loadBalancer).toEqual({ type: "RoundRobin" });
  expect(warnings).toEqual([
    "BackendTrafficPolicy default/rr targets HTTPRoute default/plain-backend, as the generated one does: Envoy Gateway applies one of them. " +
      "Do not apply it: the wasm filter enforces its token limits itself, and its loadBalancer is in the generated one.",
  ]);
});
