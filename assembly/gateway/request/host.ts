// The request's host as routes and /v1/models match it: :authority lower-cased, its port dropped (Envoy
// Gateway sets ignore_port_in_host_matching; Envoy AI Gateway v1.1.0's internal/extproc/models_processor.go
// requestHost splits the port off and lower-cases).

/** "API.Example.com:8080" → "api.example.com"; "[::1]:80" → "[::1]"; null → "". */
export function requestHost(authority: string | null): string {
  if (authority == null) return "";
  let host = authority;
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    if (end >= 0) host = host.substring(0, end + 1);
  } else {
    const colon = host.lastIndexOf(":");
    if (colon >= 0) host = host.substring(0, colon);
  }
  return host.toLowerCase();
}

/**
 * Whether the wildcard `pattern` ("*.example.com") covers `host`. Gateway API (Listener and HTTPRoute
 * hostnames, sigs.k8s.io/gateway-api apis/v1): the wildcard label stands for one or more labels, as Envoy's
 * "*.suffix" domains do. `oneLabel` follows models_processor.go instead, where it stands for exactly one.
 */
export function wildcardCovers(pattern: string, host: string, oneLabel: bool): bool {
  const suffix = pattern.substring(1); // ".example.com"
  if (host.length <= suffix.length || !host.endsWith(suffix)) return false;
  return !oneLabel || host.lastIndexOf(".", host.length - suffix.length - 1) < 0;
}
