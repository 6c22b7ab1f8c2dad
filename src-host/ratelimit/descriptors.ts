// The descriptor scheme between the filter and the rate limit service, for PluginConfig Global rules.
// THE FILTER MUST SEND EXACTLY THIS (mirror this comment in AssemblyScript):
//
//   RateLimitRequest {
//     domain:      rule.domain                             ("ai-gateway"; one request per domain)
//     descriptors: one per Global rule that applies to the request, each:
//       entries:     [ ("rule", rule.name),                 e.g. ("rule", "default/policy/rule/0")
//                      ("route", the request's xDS route)    unless rule.shared, e.g.
//                         ("route", "httproute/default/r/rule/0/match/1/*"): one counter per xDS route,
//                         as Envoy Gateway's route descriptor (see config/build/rate-limits.ts)
//                      (h.name, value) for h in rule.headers, in that order:
//                         Exact:    value = h.value          (the configured value)
//                         Distinct: value = the request's header value (first value of the header) ]
//       hits_addend: { value: n }                            (field 3, google.protobuf.UInt64Value)
//   }
//
// A rule applies when the request's route is in rule.routes (or rule.routes is empty), every Exact header
// equals its value, and every Distinct header is present and not empty (otherwise the rule is skipped, as
// Envoy skips a rate limit whose actions cannot all produce an entry). Header names are lower-case; header
// values are the request's as the upstream will see them (x-ai-eg-model as the filter set it from the body).
//
// Charging, with per-descriptor hits_addend (what Envoy ≥ 1.34 sends for Envoy Gateway's cost fields):
//   admission (body complete): n = the reservation: rule.requestCost.number plus the response cost of the
//     request's estimate (tokens/estimate.ts), at most rule.limit; n = 0 only checks the budget
//   end of stream (2xx, costs known): n = what the real cost (request cost + response cost: Number its
//     number, Metadata the llmRequestCosts value) exceeds the reservation by; not sent when 0 (the service
//     cannot give back what an estimate over-counted). The answer to it is not enforced.
// Leaving hits_addend unset falls back to the request-level hits_addend, where 0 means 1 (envoyproxy/ratelimit).
//
// The answer: overall_code OVER_LIMIT when any descriptor's counter, after adding n, exceeds the limit
// (a check with n = 0 passes while the counter is ≤ the limit, i.e. also when exactly at it); statuses[i]
// gives current_limit {requests_per_unit, unit}, limit_remaining and duration_until_reset for descriptor i.

import type { RateLimitConfig } from "../config/plugin-config.js";
import type { DescriptorEntry } from "./proto.js";

export const RULE_DESCRIPTOR_KEY = "rule";
export const ROUTE_DESCRIPTOR_KEY = "route";

/**
 * The descriptor entries the filter sends for `rule` on a request of xDS route `xdsRoute` with these
 * headers (lower-case name → first value), or undefined when the rule does not apply to them. Route
 * scoping is the caller's part.
 */
export function descriptorEntries(rule: RateLimitConfig, xdsRoute: string, header: (name: string) => string | undefined): DescriptorEntry[] | undefined {
  const entries: DescriptorEntry[] = [{ key: RULE_DESCRIPTOR_KEY, value: rule.name }];
  if (!rule.shared) entries.push({ key: ROUTE_DESCRIPTOR_KEY, value: xdsRoute });
  for (const h of rule.headers) {
    const value = header(h.name);
    if (value === undefined || value === "") return undefined;
    if (h.type === "Exact" && value !== h.value) return undefined;
    entries.push({ key: h.name, value });
  }
  return entries;
}

/** Whether `entries` are a descriptor of `rule` (the service's side of the scheme). */
export function matchesRule(rule: RateLimitConfig, entries: DescriptorEntry[]): boolean {
  const first = rule.shared ? 1 : 2;
  if (entries.length !== rule.headers.length + first) return false;
  if (entries[0]!.key !== RULE_DESCRIPTOR_KEY || entries[0]!.value !== rule.name) return false;
  if (!rule.shared && (entries[1]!.key !== ROUTE_DESCRIPTOR_KEY || entries[1]!.value === "")) return false;
  return rule.headers.every((h, i) => {
    const e = entries[i + first]!;
    return e.key === h.name && e.value !== "" && (h.type === "Distinct" || e.value === h.value);
  });
}
