// llmRequestCosts, evaluated once at the end of a 2xx response from the usage the response reported.
// Envoy AI Gateway writes them as dynamic metadata io.envoy.ai_gateway/<key>; a wasm filter cannot write
// dynamic metadata (envoy #15148), so they become filter state wasm.<key> (readable in access logs as
// %FILTER_STATE(wasm.<key>:PLAIN)%), next to the same descriptive keys Envoy AI Gateway emits. Where they
// go is the CostExport port, which the glue implements with proxy-wasm properties (host-ports.ts).

import { CelVars } from "../cel/program";
import { TokenUsage } from "../response/usage";
import { Cost, CostKind, RateLimitRule } from "./config";

const vars = new CelVars();

/** The value of one cost, or -1 when a CEL expression fails at run time (logged by the caller). */
export function costValue(cost: Cost, usage: TokenUsage, model: string, backend: string, route: string): i64 {
  switch (cost.kind) {
    case CostKind.Input: return <i64>usage.inputTokens;
    case CostKind.CachedInput: return <i64>usage.cachedInputTokens;
    case CostKind.CacheCreationInput: return <i64>usage.cacheCreationInputTokens;
    case CostKind.Output: return <i64>usage.outputTokens;
    case CostKind.Total: return <i64>usage.totalTokens;
    case CostKind.Reasoning: return <i64>usage.reasoningTokens;
  }
  vars.model = model;
  vars.backend = backend;
  vars.routeName = route;
  vars.inputTokens = usage.inputTokens;
  vars.cachedInputTokens = usage.cachedInputTokens;
  vars.cacheCreationInputTokens = usage.cacheCreationInputTokens;
  vars.outputTokens = usage.outputTokens;
  vars.totalTokens = usage.totalTokens;
  vars.reasoningTokens = usage.reasoningTokens;
  const program = cost.program!;
  return program.evaluate(vars) ? <i64>program.value : -1;
}

/** Where a response's costs go. */
export abstract class CostExport {
  /** One value under `key` (filter state wasm.<key>). */
  abstract write(key: string, value: string): void;
  /** The cost under `key` could not be computed: `error` says why. */
  abstract failed(key: string, error: string): void;
}

/** Every cost of `costs` for a response with `usage`, then the descriptive keys, in that order. */
export function exportCosts(out: CostExport, costs: Array<Cost>, usage: TokenUsage, model: string, backend: string,
  route: string): void {
  for (let i = 0; i < costs.length; i++) {
    const cost = costs[i];
    const v = costValue(cost, usage, model, backend, route);
    if (v < 0) out.failed(cost.metadataKey, cost.program!.error);
    else out.write(cost.metadataKey, v.toString());
  }
  out.write("model_name_override", model);
  out.write("backend_name", backend);
  out.write("route_name", route);
  out.write("response_model", usage.model.length > 0 ? usage.model : model);
}

function findCost(costs: Array<Cost>, key: string): Cost | null {
  for (let i = 0; i < costs.length; i++) if (costs[i].metadataKey == key) return costs[i];
  return null;
}

/**
 * What `rule` charges for a request with `usage` (null: no usage known): its request cost plus its response
 * cost (a number, or the llmRequestCosts value it names; nothing when that cost is not computed).
 */
export function ruleCost(rule: RateLimitRule, costs: Array<Cost>, usage: TokenUsage | null, model: string,
  backend: string, route: string): u64 {
  let amount = rule.requestCost.metadataKey.length == 0 ? rule.requestCost.number : 0;
  const responseKey = rule.responseCost.metadataKey;
  if (responseKey.length == 0) return amount + rule.responseCost.number;
  if (usage == null) return amount;
  const cost = findCost(costs, responseKey);
  if (cost == null) return amount;
  const v = costValue(cost, usage, model, backend, route);
  return v > 0 ? amount + <u64>v : amount;
}
