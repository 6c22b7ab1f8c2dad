// The descriptor scheme between the filter and the rate limit service, for PluginConfig Global rules.
// THE FILTER MUST SEND EXACTLY THIS (mirror this comment in AssemblyScript):
//
//   RateLimitRequest {
//     domain:      rule.domain                             ("ai-gateway"; one request per domain)
//     descriptors: one per Global rule that applies to the request, each:
//       entries:     [ ("rule", rule.name),                 e.g. ("rule", "default/policy/rule/0/route/default/r")
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
//   admission (request headers): n = rule.requestCost.number; n = 0 only checks the budget
//   end of stream (2xx, costs known): n = rule.responseCost (Number: its number; Metadata: the value of the
//     llmRequestCosts key, skipped when that cost was not computed); the response to it is not enforced
// Leaving hits_addend unset falls back to the request-level hits_addend, where 0 means 1 (envoyproxy/ratelimit).
//
// The answer: overall_code OVER_LIMIT when any descriptor's counter, after adding n, exceeds the limit
// (a check with n = 0 passes while the counter is ≤ the limit, i.e. also when exactly at it); statuses[i]
// gives current_limit {requests_per_unit, unit}, limit_remaining and duration_until_reset for descriptor i.

import type { RateLimitConfig } from "../config/plugin-config.js";
import type { DescriptorEntry } from "./proto.js";

export const RULE_DESCRIPTOR_KEY = "rule";

/**
 * The descriptor entries the filter sends for `rule` on a request with these headers (lower-case name →
 * first value), or undefined when the rule does not apply to them. Route scoping is the caller's part.
 */
export function descriptorEntries(rule: RateLimitConfig, header: (name: string) => string | undefined): DescriptorEntry[] | undefined {
  const entries: DescriptorEntry[] = [{ key: RULE_DESCRIPTOR_KEY, value: rule.name }];
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
  if (entries.length !== rule.headers.length + 1) return false;
  if (entries[0]!.key !== RULE_DESCRIPTOR_KEY || entries[0]!.value !== rule.name) return false;
  return rule.headers.every((h, i) => {
    const e = entries[i + 1]!;
    return e.key === h.name && e.value !== "" && (h.type === "Distinct" || e.value === h.value);
  });
}
