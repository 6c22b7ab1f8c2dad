// llmRequestCosts → PluginConfig.costs: the costs of every served AIGatewayRoute (route "namespace/name")
// and the gateway-wide ones of the GatewayConfig the Gateway names in its aigateway.envoyproxy.io/gateway-config
// annotation (route ""), as Envoy AI Gateway's controller collects them. For one metadataKey a route's own
// cost beats the global one; the filter applies that precedence.

import type { Model } from "../model/model.js";
import { describeObject, type AppliedObject } from "../read/objects.js";
import { ConfigError } from "../read/problems.js";
import type { GatewayModel, RouteModel } from "../model/model-gateway.js";
import { GATEWAY_CONFIG_ANNOTATION } from "../model/model-policy.js";
import type { CostConfig } from "../plugin-config.js";

/** Where a cost of PluginConfig.costs was declared: its object and field (e.g. spec.llmRequestCosts[1]). */
export interface CostOrigin {
  obj: AppliedObject;
  field: string;
}

/** The costs, and in `origins` (same order) where each was declared. */
export function buildCosts(m: Model, gateway: GatewayModel | undefined, routes: RouteModel[], origins: CostOrigin[] = []): CostConfig[] {
  const costs: CostConfig[] = [];
  const referenced = gateway?.gatewayConfig === undefined ? undefined : `${gateway.namespace}/${gateway.gatewayConfig}`;
  if (gateway && referenced !== undefined) {
    const config = m.gatewayConfigs.get(referenced);
    if (!config) {
      gateway.f.fail(`metadata.annotations.${GATEWAY_CONFIG_ANNOTATION}`, `GatewayConfig ${referenced} not found (it must be in the Gateway's namespace)`);
    } else {
      for (const c of config.costs) {
        costs.push({ route: "", metadataKey: c.metadataKey, type: c.type, cel: c.cel });
        origins.push({ obj: config.f.obj, field: c.field });
      }
    }
  }
  for (const config of m.gatewayConfigs.values()) {
    if (`${config.namespace}/${config.name}` === referenced) continue;
    const by = gateway ? `Gateway ${gateway.namespace}/${gateway.name}` : "the Gateway";
    config.f.warn("", `not referenced by ${by} (annotation ${GATEWAY_CONFIG_ANNOTATION}): its globalLLMRequestCosts are not applied`);
  }
  for (const r of routes) {
    for (const c of r.costs) {
      costs.push({ route: `${r.namespace}/${r.name}`, metadataKey: c.metadataKey, type: c.type, cel: c.cel });
      origins.push({ obj: r.obj, field: c.field });
    }
  }
  return costs;
}

/** The metadata keys a response on `route` ("namespace/name") gets a value for: its own and the global ones. */
export function costKeysOf(costs: CostConfig[], route: string): Set<string> {
  return new Set(costs.filter((c) => c.route === route || c.route === "").map((c) => c.metadataKey));
}

/**
 * The filter's refusal of a cost ("costs[<i>].cel: <why>", as it logs when configuring) as a configuration
 * problem naming the file, object and field the expression came from; undefined for other messages.
 */
export function costProblem(origins: CostOrigin[], filterError: string): ConfigError | undefined {
  const m = /^(?:invalid plugin configuration: )?costs\[(\d+)\]\.(\w+): (.*)$/s.exec(filterError);
  const origin = m ? origins[Number(m[1])] : undefined;
  if (!m || !origin) return undefined;
  return new ConfigError([`${origin.obj.source}: ${describeObject(origin.obj)}: ${origin.field}.${m[2]}: ${m[3]}`]);
}
