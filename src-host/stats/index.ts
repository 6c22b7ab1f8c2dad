// Stats as Envoy keeps and exposes them: a store of counters, gauges and histograms by full name, and the
// admin's Prometheus / text renderings with stats_tags extraction.
export { StatsStore } from "./store.js";
export { Counter, Gauge, Histogram, DEFAULT_HISTOGRAM_BUCKETS } from "./stat.js";
export type { StatsStoreOptions } from "./store.js";
export { renderPrometheus, renderText, prometheusName, CUSTOM_STAT_NAMESPACES } from "./prometheus.js";
export type { PrometheusOptions } from "./prometheus.js";
export { TagExtractor, DEFAULT_STATS_TAGS } from "./tags.js";
export { clusterStats } from "./cluster-stats.js";
export type { ClusterStats } from "./cluster-stats.js";
export type { ExtractedName } from "./tags.js";
