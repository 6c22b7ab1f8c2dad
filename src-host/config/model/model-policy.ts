// Typed views of what configures token accounting: llmRequestCosts (on an AIGatewayRoute, and gateway-wide
// in Envoy AI Gateway's GatewayConfig.spec.globalLLMRequestCosts) and Envoy Gateway BackendTrafficPolicy
// rateLimit rules (gateway.envoyproxy.io/v1alpha1, api/v1alpha1/ratelimit_types.go).

import { Fields, parseDuration, type Json } from "../read/fields.js";
import type { AppliedObject } from "../read/objects.js";
import { GATEWAY_API_GROUP } from "../read/objects.js";
import type { CostType, RateLimitCostConfig } from "../plugin-config.js";
import type { Problems } from "../read/problems.js";

/** Gateway annotation naming the GatewayConfig (same namespace) that holds globalLLMRequestCosts. */
export const GATEWAY_CONFIG_ANNOTATION = "aigateway.envoyproxy.io/gateway-config";
/** The dynamic metadata namespace Envoy AI Gateway writes costs to; the only one a response cost may read. */
export const AI_GATEWAY_METADATA_NAMESPACE = "io.envoy.ai_gateway";
/**
 * BackendTrafficPolicy annotations of aigw run. Envoy Gateway sets these gateway-wide in its own
 * configuration (rateLimit.failClosed, rateLimit.timeout); here they are per policy.
 *   ai-gateway-wasm/ratelimit-failure-mode: "allow" (default, Envoy's failure_mode_deny: false) | "deny"
 *   ai-gateway-wasm/ratelimit-timeout: a Gateway API duration (default 1s)
 */
export const RATE_LIMIT_FAILURE_MODE_ANNOTATION = "ai-gateway-wasm/ratelimit-failure-mode";
export const RATE_LIMIT_TIMEOUT_ANNOTATION = "ai-gateway-wasm/ratelimit-timeout";
export const DEFAULT_RATE_LIMIT_TIMEOUT_MS = 1000;

export const COST_TYPES: readonly CostType[] = [
  "InputToken",
  "CachedInputToken",
  "CacheCreationInputToken",
  "OutputToken",
  "TotalToken",
  "ReasoningToken",
  "CEL",
];
/** The name some Envoy AI Gateway releases (and its token_ratelimit example) use for CacheCreationInputToken. */
const COST_TYPE_ALIASES: Record<string, CostType> = { CachedWriteInputToken: "CacheCreationInputToken" };

/** Envoy Gateway's RateLimitUnit, in seconds as envoyproxy/ratelimit counts them (a month is 30 days). */
export const RATE_LIMIT_UNITS: Record<string, number> = {
  Second: 1,
  Minute: 60,
  Hour: 3600,
  Day: 86_400,
  Month: 30 * 86_400,
  Year: 365 * 86_400,
};
/** requests_per_unit is a uint32 in the rate limit protocol. */
export const MAX_RATE_LIMIT = 2 ** 32 - 1;

export interface CostModel {
  metadataKey: string;
  type: CostType;
  cel: string;
  field: string;
}

export interface GatewayConfigModel {
  obj: AppliedObject;
  f: Fields;
  namespace: string;
  name: string;
  costs: CostModel[];
}

export interface PolicyTargetModel {
  group: string;
  kind: string;
  name: string;
  sectionName?: string;
  field: string;
}

export interface RateLimitHeaderModel {
  /** Lower-cased. */
  name: string;
  type: "Exact" | "Distinct";
  value: string;
  field: string;
}

export interface RateLimitRuleModel {
  index: number;
  field: string;
  headers: RateLimitHeaderModel[];
  limit: number;
  unitSeconds: number;
  requestCost: RateLimitCostConfig;
  responseCost: RateLimitCostConfig;
  /** Field of cost.response.metadata.key, when the response cost reads a cost. */
  responseKeyField?: string;
  /** One bucket for every target (true) or one per route (Envoy Gateway's default). */
  shared: boolean;
}

export interface TrafficPolicyModel {
  obj: AppliedObject;
  f: Fields;
  namespace: string;
  name: string;
  targets: PolicyTargetModel[];
  /** spec.rateLimit, when present. */
  rateLimit?: {
    global?: RateLimitRuleModel[];
    local?: RateLimitRuleModel[];
    failureModeDeny: boolean;
    timeoutMs: number;
  };
  /** spec.loadBalancer.type, for the routes' AIServiceBackend clusters. */
  loadBalancer?: "ROUND_ROBIN" | "LEAST_REQUEST";
}

/** llmRequestCosts (or globalLLMRequestCosts) at `field`: every entry checked, duplicate keys refused. */
export function readCosts(f: Fields, value: unknown, field: string): CostModel[] {
  const costs: CostModel[] = [];
  const seen = new Map<string, string>();
  for (const [c, cf] of f.records(value, field)) {
    const metadataKey = f.string(c.metadataKey, `${cf}.metadataKey`, true);
    let type: CostType | undefined;
    const rawType = f.string(c.type, `${cf}.type`, true);
    if (rawType !== undefined && (COST_TYPES as readonly string[]).includes(rawType)) {
      type = rawType as CostType;
    } else if (rawType !== undefined && COST_TYPE_ALIASES[rawType]) {
      type = COST_TYPE_ALIASES[rawType];
      f.warn(`${cf}.type`, `${rawType} is an older name of ${type}`);
    } else if (rawType !== undefined) {
      f.fail(`${cf}.type`, `must be one of ${COST_TYPES.join(", ")}, got "${rawType}"`);
    }
    const cel = f.string(c.cel, `${cf}.cel`, type === "CEL");
    if (type !== undefined && type !== "CEL" && c.cel !== undefined) f.warn(`${cf}.cel`, `ignored for type ${type}`);
    if (metadataKey !== undefined) {
      const first = seen.get(metadataKey);
      if (first !== undefined) {
        f.fail(`${cf}.metadataKey`, `"${metadataKey}" is already defined by ${first}`);
        continue;
      }
      seen.set(metadataKey, cf);
    }
    if (metadataKey === undefined || type === undefined || (type === "CEL" && cel === undefined)) continue;
    costs.push({ metadataKey, type, cel: type === "CEL" ? cel! : "", field: cf });
  }
  return costs;
}

export function readGatewayConfig(obj: AppliedObject, problems: Problems): GatewayConfigModel {
  const f = new Fields(problems, obj);
  const spec = f.record(obj.object.spec, "spec") ?? {};
  for (const k of Object.keys(spec)) {
    if (k !== "globalLLMRequestCosts") f.warn(`spec.${k}`, "ignored by aigw run");
  }
  return {
    obj,
    f,
    namespace: obj.namespace,
    name: obj.name,
    costs: readCosts(f, spec.globalLLMRequestCosts, "spec.globalLLMRequestCosts"),
  };
}

export function readBackendTrafficPolicy(obj: AppliedObject, problems: Problems): TrafficPolicyModel {
  const f = new Fields(problems, obj);
  const spec = f.record(obj.object.spec, "spec", true) ?? {};
  for (const k of Object.keys(spec)) {
    if (!["targetRef", "targetRefs", "targetSelectors", "rateLimit", "loadBalancer"].includes(k)) {
      f.warn(`spec.${k}`, k === "mergeType" ? "policies are not merged by aigw run" : "ignored by aigw run");
    }
  }
  if (spec.targetSelectors !== undefined) f.fail("spec.targetSelectors", "not supported by aigw run (use targetRefs)");
  const targets: PolicyTargetModel[] = [];
  const readTarget = (t: Json, tf: string) => {
    const kind = f.string(t.kind, `${tf}.kind`, true);
    const name = f.string(t.name, `${tf}.name`, true);
    if (kind === undefined || name === undefined) return;
    targets.push({
      group: f.string(t.group, `${tf}.group`) ?? GATEWAY_API_GROUP,
      kind,
      name,
      sectionName: f.string(t.sectionName, `${tf}.sectionName`),
      field: tf,
    });
  };
  if (spec.targetRefs !== undefined) {
    for (const [t, tf] of f.records(spec.targetRefs, "spec.targetRefs")) readTarget(t, tf);
  }
  if (spec.targetRef !== undefined) {
    const t = f.record(spec.targetRef, "spec.targetRef");
    if (t) readTarget(t, "spec.targetRef");
  }
  if (spec.targetRefs === undefined && spec.targetRef === undefined && spec.targetSelectors === undefined) {
    f.fail("spec.targetRefs", "required (the Gateway or HTTPRoutes the policy applies to)");
  }
  const policy: TrafficPolicyModel = { obj, f, namespace: obj.namespace, name: obj.name, targets };
  const rl = f.record(spec.rateLimit, "spec.rateLimit");
  if (rl) policy.rateLimit = readRateLimit(f, rl, obj);
  const lb = f.record(spec.loadBalancer, "spec.loadBalancer");
  if (lb) policy.loadBalancer = readLoadBalancer(f, lb);
  return policy;
}

/** Envoy Gateway's LoadBalancer: the two types the embedded data plane implements; other settings ignored. */
function readLoadBalancer(f: Fields, lb: Json): TrafficPolicyModel["loadBalancer"] {
  for (const k of Object.keys(lb)) if (k !== "type") f.warn(`spec.loadBalancer.${k}`, "ignored by aigw run");
  const type = f.string(lb.type, "spec.loadBalancer.type", true);
  if (type === "RoundRobin") return "ROUND_ROBIN";
  if (type === "LeastRequest") return "LEAST_REQUEST";
  if (type === "Random" || type === "ConsistentHash") f.fail("spec.loadBalancer.type", `${type} is not supported by aigw run (RoundRobin or LeastRequest)`);
  else if (type !== undefined) f.fail("spec.loadBalancer.type", `must be RoundRobin, LeastRequest, Random or ConsistentHash, got "${type}"`);
  return undefined;
}

function readRateLimit(f: Fields, rl: Json, obj: AppliedObject): NonNullable<TrafficPolicyModel["rateLimit"]> {
  const type = rl.type === undefined ? undefined : f.oneOf(rl.type, "spec.rateLimit.type", ["Global", "Local"], "Global");
  for (const k of Object.keys(rl)) {
    if (!["type", "global", "local"].includes(k)) f.fail(`spec.rateLimit.${k}`, "not supported by aigw run");
  }
  const blocks: Array<["global" | "local", "Global" | "Local", number]> = [
    ["global", "Global", 128],
    ["local", "Local", 16],
  ];
  const out: NonNullable<TrafficPolicyModel["rateLimit"]> = { failureModeDeny: false, timeoutMs: DEFAULT_RATE_LIMIT_TIMEOUT_MS };
  for (const [key, kind, maxRules] of blocks) {
    const field = `spec.rateLimit.${key}`;
    if (rl[key] === undefined || rl[key] === null) {
      if (type === kind) f.fail(field, `required when type is ${kind}`);
      continue;
    }
    if (type !== undefined && type !== kind) {
      f.fail(field, `set, but spec.rateLimit.type is ${type}`);
      continue;
    }
    const block = f.record(rl[key], field) ?? {};
    const rules = f.records(block.rules, `${field}.rules`, true);
    if (rules.length > maxRules) f.fail(`${field}.rules`, `Envoy Gateway accepts at most ${maxRules} ${kind} rules, got ${rules.length}`);
    if (Array.isArray(block.rules) && block.rules.length === 0) f.warn(`${field}.rules`, "no rules: nothing is limited");
    const read: RateLimitRuleModel[] = [];
    rules.forEach(([r, rf], index) => {
      const rule = readRule(f, r, rf, index, kind);
      if (rule) read.push(rule);
    });
    out[key] = read;
  }
  if (rl.global === undefined && rl.local === undefined && type === undefined) {
    f.fail("spec.rateLimit", "needs global or local rules");
  }
  const annotations = f.stringMap(obj.object.metadata.annotations, "metadata.annotations");
  const mode = annotations[RATE_LIMIT_FAILURE_MODE_ANNOTATION];
  if (mode !== undefined && mode !== "allow" && mode !== "deny") {
    f.fail(`metadata.annotations.${RATE_LIMIT_FAILURE_MODE_ANNOTATION}`, `must be "allow" or "deny", got "${mode}"`);
  }
  out.failureModeDeny = mode === "deny";
  const timeout = annotations[RATE_LIMIT_TIMEOUT_ANNOTATION];
  if (timeout !== undefined) {
    const ms = parseDuration(f, timeout, `metadata.annotations.${RATE_LIMIT_TIMEOUT_ANNOTATION}`);
    if (ms !== undefined && ms === 0) f.fail(`metadata.annotations.${RATE_LIMIT_TIMEOUT_ANNOTATION}`, "must be longer than 0");
    else if (ms !== undefined) out.timeoutMs = ms;
  }
  return out;
}

function readRule(f: Fields, r: Json, field: string, index: number, kind: "Global" | "Local"): RateLimitRuleModel | undefined {
  let ok = true;
  const fail = (sub: string, message: string) => {
    f.fail(sub, message);
    ok = false;
  };
  const headers: RateLimitHeaderModel[] = [];
  const selectors = f.records(r.clientSelectors, `${field}.clientSelectors`);
  if (selectors.length > 8) fail(`${field}.clientSelectors`, `Envoy Gateway accepts at most 8 client selectors, got ${selectors.length}`);
  for (const [s, sf] of selectors) {
    for (const k of ["methods", "path", "sourceCIDR"]) {
      if (s[k] !== undefined) fail(`${sf}.${k}`, "not supported by aigw run (only headers)");
    }
    if (s.headers === undefined && s.methods === undefined && s.path === undefined && s.sourceCIDR === undefined) {
      fail(sf, "needs at least one of headers, methods, path or sourceCIDR");
    }
    for (const [h, hf] of f.records(s.headers, `${sf}.headers`)) {
      const name = f.string(h.name, `${hf}.name`, true);
      const type = f.string(h.type, `${hf}.type`) ?? "Exact";
      const value = f.string(h.value, `${hf}.value`);
      if (h.invert === true) fail(`${hf}.invert`, "not supported by aigw run");
      if (type === "RegularExpression") {
        fail(`${hf}.type`, "RegularExpression is not supported by aigw run (use Exact, or Distinct for a bucket per value)");
        continue;
      }
      if (type !== "Exact" && type !== "Distinct") {
        fail(`${hf}.type`, `must be Exact or Distinct, got "${type}"`);
        continue;
      }
      if (type === "Exact" && (value === undefined || value === "")) fail(`${hf}.value`, "required for type Exact");
      if (type === "Distinct" && h.value !== undefined) fail(`${hf}.value`, "must not be set for type Distinct (every value gets its own bucket)");
      if (name === undefined) {
        ok = false;
        continue;
      }
      headers.push({ name: name.toLowerCase(), type, value: type === "Exact" ? (value ?? "") : "", field: hf });
    }
  }

  const limitSpec = f.record(r.limit, `${field}.limit`, true);
  const limit = limitSpec ? f.int(limitSpec.requests, `${field}.limit.requests`, { required: true, min: 0, max: MAX_RATE_LIMIT }) : undefined;
  let unitSeconds: number | undefined;
  if (limitSpec) {
    const unit = f.string(limitSpec.unit, `${field}.limit.unit`, true);
    if (unit !== undefined) {
      unitSeconds = RATE_LIMIT_UNITS[unit];
      if (unitSeconds === undefined) fail(`${field}.limit.unit`, `must be one of ${Object.keys(RATE_LIMIT_UNITS).join(", ")}, got "${unit}"`);
    }
  }

  const cost = f.record(r.cost, `${field}.cost`) ?? {};
  const requestCost = readCost(f, cost.request, `${field}.cost.request`, { from: "Number", number: 1, metadataKey: "" }, (m) =>
    fail(`${field}.cost.request`, m),
  );
  const responseCost = readCost(f, cost.response, `${field}.cost.response`, { from: "Number", number: 0, metadataKey: "" }, (m) =>
    fail(`${field}.cost.response`, m),
  );
  if (requestCost?.from === "Metadata") {
    fail(`${field}.cost.request.from`, "Metadata is known only when the response ends: use cost.response for llmRequestCosts");
  }
  if (kind === "Local" && cost.response !== undefined) {
    f.warn(`${field}.cost.response`, "Envoy Gateway refuses response costs on Local rules; aigw run applies them (use Global to stay portable)");
  }
  if (r.shadowMode === true) fail(`${field}.shadowMode`, "not supported by aigw run");
  const shared = r.shared === undefined ? false : r.shared === true;
  if (r.shared !== undefined && typeof r.shared !== "boolean") fail(`${field}.shared`, "must be a boolean");

  if (!ok || limit === undefined || unitSeconds === undefined || !requestCost || !responseCost) return undefined;
  const rule: RateLimitRuleModel = { index, field, headers, limit, unitSeconds, requestCost, responseCost, shared };
  if (responseCost.from === "Metadata") rule.responseKeyField = `${field}.cost.response.metadata.key`;
  return rule;
}

function readCost(f: Fields, value: unknown, field: string, fallback: RateLimitCostConfig, fail: (message: string) => void): RateLimitCostConfig | undefined {
  if (value === undefined || value === null) return fallback;
  const c = f.record(value, field);
  if (!c) return undefined;
  const from = f.string(c.from, `${field}.from`, true);
  if (c.number !== undefined && c.metadata !== undefined) {
    fail("only one of number or metadata can be set");
    return undefined;
  }
  if (from === "Number") {
    const number = f.int(c.number, `${field}.number`, { required: true, min: 0, max: MAX_RATE_LIMIT });
    return number === undefined ? undefined : { from, number, metadataKey: "" };
  }
  if (from === "Metadata") {
    const md = f.record(c.metadata, `${field}.metadata`, true);
    if (!md) return undefined;
    const namespace = f.string(md.namespace, `${field}.metadata.namespace`, true);
    const key = f.string(md.key, `${field}.metadata.key`, true);
    if (namespace !== undefined && namespace !== AI_GATEWAY_METADATA_NAMESPACE) {
      f.fail(`${field}.metadata.namespace`, `must be ${AI_GATEWAY_METADATA_NAMESPACE} (where llmRequestCosts are written), got "${namespace}"`);
      return undefined;
    }
    return namespace === undefined || key === undefined ? undefined : { from, number: 0, metadataKey: key };
  }
  if (from !== undefined) f.fail(`${field}.from`, `must be Number or Metadata, got "${from}"`);
  return undefined;
}
