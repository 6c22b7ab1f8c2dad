// What an Endpoint Picker needs to know about its pool, independent of where it comes from: Kubernetes
// manifests loaded by `aigw run` (materialized pods, Pod objects, EndpointSlices) or a file for `aigw epp`.

export interface PoolSpec {
  name: string;
  namespace: string;
  selector: Record<string, string>;
  targetPorts: number[];
}

export interface PodInfo {
  name: string;
  namespace: string;
  /** Loopback address the pod serves on (127.0.0.0/8). */
  ip: string;
  labels: Record<string, string>;
  ready: boolean;
}

export interface ObjectiveInfo {
  name: string;
  priority: number;
  /** InferencePool name the objective is bound to. */
  poolName: string;
}

export interface Discovery {
  pool(): PoolSpec | undefined;
  /** Pods of the namespace; the EPP applies the pool selector and readiness itself. */
  pods(): PodInfo[];
  objectives(): ObjectiveInfo[];
  /** Called when any of the above changes. Returns an unsubscribe function. */
  onChange(listener: () => void): () => void;
}
