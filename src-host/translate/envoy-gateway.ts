// The same manifests for Kubernetes with Envoy Gateway instead of Envoy AI Gateway: what EG's own APIs can
// say, plus one EnvoyPatchPolicy for the rest.
//
//   HTTPRoute per AIGatewayRoute (same name, its hostnames): one rule per (rule, backend), matching the rule's
//     headers plus x-ai-eg-backend, as the route table of `aigw run` does; backendRefs: the AIServiceBackend's Backend or
//     Service, or for an InferencePool a headless Service selecting the pool's pods (aigw-pool-<pool>): plain
//     Envoy Gateway refuses InferencePool backendRefs (they go to Envoy AI Gateway's extension server);
//   HTTPRoute aigw-route-not-found: the 404 catch-all (an EG HTTPRouteFilter direct response), on which the
//     filter also runs (it answers /v1/models and rewrites the headers the other routes match);
//   the input's own HTTPRoutes are applied as written, except those with InferencePool backendRefs: they
//     are generated again (same name, the pools as their headless Services, the rest as written); the
//     filter runs on all of them (it knows their rules from the plugin configuration);
//   BackendTrafficPolicy per HTTPRoute: the cluster buffer limit and, for pools, endpointOverride on
//     x-gateway-destination-endpoint (EG's override_host: the header's endpoint, else round robin - FailOpen)
//     and a connect-failure retry on another pod;
//   ClientTrafficPolicy on the Gateway: the listener buffer limit (EG's default is 32 KiB);
//   EnvoyExtensionPolicy (per namespace of the HTTPRoutes): the wasm filter with the plugin configuration;
//   EnvoyPatchPolicy on the Gateway: allow_on_headers_stop_iteration on that filter (EG's Wasm API has no
//     field for it, envoyproxy/gateway #8382), vm_config.runtime when it is not V8 (EG writes V8 and has
//     no field for it either), the Endpoint Picker clusters (HTTP/2, TLS without
//     verification for the stock EPP) and, for Global rate limits, the rate limit service cluster;
//   for Global rate limits without --ratelimit, that service: envoyproxy/ratelimit configured for the
//     descriptors the filter sends (aigw-ratelimit: ConfigMap, Deployment, Service) and its Redis (aigw-redis),
//     in the Gateway's namespace. Envoy Gateway's own rate limit deployment (its rateLimit backend setting) is
//     not used: it is configured from BackendTrafficPolicy rules in Envoy Gateway's descriptors, not the filter's.
//
// xDS names the patches rely on (EG's default "V1" naming): listener <gateway ns>/<gateway>/<listener>;
// wasm filter envoy.filters.http.wasm/envoyextensionpolicy/<ns>/<policy>/wasm/<index>.

import type { ClusterConfig } from "../dataplane-api/bootstrap.js";
import { clusterName } from "../config/build/build-aigatewayroutes.js";
import { POOL_RETRY_POLICY } from "../config/build/build-httproutes.js";
import type { LoadedConfig } from "../config/load-config.js";
import { readModel, type Model } from "../config/model/model.js";
import type { AIServiceBackendModel, RouteModel } from "../config/model/model-gateway.js";
import type { HTTPRouteModel } from "../config/model/model-httproute.js";
import { ENVOY_GATEWAY_GROUP, GATEWAY_API_GROUP, INFERENCE_GROUP } from "../config/read/objects.js";
import { BACKEND_HEADER, DESTINATION_ENDPOINT_HEADER, type BackendConfig, type HTTPRouteRuleConfig, type RuleConfig } from "../config/plugin-config.js";
import { Problems } from "../config/read/problems.js";
import { RATE_LIMIT_CLUSTER } from "../config/build/rate-limits.js";
import type { RateLimitConfig } from "../config/plugin-config.js";
import { RATE_LIMIT_GRPC_PORT } from "../config/build/workloads.js";
import { RATELIMIT_CONFIG_DIR, rateLimitConfigFiles, rateLimitEnvironment } from "./docker.js";
import { RATELIMIT_IMAGE, REDIS_IMAGE } from "./versions.js";
import { duration, renderCluster, WASM_FILTER_NAME, type EndpointAddress } from "./bootstrap.js";
import { checkMessage } from "./envoy-schema.js";
import { RUNTIME_MODULES } from "./runtime.js";

/**
 * The pool routes' retry (POOL_RETRY_POLICY) as a BackendTrafficPolicy says it; Envoy Gateway adds the
 * previous_hosts predicate with host_selection_retry_max_attempts 5 to every retry policy it builds
 * (envoyproxy/gateway v1.8 internal/xds/translator/route.go buildRetryPolicy).
 */
const POOL_RETRY = { numRetries: POOL_RETRY_POLICY.numRetries, retryOn: { triggers: [POOL_RETRY_POLICY.retryOn] } };

export type WasmCode = { type: "Image"; url: string; sha256?: string } | { type: "HTTP"; url: string; sha256: string };

export interface EnvoyGatewayOptions {
  code: WasmCode;
  /** Kubernetes cluster domain, for the EPP Service addresses. Default cluster.local. */
  clusterDomain?: string;
  /** The rate limit service Global rules talk to (cluster "ratelimit"). Default: the generated aigw-ratelimit. */
  rateLimitService?: EndpointAddress;
  /** VmConfig.runtime; Envoy Gateway always writes V8, so another one is patched in. Default V8. */
  vmRuntime?: string;
}

export interface EnvoyGatewayResult {
  docs: Obj[];
  warnings: string[];
}

type Obj = Record<string, unknown>;

const EG_API = `${ENVOY_GATEWAY_GROUP}/v1alpha1`;
const MANAGED = { "app.kubernetes.io/managed-by": "aigw-translate" };
const POLICY_NAME = "ai-gateway";
/** The EnvoyProxy that gives the proxy pods the BackendSecurityPolicy keys (from their Secrets). */
export const ENVOY_PROXY_NAME = "aigw-credentials";
const NOT_FOUND_ROUTE = "aigw-route-not-found";
/** Gateway API limits (HTTPRoute CRD validation). */
const MAX_RULES = 16;
const MAX_MATCHES = 64;
const MAX_HEADERS = 16;
const MAX_HOSTNAMES = 16;

export function renderEnvoyGateway(loaded: LoadedConfig, opts: EnvoyGatewayOptions): EnvoyGatewayResult {
  const problems = new Problems();
  const model = readModel(loaded.objects, new Problems());
  const { gateway, plugin } = loaded;
  const wasm = gateway.wasm;
  if (!wasm) throw new Error("the gateway has no wasm filter to deploy");
  const [gwNs, gwName, listenerName] = gateway.listener.name.split("/") as [string, string, string];
  const gw = model.gateways.find((g) => g.namespace === gwNs && g.name === gwName);
  if (!gw || listenerName === undefined) throw new Error(`listener ${gateway.listener.name} is not <namespace>/<gateway>/<listener>`);
  const bufferLimit = quantity(gateway.listener.bufferLimitBytes);
  const warnings: string[] = [];

  const routeIds = [...new Set(plugin.rules.map((r) => r.route))];
  const routes = routeIds.map((id) => model.routes.find((r) => `${r.namespace}/${r.name}` === id)!);
  const pools = new Set<string>();
  const httpRoutes: Obj[] = [];
  const trafficPolicies: Obj[] = [];
  const idlePatches: Obj[] = [];
  const scopedHosts = [...new Set(routes.flatMap((r) => r.hostnames))];
  for (const route of routes) {
    const id = `${route.namespace}/${route.name}`;
    const rules = plugin.rules.filter((r) => r.route === id).flatMap((r) => httpRouteRules(model, loaded, route, r, problems, warnings));
    // Each generated rule's per-try idle timeout (one generated rule per backend of a rule).
    const idle = plugin.rules.filter((r) => r.route === id).flatMap((r) => r.backends.map(() => perTryIdleTimeoutMs(loaded, route, r)));
    const routePools = plugin.rules.filter((r) => r.route === id).flatMap((r) => r.backends.filter((b) => b.kind === "InferencePool"));
    for (const b of routePools) pools.add(b.name);
    const names: string[] = [];
    for (const hosts of hostGroups(route.name, route.hostnames, scopedHosts)) {
      for (let i = 0; i < Math.max(rules.length, 1); i += MAX_RULES) {
        const name = i === 0 ? hosts.name : `${hosts.name}-${i / MAX_RULES + 1}`;
        names.push(name);
        const spec: Obj = { parentRefs: parentRefs(route, gw.namespace, gw.name, listenerName), rules: rules.slice(i, i + MAX_RULES) };
        if (hosts.hostnames) spec.hostnames = hosts.hostnames;
        httpRoutes.push({
          apiVersion: `${GATEWAY_API_GROUP}/v1`,
          kind: "HTTPRoute",
          metadata: meta(name, route.namespace, { "aigw.translate/source": `AIGatewayRoute ${id}` }),
          spec,
        });
      }
    }
    for (const name of names) {
      const spec: Obj = { targetRefs: [{ group: GATEWAY_API_GROUP, kind: "HTTPRoute", name }], connection: { bufferLimit } };
      if (routePools.length > 0) {
        spec.loadBalancer = { type: "RoundRobin", endpointOverride: { extractFrom: [{ header: DESTINATION_ENDPOINT_HEADER }] } };
        spec.retry = POOL_RETRY;
      } else if (
        roundRobin(
          loaded,
          plugin.rules.filter((r) => r.route === id),
        )
      ) {
        // The user's loadBalancer (on this route or the Gateway) lives on here: this policy shadows theirs.
        spec.loadBalancer = { type: "RoundRobin" };
      }
      trafficPolicies.push({ apiVersion: EG_API, kind: "BackendTrafficPolicy", metadata: meta(name, route.namespace), spec });
      const first = names.indexOf(name) * MAX_RULES;
      idle.slice(first, first + MAX_RULES).forEach((ms, j) => {
        if (ms !== undefined) idlePatches.push(idleTimeoutPatch(gateway.listener.name, route.namespace, name, j, ms, spec.retry !== undefined));
      });
      const theirs = model.trafficPolicies.filter((p) => p.targets.some((t) => t.kind === "HTTPRoute" && t.name === name && p.namespace === route.namespace));
      for (const p of theirs) {
        warnings.push(
          `BackendTrafficPolicy ${p.namespace}/${p.name} targets HTTPRoute ${route.namespace}/${name}, as the generated one does: ` +
            "Envoy Gateway applies one of them. Do not apply it: the wasm filter enforces its token limits itself" +
            (p.loadBalancer ? ", and its loadBalancer is in the generated one." : "."),
        );
      }
    }
  }

  // The input's HTTPRoutes: the filter runs on all of them; those with pools are generated again.
  const ownRoutes: Array<{ namespace: string; name: string }> = [];
  for (const hr of attachedHTTPRoutes(model, plugin.httpRoutes ?? [])) {
    ownRoutes.push(hr);
    if (routes.some((r) => r.namespace === hr.namespace && r.name === hr.name)) {
      problems.error(
        hr.obj,
        "metadata.name",
        `AIGatewayRoute ${hr.namespace}/${hr.name} becomes an HTTPRoute of the same name for Envoy Gateway: rename one of them`,
      );
    }
    const poolIds = regeneratedPools(hr, problems);
    if (poolIds.length === 0) continue;
    for (const id of poolIds) pools.add(id);
    httpRoutes.push(poolsAsServices(model, hr, warnings));
    trafficPolicies.push({
      apiVersion: EG_API,
      kind: "BackendTrafficPolicy",
      metadata: meta(hr.name, hr.namespace),
      spec: {
        targetRefs: [{ group: GATEWAY_API_GROUP, kind: "HTTPRoute", name: hr.name }],
        connection: { bufferLimit },
        loadBalancer: { type: "RoundRobin", endpointOverride: { extractFrom: [{ header: DESTINATION_ENDPOINT_HEADER }] } },
        retry: POOL_RETRY,
      },
    });
    warnings.push(
      `${hr.obj.source}: HTTPRoute ${hr.namespace}/${hr.name}: generated again with its InferencePools as headless Services (Envoy Gateway refuses InferencePool backendRefs): apply the generated one instead`,
    );
  }

  const notFound = gateway.routes.virtualHosts[0]?.routes.find((r) => "directResponse" in r.action);
  const catchAll: Obj[] = [];
  if (notFound && "directResponse" in notFound.action) {
    const d = notFound.action.directResponse;
    catchAll.push(
      {
        apiVersion: EG_API,
        kind: "HTTPRouteFilter",
        metadata: meta(NOT_FOUND_ROUTE, gw.namespace),
        spec: { directResponse: { contentType: d.contentType ?? "text/plain", statusCode: d.status, body: { type: "Inline", inline: d.body } } },
      },
      ...hostGroups(NOT_FOUND_ROUTE, [], scopedHosts).map((hosts) => ({
        apiVersion: `${GATEWAY_API_GROUP}/v1`,
        kind: "HTTPRoute",
        metadata: meta(hosts.name, gw.namespace),
        spec: {
          parentRefs: [{ group: GATEWAY_API_GROUP, kind: "Gateway", name: gw.name, sectionName: listenerName }],
          ...(hosts.hostnames ? { hostnames: hosts.hostnames } : {}),
          rules: [
            {
              matches: [{ path: { type: "PathPrefix", value: "/" } }],
              filters: [{ type: "ExtensionRef", extensionRef: { group: ENVOY_GATEWAY_GROUP, kind: "HTTPRouteFilter", name: NOT_FOUND_ROUTE } }],
            },
          ],
        },
      })),
    );
  }

  const poolServices = [...pools].sort().map((id) => poolService(model, id, problems));
  problems.throwIfAny();

  const byNamespace = new Map<string, string[]>();
  const targeted = [...httpRoutes, ...catchAll].filter((d) => d.kind === "HTTPRoute").map((r) => r.metadata as { name: string; namespace: string });
  for (const m of [...targeted, ...ownRoutes]) {
    const names = byNamespace.get(m.namespace) ?? [];
    if (!names.includes(m.name)) byNamespace.set(m.namespace, [...names, m.name]);
  }
  const extensionPolicies = [...byNamespace]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([ns, names]) => ({
      apiVersion: EG_API,
      kind: "EnvoyExtensionPolicy",
      metadata: meta(POLICY_NAME, ns),
      spec: {
        targetRefs: names.map((name) => ({ group: GATEWAY_API_GROUP, kind: "HTTPRoute", name })),
        wasm: [
          {
            name: wasm.name,
            rootID: wasm.rootId,
            code: opts.code.type === "Image" ? { type: "Image", image: strip(opts.code) } : { type: "HTTP", http: strip(opts.code) },
            config: plugin,
            failOpen: wasm.failOpen,
            ...(wasm.hostEnvKeys?.length ? { env: { hostKeys: wasm.hostEnvKeys } } : {}),
          },
        ],
      },
    }));

  const clientPolicy = {
    apiVersion: EG_API,
    kind: "ClientTrafficPolicy",
    metadata: meta(`${gw.name}-${POLICY_NAME}`, gw.namespace),
    spec: { targetRefs: [{ group: GATEWAY_API_GROUP, kind: "Gateway", name: gw.name }], connection: { bufferLimit } },
  };

  const vmRuntime = opts.vmRuntime ?? RUNTIME_MODULES.v8.vmRuntime;
  const patches: Obj[] = [...byNamespace.keys()].sort().flatMap((ns) => {
    const filterPatch = (op: string, path: string, value: unknown): Obj => ({
      type: "type.googleapis.com/envoy.config.listener.v3.Listener",
      name: gateway.listener.name,
      operation: { op, jsonPath: `..http_filters[?(@.name=='${WASM_FILTER_NAME}/envoyextensionpolicy/${ns}/${POLICY_NAME}/wasm/0')]`, path, value },
    });
    const own = [filterPatch("add", "/typed_config/config/allow_on_headers_stop_iteration", true)];
    if (vmRuntime !== RUNTIME_MODULES.v8.vmRuntime) own.push(filterPatch("replace", "/typed_config/config/vm_config/runtime", vmRuntime));
    return own;
  });
  const patchClusters: ClusterConfig[] = [];
  const domain = opts.clusterDomain ?? "cluster.local";
  for (const pool of plugin.pools) {
    const epp = gateway.clusters.find((c) => c.name === pool.eppCluster)!;
    const [host, port] = splitHostPort(pool.eppAuthority);
    patchClusters.push({ ...epp, type: "STRICT_DNS", endpoints: [{ address: `${host}.${domain}`, port }] });
  }
  const rateLimitDocs: Obj[] = [];
  if (plugin.rateLimits.some((r) => r.type === "Global")) {
    const rls = gateway.clusters.find((c) => c.name === RATE_LIMIT_CLUSTER)!;
    let service = opts.rateLimitService;
    if (!service) {
      rateLimitDocs.push(...rateLimitResources(plugin.rateLimits, gw.namespace, domain));
      service = { address: `${RATELIMIT_NAME}.${gw.namespace}.svc.${domain}`, port: RATE_LIMIT_GRPC_PORT };
    }
    patchClusters.push({ ...rls, type: "STRICT_DNS", endpoints: [{ address: service.address, port: service.port }] });
  }
  patches.push(...idlePatches);
  for (const c of patchClusters) {
    const value = renderCluster(c, gateway.listener.bufferLimitBytes, (_c, e) => ({ address: e.address, port: e.port }));
    const bad = checkMessage("envoy.config.cluster.v3.Cluster", value, `EnvoyPatchPolicy cluster ${c.name}`);
    if (bad.length > 0) throw new Error(`generated cluster does not match Envoy's API:\n  ${bad.join("\n  ")}`);
    patches.push({ type: "type.googleapis.com/envoy.config.cluster.v3.Cluster", name: c.name, operation: { op: "add", path: "", value } });
  }
  const bad = checkMessage(
    "envoy.extensions.wasm.v3.PluginConfig",
    { allow_on_headers_stop_iteration: true, vm_config: { runtime: vmRuntime } },
    "listener patch",
  );
  if (bad.length > 0) throw new Error(bad.join("\n"));
  const patchPolicy = {
    apiVersion: EG_API,
    kind: "EnvoyPatchPolicy",
    metadata: meta(`${gw.name}-${POLICY_NAME}`, gw.namespace),
    spec: { targetRef: { group: GATEWAY_API_GROUP, kind: "Gateway", name: gw.name }, type: "JSONPatch", jsonPatches: patches },
  };

  return {
    docs: [
      ...poolServices,
      ...catchAll.filter((d) => d.kind === "HTTPRouteFilter"),
      ...httpRoutes,
      ...catchAll.filter((d) => d.kind === "HTTPRoute"),
      ...trafficPolicies,
      clientPolicy,
      ...extensionPolicies,
      patchPolicy,
      ...rateLimitDocs,
      ...credentialProxy(loaded, gw.namespace),
    ],
    warnings,
  };
}

/**
 * The proxy pods' environment for the BackendSecurityPolicy keys (the Wasm env.hostKeys), each from its
 * Secret by reference: no key is in the output.
 */
function credentialProxy(loaded: LoadedConfig, namespace: string): Obj[] {
  if (loaded.credentials.length === 0) return [];
  const env = loaded.credentials.map((c) => ({ name: c.env, valueFrom: { secretKeyRef: { name: c.secretName, key: c.secretKey } } }));
  return [
    {
      apiVersion: EG_API,
      kind: "EnvoyProxy",
      metadata: meta(ENVOY_PROXY_NAME, namespace),
      spec: { provider: { type: "Kubernetes", kubernetes: { envoyDeployment: { container: { env } } } } },
    },
  ];
}

const RATELIMIT_NAME = "aigw-ratelimit";
const REDIS_NAME = "aigw-redis";
const REDIS_PORT = 6379;

/**
 * The rate limit service Global rules need: envoyproxy/ratelimit with the configuration files of the
 * --docker output (the filter's descriptors) from a ConfigMap, and a Redis for its counters.
 */
function rateLimitResources(rules: RateLimitConfig[], namespace: string, domain: string): Obj[] {
  const files = rateLimitConfigFiles(rules);
  const workload = (name: string, container: Obj, volumes?: Obj[]): Obj => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: meta(name, namespace),
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [container], ...(volumes ? { volumes } : {}) } },
    },
  });
  const service = (name: string, port: Obj): Obj => ({
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(name, namespace),
    spec: { selector: { app: name }, ports: [port] },
  });
  const env = rateLimitEnvironment(RATE_LIMIT_GRPC_PORT, `${REDIS_NAME}.${namespace}.svc.${domain}:${REDIS_PORT}`);
  return [
    { apiVersion: "v1", kind: "ConfigMap", metadata: meta(RATELIMIT_NAME, namespace), data: Object.fromEntries(files) },
    workload(
      RATELIMIT_NAME,
      {
        name: "ratelimit",
        image: RATELIMIT_IMAGE,
        command: ["/bin/ratelimit"],
        env: Object.entries(env).map(([name, value]) => ({ name, value })),
        ports: [{ name: "grpc", containerPort: RATE_LIMIT_GRPC_PORT }],
        volumeMounts: [{ name: "config", mountPath: RATELIMIT_CONFIG_DIR, readOnly: true }],
      },
      [{ name: "config", configMap: { name: RATELIMIT_NAME } }],
    ),
    service(RATELIMIT_NAME, { name: "grpc", port: RATE_LIMIT_GRPC_PORT, targetPort: RATE_LIMIT_GRPC_PORT, appProtocol: "kubernetes.io/h2c" }),
    workload(REDIS_NAME, { name: "redis", image: REDIS_IMAGE, ports: [{ name: "redis", containerPort: REDIS_PORT }] }),
    service(REDIS_NAME, { name: "redis", port: REDIS_PORT, targetPort: REDIS_PORT }),
  ];
}

function meta(name: string, namespace: string, annotations?: Record<string, string>): Obj {
  const m: Obj = { name, namespace, labels: { ...MANAGED } };
  if (annotations) m.annotations = annotations;
  return m;
}

function strip(code: WasmCode): Obj {
  const out: Obj = { url: code.url };
  if (code.sha256) out.sha256 = code.sha256;
  return out;
}

/** Bytes as a Kubernetes quantity, in Mi when whole. */
export function quantity(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)}Mi` : String(bytes);
}

function splitHostPort(authority: string): [string, number] {
  const i = authority.lastIndexOf(":");
  return [authority.slice(0, i), Number(authority.slice(i + 1))];
}

/**
 * The HTTPRoutes one route becomes, by host names. Envoy Gateway gives every host name its own virtual host,
 * and Envoy picks one virtual host per request: a route without hostnames would be out of reach of the host
 * names other routes declare. So it is also generated for those ("<name>-hosts", at most 16 host names per
 * HTTPRoute), as it is reached by them in `aigw run` and the Envoy bootstrap (Gateway API precedence).
 */
function hostGroups(name: string, own: string[], scoped: string[]): Array<{ name: string; hostnames?: string[] }> {
  if (own.length > 0) return [{ name, hostnames: own }];
  const groups: Array<{ name: string; hostnames?: string[] }> = [{ name }];
  for (let i = 0; i < scoped.length; i += MAX_HOSTNAMES) {
    groups.push({ name: `${name}-hosts${i === 0 ? "" : `-${i / MAX_HOSTNAMES + 1}`}`, hostnames: scoped.slice(i, i + MAX_HOSTNAMES) });
  }
  return groups;
}

function parentRefs(route: RouteModel, gwNs: string, gwName: string, listener: string): Obj[] {
  return route.parentRefs
    .filter((p) => p.group === GATEWAY_API_GROUP && p.kind === "Gateway" && p.namespace === gwNs && p.name === gwName)
    .map((p) => {
      const ref: Obj = { group: p.group, kind: p.kind, name: p.name };
      if (p.namespace !== route.namespace) ref.namespace = p.namespace;
      ref.sectionName = p.sectionName ?? listener;
      if (p.port !== undefined) ref.port = p.port;
      return ref;
    });
}

/** The HTTPRoute rules of one AIGatewayRoute rule: one per backend, as the filter picks one and names it. */
function httpRouteRules(model: Model, loaded: LoadedConfig, route: RouteModel, rule: RuleConfig, problems: Problems, warnings: string[]): Obj[] {
  const field = `spec.rules[${rule.index}]`;
  const matches = rule.matches.length > 0 ? rule.matches : [{ headers: [] }];
  if (matches.length > MAX_MATCHES) problems.error(route.obj, `${field}.matches`, `an HTTPRoute rule holds at most ${MAX_MATCHES} matches`);
  if (matches.some((m) => m.headers.length + 1 > MAX_HEADERS)) {
    problems.error(route.obj, `${field}.matches`, `an HTTPRoute match holds at most ${MAX_HEADERS} headers, x-ai-eg-backend included`);
  }
  const prefix = `aigatewayroute/${route.namespace}/${route.name}/rule/${rule.index}/`;
  const timeoutMs = loaded.gateway.routes.virtualHosts[0]?.routes.find((r) => r.name.startsWith(prefix))?.timeoutMs;
  return rule.backends.map((b) => {
    const out: Obj = {
      matches: matches.map((m) => ({
        path: { type: "PathPrefix", value: "/" },
        headers: [...m.headers.map((h) => ({ type: h.type, name: h.name, value: h.value })), { type: "Exact", name: BACKEND_HEADER, value: b.name }],
      })),
      backendRefs: [backendRef(model, route, b, `${field}.backendRefs`, warnings)],
    };
    if (timeoutMs !== undefined) out.timeouts = { request: duration(timeoutMs) };
    return out;
  });
}

/** The streamIdleTimeout of an AIGatewayRoute rule, as its routes in the route table carry it. */
function perTryIdleTimeoutMs(loaded: LoadedConfig, route: RouteModel, rule: RuleConfig): number | undefined {
  const prefix = `aigatewayroute/${route.namespace}/${route.name}/rule/${rule.index}/`;
  return loaded.gateway.routes.virtualHosts[0]?.routes.find((r) => r.name.startsWith(prefix))?.perTryIdleTimeoutMs;
}

/**
 * streamIdleTimeout as Envoy AI Gateway's extension server applies it (v1.1.0 internal/extensionserver/
 * post_translate_modify.go): retry_policy.per_try_idle_timeout on every xDS route of the HTTPRoute rule
 * (Envoy Gateway names them httproute/<ns>/<name>/rule/<index>/match/<m>/<host>). Envoy Gateway's own
 * APIs have no field for it. `hasRetry`: the rule's BackendTrafficPolicy already gives it a retry policy.
 */
function idleTimeoutPatch(routeConfig: string, namespace: string, name: string, rule: number, ms: number, hasRetry: boolean): Obj {
  const timeout = duration(ms);
  const retryPolicy = { per_try_idle_timeout: timeout };
  const bad = checkMessage("envoy.config.route.v3.RetryPolicy", retryPolicy, "streamIdleTimeout patch");
  if (bad.length > 0) throw new Error(bad.join("\n"));
  return {
    type: "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
    name: routeConfig,
    operation: {
      op: "add",
      jsonPath: `..routes[?(@.name =~ '^httproute/${namespace}/${name}/rule/${rule}/match/')]`,
      path: hasRetry ? "/route/retry_policy/per_try_idle_timeout" : "/route/retry_policy",
      value: hasRetry ? timeout : retryPolicy,
    },
  };
}

function backendRef(model: Model, route: RouteModel, b: BackendConfig, field: string, warnings: string[]): Obj {
  const [ns, name] = splitId(b.name);
  let ref: Obj;
  if (b.kind === "InferencePool") {
    const pool = model.pools.get(b.name)!;
    ref = { group: "", kind: "Service", name: poolServiceName(name), port: pool.targetPorts[0] };
  } else {
    const backend: AIServiceBackendModel = model.aiBackends.get(b.name)!;
    const r = backend.backendRef;
    ref = r.kind === "Backend" ? { group: ENVOY_GATEWAY_GROUP, kind: "Backend", name: r.name } : { group: "", kind: "Service", name: r.name, port: r.port };
    if (r.namespace !== route.namespace) {
      warnings.push(
        `${route.obj.source}: AIGatewayRoute ${route.namespace}/${route.name}: ${field}: HTTPRoute ${route.namespace}/${route.name} refers to ` +
          `${r.kind} ${r.namespace}/${r.name}; a ReferenceGrant in ${r.namespace} must allow HTTPRoutes from ${route.namespace}`,
      );
      ref.namespace = r.namespace;
    }
    return ref;
  }
  if (ns !== route.namespace) {
    warnings.push(
      `${route.obj.source}: AIGatewayRoute ${route.namespace}/${route.name}: ${field}: HTTPRoute ${route.namespace}/${route.name} refers to ` +
        `Service ${ns}/${poolServiceName(name)}; a ReferenceGrant in ${ns} must allow HTTPRoutes from ${route.namespace}`,
    );
    ref.namespace = ns;
  }
  return ref;
}

/** The input HTTPRoutes the plugin configuration has rules of, in its order. */
function attachedHTTPRoutes(model: Model, rules: HTTPRouteRuleConfig[]): HTTPRouteModel[] {
  const ids = [...new Set(rules.map((r) => r.name.split("/").slice(1, 3).join("/")))];
  return ids.map((id) => model.httpRoutes.find((r) => `${r.namespace}/${r.name}` === id)!);
}

/**
 * The pools an HTTPRoute sends to. Envoy Gateway builds one cluster per rule, so the filter tells a rule's
 * pool only when it is the rule's one backend.
 */
function regeneratedPools(hr: HTTPRouteModel, problems: Problems): string[] {
  const ids: string[] = [];
  for (const rule of hr.rules) {
    const pools = rule.backendRefs.filter((b) => b.kind === "InferencePool");
    if (pools.length === 0) continue;
    if (rule.backendRefs.length > 1) {
      problems.error(
        hr.obj,
        `${rule.field}.backendRefs`,
        "with Envoy Gateway an InferencePool must be the rule's only backend (one cluster per rule: the filter could not tell which pool a request goes to)",
      );
    }
    for (const b of pools) ids.push(`${b.namespace}/${b.name}`);
  }
  return ids;
}

/** Whether aigw run balances the rules' AIServiceBackends round robin (a BackendTrafficPolicy loadBalancer). */
function roundRobin(loaded: LoadedConfig, rules: RuleConfig[]): boolean {
  const names = new Set(
    rules.flatMap((r) =>
      r.backends
        .filter((b) => b.kind === "AIServiceBackend")
        .map((b) => {
          const [ns, name] = b.name.split("/") as [string, string];
          return clusterName("aiservicebackend", ns, name);
        }),
    ),
  );
  return loaded.gateway.clusters.some((c) => names.has(c.name) && c.lbPolicy === "ROUND_ROBIN");
}

/** The HTTPRoute as written, its InferencePool backendRefs replaced by the pools' headless Services. */
function poolsAsServices(model: Model, hr: HTTPRouteModel, warnings: string[]): Obj {
  const spec = structuredClone(hr.obj.object.spec) as Obj;
  for (const rule of (spec.rules ?? []) as Obj[]) {
    rule.backendRefs = ((rule.backendRefs ?? []) as Obj[]).map((b) => {
      const pool = b.group === INFERENCE_GROUP && b.kind === "InferencePool" ? model.pools.get(`${b.namespace ?? hr.namespace}/${b.name}`) : undefined;
      if (!pool) return b;
      const ref: Obj = { group: "", kind: "Service", name: poolServiceName(pool.name), port: pool.targetPorts[0] };
      if (b.namespace !== undefined && b.namespace !== hr.namespace) {
        ref.namespace = b.namespace;
        warnings.push(
          `${hr.obj.source}: HTTPRoute ${hr.namespace}/${hr.name}: refers to Service ${pool.namespace}/${ref.name}; a ReferenceGrant in ${pool.namespace} must allow HTTPRoutes from ${hr.namespace}`,
        );
      }
      if (b.weight !== undefined) ref.weight = b.weight;
      return ref;
    });
  }
  return {
    apiVersion: `${GATEWAY_API_GROUP}/v1`,
    kind: "HTTPRoute",
    metadata: meta(hr.name, hr.namespace, { "aigw.translate/source": `HTTPRoute ${hr.namespace}/${hr.name}` }),
    spec,
  };
}

function poolServiceName(pool: string): string {
  return `aigw-pool-${pool}`;
}

/** A headless Service selecting the pool's pods: EG's cluster for it has the pool's endpoints (EDS). */
function poolService(model: Model, id: string, problems: Problems): Obj {
  const pool = model.pools.get(id)!;
  const name = poolServiceName(pool.name);
  if (name.length > 63) problems.error(pool.obj, "metadata.name", `the generated Service ${name} is longer than 63 characters`);
  const port = pool.targetPorts[0]!;
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: meta(name, pool.namespace, { "aigw.translate/source": `InferencePool ${id}` }),
    spec: { clusterIP: "None", selector: { ...pool.selector }, ports: [{ name: "http", port, targetPort: port, protocol: "TCP" }] },
  };
}

function splitId(id: string): [string, string] {
  const i = id.indexOf("/");
  return [id.slice(0, i), id.slice(i + 1)];
}
