// The v1.0.x saturation detector (pkg/epp/saturationdetector): the pool is NOT saturated while at least one
// candidate pod has fresh metrics with a short waiting queue and KV-cache headroom. Thresholds come from the
// environment, like upstream's LoadConfigFromEnv; an unparsable value falls back to the default.
import { parseGoDuration } from "../go/duration.js";
import { hasFreshMetrics, type Pod } from "./scheduling/types.js";

export interface SaturationConfig {
  queueDepthThreshold: number;
  kvCacheUtilThreshold: number;
  metricsStalenessThresholdMs: number;
}

export const DEFAULT_SATURATION: SaturationConfig = { queueDepthThreshold: 5, kvCacheUtilThreshold: 0.8, metricsStalenessThresholdMs: 200 };

export function saturationConfigFromEnv(env: Record<string, string | undefined>): SaturationConfig {
  const int = (v: string | undefined, d: number) => (v !== undefined && /^[+-]?\d+$/.test(v.trim()) ? Number(v.trim()) : d);
  const float = (v: string | undefined, d: number) => (v !== undefined && v.trim() !== "" && Number.isFinite(Number(v)) ? Number(v) : d);
  const dur = (v: string | undefined, d: number) => (v !== undefined ? (parseGoDuration(v.trim()) ?? d) : d);
  return {
    queueDepthThreshold: int(env.SD_QUEUE_DEPTH_THRESHOLD, DEFAULT_SATURATION.queueDepthThreshold),
    kvCacheUtilThreshold: float(env.SD_KV_CACHE_UTIL_THRESHOLD, DEFAULT_SATURATION.kvCacheUtilThreshold),
    metricsStalenessThresholdMs: dur(env.SD_METRICS_STALENESS_THRESHOLD, DEFAULT_SATURATION.metricsStalenessThresholdMs),
  };
}

export function isSaturated(pods: readonly Pod[], cfg: SaturationConfig, now = Date.now()): boolean {
  for (const p of pods) {
    const m = p.metrics;
    if (!hasFreshMetrics(m, cfg.metricsStalenessThresholdMs, now)) continue;
    if (m.waitingQueueSize <= cfg.queueDepthThreshold && m.kvCacheUsagePercent <= cfg.kvCacheUtilThreshold) return false;
  }
  return true;
}
