// Rule matching and backend choice, as Envoy does it for the HTTPRoute an AIGatewayRoute generates: the
// first rule (in configuration order) whose header matches fit wins, and one of its backends is picked by
// weight (weighted_clusters: a random number scaled to the total weight; weight 0 is never picked).
// Rules limited to host names rank by Gateway API hostname precedence before that order: an exact host
// name (longer first), then a "*." wildcard (longer first), then rules for every host — the order of the
// routes the builder generates for them, so that the route Envoy picks is the rule's.

import { Backend, FilterConfig, HeaderMatcher, Rule } from "../config";
import { requestHost, wildcardCovers } from "./host";

/** Request headers as the rules see them; names are asked in lowercase. null = header absent. */
export abstract class HeaderSource {
  abstract get(name: string): string | null;
}

/** A HeaderSource that answers one header itself (the body's model) and defers to another for the rest. */
export class HeaderOverlay extends HeaderSource {
  constructor(
    private name: string,
    private value: string,
    private rest: HeaderSource,
  ) {
    super();
  }

  get(name: string): string | null {
    return name == this.name ? this.value : this.rest.get(name);
  }
}

/** The first rule whose matches fit the headers, or null (Envoy AI Gateway's 404 "No matching route"). */
export function findRule(config: FilterConfig, headers: HeaderSource): Rule | null {
  const rules = config.rules;
  if (!config.hostScoped) {
    for (let i = 0; i < rules.length; i++) {
      const rule = rules[i];
      if (ruleMatches(rule, headers)) return rule;
    }
    return null;
  }
  const host = requestHost(headers.get(":authority"));
  let best: Rule | null = null;
  let bestRank: i32 = -1;
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i];
    const rank = hostRank(rule.hostnames, host);
    if (rank > bestRank && ruleMatches(rule, headers)) {
      best = rule;
      bestRank = rank;
    }
  }
  return best;
}

const EXACT_HOST_RANK: i32 = 0x10000;

/** -1: the rule does not serve this host; 0: it serves every host; higher: a more specific host name. */
export function hostRank(hostnames: Array<string>, host: string): i32 {
  if (hostnames.length == 0) return 0;
  const i = servingHostname(hostnames, host);
  if (i < 0) return -1;
  const h = hostnames[i];
  return h == host ? EXACT_HOST_RANK + h.length : h.length;
}

/** Which of `hostnames` serves `host`: the exact one, else the longest wildcard covering it; -1 if none. */
export function servingHostname(hostnames: Array<string>, host: string): i32 {
  let best: i32 = -1;
  let bestRank: i32 = -1;
  for (let i = 0; i < hostnames.length; i++) {
    const h = hostnames[i];
    let r: i32 = -1;
    if (h == host) r = EXACT_HOST_RANK + h.length;
    else if (h.startsWith("*.") && wildcardCovers(h, host, false)) r = h.length;
    if (r > bestRank) {
      best = i;
      bestRank = r;
    }
  }
  return best;
}

/** No matches = matches everything; otherwise any match whose header conditions all hold. */
export function ruleMatches(rule: Rule, headers: HeaderSource): bool {
  return firstMatch(rule, headers) >= 0;
}

/**
 * The index of the rule's first match whose header conditions all hold, or -1. A rule without matches has
 * Gateway API's default one (prefix "/"), so it is match 0, as Envoy Gateway names its xDS route.
 */
export function firstMatch(rule: Rule, headers: HeaderSource): i32 {
  const matches = rule.matches;
  if (matches.length == 0) return 0;
  for (let i = 0; i < matches.length; i++) {
    if (allHeadersMatch(matches[i], headers)) return i;
  }
  return -1;
}

function allHeadersMatch(conds: Array<HeaderMatcher>, headers: HeaderSource): bool {
  for (let i = 0; i < conds.length; i++) {
    const c = conds[i];
    const v = headers.get(c.name);
    if (v == null || !c.matches(v)) return false;
  }
  return true;
}

/**
 * One of the rule's backends by weight. `random` is uniform in [0, 1) (values outside are clamped), so the
 * choice is deterministic for a given number. null when every weight is 0 (Gateway API: answer 500).
 */
export function pickBackend(rule: Rule, random: f64): Backend | null {
  const total = rule.totalWeight;
  if (total <= 0) return null;
  let point = <i64>Math.floor((random < 0 ? 0 : random) * <f64>total);
  if (point >= total) point = total - 1;
  const backends = rule.backends;
  for (let i = 0; i < backends.length; i++) {
    const w = backends[i].weight;
    if (point < w) return backends[i];
    point -= w;
  }
  return null; // unreachable: the weights sum to total
}
