// Which counter an unshared rate limit rule charges: Envoy Gateway v1.8 keeps one per xDS route
// (internal/xds/translator/ratelimit.go puts the route's name in every unshared rule's descriptor).
// Envoy AI Gateway v1.1.0 turns AIGatewayRoute rule i, match j into rule i, match j of an HTTPRoute of the
// same name (internal/controller/ai_gateway_route.go), and Envoy Gateway names the xDS route of each match
// and hostname "httproute/<ns>/<name>/rule/<i>/match/<j>/<hostname, "." as "_">", "*" when the route and
// the listener name none (internal/gatewayapi/helpers.go irRouteName, route.go). The filter decides the
// rule and match itself (request/route.ts), so it names the route from that decision.

import { Rule } from "../config";
import { servingHostname } from "../request/route";
import { RateLimitRule } from "./config";

/** The hostname part of a route that names no hostname. */
export const ANY_HOST = "*";

/** The xDS route of `rule` for its match `match`, served under the rule's hostname that serves `host`. */
export function xdsRouteName(rule: Rule, match: i32, host: string): string {
  const served = servingHostname(rule.hostnames, host);
  const hostname = served < 0 ? ANY_HOST : rule.hostnames[served];
  return "httproute/" + rule.route + "/rule/" + rule.index.toString() + "/match/" + match.toString() + "/" +
    hostname.split(".").join("_");
}

/** The counter a rule charges for a request of `xdsRoute`: the rule's own when shared, else the route's. */
export function counterName(rule: RateLimitRule, xdsRoute: string): string {
  return rule.shared ? rule.name : rule.name + "|" + xdsRoute;
}
