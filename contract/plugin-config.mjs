// The one declaration of the contract between host and filter: the plugin configuration (the JSON document
// delivered to proxy_on_configure as PluginConfig.configuration, a StringValue) and the header names both
// sides use. `node contract/generate.mjs` (make contract) writes from it
//   src-host/config/plugin-config.ts   the TypeScript types `aigw run` and `aigw translate` build, and
//   assembly/gateway/plugin-config.ts  the json-as classes the filter parses into, with the shape
//                                      (json/shape.ts) it checks the document against first;
// and the contract version, a digest of everything below but the docs: the host writes it into the
// configuration, the filter refuses another at configure and names both.
//
// Fields: type "string" (enum: the allowed values, a name of `enums` or a list), "integer" (min/max: the
// bounds the shape check enforces), "boolean", "strings", "object"/"objects" (of: a class below). Every
// field is required unless `optional` (absent means the empty default). Unknown keys are ignored.

/** Describes the generated modules (both carry it). */
export const about = `
The wasm filter's plugin configuration. \`aigw run\` and \`aigw translate\` build it from the Kubernetes
manifests; the filter parses it once at configure, refusing a document of another contract version.

What the filter does with it: for an AI path it takes \`model\` from the body, overwrites \`x-ai-eg-model\`,
evaluates \`rules\` in order on the request headers, picks one backend of the first matching rule by
weight, and sets the internal header \`x-ai-eg-backend: <backend name>\` (a client's own value is always
removed). The route table matches both headers, so Envoy (or the embedded data plane) sends the
request to that backend's cluster after \`clear_route_cache\`.

Routes of Gateway API HTTPRoutes (\`httpRoutes\`) are plain: the filter reads \`xds.route_name\`, and on such
a route does no AI processing; it drops a client's x-gateway-destination-endpoint and, when the route's
cluster is an InferencePool's, asks that pool's Endpoint Picker (headers only for a bodiless request).`;

export const constants = [
  { name: "MODEL_HEADER", value: "x-ai-eg-model" },
  { name: "BACKEND_HEADER", value: "x-ai-eg-backend" },
  { name: "DESTINATION_ENDPOINT_HEADER", value: "x-gateway-destination-endpoint" },
  {
    name: "MODEL_REWRITE_HEADER",
    value: "x-gateway-model-name-rewrite",
    doc: "Set by the gateway only (never from a client): the model an InferencePool's EPP makes the body name.",
  },
];

export const enums = {
  CostType: ["InputToken", "CachedInputToken", "CacheCreationInputToken", "OutputToken", "TotalToken", "ReasoningToken", "CEL"],
};

/** The document's top-level class. */
export const root = "PluginConfig";

export const classes = {
  PluginConfig: {
    fields: [
      { name: "version", type: "string", doc: "The contract version of the builder (PLUGIN_CONFIG_VERSION); the filter refuses any other." },
      { name: "rules", type: "objects", of: "RuleConfig" },
      {
        name: "models",
        type: "objects",
        of: "ModelInfo",
        doc: "GET /v1/models: every Exact x-ai-eg-model match value, in rule order, without duplicates (scoped by Host).",
      },
      { name: "pools", type: "objects", of: "PoolConfig" },
      { name: "maxRequestBodyBytes", type: "integer", doc: "Largest request body the filter buffers; above it the client gets 413." },
      {
        name: "costs",
        type: "objects",
        of: "CostConfig",
        doc: "llmRequestCosts of every AIGatewayRoute and the gateway-wide ones; a route's key beats a global one.",
      },
      {
        name: "rateLimits",
        type: "objects",
        of: "RateLimitConfig",
        doc: "Token budgets from Envoy Gateway BackendTrafficPolicy rateLimit rules targeting the routes or Gateway.",
      },
      {
        name: "httpRoutes",
        type: "objects",
        of: "HTTPRouteRuleConfig",
        optional: true,
        doc: "The rules of the attached HTTPRoutes; left out when there are none.",
      },
    ],
  },
  HTTPRouteRuleConfig: {
    doc: 'One HTTPRoute rule: its routes are named "<name>/match/<j>/<host>" (as Envoy Gateway names them).',
    fields: [
      { name: "name", type: "string", doc: '"httproute/<namespace>/<name>/rule/<index>"' },
      { name: "backends", type: "objects", of: "HTTPRouteBackendConfig", doc: "The clusters the rule's routes may pick." },
    ],
  },
  HTTPRouteBackendConfig: {
    fields: [
      { name: "cluster", type: "string" },
      { name: "pool", type: "string", doc: '"namespace/name" of the cluster\'s InferencePool (in `pools`), or "" (a Service).' },
    ],
  },
  CostConfig: {
    fields: [
      { name: "route", type: "string", doc: '"namespace/name" of the AIGatewayRoute; "" for a gateway-wide cost.' },
      { name: "metadataKey", type: "string" },
      { name: "type", type: "string", enum: "CostType" },
      { name: "cel", type: "string", doc: 'The expression, for type CEL; "" otherwise.' },
    ],
  },
  RateLimitCostConfig: {
    fields: [
      {
        name: "from",
        type: "string",
        enum: ["Number", "Metadata"],
        doc: '"Number": a fixed amount; "Metadata": the llmRequestCosts value named metadataKey (io.envoy.ai_gateway).',
      },
      { name: "number", type: "integer", min: 0 },
      { name: "metadataKey", type: "string" },
    ],
  },
  RateLimitConfig: {
    fields: [
      { name: "name", type: "string", doc: '"namespace/policy/rule/<i>": names the budget in keys, logs and metrics.' },
      { name: "type", type: "string", enum: ["Local", "Global"] },
      { name: "routes", type: "strings", doc: 'AIGatewayRoutes ("namespace/name") the rule applies to; empty = every route of the Gateway.' },
      {
        name: "shared",
        type: "boolean",
        doc:
          "true: one counter over all its routes. false (Envoy Gateway's default): one counter per xDS route, i.e.\n" +
          "per rule, match and hostname of each route (the filter names it, tokens/route-key.ts).",
      },
      {
        name: "headers",
        type: "objects",
        of: "HeaderSelectorConfig",
        doc:
          "clientSelectors headers, ANDed: Exact matches one value (one shared bucket for it); Distinct gives\n" +
          "every value its own bucket (the header must be present). No headers = one bucket for everyone.",
      },
      { name: "limit", type: "integer", min: 0, doc: "limit.requests per limit.unit, in the unit of the costs (tokens)." },
      { name: "unitSeconds", type: "integer", min: 0 },
      { name: "requestCost", type: "object", of: "RateLimitCostConfig", doc: "cost.request: charged when the request is admitted (Envoy Gateway default: 1)." },
      {
        name: "responseCost",
        type: "object",
        of: "RateLimitCostConfig",
        doc: "cost.response: charged when the response ends (for tokens: Metadata with a cost key).",
      },
      { name: "rlsCluster", type: "string", doc: "Global only: the rate limit service (envoy.service.ratelimit.v3) cluster, domain and failure behaviour." },
      { name: "domain", type: "string" },
      { name: "failureModeDeny", type: "boolean", doc: "true: deny (429) when the service fails; false: allow (Envoy's default failure_mode_deny: false)." },
      { name: "timeoutMs", type: "integer", min: 0, max: 2147483647 },
    ],
  },
  HeaderSelectorConfig: {
    fields: [
      { name: "name", type: "string" },
      { name: "type", type: "string", enum: ["Exact", "Distinct"] },
      { name: "value", type: "string" },
    ],
  },
  RuleConfig: {
    fields: [
      { name: "route", type: "string", doc: '"namespace/name" of the AIGatewayRoute.' },
      { name: "index", type: "integer", min: 0, max: 2147483647, doc: "Index of the rule inside that route." },
      {
        name: "matches",
        type: "objects",
        of: "MatchConfig",
        doc: "Any match (OR); inside one match every header must match (AND). No matches = matches everything.",
      },
      { name: "backends", type: "objects", of: "BackendConfig" },
      {
        name: "hostnames",
        type: "strings",
        optional: true,
        doc:
          "The host names the rule serves (the route's hostnames met with the listener's, \"*.\" = one or more\n" +
          "labels); absent = every host. Rules of the most specific host name that matches go first.",
      },
    ],
  },
  MatchConfig: {
    fields: [{ name: "headers", type: "objects", of: "HeaderMatch" }],
  },
  HeaderMatch: {
    fields: [
      { name: "name", type: "string" },
      { name: "type", type: "string", enum: ["Exact", "RegularExpression"] },
      { name: "value", type: "string", doc: "For RegularExpression: RE2 syntax, full match, as Envoy's safe_regex." },
    ],
  },
  BackendConfig: {
    fields: [
      { name: "name", type: "string", doc: '"namespace/name" of the AIServiceBackend or InferencePool; the value of x-ai-eg-backend.' },
      { name: "kind", type: "string", enum: ["AIServiceBackend", "InferencePool"] },
      { name: "weight", type: "integer", doc: "Relative weight; 0 disables the backend." },
      {
        name: "modelNameOverride",
        type: "string",
        doc:
          "Rewrites body `model` for this backend when non-empty; for a pool once its EPP has picked (Envoy AI Gateway\n" +
          "v1.1.0 applies it in its upstream filter, processor_impl.go SetBackend, although its API calls it ignored).",
      },
      {
        name: "credential",
        type: "string",
        enum: ["APIKey", "AnthropicAPIKey"],
        optional: true,
        doc:
          'A BackendSecurityPolicy\'s type: "APIKey" sets `Authorization: Bearer <key>`, "AnthropicAPIKey" sets\n' +
          "`x-api-key: <key>`; a client's own Authorization is removed. Absent: the request goes as the client sent it.",
      },
      {
        name: "credentialEnv",
        type: "string",
        optional: true,
        doc: "The VM environment variable (vm_config.environment_variables) that holds the key: the key is never here.",
      },
    ],
  },
  PoolConfig: {
    fields: [
      { name: "name", type: "string", doc: '"namespace/name" of the InferencePool (matches BackendConfig.name).' },
      { name: "eppCluster", type: "string", doc: "Cluster of the pool's Endpoint Picker (HTTP/2 gRPC)." },
      { name: "eppAuthority", type: "string", doc: ':authority for the ext_proc stream, e.g. "mistral-epp.default.svc:9002".' },
      { name: "failureMode", type: "string", enum: ["FailOpen", "FailClose"] },
      { name: "bodyMode", type: "string", enum: ["duplex", "buffered"], doc: "aigateway.envoyproxy.io/processing-body-mode" },
      { name: "allowModeOverride", type: "boolean", doc: "aigateway.envoyproxy.io/allow-mode-override" },
      { name: "timeoutMs", type: "integer", min: 1, max: 2147483647, doc: "How long the filter waits for the EPP's answer before the failure mode applies." },
    ],
  },
  ModelInfo: {
    fields: [
      { name: "id", type: "string" },
      { name: "ownedBy", type: "string" },
      { name: "created", type: "integer", doc: "Unix seconds (the route's creationTimestamp, or load time)." },
      {
        name: "hostnames",
        type: "strings",
        optional: true,
        doc: "The declaring routes' spec.hostnames, for GET /v1/models by Host; absent = a route without hostnames declares it.",
      },
    ],
  },
};
