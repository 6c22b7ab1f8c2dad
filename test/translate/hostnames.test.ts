// AIGatewayRoute hostnames in both translate outputs: the Envoy bootstrap routes as `aigw run` does (one
// route per host name with an :authority matcher, most specific first), and Envoy Gateway gets the
// route's hostnames on its HTTPRoute, plus copies of the routes without hostnames (and of the 404
// catch-all, on which the filter answers /v1/models) for those host names' virtual hosts.
import { describe, expect, test } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { translate } from "../../src-host/translate/translate.js";
import { hcmOf, seedWith, tempDir } from "./helpers.js";

type Obj = Record<string, any>;

const SCOPED = `apiVersion: aigateway.envoyproxy.io/v1beta1
kind: AIGatewayRoute
metadata:
  name: scoped
  namespace: default
spec:
  parentRefs:
    - name: inference-pool-with-aigwroute
      kind: Gateway
      group: gateway.networking.k8s.io
  hostnames: [api.example.com, "*.tenant.example.com"]
  rules:
    - matches:
        - headers:
            - type: Exact
              name: x-ai-eg-model
              value: scoped-model
      backendRefs:
        - name: envoy-ai-gateway-basic-testupstream
`;

const dir = seedWith({ "07-scoped.yaml": SCOPED });

describe("--target envoy", () => {
  const bootstrap = parse(translate({ paths: [dir], outDir: tempDir() }).files[0]!.content);
  const hcm = hcmOf(bootstrap);
  const routes: Obj[] = hcm.route_config.virtual_hosts[0].routes;
  const config = JSON.parse(hcm.http_filters[0].typed_config.config.configuration.value);

  test("one route per host name with a case-insensitive :authority matcher, before the routes for every host", () => {
    const names = routes.map((r) => r.name);
    const base = "aigatewayroute/default/scoped/rule/0/match/0/backend/default/envoy-ai-gateway-basic-testupstream/host";
    expect(names.slice(0, 2)).toEqual([`${base}/api.example.com`, `${base}/*.tenant.example.com`]);
    expect(routes[0]!.match.headers[0]).toEqual({
      name: ":authority",
      string_match: { safe_regex: { regex: "[aA][pP][iI]\\.[eE][xX][aA][mM][pP][lL][eE]\\.[cC][oO][mM](:[0-9]+)?" } },
    });
    expect(routes[1]!.match.headers[0].string_match.safe_regex.regex).toMatch(/^\[\^:\]\+\\\.\[tT\]/);
    expect(names.slice(2).every((n) => !n.includes("/host/"))).toBe(true);
    expect(names.at(-1)).toBe("route-not-found");
  });

  test("the plugin configuration scopes the rule and the model to the host names", () => {
    expect(config.rules.find((r: Obj) => r.route === "default/scoped").hostnames).toEqual(["api.example.com", "*.tenant.example.com"]);
    expect(config.rules.filter((r: Obj) => r.hostnames).map((r: Obj) => r.route)).toEqual(["default/scoped"]);
    expect(config.models.find((m: Obj) => m.id === "scoped-model").hostnames).toEqual(["api.example.com", "*.tenant.example.com"]);
    expect(config.models.filter((m: Obj) => m.hostnames).map((m: Obj) => m.id)).toEqual(["scoped-model"]);
  });
});

describe("--target envoy-gateway", () => {
  const r = translate({ paths: [dir], target: "envoy-gateway", code: { type: "Image", url: "registry.example.com/aigw:1" } });
  const docs: Obj[] = parseAllDocuments(r.files[0]!.content).map((d) => d.toJS());
  const route = (name: string) => docs.find((d) => d.kind === "HTTPRoute" && d.metadata.name === name);

  test("the AIGatewayRoute's HTTPRoute carries its hostnames", () => {
    expect(route("scoped")!.spec.hostnames).toEqual(["api.example.com", "*.tenant.example.com"]);
    expect(route("scoped")!.spec.rules).toHaveLength(1);
  });

  test("routes without hostnames, and the 404 catch-all, are also generated for the scoped host names", () => {
    expect(route("inference-pool-with-aigwroute")!.spec.hostnames).toBeUndefined();
    const copy = route("inference-pool-with-aigwroute-hosts")!;
    expect(copy.spec.hostnames).toEqual(["api.example.com", "*.tenant.example.com"]);
    expect(copy.spec.rules).toEqual(route("inference-pool-with-aigwroute")!.spec.rules);
    expect(route("aigw-route-not-found")!.spec.hostnames).toBeUndefined();
    expect(route("aigw-route-not-found-hosts")!.spec.hostnames).toEqual(["api.example.com", "*.tenant.example.com"]);
    const targets = docs.find((d) => d.kind === "EnvoyExtensionPolicy")!.spec.targetRefs.map((t: Obj) => t.name);
    expect(targets).toEqual(expect.arrayContaining(["scoped", "inference-pool-with-aigwroute-hosts", "aigw-route-not-found-hosts"]));
    const policies = docs.filter((d) => d.kind === "BackendTrafficPolicy").map((d) => d.metadata.name);
    expect(policies).toEqual(expect.arrayContaining(["scoped", "inference-pool-with-aigwroute", "inference-pool-with-aigwroute-hosts"]));
  });
});
