// HTTPRoutes through `aigw translate`: the bootstrap routes them as aigw run does (checked against
// Envoy's API, and the module accepts the plugin configuration with their rules); for Envoy Gateway the
// HTTPRoutes are the user's own, regenerated only where they name InferencePools.
import { describe, expect, test } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { ConfigError } from "../../src-host/config/read/problems.js";
import { StatsStore } from "../../src-host/stats/index.js";
import { loadWasmFilter } from "../../src-host/proxy-wasm/index.js";
import { BUILT_MODULE, translate } from "../../src-host/translate/translate.js";
import { POOL_RETRY_POLICY_XDS, hcmOf, seedWith, tempDir } from "./helpers.js";

type Obj = Record<string, any>;

const MISTRAL = "{group: inference.networking.k8s.io, kind: InferencePool, name: mistral, port: 80}";

/** An HTTPRoute on the seed example's Gateway; `rules` is the YAML of spec.rules. */
const httpRoute = (name: string, rules: string) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: ${name}}
spec:
  parentRefs: [{name: inference-pool-with-aigwroute}]
  rules:
${rules}`;

const pooled = httpRoute(
  "pooled",
  `    - matches: [{path: {type: PathPrefix, value: /mistral/}}]
      backendRefs: [${MISTRAL}]
      timeouts: {request: 120s}
    - matches: [{path: {type: RegularExpression, value: "/half/[0-9]+"}, method: GET}]
      backendRefs: [{name: mistral-upstream, port: 8080, weight: 1}, {name: ghost, port: 80, weight: 1}]
`,
);

const plain = httpRoute(
  "plain",
  `    - matches: [{path: {type: Exact, value: /health}}]
      backendRefs: [{name: mistral-upstream, port: 8080}]
`,
);

describe("--target envoy", () => {
  const dir = seedWith({ "07-httproutes.yaml": `${pooled}---\n${plain}` });
  const result = translate({ paths: [dir], outDir: tempDir(), loadTime: 0 });
  const doc = parse(result.files[0]!.content);
  const hcm = hcmOf(doc);
  const routes: Obj[] = hcm.route_config.virtual_hosts[0].routes;

  test("HTTPRoute routes come first, with Envoy's matchers, timeouts and the 500 for invalid backends", () => {
    expect(routes.slice(0, 3)).toEqual([
      {
        name: "httproute/default/plain/rule/0/match/0/*",
        match: { path: "/health" },
        route: { cluster: "service/default/mistral-upstream/8080", timeout: "15s" },
      },
      {
        name: "httproute/default/pooled/rule/1/match/0/*",
        match: { safe_regex: { regex: "/half/[0-9]+" }, headers: [{ name: ":method", string_match: { exact: "GET" } }] },
        route: {
          weighted_clusters: {
            clusters: [
              { name: "service/default/mistral-upstream/8080", weight: 1 },
              { name: "invalid-backend-ref", weight: 1 },
            ],
          },
          timeout: "15s",
          cluster_not_found_response_code: "INTERNAL_SERVER_ERROR",
        },
      },
      {
        name: "httproute/default/pooled/rule/0/match/0/*",
        match: { path_separated_prefix: "/mistral" },
        route: {
          cluster: "inferencepool/default/mistral",
          timeout: "120s",
          // A connect failure to the pod the EPP picked is retried once on another pod of the pool.
          retry_policy: POOL_RETRY_POLICY_XDS,
        },
      },
    ]);
    expect(routes.at(-1)!.name).toBe("route-not-found");
    expect(hcm.route_config.validate_clusters).toBe(false);
    expect(result.warnings.some((w) => w.includes("Service default/ghost not found"))).toBe(true);
  });

  test("the Service cluster is in the bootstrap, and the module accepts the plugin configuration with the rules", async () => {
    const cluster = doc.static_resources.clusters.find((c: Obj) => c.name === "service/default/mistral-upstream/8080");
    expect(cluster.lb_policy).toBe("LEAST_REQUEST");
    const w = hcm.http_filters[0].typed_config.config;
    const plugin = JSON.parse(w.configuration.value);
    expect(plugin.httpRoutes.map((r: Obj) => r.name)).toEqual([
      "httproute/default/plain/rule/0",
      "httproute/default/pooled/rule/0",
      "httproute/default/pooled/rule/1",
    ]);
    const filter = await loadWasmFilter({
      config: {
        name: w.name,
        rootId: w.root_id,
        vmId: "translate-httproute",
        modulePath: BUILT_MODULE,
        configuration: w.configuration.value,
        allowOnHeadersStopIteration: true,
        failOpen: false,
        workers: 1,
      },
      clusters: [],
      bufferLimitBytes: 1 << 20,
      stats: new StatsStore(),
    });
    await filter.close();
  });
});

describe("--target envoy-gateway", () => {
  const egDocs = (files: Record<string, string>) => {
    const r = translate({
      paths: [seedWith(files)],
      target: "envoy-gateway",
      code: { type: "HTTP", url: "https://example.com/m.wasm", sha256: "00" },
      loadTime: 0,
    });
    return { docs: parseAllDocuments(r.files[0]!.content).map((d) => d.toJS() as Obj), warnings: r.warnings };
  };

  test("an HTTPRoute naming a pool is generated again with the pool's headless Service; one without is applied as written", () => {
    const only = pooled.replace(/\n {4}- matches: \[\{path: \{type: RegularExpression[\s\S]*$/, "\n");
    const { docs, warnings } = egDocs({ "07-httproutes.yaml": `${only}---\n${plain}` });
    const routes = docs.filter((d) => d.kind === "HTTPRoute").map((d) => d.metadata.name);
    expect(routes).toEqual(["inference-pool-with-aigwroute", "pooled", "aigw-route-not-found"]);
    const regenerated = docs.find((d) => d.kind === "HTTPRoute" && d.metadata.name === "pooled")!;
    expect(regenerated.metadata.annotations).toEqual({ "aigw.translate/source": "HTTPRoute default/pooled" });
    expect(regenerated.spec).toEqual({
      parentRefs: [{ name: "inference-pool-with-aigwroute" }],
      rules: [
        {
          matches: [{ path: { type: "PathPrefix", value: "/mistral/" } }],
          backendRefs: [{ group: "", kind: "Service", name: "aigw-pool-mistral", port: 8080 }],
          timeouts: { request: "120s" },
        },
      ],
    });
    const btp = docs.find((d) => d.kind === "BackendTrafficPolicy" && d.metadata.name === "pooled")!;
    expect(btp.spec.loadBalancer).toEqual({ type: "RoundRobin", endpointOverride: { extractFrom: [{ header: "x-gateway-destination-endpoint" }] } });
    const eep = docs.find((d) => d.kind === "EnvoyExtensionPolicy")!;
    expect(eep.spec.targetRefs.map((t: Obj) => t.name)).toEqual(["inference-pool-with-aigwroute", "pooled", "aigw-route-not-found", "plain"]);
    expect(eep.spec.wasm[0].config.httpRoutes).toHaveLength(2);
    expect(warnings).toEqual([expect.stringContaining("HTTPRoute default/pooled: generated again with its InferencePools as headless Services")]);
  });

  test("a rule that mixes a pool with other backends cannot be told apart by Envoy Gateway: refused", () => {
    const mixed = pooled.replace(`backendRefs: [${MISTRAL}]`, `backendRefs: [${MISTRAL}, {name: mistral-upstream, port: 8080}]`);
    expect(() => egDocs({ "07-httproutes.yaml": mixed })).toThrow(ConfigError);
    expect(() => egDocs({ "07-httproutes.yaml": mixed })).toThrow(
      /spec\.rules\[0\]\.backendRefs: with Envoy Gateway an InferencePool must be the rule's only backend/,
    );
  });
});
