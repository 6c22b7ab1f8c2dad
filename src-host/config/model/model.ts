// All applied objects read into typed views, by kind. Ignored kinds (RBAC, ServiceAccount, ...) are left
// out; every supported kind is read, so its problems are reported whether or not a route uses it.

import type { DataModel, DeclaredPodModel, DeploymentModel, EndpointSliceModel, ServiceModel } from "./model-core.js";
import { readConfigMap, readDeployment, readEndpointSlice, readPod, readSecret, readService } from "./model-core.js";
import type { AIServiceBackendModel, BackendModel, GatewayModel, ObjectiveModel, PoolModel, ReferenceGrantModel, RouteModel } from "./model-gateway.js";
import {
  readAIGatewayRoute,
  readAIServiceBackend,
  readBackend,
  readGateway,
  readInferenceObjective,
  readInferencePool,
  readReferenceGrant,
} from "./model-gateway.js";
import { readHTTPRoute, type HTTPRouteModel } from "./model-httproute.js";
import type { GatewayConfigModel, TrafficPolicyModel } from "./model-policy.js";
import { readBackendTrafficPolicy, readGatewayConfig } from "./model-policy.js";
import { readBackendSecurityPolicy, type SecurityPolicyModel } from "./model-security.js";
import type { AppliedObject } from "../read/objects.js";
import { AIGW_GROUP, ENVOY_GATEWAY_GROUP, GATEWAY_API_GROUP, INFERENCE_GROUP, INFERENCE_X_GROUP } from "../read/objects.js";
import type { Problems } from "../read/problems.js";

export interface Model {
  /** Keyed "namespace/name" (GatewayClass: name). */
  services: Map<string, ServiceModel>;
  configMaps: Map<string, DataModel>;
  secrets: Map<string, DataModel>;
  deployments: DeploymentModel[];
  pods: DeclaredPodModel[];
  slices: EndpointSliceModel[];
  gatewayClasses: Map<string, AppliedObject>;
  gateways: GatewayModel[];
  grants: ReferenceGrantModel[];
  pools: Map<string, PoolModel>;
  objectives: ObjectiveModel[];
  /** AIGatewayRoutes. */
  routes: RouteModel[];
  /** Gateway API HTTPRoutes (plain routes: no AI processing). */
  httpRoutes: HTTPRouteModel[];
  aiBackends: Map<string, AIServiceBackendModel>;
  backends: Map<string, BackendModel>;
  /** Envoy AI Gateway GatewayConfig objects, keyed "namespace/name". */
  gatewayConfigs: Map<string, GatewayConfigModel>;
  /** Envoy Gateway BackendTrafficPolicies, in apply order. */
  trafficPolicies: TrafficPolicyModel[];
  /** Envoy AI Gateway BackendSecurityPolicies, in apply order. */
  securityPolicies: SecurityPolicyModel[];
}

export function readModel(objects: AppliedObject[], problems: Problems): Model {
  const m: Model = {
    services: new Map(),
    configMaps: new Map(),
    secrets: new Map(),
    deployments: [],
    pods: [],
    slices: [],
    gatewayClasses: new Map(),
    gateways: [],
    grants: [],
    pools: new Map(),
    objectives: [],
    routes: [],
    httpRoutes: [],
    aiBackends: new Map(),
    backends: new Map(),
    gatewayConfigs: new Map(),
    trafficPolicies: [],
    securityPolicies: [],
  };
  for (const o of objects) {
    const id = `${o.namespace}/${o.name}`;
    switch (`${o.group}/${o.kind}`) {
      case "/Service":
        m.services.set(id, readService(o, problems));
        break;
      case "/ConfigMap":
        m.configMaps.set(id, readConfigMap(o, problems));
        break;
      case "/Secret":
        m.secrets.set(id, readSecret(o, problems));
        break;
      case "/Pod":
        m.pods.push(readPod(o, problems));
        break;
      case "apps/Deployment":
        m.deployments.push(readDeployment(o, problems));
        break;
      case "discovery.k8s.io/EndpointSlice":
        m.slices.push(readEndpointSlice(o, problems));
        break;
      case `${GATEWAY_API_GROUP}/GatewayClass`:
        m.gatewayClasses.set(o.name, o);
        break;
      case `${GATEWAY_API_GROUP}/Gateway`:
        m.gateways.push(readGateway(o, problems));
        break;
      case `${GATEWAY_API_GROUP}/HTTPRoute`:
        m.httpRoutes.push(readHTTPRoute(o, problems));
        break;
      case `${GATEWAY_API_GROUP}/ReferenceGrant`:
        m.grants.push(readReferenceGrant(o, problems));
        break;
      case `${INFERENCE_GROUP}/InferencePool`:
        m.pools.set(id, readInferencePool(o, problems));
        break;
      case `${INFERENCE_X_GROUP}/InferenceObjective`:
        m.objectives.push(readInferenceObjective(o, problems));
        break;
      case `${AIGW_GROUP}/AIGatewayRoute`:
        m.routes.push(readAIGatewayRoute(o, problems));
        break;
      case `${AIGW_GROUP}/AIServiceBackend`:
        m.aiBackends.set(id, readAIServiceBackend(o, problems));
        break;
      case `${ENVOY_GATEWAY_GROUP}/Backend`:
        m.backends.set(id, readBackend(o, problems));
        break;
      case `${AIGW_GROUP}/GatewayConfig`:
        m.gatewayConfigs.set(id, readGatewayConfig(o, problems));
        break;
      case `${ENVOY_GATEWAY_GROUP}/BackendTrafficPolicy`:
        m.trafficPolicies.push(readBackendTrafficPolicy(o, problems));
        break;
      case `${AIGW_GROUP}/BackendSecurityPolicy`:
        m.securityPolicies.push(readBackendSecurityPolicy(o, problems));
        break;
      default:
        break; // an ignored kind
    }
  }
  return m;
}

/**
 * Whether a ReferenceGrant in the target's namespace lets objects of `fromKind` in `fromNamespace` refer to
 * the target (Gateway API cross-namespace references).
 */
export function referenceAllowed(
  m: Model,
  from: { group: string; kind: string; namespace: string },
  to: { group: string; kind: string; namespace: string; name: string },
): boolean {
  if (from.namespace === to.namespace) return true;
  return m.grants.some(
    (g) =>
      g.namespace === to.namespace &&
      g.from.some((f) => f.group === from.group && f.kind === from.kind && f.namespace === from.namespace) &&
      g.to.some((t) => t.group === to.group && t.kind === to.kind && (t.name === undefined || t.name === to.name)),
  );
}
