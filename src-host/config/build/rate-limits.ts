// BackendTrafficPolicy rateLimit rules → PluginConfig.rateLimits, with Envoy Gateway's attachment semantics:
//
// - A policy targets the Gateway (every route attached to it) or HTTPRoutes. Envoy AI Gateway generates
//   one HTTPRoute per AIGatewayRoute, with its name, so an HTTPRoute target names an AIGatewayRoute.
// - A policy targeting a route beats one targeting the Gateway, for that route (policies are not merged);
//   two policies on the same target are refused (Envoy Gateway applies only the oldest).
// - Each rule becomes one RateLimitConfig "<ns>/<policy>/rule/<i>" over the routes it covers (`routes: []`
//   when that is every route of the Gateway); "rule" becomes "global/rule" and "local/rule" when a policy
//   has both. Unless the rule is `shared`, the filter keeps one counter per xDS route as Envoy Gateway v1.8
//   does (internal/xds/translator/ratelimit.go: the route's name is a descriptor of every unshared rule):
//   Envoy AI Gateway v1.1.0 turns AIGatewayRoute rule i, match j into HTTPRoute rule i, match j
//   (internal/controller/ai_gateway_route.go), and Envoy Gateway makes each of those, per hostname, an xDS
//   route "httproute/<ns>/<name>/rule/<i>/match/<j>/<host>". So a Gateway-wide budget gives every model of
//   every route its own counter; a `shared` rule is one counter over all of them.
// - Global rules talk to the rate limit service on cluster "ratelimit" (HTTP/2, plaintext), domain
//   "ai-gateway"; failure mode and timeout come from the policy's annotations (model-policy.ts).
// - A response cost read from metadata names an llmRequestCosts key: refused when no cost defines it,
//   warned when some covered routes do not (their responses charge nothing, as in Envoy).

import type { ClusterConfig } from "../../dataplane-api/bootstrap.js";
import { costKeysOf } from "./costs.js";
import type { Model } from "../model/model.js";
import type { GatewayModel, ListenerModel, RouteModel } from "../model/model-gateway.js";
import type { RateLimitRuleModel, TrafficPolicyModel } from "../model/model-policy.js";
import { AIGW_GROUP, GATEWAY_API_GROUP } from "../read/objects.js";
import type { CostConfig, RateLimitConfig } from "../plugin-config.js";
import type { PodRegistry } from "../model/pods.js";
import { rateLimitGrpcPort, type WorkloadPlan } from "./workloads.js";

export const RATE_LIMIT_CLUSTER = "ratelimit";
/** The rate limit domain of every Global rule (Envoy Gateway uses the listener name; the service is ours). */
export const RATE_LIMIT_DOMAIN = "ai-gateway";

export interface Attachment {
  policy: TrafficPolicyModel;
  gateway: boolean;
  routes: RouteModel[];
}

/** Which BackendTrafficPolicy owns each attached route and the Gateway (one policy per target). */
export interface PolicyOwners {
  attachments: Attachment[];
  /** Route id → the policy targeting it. */
  routeOwner: Map<string, TrafficPolicyModel>;
  gatewayOwner: TrafficPolicyModel | undefined;
}

export function policyOwners(m: Model, gateway: GatewayModel | undefined, listener: ListenerModel | undefined, attached: RouteModel[]): PolicyOwners {
  const attachments = m.trafficPolicies.map((p) => resolveTargets(m, p, gateway, listener, attached));

  // One policy per target: later ones conflict with the first.
  const routeOwner = new Map<string, TrafficPolicyModel>();
  let gatewayOwner: TrafficPolicyModel | undefined;
  for (const a of attachments) {
    const p = a.policy;
    if (a.gateway) {
      if (gatewayOwner) conflict(p, `Gateway ${gateway!.namespace}/${gateway!.name}`, gatewayOwner);
      else gatewayOwner = p;
    }
    a.routes = a.routes.filter((r) => {
      const id = `${r.namespace}/${r.name}`;
      const owner = routeOwner.get(id);
      if (owner && owner !== p) {
        conflict(p, `HTTPRoute ${id}`, owner);
        return false;
      }
      routeOwner.set(id, p);
      return true;
    });
  }
  return { attachments, routeOwner, gatewayOwner };
}

/** The policy that applies to a route: its own, else the Gateway's (policies are not merged). */
export function policyFor(owners: PolicyOwners, route: RouteModel): TrafficPolicyModel | undefined {
  return owners.routeOwner.get(`${route.namespace}/${route.name}`) ?? owners.gatewayOwner;
}

export function buildRateLimits(owners: PolicyOwners, attached: RouteModel[], costs: CostConfig[]): RateLimitConfig[] {
  const { attachments, routeOwner, gatewayOwner } = owners;
  const out: RateLimitConfig[] = [];
  for (const a of attachments) {
    const rl = a.policy.rateLimit;
    if (!rl) continue;
    // The Gateway's policy covers the attached routes that have no policy of their own.
    const covered = new Map<string, RouteModel>(a.routes.map((r) => [`${r.namespace}/${r.name}`, r]));
    let everyRoute = false;
    if (a.gateway && gatewayOwner === a.policy) {
      const free = attached.filter((r) => !routeOwner.has(`${r.namespace}/${r.name}`));
      everyRoute = free.length === attached.length && covered.size === 0;
      for (const r of attached) {
        const owner = routeOwner.get(`${r.namespace}/${r.name}`);
        if (owner && owner !== a.policy) {
          a.policy.f.warn(
            "spec.rateLimit",
            `not applied to route ${r.namespace}/${r.name}: BackendTrafficPolicy ${owner.namespace}/${owner.name} targets it (policies are not merged)`,
          );
        }
      }
      for (const r of free) covered.set(`${r.namespace}/${r.name}`, r);
    }
    const routeIds = [...covered.keys()];
    if (routeIds.length === 0) {
      if (a.gateway || a.routes.length > 0) a.policy.f.warn("spec.rateLimit", "applies to no served route");
      continue;
    }
    const both = rl.global !== undefined && rl.local !== undefined;
    const blocks: Array<["Global" | "Local", RateLimitRuleModel[] | undefined]> = [
      ["Global", rl.global],
      ["Local", rl.local],
    ];
    for (const [type, rules] of blocks) {
      for (const rule of rules ?? []) {
        const base = `${a.policy.namespace}/${a.policy.name}/${both ? `${type.toLowerCase()}/` : ""}rule/${rule.index}`;
        checkResponseKey(a.policy, rule, routeIds, costs);
        out.push({
          name: base,
          type,
          routes: everyRoute ? [] : routeIds,
          shared: rule.shared,
          headers: rule.headers.map((h) => ({ name: h.name, type: h.type, value: h.value })),
          limit: rule.limit,
          unitSeconds: rule.unitSeconds,
          requestCost: { ...rule.requestCost },
          responseCost: { ...rule.responseCost },
          rlsCluster: type === "Global" ? RATE_LIMIT_CLUSTER : "",
          domain: type === "Global" ? RATE_LIMIT_DOMAIN : "",
          failureModeDeny: type === "Global" ? rl.failureModeDeny : false,
          timeoutMs: type === "Global" ? rl.timeoutMs : 0,
        });
      }
    }
  }
  return out;
}

function resolveTargets(
  m: Model,
  p: TrafficPolicyModel,
  gateway: GatewayModel | undefined,
  listener: ListenerModel | undefined,
  attached: RouteModel[],
): Attachment {
  const a: Attachment = { policy: p, gateway: false, routes: [] };
  for (const t of p.targets) {
    const id = `${p.namespace}/${t.name}`;
    if (t.kind === "AIGatewayRoute" && t.group === AIGW_GROUP) {
      p.f.fail(
        `${t.field}.kind`,
        `policies attach to the HTTPRoute Envoy AI Gateway generates for an AIGatewayRoute: use group ${GATEWAY_API_GROUP}, kind HTTPRoute, name ${t.name}`,
      );
      continue;
    }
    if (t.group !== GATEWAY_API_GROUP || (t.kind !== "Gateway" && t.kind !== "HTTPRoute")) {
      p.f.fail(t.field, `must target a Gateway or an HTTPRoute (${GATEWAY_API_GROUP}), got ${t.group}/${t.kind}`);
      continue;
    }
    if (t.kind === "Gateway") {
      if (!m.gateways.some((g) => g.namespace === p.namespace && g.name === t.name)) {
        p.f.fail(`${t.field}.name`, `Gateway ${id} not found`);
      } else if (gateway && gateway.namespace === p.namespace && gateway.name === t.name) {
        if (t.sectionName !== undefined && t.sectionName !== listener?.name) {
          p.f.fail(`${t.field}.sectionName`, `Gateway ${id} has no listener named "${t.sectionName}"`);
        } else a.gateway = true;
      }
      continue;
    }
    const route = m.routes.find((r) => r.namespace === p.namespace && r.name === t.name);
    if (!route && m.httpRoutes.some((r) => r.namespace === p.namespace && r.name === t.name)) {
      p.f.fail(
        `${t.field}.name`,
        `HTTPRoute ${id} is a plain HTTPRoute: aigw run applies BackendTrafficPolicies only to the HTTPRoutes Envoy AI Gateway generates for AIGatewayRoutes (plain routes get no AI processing)`,
      );
    } else if (!route) {
      p.f.fail(
        `${t.field}.name`,
        `HTTPRoute ${id} not found: aigw run knows the HTTPRoutes Envoy AI Gateway generates, one per AIGatewayRoute, named after it`,
      );
    } else if (t.sectionName !== undefined) {
      p.f.fail(`${t.field}.sectionName`, "not supported by aigw run (a policy applies to the whole route)");
    } else if (!attached.includes(route)) {
      p.f.warn(t.field, `AIGatewayRoute ${id} is not attached to the served Gateway: the policy has no effect on it`);
    } else if (!a.routes.includes(route)) {
      a.routes.push(route);
    }
  }
  return a;
}

function conflict(p: TrafficPolicyModel, target: string, owner: TrafficPolicyModel): void {
  p.f.fail(
    "spec.targetRefs",
    `${target} is already targeted by BackendTrafficPolicy ${owner.namespace}/${owner.name} (Envoy Gateway applies one policy per target)`,
  );
}

function checkResponseKey(p: TrafficPolicyModel, rule: RateLimitRuleModel, routeIds: string[], costs: CostConfig[]): void {
  const key = rule.responseCost.from === "Metadata" ? rule.responseCost.metadataKey : undefined;
  if (key === undefined || !rule.responseKeyField) return;
  const missing = routeIds.filter((id) => !costKeysOf(costs, id).has(key));
  if (missing.length === routeIds.length) {
    const defined = [...new Set(costs.map((c) => c.metadataKey))];
    p.f.fail(rule.responseKeyField, `no llmRequestCosts defines "${key}" for ${routeIds.join(", ")} (defined: ${defined.join(", ") || "none"})`);
  } else if (missing.length > 0) {
    p.f.warn(rule.responseKeyField, `no llmRequestCosts defines "${key}" for ${missing.join(", ")}: their responses charge nothing`);
  }
}

/** The HTTP/2 cluster of the rate limit service: the planned "ratelimit" pods, ready when they listen. */
export function rateLimitCluster(plan: WorkloadPlan, pods: PodRegistry, connectTimeoutMs: number): ClusterConfig {
  const endpoints = plan.pods.filter((p) => p.kind === "ratelimit").map((p) => pods.endpoint(pods.get(p.namespace, p.name)!, rateLimitGrpcPort(p.env)));
  return { name: RATE_LIMIT_CLUSTER, type: "STATIC", endpoints, lbPolicy: "ROUND_ROBIN", http2: true, connectTimeoutMs };
}
