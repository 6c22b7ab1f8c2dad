// Envoy Gateway BackendTrafficPolicy loadBalancer → the lbPolicy of the routes' AIServiceBackend clusters.
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { GATEWAY, ipBackend, loadFiles, problemsOf, route } from "../helpers.js";

const ROUTES = [
  GATEWAY,
  ipBackend("a", "127.0.0.1", 18081),
  ipBackend("b", "127.0.0.1", 18082),
  route("one", [["m1", "{ name: a }"]]),
  route("two", [["m2", "{ name: b }"]]),
].join("---\n");

function policy(name: string, target: string, type: string, extra = ""): string {
  return `apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata:
  name: ${name}
spec:
  targetRefs:
    - group: gateway.networking.k8s.io
      kind: ${target === "gw" ? "Gateway" : "HTTPRoute"}
      name: ${target}
  loadBalancer:
    type: ${type}
${extra}`;
}

const lbOf = (cfg: ReturnType<typeof loadFiles>["cfg"]) =>
  Object.fromEntries(cfg.gateway.clusters.filter((c) => c.name.startsWith("aiservicebackend")).map((c) => [c.name, c.lbPolicy]));

describe("BackendTrafficPolicy loadBalancer", () => {
  test("Envoy Gateway's default LeastRequest, RoundRobin on the routes a policy covers; a route's own policy beats the Gateway's", () => {
    expect(lbOf(loadFiles({ "r.yaml": ROUTES }).cfg)).toEqual({
      "aiservicebackend/default/a": "LEAST_REQUEST",
      "aiservicebackend/default/b": "LEAST_REQUEST",
    });
    const { cfg } = loadFiles({ "r.yaml": ROUTES, "gw.yaml": policy("all", "gw", "RoundRobin"), "two.yaml": policy("two", "two", "LeastRequest") });
    expect(lbOf(cfg)).toEqual({ "aiservicebackend/default/a": "ROUND_ROBIN", "aiservicebackend/default/b": "LEAST_REQUEST" });
  });

  test("settings other than the type are ignored with a warning", () => {
    const { dir, cfg } = loadFiles({ "r.yaml": ROUTES, "p.yaml": policy("one", "one", "RoundRobin", "    slowStart: { window: 10s }\n") });
    expect(lbOf(cfg)["aiservicebackend/default/a"]).toBe("ROUND_ROBIN");
    expect(cfg.warnings).toEqual([`${join(dir, "p.yaml")}: BackendTrafficPolicy default/one: spec.loadBalancer.slowStart: ignored by aigw run`]);
  });

  test("Random and ConsistentHash are refused, and so is a backend asked for two balancers", () => {
    const { dir, problems } = problemsOf({ "r.yaml": ROUTES, "p.yaml": policy("one", "one", "Random") });
    expect(problems).toEqual([
      `${join(dir, "p.yaml")}: BackendTrafficPolicy default/one: spec.loadBalancer.type: Random is not supported by aigw run (RoundRobin or LeastRequest)`,
    ]);
    const shared = [GATEWAY, ipBackend("a"), route("one", [["m1", "{ name: a }"]]), route("two", [["m2", "{ name: a }"]])].join("---\n");
    const conflict = problemsOf({ "r.yaml": shared, "p1.yaml": policy("one", "one", "RoundRobin"), "p2.yaml": policy("two", "two", "LeastRequest") });
    expect(conflict.problems).toEqual([
      `${join(conflict.dir, "p2.yaml")}: BackendTrafficPolicy default/two: spec.loadBalancer.type: AIServiceBackend default/a of route default/two is also behind route default/one, whose BackendTrafficPolicy default/one asks for another load balancer (aigw run has one cluster per AIServiceBackend)`,
    ]);
  });

  test("a policy naming a plain HTTPRoute is refused, saying why", () => {
    const plain = `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: plain}
spec:
  parentRefs: [{name: gw}]
  rules: [{backendRefs: [{name: svc, port: 80}]}]
---
apiVersion: v1
kind: Service
metadata: {name: svc}
spec:
  ports: [{port: 80, targetPort: 8080}]
`;
    const { dir, problems } = problemsOf({ "r.yaml": ROUTES, "plain.yaml": plain, "p.yaml": policy("p", "plain", "RoundRobin") });
    expect(problems).toEqual([
      `${join(dir, "p.yaml")}: BackendTrafficPolicy default/p: spec.targetRefs[0].name: HTTPRoute default/plain is a plain HTTPRoute: aigw run applies BackendTrafficPolicies only to the HTTPRoutes Envoy AI Gateway generates for AIGatewayRoutes (plain routes get no AI processing)`,
    ]);
  });
});
