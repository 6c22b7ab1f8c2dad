// Callouts go through their cluster as Envoy's async clients do, so the cluster's upstream request stats
// count them (upstream_rq_total, _active, _completed, _<code>, _time, _timeout, _tx_reset), as they count
// the data plane's own requests.
import { clusterStats, type ClusterStats } from "../../stats/cluster-stats.js";
import type { StatsStore } from "../../stats/store.js";

const GRPC_CANCELLED = 1;
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_UNAVAILABLE = 14;

const byStore = new WeakMap<StatsStore, Map<string, ClusterStats>>();

/** One callout on `cluster`, counted from now until done(). */
export class CalloutStats {
  private readonly s: ClusterStats;
  private readonly start = performance.now();
  private ended = false;

  constructor(stats: StatsStore, cluster: string) {
    let clusters = byStore.get(stats);
    if (!clusters) byStore.set(stats, (clusters = new Map()));
    let s = clusters.get(cluster);
    if (!s) clusters.set(cluster, (s = clusterStats(stats, cluster)));
    this.s = s;
    s.rqTotal.inc();
    s.rqActive.add(1);
  }

  /** The upstream answered with HTTP `status` (200 for any gRPC status a server sent). */
  answered(status: number): void {
    if (!this.end()) return;
    this.s.rqCompleted.inc();
    this.s.responseCode(status);
    this.s.rqTime.record(performance.now() - this.start);
  }

  /** No answer: the deadline passed (timeout) or the callout was reset or cancelled. */
  failed(timeout: boolean): void {
    if (!this.end()) return;
    (timeout ? this.s.rqTimeout : this.s.rqTxReset).inc();
  }

  /** A gRPC callout closed with `code`: a status the client made up (deadline, cancel, no connection) is no answer. */
  grpcClosed(code: number): void {
    if (code === GRPC_DEADLINE_EXCEEDED) this.failed(true);
    else if (code === GRPC_CANCELLED || code === GRPC_UNAVAILABLE) this.failed(false);
    else this.answered(200);
  }

  private end(): boolean {
    if (this.ended) return false;
    this.ended = true;
    this.s.rqActive.sub(1);
    return true;
  }
}
