// What a Service resolves to on this machine: the ready endpoints kube-proxy (or cluster DNS, for a
// headless Service) would send to. Service port → targetPort (a number, or a container port name looked up
// per pod); pods come from the selector (materialized and declared pods), and EndpointSlices labelled
// kubernetes.io/service-name add endpoints of Services without selector (or beside it).

import type { ClusterEndpoint } from "../../dataplane-api/bootstrap.js";
import type { ServiceModel } from "../model/model-core.js";
import type { Model } from "../model/model.js";
import type { PodRecord, PodRegistry } from "../model/pods.js";

export interface ResolvedService {
  endpoints: ClusterEndpoint[];
  /** Pods behind the endpoints (EndpointSlice addresses have none). */
  pods: PodRecord[];
  /** Things worth a warning (a pod without the named target port, no endpoints at all). */
  notes: string[];
}

/**
 * Endpoints of `svc` for a client connecting to Service port `port`; throws a message when the port is not
 * one of the Service's. `unreachable` says what requests get when there is no endpoint.
 */
export function resolveService(m: Model, registry: PodRegistry, svc: ServiceModel, port: number, unreachable = "requests to it get 503"): ResolvedService {
  const id = `Service ${svc.namespace}/${svc.name}`;
  if (svc.type === "ExternalName") throw new Error(`${id} is an ExternalName Service, which aigw run cannot resolve`);
  // A headless Service is resolved by DNS to pod addresses: the client's port is used as is.
  const servicePort = svc.headless ? undefined : svc.ports.find((p) => p.port === port);
  if (!svc.headless && !servicePort) {
    throw new Error(`${id} has no port ${port} (ports: ${svc.ports.map((p) => p.port).join(", ") || "none"})`);
  }
  const out: ResolvedService = { endpoints: [], pods: [], notes: [] };
  const seen = new Set<string>();
  const push = (e: ClusterEndpoint, pod?: PodRecord): void => {
    const k = `${e.address}:${e.port}`;
    if (seen.has(k)) return;
    seen.add(k);
    out.endpoints.push(e);
    if (pod) out.pods.push(pod);
  };
  if (svc.selector && Object.keys(svc.selector).length > 0) {
    for (const pod of registry.select(svc.namespace, svc.selector)) {
      const target = servicePort ? servicePort.targetPort : port;
      const n = typeof target === "number" ? target : namedPort(pod, target);
      if (n === undefined) out.notes.push(`pod ${pod.namespace}/${pod.name} has no container port named "${target}"`);
      else push(registry.endpoint(pod, n), pod);
    }
  }
  for (const slice of m.slices) {
    if (slice.namespace !== svc.namespace || slice.service !== svc.name) continue;
    const slicePort = servicePort
      ? slice.ports.find((p) => p.name === servicePort.name)?.port
      : (slice.ports.find((p) => p.port === port)?.port ?? (slice.ports.length === 0 ? port : undefined));
    if (slicePort === undefined) {
      out.notes.push(`EndpointSlice ${slice.namespace}/${slice.name} has no port ${servicePort ? `named "${servicePort.name}"` : port}`);
      continue;
    }
    for (const e of slice.endpoints) push({ address: e.address, port: slicePort, hostname: e.hostname ?? e.address, ready: e.ready });
  }
  if (out.endpoints.length === 0) out.notes.push(`${id} has no endpoints: ${unreachable}`);
  return out;
}

function namedPort(pod: PodRecord, name: string): number | undefined {
  for (const c of pod.containers) {
    const p = c.ports.find((cp) => cp.name === name);
    if (p) return p.containerPort;
  }
  return undefined;
}

/** The Service a cluster-local host name names: <svc>.<ns>.svc.cluster.local, <svc>.<ns>.svc or <svc>.<ns>. */
export function serviceForHostname(m: Model, hostname: string): ServiceModel | undefined {
  const match = /^([a-z0-9-]+)\.([a-z0-9-]+)(?:\.svc(?:\.cluster\.local)?)?$/.exec(hostname);
  return match ? m.services.get(`${match[2]}/${match[1]}`) : undefined;
}
