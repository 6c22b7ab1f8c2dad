// Which routes (AIGatewayRoutes and HTTPRoutes alike) attach to the served Gateway's listener through
// their parentRefs, and the parentRefs that name nothing.

import type { Model } from "./model.js";
import type { GatewayModel, ListenerModel, RouteBaseModel } from "./model-gateway.js";
import { GATEWAY_API_GROUP } from "../read/objects.js";
import { compare } from "./pods.js";

/**
 * Routes whose parentRefs attach them to the listener, oldest first (creationTimestamp, objects without one
 * at `loadTime`), then by namespace/name: Envoy AI Gateway's order and Gateway API's tie-break.
 */
export function attachedRoutes<T extends RouteBaseModel>(routes: T[], gw: GatewayModel, listener: ListenerModel, loadTime: number): T[] {
  const attached: T[] = [];
  for (const r of routes) {
    let ok = false;
    for (const p of r.parentRefs) {
      if (p.group !== GATEWAY_API_GROUP || p.kind !== "Gateway" || p.namespace !== gw.namespace || p.name !== gw.name) continue;
      if (p.sectionName !== undefined && p.sectionName !== listener.name) {
        r.f.fail(`${p.field}.sectionName`, `Gateway ${gw.namespace}/${gw.name} has no listener named "${p.sectionName}"`);
      } else if (p.port !== undefined && p.port !== listener.port) {
        r.f.fail(`${p.field}.port`, `Gateway ${gw.namespace}/${gw.name} has no listener on port ${p.port}`);
      } else if (listener.routesFrom === "Same" && r.namespace !== gw.namespace) {
        r.f.fail(p.field, `listener ${listener.name} of Gateway ${gw.namespace}/${gw.name} accepts routes from its own namespace only`);
      } else ok = true;
    }
    if (ok) attached.push(r);
  }
  const key = (r: T): [number, string] => [r.createdAt ?? loadTime, `${r.namespace}/${r.name}`];
  return attached.sort((a, b) => {
    const [ta, na] = key(a);
    const [tb, nb] = key(b);
    return ta - tb || compare(na, nb);
  });
}

/** A parentRef that names no Gateway (or something that is not a Gateway) is a configuration error. */
export function checkDanglingParents(m: Model, routes: RouteBaseModel[], gw: GatewayModel | undefined): void {
  for (const r of routes) {
    for (const p of r.parentRefs) {
      if (p.group !== GATEWAY_API_GROUP || p.kind !== "Gateway") {
        r.f.fail(p.field, `must refer to a Gateway (${GATEWAY_API_GROUP}), got ${p.group}/${p.kind}`);
      } else if (!gw || p.namespace !== gw.namespace || p.name !== gw.name) {
        const exists = m.gateways.some((g) => g.namespace === p.namespace && g.name === p.name);
        if (!exists) r.f.fail(p.field, `Gateway ${p.namespace}/${p.name} not found`);
      }
    }
  }
}
