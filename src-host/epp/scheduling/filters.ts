// Filters of GIE v1.0.x.
import type { CycleState, LLMRequest, Plugin, Pod } from "./types.js";

export const TEST_ENDPOINT_SELECTION_HEADER = "test-epp-endpoint-selection";

/**
 * header-based-testing-filter (conformance only): keeps the pods whose IP is listed in header
 * `test-epp-endpoint-selection` (comma list, kept in header order). No header → no pods, so the request fails with
 * 429. Entries may also be written ip:port; the port is ignored, as later GIE releases do.
 */
export function headerBasedTestingFilter(name: string): Plugin {
  return {
    type: "header-based-testing-filter",
    name,
    filter(_s: CycleState, req: LLMRequest, pods: Pod[]): Pod[] {
      const value = req.headers.get(TEST_ENDPOINT_SELECTION_HEADER);
      if (!value) return [];
      const byIp = new Map(pods.map((p) => [p.ip, p]));
      const out: Pod[] = [];
      for (const entry of value.split(",")) {
        const pod = byIp.get(hostOf(entry.trim()));
        if (pod && !out.includes(pod)) out.push(pod);
      }
      return out;
    },
  };
}

/** The host part of "ip", "ip:port", "[v6]" or "[v6]:port". */
export function hostOf(endpoint: string): string {
  if (endpoint.startsWith("[")) {
    const end = endpoint.indexOf("]");
    return end > 0 ? endpoint.slice(1, end) : endpoint;
  }
  const colons = endpoint.split(":").length - 1;
  return colons === 1 ? endpoint.slice(0, endpoint.indexOf(":")) : endpoint;
}
