// Picks the endpoint a callout goes to: the cluster's ready endpoints, round robin, as Envoy's
// ROUND_ROBIN load balancer does for a callout (no request header to follow for ORIGINAL_DST).
import type { ClusterConfig, ClusterEndpoint } from "../../dataplane-api/bootstrap.js";

export class EndpointPicker {
  private readonly next = new Map<string, number>();

  pick(cluster: ClusterConfig): ClusterEndpoint | undefined {
    const ready = cluster.endpoints.filter((e) => e.ready !== false);
    if (ready.length === 0) return undefined;
    const i = this.next.get(cluster.name) ?? 0;
    this.next.set(cluster.name, i + 1);
    return ready[i % ready.length];
  }
}

/** "host:port", bracketing IPv6 literals. */
export const hostPort = (e: { address: string; port: number }): string => (e.address.includes(":") ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`);
