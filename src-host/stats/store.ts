// A process-wide stats store in Envoy's model: counters, gauges and histograms keyed by their full
// dotted name (`cluster.epp.upstream_rq_total`, `wasmcustom.ai.tokens`). One object per name, so every
// worker VM that defines the same wasm metric shares one stat, as Envoy's stats scope does.
import { renderPrometheus, renderText } from "./prometheus.js";
import { Counter, DEFAULT_HISTOGRAM_BUCKETS, Gauge, Histogram } from "./stat.js";
import type { HistogramBuckets, StatsTag } from "../dataplane-api/bootstrap.js";

export interface StatsStoreOptions {
  /** stats_config.stats_tags, used by prometheus() / text(). */
  tags?: readonly StatsTag[];
  /** Envoy's use_all_default_tags (default true). */
  defaultTags?: boolean;
  /** Buckets for histograms created without their own. */
  histogramBuckets?: readonly number[];
  /** stats_config.histogram_bucket_settings: the first entry whose prefix starts a histogram's name wins. */
  bucketSettings?: readonly HistogramBuckets[];
}

export class StatsStore {
  private readonly counterMap = new Map<string, Counter>();
  private readonly gaugeMap = new Map<string, Gauge>();
  private readonly histogramMap = new Map<string, Histogram>();

  constructor(readonly options: StatsStoreOptions = {}) {}

  counter(name: string): Counter {
    let c = this.counterMap.get(name);
    if (!c) this.counterMap.set(name, (c = new Counter(name)));
    return c;
  }

  gauge(name: string): Gauge {
    let g = this.gaugeMap.get(name);
    if (!g) this.gaugeMap.set(name, (g = new Gauge(name)));
    return g;
  }

  histogram(name: string, buckets?: readonly number[]): Histogram {
    let h = this.histogramMap.get(name);
    if (!h) {
      const setting = this.options.bucketSettings?.find((s) => name.startsWith(s.prefix));
      h = new Histogram(name, buckets ?? setting?.buckets ?? this.options.histogramBuckets ?? DEFAULT_HISTOGRAM_BUCKETS);
      this.histogramMap.set(name, h);
    }
    return h;
  }

  counters(): IterableIterator<Counter> {
    return this.counterMap.values();
  }
  gauges(): IterableIterator<Gauge> {
    return this.gaugeMap.values();
  }
  histograms(): IterableIterator<Histogram> {
    return this.histogramMap.values();
  }

  /** Prometheus text with this store's tag configuration (admin /stats/prometheus). */
  prometheus(): string {
    return renderPrometheus(this, this.options.tags ?? [], { defaultTags: this.options.defaultTags });
  }

  /** Envoy's /stats text (`name: value`). */
  text(): string {
    return renderText(this);
  }
}
