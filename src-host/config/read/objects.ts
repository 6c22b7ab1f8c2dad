// Kubernetes object identity and the kinds `aigw run` understands.
// Identity is what `kubectl apply` uses: API group + kind + namespace + name (the version does not count,
// so apps/v1 and apps/v1beta2 Deployments with one name are one object).

export interface KubeMetadata {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
  [field: string]: unknown;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: KubeMetadata;
  [field: string]: unknown;
}

/** An object as applied: the last definition wins, at the position of the first (its creation). */
export interface AppliedObject {
  /** File of the definition in effect. */
  source: string;
  /** 1-based line of that definition in `source`. */
  line: number;
  group: string;
  version: string;
  kind: string;
  /** "" for cluster-scoped kinds; "default" when a namespaced object leaves it out. */
  namespace: string;
  name: string;
  object: KubeObject;
}

export const GATEWAY_API_GROUP = "gateway.networking.k8s.io";
export const INFERENCE_GROUP = "inference.networking.k8s.io";
export const INFERENCE_X_GROUP = "inference.networking.x-k8s.io";
export const AIGW_GROUP = "aigateway.envoyproxy.io";
export const ENVOY_GATEWAY_GROUP = "gateway.envoyproxy.io";

/** Kinds that configure what `aigw run` serves, with the API versions it reads. */
const SUPPORTED: Record<string, string[]> = {
  "/Service": ["v1"],
  "/Pod": ["v1"],
  "/ConfigMap": ["v1"],
  "/Secret": ["v1"],
  "apps/Deployment": ["v1"],
  "discovery.k8s.io/EndpointSlice": ["v1"],
  [`${GATEWAY_API_GROUP}/GatewayClass`]: ["v1", "v1beta1"],
  [`${GATEWAY_API_GROUP}/Gateway`]: ["v1", "v1beta1"],
  [`${GATEWAY_API_GROUP}/ReferenceGrant`]: ["v1beta1", "v1alpha2"],
  [`${GATEWAY_API_GROUP}/HTTPRoute`]: ["v1", "v1beta1"],
  [`${INFERENCE_GROUP}/InferencePool`]: ["v1"],
  [`${INFERENCE_X_GROUP}/InferenceObjective`]: ["v1alpha2"],
  [`${AIGW_GROUP}/AIGatewayRoute`]: ["v1alpha1", "v1beta1"],
  [`${AIGW_GROUP}/AIServiceBackend`]: ["v1alpha1", "v1beta1"],
  [`${ENVOY_GATEWAY_GROUP}/Backend`]: ["v1alpha1"],
  [`${ENVOY_GATEWAY_GROUP}/BackendTrafficPolicy`]: ["v1alpha1"],
  [`${AIGW_GROUP}/GatewayConfig`]: ["v1alpha1", "v1beta1"],
  [`${AIGW_GROUP}/BackendSecurityPolicy`]: ["v1alpha1", "v1beta1"],
};

/** Kinds with no meaning outside Kubernetes: accepted and ignored. */
const IGNORED = new Set([
  "/ServiceAccount",
  "/Namespace",
  "/ResourceQuota",
  "/LimitRange",
  "/PersistentVolumeClaim",
  "/PersistentVolume",
  "rbac.authorization.k8s.io/Role",
  "rbac.authorization.k8s.io/RoleBinding",
  "rbac.authorization.k8s.io/ClusterRole",
  "rbac.authorization.k8s.io/ClusterRoleBinding",
  "policy/PodDisruptionBudget",
  "autoscaling/HorizontalPodAutoscaler",
  "networking.k8s.io/NetworkPolicy",
  "scheduling.k8s.io/PriorityClass",
  "storage.k8s.io/StorageClass",
  "apiextensions.k8s.io/CustomResourceDefinition",
  "admissionregistration.k8s.io/ValidatingWebhookConfiguration",
  "admissionregistration.k8s.io/MutatingWebhookConfiguration",
  "monitoring.coreos.com/ServiceMonitor",
  "monitoring.coreos.com/PodMonitor",
  // Deployment parameters of the Envoy proxy (resources, replicas, bootstrap patches): nothing to run here.
  `${ENVOY_GATEWAY_GROUP}/EnvoyProxy`,
]);

const CLUSTER_SCOPED = new Set([
  "/Namespace",
  "/PersistentVolume",
  "rbac.authorization.k8s.io/ClusterRole",
  "rbac.authorization.k8s.io/ClusterRoleBinding",
  "scheduling.k8s.io/PriorityClass",
  "storage.k8s.io/StorageClass",
  "apiextensions.k8s.io/CustomResourceDefinition",
  "admissionregistration.k8s.io/ValidatingWebhookConfiguration",
  "admissionregistration.k8s.io/MutatingWebhookConfiguration",
  `${GATEWAY_API_GROUP}/GatewayClass`,
]);

export type KindSupport = { status: "supported" } | { status: "ignored" } | { status: "unsupported"; reason: string };

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? { group: "", version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

export function kindSupport(group: string, version: string, kind: string): KindSupport {
  const key = `${group}/${kind}`;
  const versions = SUPPORTED[key];
  if (versions) {
    if (versions.includes(version)) return { status: "supported" };
    const want = versions.map((v) => (group ? `${group}/${v}` : v)).join(" or ");
    return { status: "unsupported", reason: `apiVersion ${group ? `${group}/` : ""}${version} of ${kind} is not supported (use ${want})` };
  }
  if (IGNORED.has(key)) return { status: "ignored" };
  return {
    status: "unsupported",
    reason: `kind ${kind} (${group ? `${group}/` : ""}${version}) is not supported by aigw run`,
  };
}

export function isClusterScoped(group: string, kind: string): boolean {
  return CLUSTER_SCOPED.has(`${group}/${kind}`);
}

export function objectKey(group: string, kind: string, namespace: string, name: string): string {
  return `${group}/${kind}/${namespace}/${name}`;
}

/** "Kind namespace/name", or "Kind name" for cluster-scoped objects. */
export function describeObject(o: { kind: string; namespace: string; name: string }): string {
  return `${o.kind} ${o.namespace ? `${o.namespace}/` : ""}${o.name || "<unnamed>"}`;
}
