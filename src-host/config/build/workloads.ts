// Local materialization: a Deployment (or a bare Pod without status.podIP) whose container image the
// project knows becomes one process-local server per replica, each on its own loopback address with the
// manifest's container ports, so that Services, selectors and InferencePool targetPorts work unchanged.
// Pod objects with status.podIP are workloads running outside the process; they are registered as is.
//
// The rate limit service (image envoyproxy/ratelimit) is started as aigw run's own implementation of the
// protocol (src-host/ratelimit), configured from the plugin's Global rate limit rules rather than from the
// container's own configuration; it keeps counters in memory, so one replica is started. When Global rules
// exist and no such Deployment does, an embedded one is planned, as Envoy Gateway deploys envoy-ratelimit
// itself: pod envoy-gateway-system/envoy-ratelimit-0 on 127.<block>.0.1:8081 (owner index 0 is never used by
// materialized Deployments, so the address cannot collide with theirs).

import type { Fields } from "../read/fields.js";
import { isRecord } from "../read/manifests.js";
import type { ContainerModel, ContainerPortModel, DeclaredPodModel, DeploymentModel, PodSpecModel } from "../model/model-core.js";
import type { Model } from "../model/model.js";
import { MAX_MATERIALIZED_OWNERS, MAX_REPLICAS, podAddress } from "../model/loopback.js";
import { INFERENCE_GROUP } from "../read/objects.js";
import { compare, type PodRegistry } from "../model/pods.js";

export type WorkloadKind = "testupstream" | "vllm-sim" | "epp" | "ratelimit";

/** One replica to start locally. */
export interface PlannedPod {
  kind: WorkloadKind;
  /** Pod name: `<deployment>-<replica>` for Deployments, the Pod's own name for bare Pods. */
  name: string;
  namespace: string;
  /** "Deployment default/x" or "Pod default/x". */
  owner: string;
  replica: number;
  /** The pod's own loopback address (127.<block>.<owner>.<replica+1>). */
  ip: string;
  labels: Record<string, string>;
  image: string;
  container: string;
  ports: ContainerPortModel[];
  command: string[];
  /** Container args with $(VAR) references expanded, as the kubelet does. */
  args: string[];
  env: Record<string, string>;
  /** Mounted ConfigMap and Secret files: absolute path → content. */
  files: Record<string, string>;
  /** For an EPP: the InferencePool it serves ("namespace/name", from --pool-name/--pool-namespace). */
  pool?: string;
}

export interface SkippedWorkload {
  owner: string;
  images: string[];
  reason: string;
}

export interface WorkloadPlan {
  pods: PlannedPod[];
  /** Deployments and Pods that are not started (their pods do not exist unless declared). */
  skipped: SkippedWorkload[];
}

const KNOWN_IMAGES: Array<[string, WorkloadKind]> = [
  ["envoyproxy/ai-gateway-testupstream", "testupstream"],
  ["llm-d/llm-d-inference-sim", "vllm-sim"],
  ["gateway-api-inference-extension/epp", "epp"],
  ["envoyproxy/ratelimit", "ratelimit"],
];

/** envoyproxy/ratelimit's default GRPC_PORT. */
export const RATE_LIMIT_GRPC_PORT = 8081;
export const EMBEDDED_RATE_LIMIT_POD = { namespace: "envoy-gateway-system", name: "envoy-ratelimit-0" } as const;

/** The port a rate limit pod serves gRPC on: its GRPC_PORT variable (checked at load), else 8081. */
export function rateLimitGrpcPort(env: Record<string, string>): number {
  const v = env.GRPC_PORT;
  return v === undefined ? RATE_LIMIT_GRPC_PORT : Number(v);
}

/** The workload an image stands for, whatever its registry, tag or digest. */
export function imageKind(image: string): WorkloadKind | undefined {
  let repo = image.split("@")[0]!;
  const lastSlash = repo.lastIndexOf("/");
  const colon = repo.lastIndexOf(":");
  if (colon > lastSlash) repo = repo.slice(0, colon);
  for (const [path, kind] of KNOWN_IMAGES) {
    if (repo === path || repo.endsWith(`/${path}`)) return kind;
  }
  return undefined;
}

interface Owner {
  label: string;
  f: Fields;
  namespace: string;
  baseName: string;
  replicas: number;
  spec: PodSpecModel;
  bare: boolean;
}

/** Registers declared pods and plans (and registers, not ready) the materialized ones. */
export function planWorkloads(m: Model, pods: PodRegistry, block: number): WorkloadPlan {
  const plan: WorkloadPlan = { pods: [], skipped: [] };
  for (const p of m.pods) {
    if (p.ip !== undefined) {
      pods.add({ namespace: p.namespace, name: p.name, ip: p.ip, labels: p.spec.labels, ready: p.ready, containers: p.spec.containers, materialized: false });
    }
  }
  const owners: Owner[] = [
    ...[...m.deployments].sort(byId).map((d: DeploymentModel) => ({
      label: `Deployment ${d.namespace}/${d.name}`,
      f: d.f,
      namespace: d.namespace,
      baseName: d.name,
      replicas: d.replicas,
      spec: d.template,
      bare: false,
    })),
    ...m.pods
      .filter((p) => p.ip === undefined)
      .sort(byId)
      .map((p: DeclaredPodModel) => ({
        label: `Pod ${p.namespace}/${p.name}`,
        f: p.f,
        namespace: p.namespace,
        baseName: p.name,
        replicas: 1,
        spec: p.spec,
        bare: true,
      })),
  ];
  let ownerIndex = 0;
  let rateLimitOwner: string | undefined;
  for (const o of owners) {
    const known = o.spec.containers.filter((c) => imageKind(c.image) !== undefined);
    if (known.length === 0) {
      const images = o.spec.containers.map((c) => c.image);
      const reason = o.bare ? "no status.podIP and no container image aigw run can start" : "no container image aigw run can start";
      plan.skipped.push({ owner: o.label, images, reason });
      o.f.warn(`${o.spec.field}.containers`, `not started: ${reason} (${images.join(", ") || "no containers"})`);
      continue;
    }
    if (known.length > 1) {
      o.f.fail(`${o.spec.field}.containers`, "aigw run starts one container per pod; this pod has several it knows");
      continue;
    }
    for (const c of o.spec.containers) {
      if (c !== known[0]) o.f.warn(c.field, `container ${c.name} (${c.image}) is not started by aigw run`);
    }
    if (o.replicas > MAX_REPLICAS) {
      o.f.fail("spec.replicas", `aigw run starts at most ${MAX_REPLICAS} replicas`);
      continue;
    }
    if (++ownerIndex > MAX_MATERIALIZED_OWNERS) {
      o.f.fail("", `aigw run materializes at most ${MAX_MATERIALIZED_OWNERS} Deployments and Pods`);
      continue;
    }
    const container = known[0]!;
    let replicas = o.replicas;
    if (imageKind(container.image) === "ratelimit") {
      if (rateLimitOwner !== undefined) {
        o.f.fail(`${o.spec.field}.containers`, `aigw run starts one rate limit service; ${rateLimitOwner} already is one`);
        continue;
      }
      rateLimitOwner = o.label;
      if (replicas > 1) {
        o.f.warn("spec.replicas", "aigw run's rate limit service keeps its counters in memory: starting 1 replica");
        replicas = 1;
      }
    }
    for (let r = 0; r < replicas; r++) {
      const name = o.bare ? o.baseName : `${o.baseName}-${r}`;
      if (pods.get(o.namespace, name)) {
        o.f.fail("metadata.name", `pod name ${o.namespace}/${name} of the materialized replica is taken by a Pod object`);
        continue;
      }
      const planned = planPod(m, o, container, name, r, podAddress(ownerIndex, r, block));
      plan.pods.push(planned);
      pods.add({
        namespace: o.namespace,
        name,
        ip: planned.ip,
        labels: planned.labels,
        ready: false,
        containers: [{ ...container, args: planned.args }],
        materialized: true,
      });
    }
  }
  return plan;
}

function planPod(m: Model, o: Owner, c: ContainerModel, name: string, replica: number, ip: string): PlannedPod {
  const kind = imageKind(c.image)!;
  const pod = { name, namespace: o.namespace, ip, spec: o.spec };
  const env = resolveEnv(m, o.f, c, pod);
  const args = c.args.map((a) => expand(a, env));
  const files = mountFiles(m, o.f, c, o);
  const planned: PlannedPod = {
    kind,
    name,
    namespace: o.namespace,
    owner: o.label,
    replica,
    ip,
    labels: { ...o.spec.labels },
    image: c.image,
    container: c.name,
    ports: c.ports.map((p) => ({ ...p })),
    command: c.command.map((a) => expand(a, env)),
    args,
    env,
    files,
  };
  if (kind === "epp" && replica === 0) checkEpp(m, o, c, args, files, planned);
  else if (kind === "epp") planned.pool = eppPool(args);
  const grpcPort = env.GRPC_PORT;
  if (kind === "ratelimit" && grpcPort !== undefined && (!/^[1-9][0-9]{0,4}$/.test(grpcPort) || Number(grpcPort) > 65535)) {
    o.f.fail(`${c.field}.env`, `GRPC_PORT must be a port number, got "${env.GRPC_PORT}"`);
  }
  return planned;
}

/**
 * Plans (and registers, not ready) the embedded rate limit service, unless a "ratelimit" pod is already
 * planned. Returns a problem when its address is taken by a declared Pod.
 */
export function planEmbeddedRateLimit(plan: WorkloadPlan, pods: PodRegistry, block: number): string | undefined {
  if (plan.pods.some((p) => p.kind === "ratelimit")) return undefined;
  const { namespace, name } = EMBEDDED_RATE_LIMIT_POD;
  const ip = podAddress(0, 0, block);
  const taken = pods.all().find((p) => p.ip === ip || (p.namespace === namespace && p.name === name));
  if (taken) return `the embedded rate limit service needs pod ${namespace}/${name} on ${ip}, taken by Pod ${taken.namespace}/${taken.name}`;
  const labels = { "app.kubernetes.io/name": "envoy-ratelimit" };
  const container: ContainerModel = {
    name: "envoy-ratelimit",
    image: "docker.io/envoyproxy/ratelimit",
    command: [],
    args: [],
    ports: [{ name: "grpc", containerPort: RATE_LIMIT_GRPC_PORT, protocol: "TCP" }],
    env: [],
    envFrom: [],
    volumeMounts: [],
    field: "",
  };
  plan.pods.push({
    kind: "ratelimit",
    name,
    namespace,
    owner: "embedded rate limit service (what Envoy Gateway deploys as envoy-ratelimit)",
    replica: 0,
    ip,
    labels,
    image: container.image,
    container: container.name,
    ports: container.ports.map((p) => ({ ...p })),
    command: [],
    args: [],
    env: {},
    files: {},
  });
  pods.add({ namespace, name, ip, labels, ready: false, containers: [container], materialized: true });
  return undefined;
}

/** The EPP's pool must exist and its --config-file must be mounted: found at load, not when it starts. */
function checkEpp(m: Model, o: Owner, c: ContainerModel, args: string[], files: Record<string, string>, planned: PlannedPod): void {
  const poolName = goFlag(args, "pool-name");
  if (poolName === undefined) {
    o.f.fail(`${c.field}.args`, "the EPP needs --pool-name");
    return;
  }
  const group = goFlag(args, "pool-group");
  if (group !== undefined && group !== INFERENCE_GROUP) {
    o.f.fail(`${c.field}.args`, `--pool-group ${group} is not supported (only ${INFERENCE_GROUP} InferencePools)`);
  }
  const pool = eppPool(args)!;
  if (!m.pools.has(pool)) o.f.fail(`${c.field}.args`, `--pool-name: InferencePool ${pool} not found`);
  planned.pool = pool;
  const configFile = goFlag(args, "config-file");
  if (configFile !== undefined && files[configFile] === undefined) {
    o.f.fail(`${c.field}.args`, `--config-file ${configFile}: no mounted ConfigMap or Secret provides this file`);
  }
}

function eppPool(args: string[]): string | undefined {
  const name = goFlag(args, "pool-name");
  return name === undefined ? undefined : `${goFlag(args, "pool-namespace") ?? "default"}/${name}`;
}

/**
 * The value of a Go `flag` package flag (-name, --name, -name=value, --name value); undefined when absent.
 * Parsing stops at the first non-flag argument or "--", as Go's does.
 */
export function goFlag(args: string[], name: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--" || !a.startsWith("-") || a === "-") break;
    const body = a.replace(/^--?/, "");
    const eq = body.indexOf("=");
    const flag = eq < 0 ? body : body.slice(0, eq);
    const hasInline = eq >= 0;
    if (flag === name) value = hasInline ? body.slice(eq + 1) : args[i + 1];
    // A flag without "=" consumes the next argument unless that is itself a flag (bool flags).
    if (!hasInline && i + 1 < args.length && !args[i + 1]!.startsWith("-")) i++;
  }
  return value;
}

/** Whether a stock EPP with these args serves TLS (`--secure-serving`, default true). */
export function eppSecureServing(args: string[]): boolean {
  for (const a of args) {
    const m = /^--?secure-serving(?:=(.*))?$/.exec(a);
    if (!m) continue;
    const v = m[1];
    if (v === undefined) return true;
    if (["0", "f", "F", "false", "FALSE", "False"].includes(v)) return false;
  }
  return true;
}

interface PodContext {
  name: string;
  namespace: string;
  ip: string;
  spec: PodSpecModel;
}

/** The container environment as the kubelet builds it: envFrom, then env in order, $(VAR) expanded. */
function resolveEnv(m: Model, f: Fields, c: ContainerModel, pod: PodContext): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { value: e, field } of c.envFrom) {
    const prefix = typeof e.prefix === "string" ? e.prefix : "";
    const source = e.configMapRef ?? e.secretRef;
    const kind = e.configMapRef !== undefined ? "ConfigMap" : "Secret";
    if (!isRecord(source) || typeof source.name !== "string") {
      f.fail(field, "needs configMapRef.name or secretRef.name");
      continue;
    }
    const data = (kind === "ConfigMap" ? m.configMaps : m.secrets).get(`${pod.namespace}/${source.name}`)?.data;
    if (!data) {
      if (source.optional !== true)
        f.fail(`${field}.${kind === "ConfigMap" ? "configMapRef" : "secretRef"}.name`, `${kind} ${pod.namespace}/${source.name} not found`);
      continue;
    }
    for (const [k, v] of Object.entries(data)) env[prefix + k] = v;
  }
  for (const { value: e, field } of c.env) {
    const name = typeof e.name === "string" ? e.name : "";
    if (!name) {
      f.fail(`${field}.name`, "required");
      continue;
    }
    if (e.valueFrom === undefined) {
      env[name] = expand(typeof e.value === "string" ? e.value : e.value === undefined ? "" : String(e.value), env);
      continue;
    }
    const v = valueFrom(m, f, e.valueFrom, `${field}.valueFrom`, pod);
    if (v !== undefined) env[name] = v;
  }
  return env;
}

function valueFrom(m: Model, f: Fields, from: unknown, field: string, pod: PodContext): string | undefined {
  if (!isRecord(from)) {
    f.fail(field, "must be a mapping");
    return undefined;
  }
  if (isRecord(from.fieldRef)) {
    const path = String(from.fieldRef.fieldPath ?? "");
    const labelOrAnnotation = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
    if (labelOrAnnotation) {
      const map = labelOrAnnotation[1] === "labels" ? pod.spec.labels : pod.spec.annotations;
      return map[labelOrAnnotation[2]!] ?? "";
    }
    const fields: Record<string, string> = {
      "metadata.name": pod.name,
      "metadata.namespace": pod.namespace,
      "spec.serviceAccountName": pod.spec.serviceAccountName,
      "spec.nodeName": "localhost",
      "status.podIP": pod.ip,
      "status.podIPs": pod.ip,
      "status.hostIP": "127.0.0.1",
      "status.hostIPs": "127.0.0.1",
    };
    if (fields[path] !== undefined) return fields[path];
    f.fail(`${field}.fieldRef.fieldPath`, `"${path}" is not supported by aigw run`);
    return undefined;
  }
  for (const [refField, kind] of [
    ["configMapKeyRef", "ConfigMap"],
    ["secretKeyRef", "Secret"],
  ] as const) {
    const ref = from[refField];
    if (!isRecord(ref)) continue;
    const data = (kind === "ConfigMap" ? m.configMaps : m.secrets).get(`${pod.namespace}/${String(ref.name)}`)?.data;
    const value = data?.[String(ref.key)];
    if (value === undefined && ref.optional !== true) {
      f.fail(
        `${field}.${refField}`,
        data ? `key "${String(ref.key)}" not found in ${kind} ${pod.namespace}/${String(ref.name)}` : `${kind} ${pod.namespace}/${String(ref.name)} not found`,
      );
    }
    return value;
  }
  f.fail(field, "only fieldRef, configMapKeyRef and secretKeyRef are supported by aigw run");
  return undefined;
}

/** Kubernetes $(VAR) expansion: defined variables are replaced, "$$" escapes, anything else stays. */
export function expand(s: string, env: Record<string, string>): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (ch !== "$" || i + 1 >= s.length) {
      out += ch;
      continue;
    }
    const next = s[i + 1];
    if (next === "$") {
      out += "$";
      i++;
    } else if (next === "(") {
      const close = s.indexOf(")", i + 2);
      if (close < 0) {
        out += s.slice(i);
        break;
      }
      const name = s.slice(i + 2, close);
      out += Object.hasOwn(env, name) ? env[name] : `$(${name})`;
      i = close;
    } else {
      out += ch;
    }
  }
  return out;
}

/** ConfigMap and Secret volumes mounted by the container, as path → content. */
function mountFiles(m: Model, f: Fields, c: ContainerModel, o: Owner): Record<string, string> {
  const files: Record<string, string> = {};
  for (const mount of c.volumeMounts) {
    const vol = o.spec.volumes.find((v) => v.name === mount.name);
    if (!vol) {
      f.fail(`${mount.field}.name`, `no volume named "${mount.name}" in ${o.spec.field}.volumes`);
      continue;
    }
    const source = vol.configMap ?? vol.secret;
    if (!source) {
      if (vol.other !== "emptyDir") f.warn(vol.field, `${vol.other} volumes are not mounted by aigw run`);
      continue;
    }
    const kind = vol.configMap ? "ConfigMap" : "Secret";
    const data = (vol.configMap ? m.configMaps : m.secrets).get(`${o.namespace}/${source.name}`)?.data;
    if (!data) {
      if (!source.optional) f.fail(`${vol.field}.${vol.configMap ? "configMap.name" : "secret.secretName"}`, `${kind} ${o.namespace}/${source.name} not found`);
      continue;
    }
    const entries: Array<[string, string]> = [];
    if (source.items) {
      source.items.forEach((it, i) => {
        if (data[it.key] === undefined)
          f.fail(
            `${vol.field}.${vol.configMap ? "configMap" : "secret"}.items[${i}].key`,
            `key "${it.key}" not found in ${kind} ${o.namespace}/${source.name}`,
          );
        else entries.push([it.path, data[it.key]!]);
      });
    } else {
      for (const k of Object.keys(data).sort(compare)) entries.push([k, data[k]!]);
    }
    const base = mount.mountPath.replace(/\/+$/, "");
    if (mount.subPath !== undefined) {
      const entry = entries.find(([p]) => p === mount.subPath);
      if (entry) files[base] = entry[1];
      else f.fail(`${mount.field}.subPath`, `"${mount.subPath}" is not in ${kind} ${o.namespace}/${source.name}`);
      continue;
    }
    for (const [p, content] of entries) files[`${base}/${p}`] = content;
  }
  return files;
}

function byId(a: { namespace: string; name: string }, b: { namespace: string; name: string }): number {
  return compare(`${a.namespace}/${a.name}`, `${b.namespace}/${b.name}`);
}
