// Discovery (src-host/epp/discovery.ts) served from the loaded manifests: what a controller-runtime EPP
// would watch — its InferencePool, the Pods of the pool's namespace (materialized and declared, with live
// readiness) and the InferenceObjectives bound to the pool.

import type { Discovery, ObjectiveInfo, PodInfo, PoolSpec } from "../../epp/discovery.js";
import type { Model } from "../model/model.js";
import type { PoolModel } from "../model/model-gateway.js";
import { INFERENCE_GROUP } from "../read/objects.js";
import { compare, podInfo, type PodRegistry } from "../model/pods.js";

export class ManifestDiscovery implements Discovery {
  private readonly spec: PoolSpec;
  private readonly bound: ObjectiveInfo[];

  constructor(
    model: Model,
    pool: PoolModel,
    private readonly registry: PodRegistry,
  ) {
    this.spec = {
      name: pool.name,
      namespace: pool.namespace,
      selector: { ...pool.selector },
      targetPorts: [...pool.targetPorts],
    };
    // The EPP keeps objectives whose poolRef names its pool (same namespace, same group), keyed by name.
    this.bound = model.objectives
      .filter((o) => o.namespace === pool.namespace && o.poolName === pool.name && o.poolGroup === INFERENCE_GROUP && o.poolKind === "InferencePool")
      .sort((a, b) => compare(a.name, b.name))
      .map((o) => ({ name: o.name, priority: o.priority, poolName: o.poolName }));
  }

  pool(): PoolSpec {
    return { ...this.spec, selector: { ...this.spec.selector }, targetPorts: [...this.spec.targetPorts] };
  }

  pods(): PodInfo[] {
    return this.registry
      .all()
      .filter((p) => p.namespace === this.spec.namespace)
      .map(podInfo);
  }

  objectives(): ObjectiveInfo[] {
    return this.bound.map((o) => ({ ...o }));
  }

  onChange(listener: () => void): () => void {
    return this.registry.onChange((namespace) => {
      if (namespace === this.spec.namespace) listener();
    });
  }
}
