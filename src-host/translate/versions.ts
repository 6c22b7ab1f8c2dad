// What `aigw translate` targets, in one place (envoy/README.md explains the choices).
//
// Envoy 1.36: the bootstrap needs two features that arrived in Envoy 1.35.0 (July 2025):
//   - wasm PluginConfig.allow_on_headers_stop_iteration (envoyproxy/envoy PR #40213), without which a wasm
//     filter cannot read the body and then change the request headers it routes on (Envoy source/extensions/common/wasm/context.cc drops the header map after Continue);
//   - the envoy.load_balancing_policies.override_host LB policy (envoyproxy/envoy PR #38757), which routes
//     on x-gateway-destination-endpoint and falls back to round robin over the pool when it is absent.
// 1.36 is the newest minor the docs this was written against describe with both; any ≥ 1.35 works.
export const ENVOY_IMAGE = "docker.io/envoyproxy/envoy:v1.36-latest";

// Envoy Gateway ≥ v1.5 has BackendTrafficPolicy loadBalancer.endpointOverride (envoyproxy/gateway PR #6458)
// and EnvoyPatchPolicy jsonPath; v1.6 runs Envoy 1.36, whose API (go-control-plane) knows field 9 of the
// wasm PluginConfig that the patch sets.
export const ENVOY_GATEWAY_VERSION = "v1.6";

/** envoyproxy/ratelimit publishes commit tags and `master`; pin a commit tag for production. */
export const RATELIMIT_IMAGE = "docker.io/envoyproxy/ratelimit:master";
export const REDIS_IMAGE = "docker.io/library/redis:7-alpine";
/** The image envoy/Dockerfile builds: the project's own processes (aigw epp, aigw sim). */
export const AIGW_IMAGE = "ai-gateway-wasm/aigw:local";

/** Where the module sits inside the Envoy container (the default VmConfig code path's folder). */
export const CONTAINER_MODULE_DIR = "/etc/envoy";
/** Envoy's conventional admin port. */
export const ENVOY_ADMIN_PORT = 9901;
