// `/metrics` in Prometheus text format with the vLLM names the EPP scrapes (GIE v1.0 reads
// `num_requests_waiting`, `gpu_cache_usage_perc` and `lora_requests_info`; later versions read
// `kv_cache_usage_perc`, `num_requests_running` and `cache_config_info`), so both KV names are served.
import type { EngineStats } from "./engine.js";
import type { SimConfig } from "./flags.js";
import { escapeLabelValue } from "../../stats/prometheus.js";

export function renderMetrics(config: SimConfig, s: EngineStats): string {
  const model = { model_name: config.servedModelNames[0] };
  const fake = config.fakeMetrics;
  const out: string[] = [];
  const family = (name: string, type: "gauge" | "counter", help: string, samples: Array<[Record<string, string>, number]>) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) out.push(`${name}${formatLabels(labels)} ${formatValue(value)}`);
  };

  family("vllm:num_requests_running", "gauge", "Number of requests currently running on GPU.", [[model, fake?.runningRequests ?? s.running]]);
  family("vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed.", [[model, fake?.waitingRequests ?? s.waiting]]);
  const kv = fake?.kvCacheUsage ?? s.kvUsage;
  family("vllm:gpu_cache_usage_perc", "gauge", "GPU KV-cache usage. 1 means 100 percent usage.", [[model, kv]]);
  family("vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage.", [[model, kv]]);
  const maxLora = String(config.maxLoras);
  const loras: Array<[Record<string, string>, number]> = fake
    ? fake.loras.map((l) => [{ max_lora: maxLora, running_lora_adapters: l.running, waiting_lora_adapters: l.waiting }, l.timestamp])
    : [[{ max_lora: maxLora, running_lora_adapters: s.runningLoras.join(","), waiting_lora_adapters: s.waitingLoras.join(",") }, s.loraInfoTimestamp]];
  family("vllm:lora_requests_info", "gauge", "Running stats on lora requests.", loras);
  family("vllm:cache_config_info", "gauge", "Information of the LLMEngine CacheConfig.", [
    [
      {
        block_size: String(config.blockSize),
        enable_prefix_caching: config.enablePrefixCaching ? "True" : "False",
        num_gpu_blocks: String(config.kvCacheSize),
      },
      1,
    ],
  ]);
  family("vllm:prefix_cache_queries_total", "counter", "Prefix cache queries, in terms of number of queried tokens.", [[model, s.prefixCacheQueries]]);
  family("vllm:prefix_cache_hits_total", "counter", "Prefix cache hits, in terms of number of cached tokens.", [[model, s.prefixCacheHits]]);
  family("vllm:prompt_tokens_total", "counter", "Number of prefill tokens processed.", [[model, s.promptTokens]]);
  family("vllm:generation_tokens_total", "counter", "Number of generation tokens processed.", [[model, s.generationTokens]]);
  family(
    "vllm:request_success_total",
    "counter",
    "Count of successfully processed requests.",
    Object.entries(s.finished).map(([reason, n]) => [{ ...model, finished_reason: reason }, n]),
  );
  return out.join("\n") + "\n";
}

function formatLabels(labels: Record<string, string>): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

function formatValue(v: number): string {
  return Number.isInteger(v) ? v.toFixed(1) : String(v);
}
