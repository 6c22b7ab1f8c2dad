// The pods `aigw run` knows: materialized replicas of Deployments (and bare Pods) it starts itself, and
// Pod objects declared with status.podIP for workloads running outside the process. Readiness is live:
// the runner marks a materialized pod ready once it started, and every cluster endpoint built for a pod
// follows its readiness (the endpoint objects in DataPlaneConfig are updated in place).

import type { ClusterEndpoint } from "../../dataplane-api/bootstrap.js";
import type { PodInfo } from "../../epp/discovery.js";
import type { ContainerModel } from "./model-core.js";

export interface PodRecord {
  namespace: string;
  name: string;
  ip: string;
  labels: Record<string, string>;
  ready: boolean;
  /** Containers of the pod spec: named container ports and the EPP's flags are read from them. */
  containers: ContainerModel[];
  /** Started by aigw run (true) or declared by a Pod object (false). */
  materialized: boolean;
}

export class PodRegistry {
  private readonly pods = new Map<string, PodRecord>();
  private readonly endpoints = new Map<string, ClusterEndpoint[]>();
  private readonly listeners = new Set<(namespace: string) => void>();

  add(pod: PodRecord): void {
    this.pods.set(key(pod.namespace, pod.name), pod);
  }

  get(namespace: string, name: string): PodRecord | undefined {
    return this.pods.get(key(namespace, name));
  }

  /** Every pod, sorted by namespace then name. */
  all(): PodRecord[] {
    return [...this.pods.values()].sort((a, b) => compare(key(a.namespace, a.name), key(b.namespace, b.name)));
  }

  /** Pods of `namespace` whose labels include every `selector` label, sorted by name. */
  select(namespace: string, selector: Record<string, string>): PodRecord[] {
    const wanted = Object.entries(selector);
    return this.all().filter((p) => p.namespace === namespace && wanted.every(([k, v]) => p.labels[k] === v));
  }

  /** A cluster endpoint for `pod` at `port` whose `ready` follows the pod's readiness. */
  endpoint(pod: PodRecord, port: number): ClusterEndpoint {
    const e: ClusterEndpoint = { address: pod.ip, port, hostname: pod.name, ready: pod.ready };
    const k = key(pod.namespace, pod.name);
    const list = this.endpoints.get(k);
    if (list) list.push(e);
    else this.endpoints.set(k, [e]);
    return e;
  }

  setReady(namespace: string, name: string, ready: boolean): void {
    const pod = this.get(namespace, name);
    if (!pod) throw new Error(`no pod ${namespace}/${name}`);
    if (pod.ready === ready) return;
    pod.ready = ready;
    for (const e of this.endpoints.get(key(namespace, name)) ?? []) e.ready = ready;
    for (const l of [...this.listeners]) l(namespace);
  }

  /** `listener` is called with the namespace of a pod whose readiness changed. */
  onChange(listener: (namespace: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

export function podInfo(p: PodRecord): PodInfo {
  return { name: p.name, namespace: p.namespace, ip: p.ip, labels: { ...p.labels }, ready: p.ready };
}

function key(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
