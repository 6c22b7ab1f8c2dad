// AIGatewayRoutes → the filter's rules and /v1/models list, and the data plane's routes: one route per rule ×
// match × backend (× host name of a rule limited to host names) on the rule's headers plus `x-ai-eg-backend`,
// in Gateway API hostname precedence, as Envoy AI Gateway's controller and extension server generate them.

import type { ClusterConfig, HeaderMatcher, Route } from "../../dataplane-api/bootstrap.js";
import type { Model } from "../model/model.js";
import { referenceAllowed } from "../model/model.js";
import type { ListenerModel, RouteModel } from "../model/model-gateway.js";
import { isModelListing } from "../model/model-gateway.js";
import { AIGW_GROUP, INFERENCE_GROUP } from "../read/objects.js";
import type { BackendConfig, ModelInfo, PoolConfig, RuleConfig } from "../plugin-config.js";
import { BACKEND_HEADER } from "../plugin-config.js";
import { compareKeys, effectiveHosts, hostPrecedence, POOL_RETRY_POLICY, type BuiltPool } from "./build-httproutes.js";
import { credentialTarget, type BuiltCredentials } from "./build-security.js";

/** Envoy AI Gateway's default route timeout (Envoy Gateway's own is 15 s). */
export const REQUEST_TIMEOUT_MS = 60_000;
export const MODELS_OWNED_BY = "Envoy AI Gateway";

export function clusterName(kind: "aiservicebackend" | "inferencepool" | "epp", namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

export interface AIGatewayRouteContext {
  model: Model;
  listener: ListenerModel | undefined;
  /** The clusters that built, by "namespace/name" (one with problems of its own is absent). */
  backends: Map<string, ClusterConfig>;
  pools: Map<string, BuiltPool>;
  credentials: BuiltCredentials;
  /** "Now" in unix seconds: the models' created time when neither rule nor route gives one. */
  loadTime: number;
  /** The clusters and pools the routes use, added to while building. */
  usedClusters: Map<string, ClusterConfig>;
  usedPools: Map<string, PoolConfig>;
}

export interface BuiltAIGatewayRoutes {
  rules: RuleConfig[];
  models: ModelInfo[];
  /** In Gateway API hostname precedence. */
  routes: Route[];
}

export function buildAIGatewayRoutes(ctx: AIGatewayRouteContext, routes: RouteModel[]): BuiltAIGatewayRoutes {
  const { model, listener, credentials, loadTime, usedClusters, usedPools } = ctx;
  const backendClusters = ctx.backends;
  const poolClusters = ctx.pools;
  const rules: RuleConfig[] = [];
  const models: ModelInfo[] = [];
  const seenModels = new Map<string, ModelInfo>();
  const aiRoutes: Array<{ route: Route; key: number[] }> = [];
  for (const route of routes) {
    const hosts = listener ? effectiveHosts(route, listener) : [];
    if (hosts.length === 0) continue;
    const ruleHosts = hosts.map((h) => h.name).filter((h) => h !== "*");
    for (const rule of route.rules) {
      const backends: BackendConfig[] = [];
      for (const ref of rule.backendRefs) {
        const id = `${ref.namespace}/${ref.name}`;
        const target = { group: ref.kind === "InferencePool" ? INFERENCE_GROUP : AIGW_GROUP, kind: ref.kind, namespace: ref.namespace, name: ref.name };
        if (!referenceAllowed(model, { group: AIGW_GROUP, kind: "AIGatewayRoute", namespace: route.namespace }, target)) {
          route.f.fail(ref.field, `${ref.kind} ${id} is in another namespace and no ReferenceGrant there allows it`);
          continue;
        }
        let cluster: ClusterConfig | undefined;
        if (ref.kind === "InferencePool") {
          if (!model.pools.has(id)) {
            route.f.fail(ref.field, `InferencePool ${id} not found`);
            continue;
          }
          const built = poolClusters.get(id);
          if (!built) continue; // the pool's own problems are already reported
          cluster = built.pool;
          usedClusters.set(built.epp.name, built.epp);
          usedPools.set(id, built.config);
        } else {
          if (!model.aiBackends.has(id)) {
            route.f.fail(ref.field, `AIServiceBackend ${id} not found`);
            continue;
          }
          cluster = backendClusters.get(id);
          if (!cluster) continue;
        }
        usedClusters.set(cluster.name, cluster);
        const backend: BackendConfig = { name: id, kind: ref.kind, weight: ref.weight, modelNameOverride: ref.modelNameOverride };
        const credential = credentials.byTarget.get(credentialTarget(ref.kind, ref.namespace, ref.name));
        if (credential) Object.assign(backend, { credential: credential.type, credentialEnv: credential.env });
        backends.push(backend);
      }
      const matches = rule.matches.map((headers) => ({ headers: headers.map((h) => ({ name: h.name, type: h.type, value: h.value })) }));
      const ruleConfig: RuleConfig = { route: `${route.namespace}/${route.name}`, index: rule.index, matches, backends };
      if (ruleHosts.length > 0) ruleConfig.hostnames = ruleHosts;
      rules.push(ruleConfig);

      for (const headers of rule.matches) {
        for (const h of headers) {
          if (!isModelListing(h)) continue;
          const seen = seenModels.get(h.value);
          if (seen) {
            // A model is scoped to host names only while every route declaring it is (models_processor.go).
            if (seen.hostnames && route.hostnames.length > 0) seen.hostnames = [...new Set([...seen.hostnames, ...route.hostnames])];
            else delete seen.hostnames;
            continue;
          }
          const info: ModelInfo = {
            id: h.value,
            ownedBy: rule.modelsOwnedBy ?? MODELS_OWNED_BY,
            created: rule.modelsCreatedAt ?? route.createdAt ?? loadTime,
          };
          if (route.hostnames.length > 0) info.hostnames = [...route.hostnames];
          seenModels.set(h.value, info);
          models.push(info);
        }
      }

      const seenRoutes = new Set<string>();
      const matchSets = matches.length > 0 ? matches : [{ headers: [] }];
      matchSets.forEach((m, j) => {
        for (const b of backends)
          for (const host of hosts) {
            // Routes of a rule limited to host names (RuleConfig.hostnames) are named after the host they serve.
            const hostPart = ruleHosts.length > 0 ? `/host/${host.name}` : "";
            const name = `aigatewayroute/${route.namespace}/${route.name}/rule/${rule.index}/match/${j}/backend/${b.name}${hostPart}`;
            if (seenRoutes.has(name)) continue; // the same backend named twice in one rule
            seenRoutes.add(name);
            const headers: HeaderMatcher[] = host.matcher ? [host.matcher] : [];
            for (const h of m.headers) headers.push(h.type === "Exact" ? { name: h.name, exact: h.value } : { name: h.name, regex: h.value });
            headers.push({ name: BACKEND_HEADER, exact: b.name });
            const cluster = b.kind === "InferencePool" ? clusterName("inferencepool", ...split(b.name)) : clusterName("aiservicebackend", ...split(b.name));
            const r: Route = { name, match: { prefix: "/", headers }, action: { cluster }, timeoutMs: rule.timeoutMs ?? REQUEST_TIMEOUT_MS };
            if (b.kind === "InferencePool") r.retryPolicy = POOL_RETRY_POLICY;
            if (rule.streamIdleTimeoutMs !== undefined) r.perTryIdleTimeoutMs = rule.streamIdleTimeoutMs;
            aiRoutes.push({ route: r, key: hostPrecedence(host.name) });
          }
      });
    }
  }
  // Gateway API hostname precedence (stable: otherwise rule order), as the filter ranks the rules.
  aiRoutes.sort((a, b) => compareKeys(a.key, b.key));
  return { rules, models, routes: aiRoutes.map((e) => e.route) };
}

function split(id: string): [string, string] {
  const slash = id.indexOf("/");
  return [id.slice(0, slash), id.slice(slash + 1)];
}
