// Typed views of the core Kubernetes kinds `aigw run` reads: Service, EndpointSlice, Pod, Deployment,
// ConfigMap and Secret. Reading validates types and records problems with their field paths.

import { Fields, type Json } from "../read/fields.js";
import { loopbackProblem } from "./loopback.js";
import type { AppliedObject } from "../read/objects.js";
import type { Problems } from "../read/problems.js";

export interface ServicePortModel {
  name: string;
  port: number;
  /** Number, or the name of a container port. */
  targetPort: number | string;
  appProtocol?: string;
  field: string;
}

export interface ServiceModel {
  obj: AppliedObject;
  f: Fields;
  namespace: string;
  name: string;
  type: string;
  /** undefined: a Service without selector, whose endpoints come from EndpointSlices. */
  selector?: Record<string, string>;
  headless: boolean;
  ports: ServicePortModel[];
}

export interface SliceEndpointModel {
  address: string;
  ready: boolean;
  /** The Pod behind the address (targetRef), or the endpoint's hostname. */
  hostname?: string;
}

export interface EndpointSliceModel {
  obj: AppliedObject;
  namespace: string;
  name: string;
  service: string;
  ports: Array<{ name: string; port: number }>;
  endpoints: SliceEndpointModel[];
}

export interface ContainerPortModel {
  name?: string;
  containerPort: number;
  protocol: string;
}

export interface ContainerModel {
  name: string;
  image: string;
  command: string[];
  args: string[];
  ports: ContainerPortModel[];
  env: Array<{ value: Json; field: string }>;
  envFrom: Array<{ value: Json; field: string }>;
  volumeMounts: Array<{ name: string; mountPath: string; subPath?: string; field: string }>;
  /** Field path of this container, e.g. spec.template.spec.containers[0]. */
  field: string;
}

export interface VolumeModel {
  name: string;
  field: string;
  configMap?: { name: string; items?: Array<{ key: string; path: string }>; optional: boolean };
  secret?: { name: string; items?: Array<{ key: string; path: string }>; optional: boolean };
  /** Any other volume type (emptyDir, hostPath, ...): mounted as nothing. */
  other?: string;
}

export interface PodSpecModel {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  serviceAccountName: string;
  containers: ContainerModel[];
  volumes: VolumeModel[];
  /** Field path of the pod spec, e.g. spec.template.spec. */
  field: string;
}

export interface DeploymentModel {
  obj: AppliedObject;
  f: Fields;
  namespace: string;
  name: string;
  replicas: number;
  template: PodSpecModel;
}

export interface DeclaredPodModel {
  obj: AppliedObject;
  f: Fields;
  namespace: string;
  name: string;
  spec: PodSpecModel;
  /** status.podIP; absent for a Pod the project may materialize. */
  ip?: string;
  ready: boolean;
}

export interface DataModel {
  obj: AppliedObject;
  /** Text values (Secret data is base64-decoded). */
  data: Record<string, string>;
}

export function readService(obj: AppliedObject, problems: Problems): ServiceModel {
  const f = new Fields(problems, obj);
  const spec = f.record(obj.object.spec, "spec", true) ?? {};
  const type = f.oneOf(spec.type, "spec.type", ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"], "ClusterIP");
  const selector = spec.selector === undefined ? undefined : f.stringMap(spec.selector, "spec.selector");
  const ports: ServicePortModel[] = [];
  for (const [p, field] of f.records(spec.ports, "spec.ports", type !== "ExternalName")) {
    const port = f.port(p.port, `${field}.port`, true);
    let targetPort: number | string | undefined = port;
    if (typeof p.targetPort === "string" && p.targetPort !== "") targetPort = p.targetPort;
    else if (p.targetPort !== undefined) targetPort = f.port(p.targetPort, `${field}.targetPort`);
    const protocol = f.oneOf(p.protocol, `${field}.protocol`, ["TCP", "UDP", "SCTP"], "TCP");
    if (protocol !== "TCP") f.warn(`${field}.protocol`, `${protocol} ports are not served by aigw run`);
    if (port === undefined || targetPort === undefined || protocol !== "TCP") continue;
    ports.push({
      name: f.string(p.name, `${field}.name`) ?? "",
      port,
      targetPort,
      appProtocol: f.string(p.appProtocol, `${field}.appProtocol`),
      field,
    });
  }
  return {
    obj,
    f,
    namespace: obj.namespace,
    name: obj.name,
    type,
    selector,
    headless: spec.clusterIP === "None",
    ports,
  };
}

export function readEndpointSlice(obj: AppliedObject, problems: Problems): EndpointSliceModel {
  const f = new Fields(problems, obj);
  const labels = f.stringMap(obj.object.metadata.labels, "metadata.labels");
  const service = labels["kubernetes.io/service-name"];
  if (!service) f.fail("metadata.labels", `kubernetes.io/service-name: required (the Service this slice serves)`);
  const addressType = f.string(obj.object.addressType, "addressType", true);
  if (addressType !== undefined && addressType !== "IPv4") f.fail("addressType", `only IPv4 is supported, got "${addressType}"`);
  const ports: Array<{ name: string; port: number }> = [];
  for (const [p, field] of f.records(obj.object.ports, "ports")) {
    const port = f.port(p.port, `${field}.port`, true);
    if (port !== undefined) ports.push({ name: f.string(p.name, `${field}.name`) ?? "", port });
  }
  const endpoints: SliceEndpointModel[] = [];
  for (const [e, field] of f.records(obj.object.endpoints, "endpoints")) {
    const conditions = f.record(e.conditions, `${field}.conditions`) ?? {};
    // EndpointSlice API: a nil "ready" condition means ready.
    const ready = conditions.ready === undefined || conditions.ready === null ? true : conditions.ready === true;
    const targetRef = f.record(e.targetRef, `${field}.targetRef`);
    const hostname = (targetRef?.kind === "Pod" ? f.string(targetRef.name, `${field}.targetRef.name`) : undefined) ?? f.string(e.hostname, `${field}.hostname`);
    f.list(e.addresses, `${field}.addresses`, true).forEach((a, i) => {
      const address = f.string(a, `${field}.addresses[${i}]`, true);
      if (address === undefined) return;
      const problem = loopbackProblem(address);
      if (problem) f.fail(`${field}.addresses[${i}]`, problem);
      else endpoints.push({ address, ready, hostname });
    });
  }
  return { obj, namespace: obj.namespace, name: obj.name, service: service ?? "", ports, endpoints };
}

export function readDeployment(obj: AppliedObject, problems: Problems): DeploymentModel {
  const f = new Fields(problems, obj);
  const spec = f.record(obj.object.spec, "spec", true) ?? {};
  const replicas = f.int(spec.replicas, "spec.replicas", { min: 0 }) ?? 1;
  const template = f.record(spec.template, "spec.template", true) ?? {};
  const tmeta = f.record(template.metadata, "spec.template.metadata") ?? {};
  const podSpec = readPodSpec(f, template.spec, "spec.template.spec", tmeta);
  const selector = f.record(spec.selector, "spec.selector", true);
  if (selector) {
    const matchLabels = f.stringMap(selector.matchLabels, "spec.selector.matchLabels");
    if (selector.matchExpressions !== undefined) f.fail("spec.selector.matchExpressions", "not supported by aigw run");
    for (const [k, v] of Object.entries(matchLabels)) {
      if (podSpec.labels[k] !== v) f.fail("spec.selector.matchLabels", `${k}=${v} does not match spec.template.metadata.labels`);
    }
  }
  return { obj, f, namespace: obj.namespace, name: obj.name, replicas, template: podSpec };
}

export function readPod(obj: AppliedObject, problems: Problems): DeclaredPodModel {
  const f = new Fields(problems, obj);
  const spec = readPodSpec(f, obj.object.spec, "spec", obj.object.metadata);
  const status = f.record(obj.object.status, "status") ?? {};
  const ip = f.string(status.podIP, "status.podIP");
  if (ip !== undefined) {
    const problem = loopbackProblem(ip);
    if (problem) f.fail("status.podIP", problem);
  }
  let ready = false;
  const conditions = f.records(status.conditions, "status.conditions");
  const readyCondition = conditions.find(([c]) => c.type === "Ready");
  if (readyCondition) ready = readyCondition[0].status === "True";
  else if (ip !== undefined) f.warn("status.conditions", "no Ready condition: the pod is not ready and gets no traffic");
  return {
    obj,
    f,
    namespace: obj.namespace,
    name: obj.name,
    spec,
    ip: ip !== undefined && loopbackProblem(ip) === undefined ? ip : undefined,
    ready,
  };
}

export function readConfigMap(obj: AppliedObject, problems: Problems): DataModel {
  const f = new Fields(problems, obj);
  const data = f.stringMap(obj.object.data, "data");
  if (obj.object.binaryData !== undefined) f.warn("binaryData", "binary ConfigMap data is not mounted by aigw run");
  return { obj, data };
}

export function readSecret(obj: AppliedObject, problems: Problems): DataModel {
  const f = new Fields(problems, obj);
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries(f.stringMap(obj.object.data, "data"))) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v.replace(/\s+/g, ""))) f.fail(`data.${k}`, "must be base64");
    else data[k] = Buffer.from(v, "base64").toString("utf8");
  }
  Object.assign(data, f.stringMap(obj.object.stringData, "stringData"));
  return { obj, data };
}

function readPodSpec(f: Fields, value: unknown, field: string, meta: Json): PodSpecModel {
  const spec = f.record(value, field, true) ?? {};
  const labels = f.stringMap(meta.labels, field.startsWith("spec.template") ? "spec.template.metadata.labels" : "metadata.labels");
  const annotations = f.stringMap(meta.annotations, field.startsWith("spec.template") ? "spec.template.metadata.annotations" : "metadata.annotations");
  const containers = f.records(spec.containers, `${field}.containers`, true).map(([c, cf]) => readContainer(f, c, cf));
  if (spec.initContainers !== undefined) f.warn(`${field}.initContainers`, "init containers are not run by aigw run");
  const volumes: VolumeModel[] = [];
  for (const [v, vf] of f.records(spec.volumes, `${field}.volumes`)) {
    const name = f.string(v.name, `${vf}.name`, true) ?? "";
    const vol: VolumeModel = { name, field: vf };
    if (v.configMap !== undefined) {
      const cm = f.record(v.configMap, `${vf}.configMap`) ?? {};
      vol.configMap = {
        name: f.string(cm.name, `${vf}.configMap.name`, true) ?? "",
        items: readItems(f, cm.items, `${vf}.configMap.items`),
        optional: cm.optional === true,
      };
    } else if (v.secret !== undefined) {
      const s = f.record(v.secret, `${vf}.secret`) ?? {};
      vol.secret = {
        name: f.string(s.secretName, `${vf}.secret.secretName`, true) ?? "",
        items: readItems(f, s.items, `${vf}.secret.items`),
        optional: s.optional === true,
      };
    } else {
      vol.other = Object.keys(v).find((k) => k !== "name") ?? "unknown";
    }
    volumes.push(vol);
  }
  return {
    labels,
    annotations,
    serviceAccountName: f.string(spec.serviceAccountName, `${field}.serviceAccountName`) ?? "default",
    containers,
    volumes,
    field,
  };
}

function readItems(f: Fields, value: unknown, field: string): Array<{ key: string; path: string }> | undefined {
  if (value === undefined) return undefined;
  return f.records(value, field).map(([it, itf]) => ({
    key: f.string(it.key, `${itf}.key`, true) ?? "",
    path: f.string(it.path, `${itf}.path`, true) ?? "",
  }));
}

function readContainer(f: Fields, c: Json, field: string): ContainerModel {
  const strings = (v: unknown, sub: string): string[] =>
    f.list(v, `${field}.${sub}`).flatMap((s, i) => {
      const str = f.string(s, `${field}.${sub}[${i}]`);
      return str === undefined ? [] : [str];
    });
  const ports: ContainerPortModel[] = [];
  for (const [p, pf] of f.records(c.ports, `${field}.ports`)) {
    const containerPort = f.port(p.containerPort, `${pf}.containerPort`, true);
    if (containerPort === undefined) continue;
    const name = f.string(p.name, `${pf}.name`);
    const protocol = f.oneOf(p.protocol, `${pf}.protocol`, ["TCP", "UDP", "SCTP"], "TCP");
    ports.push(name === undefined ? { containerPort, protocol } : { name, containerPort, protocol });
  }
  const volumeMounts = f.records(c.volumeMounts, `${field}.volumeMounts`).map(([m, mf]) => ({
    name: f.string(m.name, `${mf}.name`, true) ?? "",
    mountPath: f.string(m.mountPath, `${mf}.mountPath`, true) ?? "",
    subPath: f.string(m.subPath, `${mf}.subPath`),
    field: mf,
  }));
  return {
    name: f.string(c.name, `${field}.name`, true) ?? "",
    image: f.string(c.image, `${field}.image`, true) ?? "",
    command: strings(c.command, "command"),
    args: strings(c.args, "args"),
    ports,
    env: f.records(c.env, `${field}.env`).map(([value, ef]) => ({ value, field: ef })),
    envFrom: f.records(c.envFrom, `${field}.envFrom`).map(([value, ef]) => ({ value, field: ef })),
    volumeMounts,
    field,
  };
}
