// The EPP's own Prometheus metrics, with the names, labels and buckets of GIE v1.0.x (pkg/epp/metrics), in a
// prom-client registry of their own (label values positional, in the order declared here). As with Go's client,
// a family without labels shows zeros from the start; prom-client writes `le` first in a bucket's labels.
import { Counter, Gauge, Histogram, Registry } from "prom-client";

const MODEL = ["model_name", "target_model_name"] as const;

function metric<M extends Counter | Gauge | Histogram>(registry: Registry, m: M): M {
  registry.registerMetric(m);
  return m;
}
const counter = (name: string, help: string, labelNames: readonly string[]) => new Counter({ name, help, labelNames, registers: [] });
const gauge = (name: string, help: string, labelNames: readonly string[]) => new Gauge({ name, help, labelNames, registers: [] });
const histogram = (name: string, help: string, labelNames: readonly string[], buckets: number[]) =>
  new Histogram({ name, help, labelNames, buckets, registers: [] });

export class EppMetrics {
  readonly registry = new Registry();

  readonly requestTotal = metric(
    this.registry,
    counter("inference_model_request_total", "Counter of inference model requests broken out for each model and target model.", MODEL),
  );
  readonly requestErrorTotal = metric(
    this.registry,
    counter("inference_model_request_error_total", "Counter of inference model requests errors broken out for each model and target model.", [
      ...MODEL,
      "error_code",
    ]),
  );
  readonly requestDuration = metric(
    this.registry,
    histogram(
      "inference_model_request_duration_seconds",
      "Inference model response latency distribution in seconds for each model and target model.",
      MODEL,
      [
        0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900, 1200,
        1800, 2700, 3600,
      ],
    ),
  );
  readonly requestSizes = metric(
    this.registry,
    histogram(
      "inference_model_request_sizes",
      "Inference model requests size distribution in bytes for each model and target model.",
      MODEL,
      [
        64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144, 524288, 1048576, 2097152, 4194304, 8388608, 16777216, 33554432,
        67108864, 134217728, 268435456, 536870912, 1073741824,
      ],
    ),
  );
  readonly responseSizes = metric(
    this.registry,
    histogram(
      "inference_model_response_sizes",
      "Inference model responses size distribution in bytes for each model and target model.",
      MODEL,
      [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32778, 65536],
    ),
  );
  readonly inputTokens = metric(
    this.registry,
    histogram(
      "inference_model_input_tokens",
      "Inference model input token count distribution for requests in each model.",
      MODEL,
      [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32778, 65536, 131072, 262144, 524288, 1048576],
    ),
  );
  readonly outputTokens = metric(
    this.registry,
    histogram(
      "inference_model_output_tokens",
      "Inference model output token count distribution for requests in each model.",
      MODEL,
      [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192],
    ),
  );
  readonly normalizedTimePerOutputToken = metric(
    this.registry,
    histogram(
      "inference_model_normalized_time_per_output_token_seconds",
      "Inference model latency divided by number of output tokens in seconds for each model and target model.",
      MODEL,
      [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0],
    ),
  );
  readonly runningRequests = metric(
    this.registry,
    gauge("inference_model_running_requests", "Inference model number of running requests in each model.", ["model_name"]),
  );
  readonly poolAverageKvCache = metric(
    this.registry,
    gauge("inference_pool_average_kv_cache_utilization", "The average kv cache utilization for an inference server pool.", ["name"]),
  );
  readonly poolAverageQueueSize = metric(
    this.registry,
    gauge("inference_pool_average_queue_size", "The average number of requests pending in the model server queue.", ["name"]),
  );
  readonly poolReadyPods = metric(this.registry, gauge("inference_pool_ready_pods", "The number of ready pods in the inference server pool.", ["name"]));
  readonly poolPerPodQueueSize = metric(
    this.registry,
    gauge("inference_pool_per_pod_queue_size", "The total number of requests pending in the model server queue for each underlying pod.", [
      "name",
      "model_server_pod",
    ]),
  );
  readonly schedulerE2eDuration = metric(
    this.registry,
    histogram(
      "inference_extension_scheduler_e2e_duration_seconds",
      "End-to-end scheduling latency distribution in seconds.",
      [],
      [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1],
    ),
  );
  readonly pluginDuration = metric(
    this.registry,
    histogram(
      "inference_extension_plugin_duration_seconds",
      "Plugin processing latency distribution in seconds for each extension point, plugin type and plugin name.",
      ["extension_point", "plugin_type", "plugin_name"],
      [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1],
    ),
  );
  readonly prefixIndexerSize = metric(this.registry, gauge("inference_extension_prefix_indexer_size", "Size of the prefix indexer.", []));
  readonly prefixIndexerHitRatio = metric(
    this.registry,
    histogram(
      "inference_extension_prefix_indexer_hit_ratio",
      "Ratio of prefix length matched to total prefix length in the cache lookup.",
      [],
      [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0],
    ),
  );
  readonly prefixIndexerHitBytes = metric(
    this.registry,
    histogram(
      "inference_extension_prefix_indexer_hit_bytes",
      "Length of the prefix match in number of bytes in the cache lookup.",
      [],
      [0, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536],
    ),
  );
  readonly info = metric(
    this.registry,
    gauge("inference_extension_info", "General information of the current build of Inference Extension.", ["commit", "build_ref"]),
  );

  constructor() {
    this.info.labels("unknown", "aigw-epp").set(1);
  }

  recordPrefixMatch(matchedBytes: number, totalBytes: number): void {
    if (totalBytes <= 0) return;
    this.prefixIndexerHitRatio.observe(matchedBytes / totalBytes);
    this.prefixIndexerHitBytes.observe(matchedBytes);
  }
}
