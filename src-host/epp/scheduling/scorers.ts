// Scorers of GIE v1.0.x (pkg/epp/scheduling/framework/plugins/scorer). Each returns a score in 0..1 per pod.
import type { CycleState, LLMRequest, Plugin, Pod } from "./types.js";

/** queue-scorer: min-max normalised waiting queue, lower is better; all equal → 1.0. */
export function queueScorer(name: string): Plugin {
  return {
    type: "queue-scorer",
    name,
    score(_s: CycleState, _r: LLMRequest, pods: Pod[]): Map<Pod, number> {
      let min = Infinity;
      let max = -Infinity;
      for (const p of pods) {
        min = Math.min(min, p.metrics.waitingQueueSize);
        max = Math.max(max, p.metrics.waitingQueueSize);
      }
      return new Map(pods.map((p) => [p, max === min ? 1 : (max - p.metrics.waitingQueueSize) / (max - min)]));
    },
  };
}

/** kv-cache-utilization-scorer: 1 − KV-cache usage. */
export function kvCacheUtilizationScorer(name: string): Plugin {
  return {
    type: "kv-cache-utilization-scorer",
    name,
    score(_s: CycleState, _r: LLMRequest, pods: Pod[]): Map<Pod, number> {
      return new Map(pods.map((p) => [p, 1 - p.metrics.kvCacheUsagePercent]));
    },
  };
}

/**
 * lora-affinity-scorer: 1.0 when the requested adapter (the target model) is running on the pod, 0.8 when the pod
 * can load one more adapter, 0.6 when the adapter is waiting there, else 0.
 */
export function loraAffinityScorer(name: string): Plugin {
  return {
    type: "lora-affinity-scorer",
    name,
    score(_s: CycleState, req: LLMRequest, pods: Pod[]): Map<Pod, number> {
      return new Map(
        pods.map((p) => {
          const m = p.metrics;
          if (m.activeModels.has(req.targetModel)) return [p, 1.0];
          if (m.activeModels.size + m.waitingModels.size < m.maxActiveModels) return [p, 0.8];
          if (m.waitingModels.has(req.targetModel)) return [p, 0.6];
          return [p, 0];
        }),
      );
    },
  };
}
