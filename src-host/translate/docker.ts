// The same manifests on one machine with Docker: every pod aigw run would start becomes a Compose service
// (the real images: llm-d-inference-sim, ai-gateway-testupstream, envoyproxy/ratelimit with Redis; our own
// `aigw epp` for the Endpoint Pickers, since the stock EPP reads the Kubernetes API), and the bootstrap
// reaches them by Compose service name.
//
// Addresses. A pool's endpoints must be IP addresses: the EPP answers "ip:port" and override_host picks the
// pool endpoint with that address. So every pod service gets a fixed address on the Compose network, derived
// from its aigw run address: 127.<block>.<n>.<r> becomes 172.29.<n>.<r> (n ≥ 1; Docker hands out the addresses
// of envoy, redis and ratelimit from 172.29.0.0/24). Other clusters (backends, EPPs, the rate limit
// service) use the service names. Endpoints that are not pods aigw run would start (Pod objects with an
// address, Backend IPs, localhost) cannot be reached from the Compose network and are refused.

import { stringify } from "yaml";
import type { ClusterConfig, ClusterEndpoint } from "../dataplane-api/bootstrap.js";
import type { LoadedConfig } from "../config/load-config.js";
import { ConfigError } from "../config/read/problems.js";
import type { RateLimitConfig } from "../config/plugin-config.js";
import { RATE_LIMIT_DOMAIN } from "../config/build/rate-limits.js";
import { RATE_LIMIT_GRPC_PORT, rateLimitGrpcPort, type PlannedPod } from "../config/build/workloads.js";
import { ROUTE_DESCRIPTOR_KEY, RULE_DESCRIPTOR_KEY } from "../ratelimit/descriptors.js";
import type { EndpointAddress } from "./bootstrap.js";
import { AIGW_IMAGE, ENVOY_IMAGE, RATELIMIT_IMAGE, REDIS_IMAGE } from "./versions.js";

export const COMPOSE_NETWORK = "aigw";
export const COMPOSE_SUBNET = "172.29.0.0/16";
/** Where Docker allocates addresses of services without a fixed one. */
export const COMPOSE_DYNAMIC_RANGE = "172.29.0.0/24";
/** The Compose service of the rate limit service (whatever pod the manifests planned for it). */
export const RATELIMIT_SERVICE = "ratelimit";
export const REDIS_SERVICE = "redis";
export const ENVOY_SERVICE = "envoy";
/** Where an EPP service finds its pool's endpoints (aigw epp --endpoints-file). */
export const EPP_ENDPOINTS_PATH = "/etc/aigw/endpoints.yaml";

export interface DockerService {
  name: string;
  pod: PlannedPod;
  /** Fixed address on the Compose network (all pod services but the rate limit service). */
  ip?: string;
}

export interface DockerPlan {
  services: DockerService[];
  /** aigw run address of a pod → its service. */
  byLoopback: Map<string, DockerService>;
}

export function planDocker(loaded: LoadedConfig): DockerPlan {
  const problems: string[] = [];
  const services: DockerService[] = [];
  const byLoopback = new Map<string, DockerService>();
  const names = new Set([ENVOY_SERVICE, REDIS_SERVICE]);
  for (const pod of loaded.workloads.pods) {
    let service: DockerService;
    if (pod.kind === "ratelimit") {
      service = { name: RATELIMIT_SERVICE, pod };
    } else {
      const name = pod.namespace === "default" ? pod.name : `${pod.namespace}-${pod.name}`;
      const m = /^127\.\d+\.(\d+)\.(\d+)$/.exec(pod.ip);
      if (!m || m[1] === "0") throw new Error(`pod ${pod.namespace}/${pod.name}: unexpected aigw run address ${pod.ip}`);
      service = { name, pod, ip: `172.29.${m[1]}.${m[2]}` };
    }
    if (names.has(service.name)) {
      problems.push(`${pod.owner}: pod ${pod.namespace}/${pod.name} would be Compose service "${service.name}", which is taken`);
      continue;
    }
    names.add(service.name);
    services.push(service);
    byLoopback.set(pod.ip, service);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { services, byLoopback };
}

/** The endpoint mapping for renderBootstrap: pool clusters by fixed address, the others by service name. */
export function dockerEndpoints(plan: DockerPlan): (cluster: ClusterConfig, endpoint: ClusterEndpoint) => EndpointAddress {
  return (cluster, e) => {
    const service = plan.byLoopback.get(e.address);
    if (!service) {
      throw new ConfigError([
        `cluster ${cluster.name}: endpoint ${e.address}:${e.port}${e.hostname ? ` (${e.hostname})` : ""} is not a pod aigw can run ` +
          "in Docker (only Deployments and Pods of images it knows become Compose services)",
      ]);
    }
    if (cluster.originalDstHeader !== undefined) return { address: service.ip!, port: e.port };
    return { address: service.name, port: e.port };
  };
}

export interface ComposeOptions {
  /** Host path of envoy.yaml and of the module, relative to the Compose file. */
  envoyYaml: string;
  module: string;
  /** Path of the module inside the Envoy container (VmConfig code.local.filename). */
  containerModule: string;
  listenerPort: number;
  adminPort: number;
  workers: number;
  /** Relative path from the Compose file to the repository (the build context of envoy/Dockerfile). */
  buildContext: string;
}

type Obj = Record<string, unknown>;

export function renderCompose(loaded: LoadedConfig, plan: DockerPlan, o: ComposeOptions): Obj {
  const configs: Obj = {};
  const services: Obj = {};
  services[ENVOY_SERVICE] = {
    image: ENVOY_IMAGE,
    command: ["envoy", "-c", "/etc/envoy/envoy.yaml", "--concurrency", String(o.workers)],
    ports: [`${o.listenerPort}:${o.listenerPort}`, `${o.adminPort}:${o.adminPort}`],
    volumes: [`${o.envoyYaml}:/etc/envoy/envoy.yaml:ro`, `${o.module}:${o.containerModule}:ro`],
    depends_on: [...plan.services.map((s) => s.name).filter((n) => n !== RATELIMIT_SERVICE), RATELIMIT_SERVICE],
    networks: [COMPOSE_NETWORK],
  };
  // BackendSecurityPolicy keys: the names only, their values from the environment `docker compose` runs in.
  if (loaded.credentials.length > 0) (services[ENVOY_SERVICE] as Obj).environment = loaded.credentials.map((c) => c.env);
  for (const s of plan.services) {
    if (s.pod.kind === "ratelimit") continue;
    services[s.name] = podService(loaded, plan, s, o, configs);
  }
  const rlPod = plan.services.find((s) => s.pod.kind === "ratelimit")?.pod;
  services[RATELIMIT_SERVICE] = rateLimitService(loaded.plugin.rateLimits, rlPod, configs);
  services[REDIS_SERVICE] = { image: REDIS_IMAGE, networks: [COMPOSE_NETWORK] };
  return escapeInterpolation({
    name: "ai-gateway-wasm",
    services,
    networks: {
      [COMPOSE_NETWORK]: { ipam: { config: [{ subnet: COMPOSE_SUBNET, ip_range: COMPOSE_DYNAMIC_RANGE }] } },
    },
    configs,
  }) as Obj;
}

/** Compose interpolates ${VAR} in every string of the file: a literal "$" is written "$$". */
function escapeInterpolation(v: unknown): unknown {
  if (typeof v === "string") return v.replaceAll("$", "$$$$");
  if (Array.isArray(v)) return v.map(escapeInterpolation);
  if (typeof v === "object" && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, escapeInterpolation(x)]));
  return v;
}

function podService(loaded: LoadedConfig, plan: DockerPlan, s: DockerService, o: ComposeOptions, configs: Obj): Obj {
  const pod = s.pod;
  const out: Obj = {};
  const mounts: Array<{ source: string; target: string }> = [];
  for (const [path, content] of Object.entries(pod.files)) {
    const source = configName(s.name, path);
    configs[source] = { content };
    mounts.push({ source, target: path });
  }
  if (pod.kind === "epp") {
    // Our EPP in place of the stock image (which needs the Kubernetes API): same flags, plus where the
    // pool's endpoints are and that it listens on the container's address.
    for (const flag of ["--endpoints-file", "--bind-address"]) {
      if (pod.args.some((a) => a === flag || a.startsWith(`${flag}=`))) {
        throw new ConfigError([`${pod.owner}: container ${pod.container}: args: ${flag} is set by aigw translate --docker`]);
      }
    }
    const source = configName(s.name, EPP_ENDPOINTS_PATH);
    configs[source] = { content: eppEndpointsFile(loaded, plan, pod) };
    mounts.push({ source, target: EPP_ENDPOINTS_PATH });
    out.build = { context: o.buildContext, dockerfile: "envoy/Dockerfile" };
    out.image = AIGW_IMAGE;
    out.command = ["epp", ...pod.args, "--endpoints-file", EPP_ENDPOINTS_PATH, "--bind-address", "0.0.0.0"];
  } else {
    out.image = pod.image;
    if (pod.command.length > 0) out.entrypoint = pod.command;
    if (pod.args.length > 0) out.command = pod.args;
  }
  if (Object.keys(pod.env).length > 0) out.environment = { ...pod.env };
  const ports = pod.ports.map((p) => String(p.containerPort));
  if (ports.length > 0) out.expose = ports;
  if (mounts.length > 0) out.configs = mounts;
  out.networks = { [COMPOSE_NETWORK]: { ipv4_address: s.ip } };
  return out;
}

function configName(service: string, path: string): string {
  return `${service}${path.replace(/[^A-Za-z0-9]+/g, "-")}`.replace(/-+$/, "");
}

/** aigw epp --endpoints-file content: the pool's pods at their Compose addresses, and its objectives. */
function eppEndpointsFile(loaded: LoadedConfig, plan: DockerPlan, pod: PlannedPod): string {
  if (!pod.pool) throw new ConfigError([`${pod.owner}: container ${pod.container}: args: --pool-name is required`]);
  const discovery = loaded.discovery(pod.pool);
  const spec = discovery.pool();
  const port = spec?.targetPorts[0];
  if (!spec || port === undefined) throw new ConfigError([`${pod.owner}: InferencePool ${pod.pool} has no target port`]);
  const endpoints = discovery
    .pods()
    .filter((p) => Object.entries(spec.selector).every(([k, v]) => p.labels[k] === v))
    .map((p) => {
      const s = plan.byLoopback.get(p.ip);
      if (!s?.ip) throw new ConfigError([`InferencePool ${pod.pool}: pod ${p.namespace}/${p.name} (${p.ip}) is not a pod aigw can run in Docker`]);
      return { name: p.name, address: `${s.ip}:${port}`, labels: { ...p.labels } };
    });
  if (endpoints.length === 0) {
    throw new ConfigError([`InferencePool ${pod.pool}: selects no pod; aigw epp --endpoints-file needs at least one (${pod.owner})`]);
  }
  const objectives = discovery.objectives().map((o) => ({ name: o.name, priority: o.priority }));
  return stringify(objectives.length > 0 ? { endpoints, objectives } : { endpoints }, { lineWidth: 0 });
}

const UNITS: Record<number, string> = {
  1: "second",
  60: "minute",
  3600: "hour",
  86_400: "day",
  [30 * 86_400]: "month",
  [365 * 86_400]: "year",
};

/**
 * envoyproxy/ratelimit with Redis, configured (one file per domain) for the descriptors the filter sends
 * for Global rules (src-host/ratelimit/descriptors.ts): ("rule", rule.name) then one entry per clientSelector
 * header, Exact with its value, Distinct without (every value its own counter); the limit on the last.
 */
function rateLimitService(rules: RateLimitConfig[], pod: PlannedPod | undefined, configs: Obj): Obj {
  const mounts: Array<{ source: string; target: string }> = [];
  for (const [file, content] of rateLimitConfigFiles(rules)) {
    const source = file.replace(/\.yaml$/, "");
    configs[source] = { content };
    mounts.push({ source, target: `${RATELIMIT_CONFIG_DIR}/${file}` });
  }
  const image = pod && /[:@]/.test(pod.image.slice(pod.image.lastIndexOf("/") + 1)) ? pod.image : RATELIMIT_IMAGE;
  return {
    image,
    command: ["/bin/ratelimit"],
    environment: rateLimitEnvironment(pod ? rateLimitGrpcPort(pod.env) : RATE_LIMIT_GRPC_PORT, `${REDIS_SERVICE}:6379`),
    expose: [String(pod ? rateLimitGrpcPort(pod.env) : RATE_LIMIT_GRPC_PORT)],
    configs: mounts,
    depends_on: [REDIS_SERVICE],
    networks: [COMPOSE_NETWORK],
  };
}

/** Where envoyproxy/ratelimit reads its configuration files, with the environment below. */
export const RATELIMIT_CONFIG_DIR = "/data/ratelimit/config";

/** envoyproxy/ratelimit's environment: gRPC on `grpcPort`, counters in the Redis at `redisUrl` (host:port). */
export function rateLimitEnvironment(grpcPort: number, redisUrl: string): Record<string, string> {
  return {
    GRPC_PORT: String(grpcPort),
    LOG_LEVEL: "info",
    REDIS_SOCKET_TYPE: "tcp",
    REDIS_URL: redisUrl,
    RUNTIME_ROOT: "/data",
    RUNTIME_SUBDIRECTORY: "ratelimit",
    RUNTIME_WATCH_ROOT: "false",
    USE_STATSD: "false",
  };
}

/** envoyproxy/ratelimit's configuration files (name → YAML), one per domain the Global rules use. */
export function rateLimitConfigFiles(rules: RateLimitConfig[]): Map<string, string> {
  const domains = new Map<string, RateLimitConfig[]>([[RATE_LIMIT_DOMAIN, []]]);
  for (const r of rules.filter((r) => r.type === "Global")) domains.set(r.domain, [...(domains.get(r.domain) ?? []), r]);
  const files = new Map<string, string>();
  for (const [domain, list] of domains) files.set(`ratelimit-${domain.replace(/[^A-Za-z0-9]+/g, "-")}.yaml`, rateLimitConfig(domain, list));
  return files;
}

function rateLimitConfig(domain: string, rules: RateLimitConfig[]): string {
  const descriptors = rules.map((r) => {
    const unit = UNITS[r.unitSeconds];
    if (!unit) throw new ConfigError([`rate limit ${r.name}: a unit of ${r.unitSeconds} s has no envoyproxy/ratelimit equivalent`]);
    let leaf: Obj = { rate_limit: { unit, requests_per_unit: r.limit } };
    for (const h of [...r.headers].reverse()) {
      leaf = { key: h.name, ...(h.type === "Exact" ? { value: h.value } : {}), ...leafOrNested(leaf) };
    }
    // An unshared rule counts per xDS route: a key without a value is one counter per value.
    if (!r.shared) leaf = { key: ROUTE_DESCRIPTOR_KEY, ...leafOrNested(leaf) };
    return { key: RULE_DESCRIPTOR_KEY, value: r.name, ...leafOrNested(leaf) };
  });
  return stringify({ domain, descriptors }, { lineWidth: 0 });
}

/** A descriptor level holds either the limit or the next level. */
function leafOrNested(inner: Obj): Obj {
  return "key" in inner ? { descriptors: [inner] } : inner;
}
