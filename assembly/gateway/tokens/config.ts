// The token part of the plugin configuration (costs, rateLimits), compiled once at configure time from the
// document config.ts parsed: CEL expressions are compiled and dry-run, costs are resolved per route (a
// route's key beats a global one, as Envoy AI Gateway does), rate limit rules are checked.

import { compileCel, CelProgram } from "../cel/program";
import { PluginConfig, RateLimitCostConfig } from "../plugin-config";

export enum CostKind {
  Input,
  CachedInput,
  CacheCreationInput,
  Output,
  Total,
  Reasoning,
  Cel,
}

export class Cost {
  constructor(
    public metadataKey: string,
    public kind: CostKind,
    public program: CelProgram | null,
  ) {}
}

export class HeaderSelector {
  constructor(
    public name: string,
    /** true: one bucket per value; false: only `value` matches. */
    public distinct: bool,
    public value: string,
  ) {}
}

export class RateLimitCost {
  constructor(
    /** "" for a fixed number, else the cost's metadata key. */
    public metadataKey: string,
    public number: u64,
  ) {}
}

export class RateLimitRule {
  headers: Array<HeaderSelector> = [];
  constructor(
    public name: string,
    public global: bool,
    public routes: Array<string>,
    /** One counter over all routes; else one per xDS route (route-key.ts). */
    public shared: bool,
    public limit: u64,
    public unitSeconds: u64,
    public requestCost: RateLimitCost,
    public responseCost: RateLimitCost,
    public rlsCluster: string,
    public domain: string,
    public failureModeDeny: bool,
    public timeoutMs: u32,
  ) {}

  appliesTo(route: string): bool {
    return this.routes.length == 0 || this.routes.includes(route);
  }
}

export class TokenConfig {
  /** Costs per AIGatewayRoute ("ns/name"), global ones merged in; "" holds the global list alone. */
  costsByRoute: Map<string, Array<Cost>> = new Map<string, Array<Cost>>();
  rateLimits: Array<RateLimitRule> = [];
  /** Whether any cost exists (then streaming chats are made to report usage). */
  anyCost: bool = false;

  costsFor(route: string): Array<Cost> {
    return this.costsByRoute.has(route) ? this.costsByRoute.get(route) : this.costsByRoute.get("");
  }
}

export class TokenConfigResult {
  constructor(
    public config: TokenConfig | null,
    public error: string,
  ) {}
}

function costKind(type: string): i32 {
  if (type == "InputToken") return CostKind.Input;
  if (type == "CachedInputToken") return CostKind.CachedInput;
  if (type == "CacheCreationInputToken") return CostKind.CacheCreationInput;
  if (type == "OutputToken") return CostKind.Output;
  if (type == "TotalToken") return CostKind.Total;
  if (type == "ReasoningToken") return CostKind.Reasoning;
  if (type == "CEL") return CostKind.Cel;
  return -1;
}

function fail(error: string): TokenConfigResult {
  return new TokenConfigResult(null, error);
}

/** Compiles the costs and rate limits of the parsed plugin configuration. */
export function compileTokenConfig(doc: PluginConfig): TokenConfigResult {
  const config = new TokenConfig();
  const global = new Array<Cost>();
  const routeCosts = new Map<string, Array<Cost>>();
  for (let i = 0; i < doc.costs.length; i++) {
    const c = doc.costs[i];
    const at = "costs[" + i.toString() + "]";
    if (c.metadataKey.length == 0) return fail(at + ".metadataKey: missing");
    const kind = costKind(c.type);
    if (kind < 0) return fail(at + ".type: unknown cost type \"" + c.type + "\"");
    let program: CelProgram | null = null;
    if (kind == CostKind.Cel) {
      const compiled = compileCel(c.cel);
      if (compiled.program == null) return fail(at + ".cel: " + compiled.error);
      program = compiled.program;
    }
    const cost = new Cost(c.metadataKey, kind, program);
    if (c.route.length == 0) {
      global.push(cost);
    } else {
      if (!routeCosts.has(c.route)) routeCosts.set(c.route, new Array<Cost>());
      routeCosts.get(c.route).push(cost);
    }
    config.anyCost = true;
  }
  // Each route sees its own keys plus the global keys it does not define itself.
  const routes = routeCosts.keys();
  for (let i = 0; i < routes.length; i++) {
    const own = routeCosts.get(routes[i]);
    const merged = own.slice(0);
    for (let j = 0; j < global.length; j++) {
      if (!hasKey(own, global[j].metadataKey)) merged.push(global[j]);
    }
    config.costsByRoute.set(routes[i], merged);
  }
  config.costsByRoute.set("", global);

  for (let i = 0; i < doc.rateLimits.length; i++) {
    const r = doc.rateLimits[i];
    const at = "rateLimits[" + i.toString() + "]";
    if (r.type != "Local" && r.type != "Global") return fail(at + ".type: must be Local or Global");
    if (!(r.limit > 0)) return fail(at + ".limit: must be > 0");
    if (!(r.unitSeconds > 0)) return fail(at + ".unitSeconds: must be > 0");
    const global = r.type == "Global";
    if (global && r.rlsCluster.length == 0) return fail(at + ".rlsCluster: missing for a Global rule");
    const req = rateLimitCost(r.requestCost);
    const resp = rateLimitCost(r.responseCost);
    if (req == null) return fail(at + ".requestCost.from: must be Number or Metadata");
    if (resp == null) return fail(at + ".responseCost.from: must be Number or Metadata");
    const rule = new RateLimitRule(r.name, global, r.routes, r.shared, <u64>r.limit, <u64>r.unitSeconds, req, resp,
      r.rlsCluster, r.domain, r.failureModeDeny, r.timeoutMs > 0 ? <u32>r.timeoutMs : 1000);
    for (let j = 0; j < r.headers.length; j++) {
      const h = r.headers[j];
      if (h.type != "Exact" && h.type != "Distinct") return fail(at + ".headers[" + j.toString() + "].type: must be Exact or Distinct");
      rule.headers.push(new HeaderSelector(h.name.toLowerCase(), h.type == "Distinct", h.value));
    }
    config.rateLimits.push(rule);
  }
  const conflict = globalRulesConflict(config.rateLimits);
  if (conflict.length > 0) return fail(conflict);
  return new TokenConfigResult(config, "");
}

/**
 * The Global rules that apply to one request go to the rate limit service in one ShouldRateLimit call, as
 * Envoy's rate limit filter sends them: so every Global rule names the same service and domain (Envoy
 * Gateway has one rate limit service per gateway), and rules that share a route share the failure mode
 * and timeout (in Envoy Gateway they come from the one policy attached to that route).
 */
function globalRulesConflict(rules: Array<RateLimitRule>): string {
  let first: RateLimitRule | null = null;
  let firstAt = 0;
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i];
    if (!r.global) continue;
    const at = "rateLimits[" + i.toString() + "]";
    if (first == null) {
      first = r;
      firstAt = i;
      continue;
    }
    const was = " of rateLimits[" + firstAt.toString() + "]";
    if (r.rlsCluster != first.rlsCluster) return at + ".rlsCluster: \"" + r.rlsCluster + "\" differs from \"" + first.rlsCluster + "\"" + was + " (one rate limit service for all Global rules)";
    if (r.domain != first.domain) return at + ".domain: \"" + r.domain + "\" differs from \"" + first.domain + "\"" + was + " (one domain for all Global rules)";
    for (let j = 0; j < i; j++) {
      const o = rules[j];
      if (!o.global || !shareRoute(o, r)) continue;
      const other = " of rateLimits[" + j.toString() + "], which applies to the same route";
      if (o.failureModeDeny != r.failureModeDeny) return at + ".failureModeDeny: differs from that" + other;
      if (o.timeoutMs != r.timeoutMs) return at + ".timeoutMs: differs from that" + other;
    }
  }
  return "";
}

function shareRoute(a: RateLimitRule, b: RateLimitRule): bool {
  if (a.routes.length == 0 || b.routes.length == 0) return true;
  for (let i = 0; i < a.routes.length; i++) if (b.routes.includes(a.routes[i])) return true;
  return false;
}

function rateLimitCost(c: RateLimitCostConfig): RateLimitCost | null {
  if (c.from == "Number" || c.from.length == 0) return new RateLimitCost("", c.number > 0 ? <u64>c.number : 0);
  if (c.from == "Metadata") return new RateLimitCost(c.metadataKey, 0);
  return null;
}

function hasKey(costs: Array<Cost>, key: string): bool {
  for (let i = 0; i < costs.length; i++) if (costs[i].metadataKey == key) return true;
  return false;
}
