// The wasm filter's plugin configuration: the JSON document delivered to proxy_on_configure
// (PluginConfig.configuration as a StringValue). `aigw run` and `aigw translate` build it from the
// Kubernetes manifests; assembly/gateway/config.ts parses the same shape with json-as.
//
// What the filter does with it: for an AI path it takes `model` from the body, overwrites `x-ai-eg-model`,
// evaluates `rules` in order on the request headers, picks one backend of the first matching rule by
// weight, and sets the internal header `x-ai-eg-backend: <backend name>` (a client's own value is always
// removed). The route table matches both headers, so Envoy (or the embedded data plane) sends the
// request to that backend's cluster after `clear_route_cache`.
//
// Routes of Gateway API HTTPRoutes (`httpRoutes`) are plain: the filter reads `xds.route_name`, and on such
// a route does no AI processing; it drops a client's x-gateway-destination-endpoint and, when the route's
// cluster is an InferencePool's, asks that pool's Endpoint Picker (headers only for a bodiless request).

export const MODEL_HEADER = "x-ai-eg-model";
export const BACKEND_HEADER = "x-ai-eg-backend";
export const DESTINATION_ENDPOINT_HEADER = "x-gateway-destination-endpoint";

export interface PluginConfig {
  rules: RuleConfig[];
  /** GET /v1/models: every Exact x-ai-eg-model match value, in rule order, without duplicates (scoped by Host). */
  models: ModelInfo[];
  pools: PoolConfig[];
  /** Largest request body the filter buffers; above it the client gets 413. */
  maxRequestBodyBytes: number;
  /** llmRequestCosts of every AIGatewayRoute and the gateway-wide ones; a route's key beats a global one. */
  costs: CostConfig[];
  /** Token budgets from Envoy Gateway BackendTrafficPolicy rateLimit rules targeting the routes or Gateway. */
  rateLimits: RateLimitConfig[];
  /** The rules of the attached HTTPRoutes; left out when there are none. */
  httpRoutes?: HTTPRouteRuleConfig[];
}

/** One HTTPRoute rule: its routes are named "<name>/match/<j>/<host>" (as Envoy Gateway names them). */
export interface HTTPRouteRuleConfig {
  /** "httproute/<namespace>/<name>/rule/<index>" */
  name: string;
  /** The clusters the rule's routes may pick, each with its InferencePool ("namespace/name", in `pools`) or "". */
  backends: Array<{ cluster: string; pool: string }>;
}

export type CostType =
  | "InputToken" | "CachedInputToken" | "CacheCreationInputToken" | "OutputToken" | "TotalToken" | "ReasoningToken" | "CEL";

export interface CostConfig {
  /** "namespace/name" of the AIGatewayRoute; "" for a gateway-wide cost. */
  route: string;
  metadataKey: string;
  type: CostType;
  /** The expression, for type CEL; "" otherwise. */
  cel: string;
}

export interface RateLimitCost {
  /** "Number": a fixed amount; "Metadata": the llmRequestCosts value named metadataKey (io.envoy.ai_gateway). */
  from: "Number" | "Metadata";
  number: number;
  metadataKey: string;
}

export interface RateLimitConfig {
  /** "namespace/policy/rule/<i>": names the budget in keys, logs and metrics. */
  name: string;
  type: "Local" | "Global";
  /** AIGatewayRoutes ("namespace/name") the rule applies to; empty = every route of the Gateway. */
  routes: string[];
  /**
   * clientSelectors headers, ANDed: Exact matches one value (one shared bucket for it); Distinct gives
   * every value its own bucket (the header must be present). No headers = one bucket for everyone.
   */
  headers: Array<{ name: string; type: "Exact" | "Distinct"; value: string }>;
  /** limit.requests per limit.unit, in the unit of the costs (tokens). */
  limit: number;
  unitSeconds: number;
  /** cost.request: charged when the request is admitted (Envoy Gateway default: 1). */
  requestCost: RateLimitCost;
  /** cost.response: charged when the response ends (for tokens: Metadata with a cost key). */
  responseCost: RateLimitCost;
  /** Global only: the rate limit service (envoy.service.ratelimit.v3) cluster, domain and failure behaviour. */
  rlsCluster: string;
  domain: string;
  /** true: deny (429) when the service fails; false: allow (Envoy's default failure_mode_deny: false). */
  failureModeDeny: boolean;
  timeoutMs: number;
}

export interface RuleConfig {
  /** "namespace/name" of the AIGatewayRoute. */
  route: string;
  /** Index of the rule inside that route. */
  index: number;
  /** Any match (OR); inside one match every header must match (AND). No matches = matches everything. */
  matches: Array<{ headers: HeaderMatch[] }>;
  backends: BackendConfig[];
  /**
   * The host names the rule serves (the route's hostnames met with the listener's, "*." = one or more
   * labels); absent = every host. Rules of the most specific host name that matches go first.
   */
  hostnames?: string[];
}

export interface HeaderMatch {
  name: string;
  type: "Exact" | "RegularExpression";
  /** For RegularExpression: RE2 syntax, full match, as Envoy's safe_regex. */
  value: string;
}

export interface BackendConfig {
  /** "namespace/name" of the AIServiceBackend or InferencePool; the value of x-ai-eg-backend. */
  name: string;
  kind: "AIServiceBackend" | "InferencePool";
  /** Relative weight; 0 disables the backend. */
  weight: number;
  /**
   * Rewrites body `model` for this backend when non-empty; for a pool once its EPP has picked (Envoy AI Gateway
   * v1.1.0 applies it in its upstream filter, processor_impl.go SetBackend, although its API calls it ignored).
   */
  modelNameOverride: string;
  /**
   * A BackendSecurityPolicy's type: "APIKey" sets `Authorization: Bearer <key>`, "AnthropicAPIKey" sets
   * `x-api-key: <key>`; a client's own Authorization is removed. Absent: the request goes as the client sent it.
   */
  credential?: "APIKey" | "AnthropicAPIKey";
  /** The VM environment variable (vm_config.environment_variables) that holds the key: the key is never here. */
  credentialEnv?: string;
}

export interface PoolConfig {
  /** "namespace/name" of the InferencePool (matches BackendConfig.name). */
  name: string;
  /** Cluster of the pool's Endpoint Picker (HTTP/2 gRPC). */
  eppCluster: string;
  /** :authority for the ext_proc stream, e.g. "mistral-epp.default.svc:9002". */
  eppAuthority: string;
  failureMode: "FailOpen" | "FailClose";
  /** aigateway.envoyproxy.io/processing-body-mode */
  bodyMode: "duplex" | "buffered";
  /** aigateway.envoyproxy.io/allow-mode-override */
  allowModeOverride: boolean;
  /** How long the filter waits for the EPP's answer before the failure mode applies. */
  timeoutMs: number;
}

export interface ModelInfo {
  id: string;
  ownedBy: string;
  /** Unix seconds (the route's creationTimestamp, or load time). */
  created: number;
  /** The declaring routes' spec.hostnames, for GET /v1/models by Host; absent = a route without hostnames declares it. */
  hostnames?: string[];
}
