// Attached HTTPRoutes → routes of the data plane's route table, their clusters, and the filter's view of
// them (PluginConfig.httpRoutes). One route per rule × match × host name, named as Envoy Gateway names them
// (httproute/<ns>/<name>/rule/<i>/match/<j>/<host, "." as "_">), in Gateway API precedence: the longest
// exact host name, then the longest host name, then the path (Exact before RegularExpression before
// PathPrefix, as Envoy Gateway ranks them, longer first), a method match, more header matches; ties go to
// the older route, then namespace/name, then rule and match order. They come before the AIGatewayRoute
// routes, so a path an HTTPRoute matches is served as a plain route.
//
// Backends: an InferencePool (its ORIGINAL_DST cluster; the port of the backendRef is ignored) or a Service
// port (a STATIC cluster of its endpoints). A reference to a missing object, or across namespaces without a
// ReferenceGrant, is a warning, and Gateway API's answer for its share of the requests, 500: a weighted
// entry for a cluster that does not exist on a route whose cluster_not_found answer is 500 (what Envoy
// Gateway generates), or a 500 direct response when the rule has nothing valid to send to.

import type { ClusterConfig, HeaderMatcher, RetryPolicy, Route, RouteAction } from "../../dataplane-api/bootstrap.js";
import type { Model } from "../model/model.js";
import { referenceAllowed } from "../model/model.js";
import type { ListenerModel } from "../model/model-gateway.js";
import type { HTTPBackendRefModel, HTTPMatchModel, HTTPRouteModel, HTTPRuleModel } from "../model/model-httproute.js";
import { GATEWAY_API_GROUP, INFERENCE_GROUP } from "../read/objects.js";
import type { HTTPRouteRuleConfig, PoolConfig } from "../plugin-config.js";
import type { PodRegistry } from "../model/pods.js";
import { resolveService } from "./services.js";

/** The weighted entry for invalid backendRefs: no such cluster exists, so the route answers 500. */
export const INVALID_BACKEND_CLUSTER = "invalid-backend-ref";
/** Envoy's default route timeout, which Envoy Gateway keeps for HTTPRoutes without timeouts.request. */
export const HTTPROUTE_TIMEOUT_MS = 15_000;
/**
 * Routes to an InferencePool retry a connection failure once on another ready endpoint of the pool: a pod that
 * died while it still reads Ready (and the EPP picked it) costs a retry, not a 503. Envoy: retry_on
 * connect-failure with the previous_hosts host predicate; the pool's override_host policy goes to its fallback
 * (round robin over the pool) once the EPP's list is used up.
 */
export const POOL_RETRY_POLICY: RetryPolicy = { retryOn: "connect-failure", numRetries: 1, hostSelectionRetryMaxAttempts: 5 };
/** Paths the AIGatewayRoutes serve (the filter's endpoints, request/endpoint.ts), for the warning about HTTPRoutes that take them. */
const AI_PATHS = [
  "/v1/chat/completions",
  "/v1/completions",
  "/v1/embeddings",
  "/v1/responses",
  "/v1/responses/input_tokens",
  "/v1/images/generations",
  "/v1/audio/speech",
  "/v1/audio/transcriptions",
  "/v1/audio/translations",
  "/tokenize",
  "/v1/models",
];

export interface BuiltPool {
  pool: ClusterConfig;
  epp: ClusterConfig;
  config: PoolConfig;
}

export interface BuiltHTTPRoutes {
  /** In precedence order. */
  routes: Route[];
  /** Every cluster the routes send to, and the Endpoint Picker clusters of their pools. */
  clusters: ClusterConfig[];
  pools: PoolConfig[];
  rules: HTTPRouteRuleConfig[];
}

export interface HTTPRouteContext {
  model: Model;
  pods: PodRegistry;
  listener: ListenerModel;
  /** The pools that built, by "namespace/name" (a pool with problems of its own is absent). */
  pools: Map<string, BuiltPool>;
  connectTimeoutMs: number;
  /** Whether AIGatewayRoutes are attached too (HTTPRoutes that take their paths are worth a warning). */
  aiRoutes: boolean;
}

interface RuleTarget {
  action: RouteAction;
  clusterNotFoundStatus?: 500;
  backends: HTTPRouteRuleConfig["backends"];
}

/** The clusters and pools the routes use, gathered while building. */
interface Used {
  clusters: Map<string, ClusterConfig>;
  pools: Map<string, PoolConfig>;
}

interface Entry {
  route: Route;
  key: number[];
}

/** `routes` must be the attached HTTPRoutes in attachment order (oldest first): the precedence tie-break. */
export function buildHTTPRoutes(ctx: HTTPRouteContext, routes: HTTPRouteModel[]): BuiltHTTPRoutes {
  const used: Used = { clusters: new Map(), pools: new Map() };
  const rules: HTTPRouteRuleConfig[] = [];
  const entries: Entry[] = [];
  for (const route of routes) {
    const hosts = effectiveHosts(route, ctx.listener);
    if (hosts.length === 0) continue;
    for (const rule of route.rules) {
      const name = `httproute/${route.namespace}/${route.name}/rule/${rule.index}`;
      const target = ruleTarget(ctx, route, rule, used);
      rules.push({ name, backends: target.backends });
      rule.matches.forEach((m, j) => {
        if (ctx.aiRoutes && hosts.every((h) => h.matcher === undefined)) warnIfTakesAIPaths(route, rule, m, j);
        for (const host of hosts) {
          const r: Route = {
            name: `${name}/match/${j}/${host.name.replaceAll(".", "_")}`,
            match: { ...pathMatch(m), headers: headerMatchers(m, host.matcher) },
            action: target.action,
            timeoutMs: rule.timeoutMs ?? HTTPROUTE_TIMEOUT_MS,
          };
          if (target.clusterNotFoundStatus !== undefined) r.clusterNotFoundStatus = target.clusterNotFoundStatus;
          if (target.backends.some((b) => b.pool)) r.retryPolicy = POOL_RETRY_POLICY;
          entries.push({ route: r, key: precedence(host.name, m) });
        }
      });
    }
  }
  // Stable: equal keys keep the attachment, rule and match order.
  entries.sort((a, b) => compareKeys(a.key, b.key));
  return { routes: entries.map((e) => e.route), clusters: [...used.clusters.values()], pools: [...used.pools.values()], rules };
}

/** Gateway API precedence, larger first: exact host length, host length, path rank and length, method, headers. */
function precedence(host: string, m: HTTPMatchModel): number[] {
  const rank = { Exact: 3, RegularExpression: 2, PathPrefix: 1 }[m.path.type];
  return [...hostPrecedence(host), rank, m.path.value.length, m.method ? 1 : 0, m.headers.length];
}

/** Gateway API hostname precedence, larger first: an exact host name by length, then a wildcard by length, then "*". */
export function hostPrecedence(host: string): number[] {
  const wildcard = host === "*" || host.startsWith("*.");
  return [wildcard ? 0 : host.length, host === "*" ? 0 : host.length];
}

export function compareKeys(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return b[i]! - a[i]!;
  return 0;
}

/**
 * The host names a route serves on this listener (Gateway API hostname intersection), each with the
 * :authority matcher it needs ("*" and the listener's own host name need none: the virtual host has it).
 */
export function effectiveHosts(route: Pick<HTTPRouteModel, "f" | "hostnames">, listener: ListenerModel): Array<{ name: string; matcher?: HeaderMatcher }> {
  const own = listener.hostname;
  if (route.hostnames.length === 0) return [{ name: own ?? "*" }];
  const hosts = new Map<string, HeaderMatcher | undefined>();
  for (const h of route.hostnames) {
    const name = own === undefined ? h : intersect(own, h);
    if (name !== undefined && !hosts.has(name)) hosts.set(name, name === own ? undefined : authorityMatcher(name));
  }
  if (hosts.size === 0) {
    route.f.warn("spec.hostnames", `no host name matches listener ${listener.name}'s hostname ${own}: the route gets no requests`);
  }
  return [...hosts].map(([name, matcher]) => (matcher ? { name, matcher } : { name }));
}

/** The host names both a listener's and a route's host name cover (Gateway API: the more specific one). */
function intersect(a: string, b: string): string | undefined {
  const covers = (wild: string, host: string) => wild.startsWith("*.") && host.endsWith(wild.slice(1)) && host.length > wild.length - 1;
  if (a === b) return a;
  if (covers(a, b)) return b;
  if (covers(b, a)) return a;
  return undefined;
}

/**
 * :authority for a host name, the port ignored as Envoy Gateway does; "*." covers one or more labels. Host
 * names match case-insensitively (as Envoy's virtual host domains do): each letter is a class of both cases,
 * as neither RE2 flags nor JavaScript's inline ones are shared by both engines.
 */
function authorityMatcher(host: string): HeaderMatcher {
  const caseless = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/[a-z]/g, (c) => `[${c}${c.toUpperCase()}]`);
  const name = host.startsWith("*.") ? `[^:]+${caseless(host.slice(1))}` : caseless(host);
  return { name: ":authority", regex: `${name}(:[0-9]+)?` };
}

function pathMatch(m: HTTPMatchModel): Pick<Route["match"], "prefix" | "path" | "pathSeparatedPrefix" | "safeRegex"> {
  const v = m.path.value;
  if (m.path.type === "Exact") return { path: v };
  if (m.path.type === "RegularExpression") return { safeRegex: v };
  // PathPrefix matches whole path segments; a trailing "/" does not change that (Envoy Gateway trims it).
  const trimmed = v.replace(/\/+$/, "");
  return trimmed === "" ? { prefix: "/" } : { pathSeparatedPrefix: trimmed };
}

function headerMatchers(m: HTTPMatchModel, authority: HeaderMatcher | undefined): HeaderMatcher[] {
  const out: HeaderMatcher[] = authority ? [authority] : [];
  if (m.method) out.push({ name: ":method", exact: m.method });
  for (const h of m.headers) out.push(h.type === "Exact" ? { name: h.name, exact: h.value } : { name: h.name, regex: h.value });
  return out;
}

function warnIfTakesAIPaths(route: HTTPRouteModel, rule: HTTPRuleModel, m: HTTPMatchModel, j: number): void {
  if (m.method || m.headers.length > 0) return;
  const test = pathMatch(m);
  const taken = AI_PATHS.filter((p) =>
    test.prefix !== undefined
      ? p.startsWith(test.prefix)
      : test.path !== undefined
        ? p === test.path
        : test.pathSeparatedPrefix !== undefined
          ? p === test.pathSeparatedPrefix || p.startsWith(`${test.pathSeparatedPrefix}/`)
          : new RegExp(`^(?:${test.safeRegex})$`).test(p),
  );
  if (taken.length === 0) return;
  const field = rule.field === "spec.rules" ? "spec.rules" : `${rule.field}.matches[${j}]`;
  route.f.warn(field, `takes ${taken.join(", ")}: those requests are served as plain HTTPRoute requests, not by the AIGatewayRoutes`);
}

/** The route action of a rule and the clusters it may pick; registers the clusters and pools used. */
function ruleTarget(ctx: HTTPRouteContext, route: HTTPRouteModel, rule: HTTPRuleModel, used: Used): RuleTarget {
  const weights = new Map<string, { weight: number; pool: string }>();
  let invalidWeight = 0;
  let valid = 0;
  for (const ref of rule.backendRefs) {
    const picked = backendCluster(ctx, route, ref, used);
    if (picked === "invalid") {
      invalidWeight += ref.weight;
      continue;
    }
    if (!picked) continue; // a problem of its own, already reported
    valid++;
    const w = weights.get(picked.cluster);
    weights.set(picked.cluster, { weight: (w?.weight ?? 0) + ref.weight, pool: picked.pool });
  }
  const live = [...weights].filter(([, w]) => w.weight > 0);
  const backends = live.map(([cluster, w]) => ({ cluster, pool: w.pool }));
  if (live.length === 0) {
    if (rule.backendRefs.length === 0) route.f.warn(`${rule.field}.backendRefs`, "no backends: requests matching this rule get 500");
    else if (valid > 0 && invalidWeight === 0) route.f.warn(`${rule.field}.backendRefs`, "every weight is 0: requests matching this rule get 500");
    return { action: { directResponse: { status: 500, body: "" } }, backends };
  }
  const weighted = live.map(([name, w]) => ({ name, weight: w.weight }));
  if (invalidWeight > 0) {
    return { action: { weightedClusters: [...weighted, { name: INVALID_BACKEND_CLUSTER, weight: invalidWeight }] }, clusterNotFoundStatus: 500, backends };
  }
  return { action: weighted.length === 1 ? { cluster: weighted[0]!.name } : { weightedClusters: weighted }, backends };
}

/** The cluster of one backendRef (built once), "invalid" for a dangling or forbidden reference. */
function backendCluster(
  ctx: HTTPRouteContext,
  route: HTTPRouteModel,
  ref: HTTPBackendRefModel,
  { clusters, pools }: Used,
): { cluster: string; pool: string } | "invalid" | undefined {
  const m = ctx.model;
  const id = `${ref.namespace}/${ref.name}`;
  const share = "its share of the requests gets 500";
  const target = { group: ref.kind === "InferencePool" ? INFERENCE_GROUP : "", kind: ref.kind, namespace: ref.namespace, name: ref.name };
  if (!referenceAllowed(m, { group: GATEWAY_API_GROUP, kind: "HTTPRoute", namespace: route.namespace }, target)) {
    route.f.warn(ref.field, `${ref.kind} ${id} is in another namespace and no ReferenceGrant there allows it: ${share}`);
    return "invalid";
  }
  if (ref.kind === "InferencePool") {
    if (!m.pools.has(id)) {
      route.f.warn(ref.field, `InferencePool ${id} not found: ${share}`);
      return "invalid";
    }
    const built = ctx.pools.get(id);
    if (!built) return undefined;
    clusters.set(built.pool.name, built.pool);
    clusters.set(built.epp.name, built.epp);
    pools.set(id, built.config);
    return { cluster: built.pool.name, pool: id };
  }
  const svc = m.services.get(id);
  if (!svc) {
    route.f.warn(ref.field, `Service ${id} not found: ${share}`);
    return "invalid";
  }
  const port = ref.port!;
  const name = `service/${ref.namespace}/${ref.name}/${port}`;
  if (clusters.has(name)) return { cluster: name, pool: "" };
  let resolved;
  try {
    resolved = resolveService(m, ctx.pods, svc, port);
  } catch (err) {
    route.f.fail(`${ref.field}.port`, (err as Error).message);
    return undefined;
  }
  for (const n of resolved.notes) route.f.warn(ref.field, n);
  const appProtocol = svc.ports.find((p) => p.port === port)?.appProtocol;
  if (appProtocol !== undefined && appProtocol !== "http" && appProtocol !== "kubernetes.io/http") {
    route.f.warn(ref.field, `Service port ${port} has appProtocol ${appProtocol}: aigw run speaks HTTP/1.1 to it`);
  }
  clusters.set(name, { name, type: "STATIC", endpoints: resolved.endpoints, lbPolicy: "LEAST_REQUEST", connectTimeoutMs: ctx.connectTimeoutMs });
  return { cluster: name, pool: "" };
}
