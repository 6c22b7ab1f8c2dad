// The scheduling framework's shapes, after GIE v1.0.x pkg/epp/scheduling/types and framework.

/** What the EPP knows about a model server from its last successful scrape. */
export interface PodMetrics {
  waitingQueueSize: number;
  runningQueueSize: number;
  /** Fraction 0..1. */
  kvCacheUsagePercent: number;
  /** LoRA adapters running / waiting on the server (from vllm:lora_requests_info). */
  activeModels: ReadonlySet<string>;
  waitingModels: ReadonlySet<string>;
  maxActiveModels: number;
  /** Date.now() of the last update; 0 when never scraped or when the last scrape failed. */
  updateTime: number;
}

export interface Pod {
  name: string;
  namespace: string;
  ip: string;
  /** The pool's targetPorts[0]. */
  port: number;
  labels: Readonly<Record<string, string>>;
  metrics: PodMetrics;
}

export interface LLMRequest {
  requestId: string;
  targetModel: string;
  /** The prompt string used for prefix hashing (completions `prompt`, or chat messages in ChatML form). */
  prompt: string;
  /** Request headers as the EPP keeps them (the three x-gateway-* headers removed). */
  headers: ReadonlyMap<string, string>;
}

export interface ScoredPod {
  pod: Pod;
  score: number;
}

/** Per-request scratch space shared by the plugins of one scheduling cycle and the PreRequest step. */
export type CycleState = Map<string, unknown>;

export interface Plugin {
  readonly type: string;
  readonly name: string;
  filter?(state: CycleState, req: LLMRequest, pods: Pod[]): Pod[];
  score?(state: CycleState, req: LLMRequest, pods: Pod[]): Map<Pod, number>;
  pick?(state: CycleState, scored: ScoredPod[]): Pod[];
  /** Runs after a successful scheduling cycle with the primary profile's chosen pods. */
  preRequest?(state: CycleState, req: LLMRequest, targets: Pod[]): void;
  /** Marks a profile handler (single-profile-handler). */
  readonly profileHandler?: true;
}

/**
 * Upstream's staleness rule (GIE v1.0.1 pkg/epp/backend/metrics/types.go PodsWithFreshMetrics): metrics are
 * fresh when updated no longer than the threshold ago. A pod never scraped, or whose last scrape failed
 * (updateTime 0), is stale.
 */
export const hasFreshMetrics = (m: PodMetrics, stalenessMs: number, now: number): boolean => m.updateTime > 0 && now - m.updateTime <= stalenessMs;

export const emptyMetrics = (): PodMetrics => ({
  waitingQueueSize: 0,
  runningQueueSize: 0,
  kvCacheUsagePercent: 0,
  activeModels: new Set(),
  waitingModels: new Set(),
  maxActiveModels: 0,
  updateTime: 0,
});

/** A source of randomness in [0, 1); tests may pass a seeded one. */
export type Random = () => number;

/** Fisher–Yates, in place (Go's rand.Shuffle). */
export function shuffle<T>(items: T[], random: Random): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j], items[i]];
  }
}
