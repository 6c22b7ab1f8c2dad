// Reading a model server's /metrics into PodMetrics, as GIE v1.0.x backend/metrics does: metric specs
// `name` or `name{label=value,...}`; for each, the sample with the latest timestamp (the last one when none carry
// timestamps); vllm:lora_requests_info read from labels running_lora_adapters / waiting_lora_adapters / max_lora
// of the sample with the largest value (a creation time), skipping samples whose adapter labels are both empty.
// A missing metric leaves that field as it was (a partial update), which upstream also does.
import { parsePrometheusText, type Sample, type SampleMap } from "./prom-text.js";
import type { PodMetrics } from "./scheduling/types.js";

export interface MetricSpec {
  name: string;
  labels: Record<string, string>;
}

export interface MetricMapping {
  queued: MetricSpec;
  running: MetricSpec;
  kvUsage: MetricSpec;
  /** Tried when `kvUsage` is absent: vLLM v1 renamed gpu_cache_usage_perc to kv_cache_usage_perc. */
  kvUsageFallback?: MetricSpec;
  lora?: MetricSpec;
}

const VLLM_KV_NAMES = ["vllm:gpu_cache_usage_perc", "vllm:kv_cache_usage_perc"];

export function parseMetricSpec(spec: string): MetricSpec {
  const s = spec.trim();
  const brace = s.indexOf("{");
  const name = brace < 0 ? s : s.slice(0, brace);
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`invalid metric spec ${JSON.stringify(spec)}: bad metric name`);
  const labels: Record<string, string> = {};
  if (brace >= 0) {
    if (!s.endsWith("}")) throw new Error(`invalid metric spec ${JSON.stringify(spec)}: missing '}'`);
    const inner = s.slice(brace + 1, -1).trim();
    for (const part of inner === "" ? [] : inner.split(",")) {
      const eq = part.indexOf("=");
      const key = part.slice(0, eq).trim();
      const value = part
        .slice(eq + 1)
        .trim()
        .replace(/^"(.*)"$/, "$1");
      if (eq < 0 || !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(key)) throw new Error(`invalid metric spec ${JSON.stringify(spec)}: bad label ${JSON.stringify(part)}`);
      labels[key] = value;
    }
  }
  return { name, labels };
}

export function metricMapping(queued: string, running: string, kvUsage: string, lora: string): MetricMapping {
  const kv = parseMetricSpec(kvUsage);
  const other = VLLM_KV_NAMES.find((n) => n !== kv.name);
  return {
    queued: parseMetricSpec(queued),
    running: parseMetricSpec(running),
    kvUsage: kv,
    kvUsageFallback: VLLM_KV_NAMES.includes(kv.name) && other ? { name: other, labels: kv.labels } : undefined,
    lora: lora.trim() === "" ? undefined : parseMetricSpec(lora),
  };
}

/** The new metrics after one successful scrape, and what was missing. */
export function extractMetrics(text: string, prev: PodMetrics, mapping: MetricMapping, now: number): { metrics: PodMetrics; errors: string[] } {
  const samples = parsePrometheusText(text);
  const errors: string[] = [];
  const next: PodMetrics = { ...prev, updateTime: now };

  const queued = latest(samples, mapping.queued);
  if (queued) next.waitingQueueSize = Math.trunc(queued.value);
  else errors.push(missing(mapping.queued));

  const running = latest(samples, mapping.running);
  if (running) next.runningQueueSize = Math.trunc(running.value);
  else errors.push(missing(mapping.running));

  const kv = latest(samples, mapping.kvUsage) ?? (mapping.kvUsageFallback && latest(samples, mapping.kvUsageFallback));
  if (kv) next.kvCacheUsagePercent = kv.value;
  else errors.push(missing(mapping.kvUsage));

  if (mapping.lora) {
    const family = samples.get(mapping.lora.name);
    if (!family) errors.push(missing(mapping.lora));
    else {
      const lora = latestLora(family);
      if (lora) {
        next.activeModels = adapterSet(lora.labels["running_lora_adapters"]);
        next.waitingModels = adapterSet(lora.labels["waiting_lora_adapters"]);
        const max = lora.labels["max_lora"];
        if (max !== undefined && max !== "") {
          if (/^[+-]?\d+$/.test(max)) next.maxActiveModels = Number(max);
          else errors.push(`invalid max_lora label ${JSON.stringify(max)}`);
        }
      }
    }
  }
  return { metrics: next, errors };
}

function missing(spec: MetricSpec): string {
  return `metric family ${JSON.stringify(spec.name)} not found`;
}

function matches(s: Sample, labels: Record<string, string>): boolean {
  return Object.entries(labels).every(([k, v]) => s.labels[k] === v);
}

function latest(samples: SampleMap, spec: MetricSpec): Sample | undefined {
  let best: Sample | undefined;
  for (const s of samples.get(spec.name) ?? []) {
    if (!matches(s, spec.labels)) continue;
    if (!best || (s.timestampMs ?? 0) >= (best.timestampMs ?? 0)) best = s;
  }
  return best;
}

function latestLora(family: Sample[]): Sample | undefined {
  let best: Sample | undefined;
  for (const s of family) {
    if (!s.labels["running_lora_adapters"] && !s.labels["waiting_lora_adapters"]) continue;
    if (!best || s.value > best.value) best = s;
  }
  return best;
}

function adapterSet(v: string | undefined): Set<string> {
  return new Set(v ? v.split(",") : []);
}
