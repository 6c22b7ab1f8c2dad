// From applied objects to what the embedded gateway serves: the filter's PluginConfig, the data plane's
// Envoy-shaped DataPlaneConfig, the workload plan, and live pod readiness. It mirrors what Envoy AI Gateway's
// controller and extension server generate for the same manifests: the AIGatewayRoutes' routes
// (build-aigatewayroutes.ts), a `route-not-found` catch-all, a cluster per AIServiceBackend, an ORIGINAL_DST
// cluster per InferencePool and an HTTP/2 cluster per Endpoint Picker. Gateway API HTTPRoutes come first in
// the route table (build-httproutes.ts).

import type { ClusterConfig, ClusterEndpoint, DataPlaneConfig, Route } from "../../dataplane-api/bootstrap.js";
import type { PluginConfig, PoolConfig } from "../plugin-config.js";
import { DESTINATION_ENDPOINT_HEADER, PLUGIN_CONFIG_VERSION } from "../plugin-config.js";
import type { Model } from "../model/model.js";
import { readModel, referenceAllowed } from "../model/model.js";
import type { AIServiceBackendModel, GatewayModel, PoolModel, RouteModel } from "../model/model-gateway.js";
import type { AppliedObject } from "../read/objects.js";
import { AIGW_GROUP, ENVOY_GATEWAY_GROUP, INFERENCE_GROUP } from "../read/objects.js";
import { DEFAULT_POD_BLOCK, MAX_POD_BLOCK } from "../model/loopback.js";
import type { Problems } from "../read/problems.js";
import { attachedRoutes, checkDanglingParents } from "../model/attachment.js";
import { buildAIGatewayRoutes, clusterName, REQUEST_TIMEOUT_MS } from "./build-aigatewayroutes.js";
import { buildHTTPRoutes, type BuiltPool } from "./build-httproutes.js";
import { compare, PodRegistry } from "../model/pods.js";
import { resolveService, serviceForHostname } from "./services.js";
import { eppSecureServing, planEmbeddedRateLimit, planWorkloads, type WorkloadPlan } from "./workloads.js";
import { buildCosts, type CostOrigin } from "./costs.js";
import { GENAI_HISTOGRAM_BUCKETS, GENAI_STATS_TAGS } from "./genai-metrics.js";
import { buildRateLimits, policyFor, policyOwners, rateLimitCluster, type PolicyOwners } from "./rate-limits.js";
import type { TrafficPolicyModel } from "../model/model-policy.js";
import { buildCredentials, type CredentialSource } from "./build-security.js";

export interface BuildOptions {
  /** Listener port on 127.0.0.1 that the Gateway's listener maps to (aigw run: 1975). 0 = ephemeral. */
  port?: number;
  /** Admin port on 127.0.0.1 (aigw run: 1064). 0 = ephemeral. */
  adminPort?: number;
  /** Path of build/ai-gateway.wasm. */
  modulePath: string;
  /** Worker VMs (Envoy --concurrency). Default 2. */
  workers?: number;
  /** Largest request body the filter buffers. Default 50 MiB, as Envoy AI Gateway's test Envoy. */
  maxRequestBodyBytes?: number;
  /** How long the filter waits for an EPP. Default 10 s. */
  eppTimeoutMs?: number;
  /** "Now" in unix seconds: creationTimestamp of objects that carry none. Default: the current time. */
  loadTime?: number;
  /** Materialized pods live on 127.<podBlock>.0.0/16 (1–255). Default 10. */
  podBlock?: number;
}

export const DEFAULT_PORT = 1975;
export const DEFAULT_ADMIN_PORT = 1064;
export const DEFAULT_WORKERS = 2;
export const DEFAULT_MAX_REQUEST_BODY_BYTES = 50 * 1024 * 1024;
export const DEFAULT_EPP_TIMEOUT_MS = 10_000;
/** Envoy Gateway's cluster connect timeout. */
export const CONNECT_TIMEOUT_MS = 10_000;

/** Headroom above the filter's limit so that the filter's own 413 answers before the listener's. */
const BUFFER_HEADROOM_BYTES = 1024 * 1024;
export const ROUTE_NOT_FOUND = "route-not-found";
export const ROUTE_NOT_FOUND_BODY = "No matching route found. It is likely because the model specified in your request is not configured in the Gateway.";

export interface BuiltGateway {
  gateway: DataPlaneConfig;
  plugin: PluginConfig;
  /** Where each of plugin.costs was declared. */
  costOrigins: CostOrigin[];
  workloads: WorkloadPlan;
  pods: PodRegistry;
  model: Model;
  /** The environment variables that carry BackendSecurityPolicy keys, and the Secrets they come from. */
  credentials: CredentialSource[];
  /** Their values: the environment of the Envoy process `aigw run` stands for (never in `gateway` or `plugin`). */
  hostEnvironment: Record<string, string>;
}

/** Builds everything; problems are recorded in `problems` (the caller throws if there are any). */
export function buildGateway(objects: AppliedObject[], opts: BuildOptions, problems: Problems): BuiltGateway {
  const o = checkOptions(opts, problems);
  const model = readModel(objects, problems);
  const pods = new PodRegistry();
  const workloads = planWorkloads(model, pods, o.podBlock);

  const gateway = selectGateway(model, problems);
  const listener = gateway?.listeners[0];
  const routes = gateway && listener ? attachedRoutes(model.routes, gateway, listener, o.loadTime) : [];
  const httpRoutes = gateway && listener ? attachedRoutes(model.httpRoutes, gateway, listener, o.loadTime) : [];
  checkDanglingParents(model, [...model.routes, ...model.httpRoutes], gateway);

  const backendClusters = new Map<string, ClusterConfig>();
  for (const b of model.aiBackends.values()) {
    const c = backendCluster(model, pods, b);
    if (c) backendClusters.set(`${b.namespace}/${b.name}`, c);
  }
  const poolClusters = new Map<string, BuiltPool>();
  for (const p of model.pools.values()) {
    const built = buildPoolClusters(model, pods, p, o.eppTimeoutMs);
    if (built) poolClusters.set(`${p.namespace}/${p.name}`, built);
  }
  for (const obj of model.objectives) {
    if (obj.poolGroup === INFERENCE_GROUP && obj.poolKind === "InferencePool" && model.pools.has(`${obj.namespace}/${obj.poolName}`)) continue;
    problems.warn(obj.obj, "spec.poolRef", `${obj.poolKind} ${obj.namespace}/${obj.poolName} (${obj.poolGroup}) not found: the objective binds to nothing`);
  }

  const credentials = buildCredentials(model);
  const routeTable: Route[] = [];
  const usedClusters = new Map<string, ClusterConfig>();
  const usedPools = new Map<string, PoolConfig>();
  // HTTPRoutes first: a request on a path they match is theirs (the AIGatewayRoute routes match only once
  // the filter has set x-ai-eg-backend, which it removes from clients).
  const plain = listener
    ? buildHTTPRoutes({ model, pods, listener, pools: poolClusters, connectTimeoutMs: CONNECT_TIMEOUT_MS, aiRoutes: routes.length > 0 }, httpRoutes)
    : undefined;
  if (plain) {
    routeTable.push(...plain.routes);
    for (const c of plain.clusters) usedClusters.set(c.name, c);
    for (const p of plain.pools) usedPools.set(p.name, p);
  }
  const ai = buildAIGatewayRoutes(
    { model, listener, backends: backendClusters, pools: poolClusters, credentials, loadTime: o.loadTime, usedClusters, usedPools },
    routes,
  );
  routeTable.push(...ai.routes);
  // The filter answers /v1/models and unknown AI paths itself, so it must run on the catch-all too.
  routeTable.push({
    name: ROUTE_NOT_FOUND,
    match: { prefix: "/" },
    action: { directResponse: { status: 404, body: ROUTE_NOT_FOUND_BODY, contentType: "text/plain" } },
    filterEnabled: true,
  });

  const owners = policyOwners(model, gateway, listener, routes);
  applyLoadBalancers(owners, routes, backendClusters);
  const costOrigins: CostOrigin[] = [];
  const costs = buildCosts(model, gateway, routes, costOrigins);
  const rateLimits = buildRateLimits(owners, routes, costs);
  if (rateLimits.some((r) => r.type === "Global")) {
    const taken = planEmbeddedRateLimit(workloads, pods, o.podBlock);
    if (taken) problems.global(taken);
    usedClusters.set("ratelimit", rateLimitCluster(workloads, pods, CONNECT_TIMEOUT_MS));
  }
  const plugin: PluginConfig = {
    version: PLUGIN_CONFIG_VERSION,
    rules: ai.rules,
    models: ai.models,
    pools: [...usedPools.values()].sort((a, b) => compare(a.name, b.name)),
    maxRequestBodyBytes: o.maxRequestBodyBytes,
    costs,
    rateLimits,
  };
  if (plain && plain.rules.length > 0) plugin.httpRoutes = plain.rules;
  const listenerName = gateway && listener ? `${gateway.namespace}/${gateway.name}/${listener.name}` : "listener";
  const config: DataPlaneConfig = {
    listener: {
      name: listenerName,
      address: { address: "127.0.0.1", port: o.port },
      bufferLimitBytes: o.maxRequestBodyBytes + BUFFER_HEADROOM_BYTES,
      requestTimeoutMs: REQUEST_TIMEOUT_MS,
    },
    admin: { address: "127.0.0.1", port: o.adminPort },
    routes: {
      name: listenerName,
      virtualHosts: [{ name: listenerName, domains: listener?.hostname ? [listener.hostname] : ["*"], routes: routeTable }],
    },
    clusters: [...usedClusters.values()].sort((a, b) => compare(a.name, b.name)),
    wasm: {
      name: "ai-gateway",
      rootId: "ai-gateway",
      vmId: "ai-gateway",
      modulePath: o.modulePath,
      configuration: JSON.stringify(plugin),
      allowOnHeadersStopIteration: true,
      failOpen: false,
      workers: o.workers,
      ...(credentials.sources.length > 0 ? { hostEnvKeys: credentials.sources.map((c) => c.env) } : {}),
    },
    statsTags: [...GENAI_STATS_TAGS],
    histogramBuckets: [...GENAI_HISTOGRAM_BUCKETS],
  };
  return { gateway: config, plugin, costOrigins, workloads, pods, model, credentials: credentials.sources, hostEnvironment: credentials.values };
}

type Options = Required<BuildOptions>;

/**
 * BackendTrafficPolicy loadBalancer → the lbPolicy of the routes' AIServiceBackend clusters (InferencePool
 * endpoints are the EPP's choice). Envoy Gateway builds a cluster per route rule; aigw run has one per
 * AIServiceBackend, so two routes asking one backend for different balancers is refused.
 */
function applyLoadBalancers(owners: PolicyOwners, routes: RouteModel[], backendClusters: Map<string, ClusterConfig>): void {
  const setBy = new Map<string, { policy: TrafficPolicyModel; route: string }>();
  for (const route of routes) {
    const policy = policyFor(owners, route);
    const lb = policy?.loadBalancer;
    if (!policy || !lb) continue;
    const routeId = `${route.namespace}/${route.name}`;
    for (const ref of route.rules.flatMap((r) => r.backendRefs)) {
      const cluster = ref.kind === "InferencePool" ? undefined : backendClusters.get(`${ref.namespace}/${ref.name}`);
      if (!cluster) continue;
      const first = setBy.get(cluster.name);
      if (first && first.policy.loadBalancer !== lb) {
        policy.f.fail(
          "spec.loadBalancer.type",
          `AIServiceBackend ${ref.namespace}/${ref.name} of route ${routeId} is also behind route ${first.route}, whose BackendTrafficPolicy ${first.policy.namespace}/${first.policy.name} asks for another load balancer (aigw run has one cluster per AIServiceBackend)`,
        );
        continue;
      }
      setBy.set(cluster.name, { policy, route: routeId });
      cluster.lbPolicy = lb;
    }
  }
}

function checkOptions(opts: BuildOptions, problems: Problems): Options {
  const o: Options = {
    port: opts.port ?? DEFAULT_PORT,
    adminPort: opts.adminPort ?? DEFAULT_ADMIN_PORT,
    modulePath: opts.modulePath,
    workers: opts.workers ?? DEFAULT_WORKERS,
    maxRequestBodyBytes: opts.maxRequestBodyBytes ?? DEFAULT_MAX_REQUEST_BODY_BYTES,
    eppTimeoutMs: opts.eppTimeoutMs ?? DEFAULT_EPP_TIMEOUT_MS,
    loadTime: opts.loadTime ?? Math.floor(Date.now() / 1000),
    podBlock: opts.podBlock ?? DEFAULT_POD_BLOCK,
  };
  const int = (v: number, name: string, min: number, max: number): void => {
    if (!Number.isInteger(v) || v < min || v > max) problems.global(`option ${name}: must be an integer from ${min} to ${max}, got ${v}`);
  };
  int(o.port, "port", 0, 65535);
  int(o.adminPort, "adminPort", 0, 65535);
  int(o.workers, "workers", 1, 64);
  int(o.maxRequestBodyBytes, "maxRequestBodyBytes", 1, 2 ** 31 - 1 - BUFFER_HEADROOM_BYTES);
  int(o.eppTimeoutMs, "eppTimeoutMs", 1, 3_600_000);
  int(o.podBlock, "podBlock", 1, MAX_POD_BLOCK);
  if (typeof o.modulePath !== "string" || o.modulePath === "") problems.global("option modulePath: required (the path of ai-gateway.wasm)");
  if (o.port !== 0 && o.port === o.adminPort) problems.global(`options port and adminPort: both are ${o.port}`);
  return o;
}

/** aigw run serves exactly one Gateway with one HTTP listener, as Envoy AI Gateway's standalone mode does. */
function selectGateway(m: Model, problems: Problems): GatewayModel | undefined {
  if (m.gateways.length === 0) {
    problems.global("no Gateway: aigw run needs one Gateway (gateway.networking.k8s.io/v1) with an HTTP listener");
    return undefined;
  }
  const [gw, ...others] = m.gateways;
  for (const other of others) {
    problems.error(other.obj, "", `aigw run serves one Gateway; Gateway ${gw!.namespace}/${gw!.name} is already defined`);
  }
  if (!m.gatewayClasses.has(gw!.className)) {
    gw!.f.warn("spec.gatewayClassName", `GatewayClass ${gw!.className} not found (aigw run serves the Gateway anyway)`);
  }
  if (gw!.listeners.length > 1) {
    gw!.f.fail("spec.listeners", `aigw run serves one listener, got ${gw!.listeners.length}`);
  }
  return gw;
}

/** The STATIC cluster of an AIServiceBackend, resolved through its Backend (or Service) to loopback endpoints. */
function backendCluster(m: Model, pods: PodRegistry, b: AIServiceBackendModel): ClusterConfig | undefined {
  const ref = b.backendRef;
  const refId = `${ref.namespace}/${ref.name}`;
  const target = { group: ref.kind === "Backend" ? ENVOY_GATEWAY_GROUP : "", kind: ref.kind, namespace: ref.namespace, name: ref.name };
  if (!referenceAllowed(m, { group: AIGW_GROUP, kind: "AIServiceBackend", namespace: b.namespace }, target)) {
    b.f.fail(ref.field, `${ref.kind} ${refId} is in another namespace and no ReferenceGrant there allows it`);
    return undefined;
  }
  const endpoints: ClusterEndpoint[] = [];
  let http2 = false;
  if (ref.kind === "Service") {
    const svc = m.services.get(refId);
    if (!svc) {
      b.f.fail(ref.field, `Service ${refId} not found`);
      return undefined;
    }
    try {
      const resolved = resolveService(m, pods, svc, ref.port!);
      endpoints.push(...resolved.endpoints);
      for (const n of resolved.notes) b.f.warn(ref.field, n);
    } catch (err) {
      b.f.fail(`${ref.field}.port`, (err as Error).message);
      return undefined;
    }
  } else {
    const backend = m.backends.get(refId);
    if (!backend) {
      b.f.fail(ref.field, `Backend ${refId} not found`);
      return undefined;
    }
    http2 = backend.http2;
    let failed = false;
    for (const e of backend.endpoints) {
      if ("ip" in e) {
        endpoints.push({ address: e.ip, port: e.port, hostname: e.ip, ready: true });
        continue;
      }
      if (e.fqdn === "localhost") {
        endpoints.push({ address: "127.0.0.1", port: e.port, hostname: "localhost", ready: true });
        continue;
      }
      const svc = serviceForHostname(m, e.fqdn);
      if (!svc) {
        backend.f.fail(`${e.field}.hostname`, `"${e.fqdn}" is neither a Service of these manifests (<service>.<namespace>.svc.cluster.local) nor localhost`);
        failed = true;
        continue;
      }
      try {
        const resolved = resolveService(m, pods, svc, e.port);
        endpoints.push(...resolved.endpoints);
        for (const n of resolved.notes) backend.f.warn(e.field, n);
      } catch (err) {
        backend.f.fail(`${e.field}.port`, (err as Error).message);
        failed = true;
      }
    }
    if (failed) return undefined;
  }
  const cluster: ClusterConfig = {
    name: clusterName("aiservicebackend", b.namespace, b.name),
    type: "STATIC",
    endpoints,
    lbPolicy: "LEAST_REQUEST",
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
  };
  if (http2) cluster.http2 = true;
  return cluster;
}

/** The pool's ORIGINAL_DST cluster, its EPP's cluster, and the filter's view of the pool. */
function buildPoolClusters(m: Model, pods: PodRegistry, p: PoolModel, eppTimeoutMs: number): BuiltPool | undefined {
  const id = `${p.namespace}/${p.name}`;
  const selected = pods.select(p.namespace, p.selector);
  if (selected.length === 0) {
    p.f.warn("spec.selector", "selects no pod: requests to this pool get 503");
  }
  const targetPort = p.targetPorts[0];
  const svc = m.services.get(`${p.namespace}/${p.epp.service}`);
  // Decision: a missing EPP Service is refused at start. The GIE conformance suite expects the route to
  // stay accepted with 5xx answers, but nothing can create the Service later in aigw run, so failing
  // early is the useful answer. An EPP Service without ready endpoints is accepted: its requests get 503
  // (FailClose) or go to a pool endpoint (FailOpen), which is the conformance behaviour.
  if (p.epp.service && !svc) {
    p.f.fail("spec.endpointPickerRef.name", `Service ${p.namespace}/${p.epp.service} not found (the pool's Endpoint Picker)`);
    return undefined;
  }
  if (!svc || targetPort === undefined || !p.epp.port) return undefined;
  let resolved;
  try {
    resolved = resolveService(m, pods, svc, p.epp.port, eppDownConsequence(p.epp.failureMode));
  } catch (err) {
    p.f.fail("spec.endpointPickerRef.port.number", (err as Error).message);
    return undefined;
  }
  for (const n of resolved.notes) p.f.warn("spec.endpointPickerRef", n);
  const servicePort = svc.ports.find((sp) => sp.port === p.epp.port);
  const plaintext =
    servicePort?.appProtocol === "kubernetes.io/h2c" ||
    (resolved.pods.length > 0 && resolved.pods.every((pod) => pod.containers.some((c) => !eppSecureServing(c.args))));

  const pool: ClusterConfig = {
    name: clusterName("inferencepool", p.namespace, p.name),
    type: "ORIGINAL_DST",
    endpoints: selected.map((pod) => pods.endpoint(pod, targetPort)),
    originalDstHeader: DESTINATION_ENDPOINT_HEADER,
    lbPolicy: "ROUND_ROBIN",
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
  };
  const epp: ClusterConfig = {
    name: clusterName("epp", p.namespace, p.name),
    type: "STATIC",
    endpoints: resolved.endpoints,
    lbPolicy: "LEAST_REQUEST",
    http2: true,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
  };
  // SNI: the Service's name, which a certificate for the EPP would carry; without one, TLS clients would
  // offer the pod's IP address, which is no server name (RFC 6066 §3).
  if (!plaintext) epp.tls = { insecureSkipVerify: true, sni: `${svc.name}.${svc.namespace}.svc` };
  const config: PoolConfig = {
    name: id,
    eppCluster: epp.name,
    eppAuthority: `${svc.name}.${svc.namespace}.svc:${p.epp.port}`,
    failureMode: p.epp.failureMode,
    bodyMode: p.bodyMode,
    allowModeOverride: p.allowModeOverride,
    timeoutMs: eppTimeoutMs,
  };
  return { pool, epp, config };
}

/** What the pool's requests get while its Endpoint Picker cannot be reached. */
function eppDownConsequence(mode: "FailOpen" | "FailClose"): string {
  return mode === "FailOpen"
    ? "with failureMode FailOpen the pool's requests go to an endpoint the gateway picks from the pool, without the EPP (503 when no pool endpoint is ready)"
    : "with failureMode FailClose (the default) the pool's requests get 503";
}
