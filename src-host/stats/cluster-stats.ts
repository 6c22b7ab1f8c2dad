// Envoy's per-cluster upstream stats (cluster.<name>.upstream_rq_*, upstream_cx_*): the router's requests and
// the wasm host's callouts (Envoy's async clients) count into the same set.
import type { Counter, Gauge, Histogram } from "./stat.js";
import type { StatsStore } from "./store.js";

export interface ClusterStats {
  rqTotal: Counter;
  rqCompleted: Counter;
  rqActive: Gauge;
  rqTimeout: Counter;
  /** upstream_rq_per_try_idle_timeout: attempts cut by the route's per-try idle timeout. */
  rqPerTryIdleTimeout: Counter;
  rqRxReset: Counter;
  rqTxReset: Counter;
  /** upstream_rq_retry: retries (connect-failure) started. */
  rqRetry: Counter;
  cxTotal: Counter;
  cxActive: Gauge;
  cxConnectFail: Counter;
  cxConnectTimeout: Counter;
  cxNoneHealthy: Counter;
  originalDstHostInvalid: Counter;
  cxRxBytes: Counter;
  cxTxBytes: Counter;
  /** upstream_rq_time: ms from the request's start upstream to the end of the response. */
  rqTime: Histogram;
  /** upstream_rq_<code> and upstream_rq_<class>xx. */
  responseCode(code: number): void;
}

export function clusterStats(stats: StatsStore, name: string): ClusterStats {
  const p = `cluster.${name}.`;
  const codes = new Map<number, Counter>();
  const classes = new Map<number, Counter>();
  return {
    rqTotal: stats.counter(`${p}upstream_rq_total`),
    rqCompleted: stats.counter(`${p}upstream_rq_completed`),
    rqActive: stats.gauge(`${p}upstream_rq_active`),
    rqTimeout: stats.counter(`${p}upstream_rq_timeout`),
    rqPerTryIdleTimeout: stats.counter(`${p}upstream_rq_per_try_idle_timeout`),
    rqRxReset: stats.counter(`${p}upstream_rq_rx_reset`),
    rqTxReset: stats.counter(`${p}upstream_rq_tx_reset`),
    rqRetry: stats.counter(`${p}upstream_rq_retry`),
    cxTotal: stats.counter(`${p}upstream_cx_total`),
    cxActive: stats.gauge(`${p}upstream_cx_active`),
    cxConnectFail: stats.counter(`${p}upstream_cx_connect_fail`),
    cxConnectTimeout: stats.counter(`${p}upstream_cx_connect_timeout`),
    cxNoneHealthy: stats.counter(`${p}upstream_cx_none_healthy`),
    originalDstHostInvalid: stats.counter(`${p}original_dst_host_invalid`),
    cxRxBytes: stats.counter(`${p}upstream_cx_rx_bytes_total`),
    cxTxBytes: stats.counter(`${p}upstream_cx_tx_bytes_total`),
    rqTime: stats.histogram(`${p}upstream_rq_time`),
    responseCode(code) {
      let c = codes.get(code);
      if (!c) codes.set(code, (c = stats.counter(`${p}upstream_rq_${code}`)));
      c.inc();
      const cls = Math.floor(code / 100);
      let k = classes.get(cls);
      if (!k) classes.set(cls, (k = stats.counter(`${p}upstream_rq_${cls}xx`)));
      k.inc();
    },
  };
}
