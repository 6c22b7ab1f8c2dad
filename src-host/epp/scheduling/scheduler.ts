// One scheduling cycle (GIE v1.0.x scheduler + SchedulerProfile.Run with the single-profile-handler):
// filters in order (stop when none left) → weighted scorers (Σ weight × clamp(score, 0, 1)) → picker.
// Afterwards the PreRequest plugins see the chosen pods (the prefix scorer records its cache there).
import type { EppMetrics } from "../epp-metrics.js";
import type { SchedulerConfig } from "./config.js";
import type { CycleState, LLMRequest, Pod, ScoredPod } from "./types.js";

export type ScheduleResult = { ok: true; targets: Pod[]; state: CycleState } | { ok: false; error: string };

export class Scheduler {
  constructor(
    private readonly cfg: SchedulerConfig,
    private readonly metrics: EppMetrics,
  ) {}

  schedule(req: LLMRequest, candidates: Pod[]): ScheduleResult {
    const start = performance.now();
    const state: CycleState = new Map();
    const targets = this.runProfile(state, req, candidates);
    this.metrics.schedulerE2eDuration.observe((performance.now() - start) / 1000);
    // The single-profile-handler turns a failed profile run into this error (profile/single_profile_handler.go).
    if (!targets) return { ok: false, error: `failed to run scheduler profile '${this.cfg.profile.name}'` };
    return { ok: true, targets, state };
  }

  /** Runs the PreRequest plugins once the request is bound to `targets`. */
  preRequest(state: CycleState, req: LLMRequest, targets: Pod[]): void {
    for (const p of this.cfg.preRequest) this.timed("PreRequest", p.type, p.name, () => p.preRequest!(state, req, targets));
  }

  private runProfile(state: CycleState, req: LLMRequest, candidates: Pod[]): Pod[] | undefined {
    const { filters, scorers, picker } = this.cfg.profile;
    let pods = candidates;
    for (const f of filters) {
      pods = this.timed("Filter", f.type, f.name, () => f.filter!(state, req, pods));
      if (pods.length === 0) break;
    }
    if (pods.length === 0) return undefined; // "no pods available for the given request"
    const total = new Map<Pod, number>(pods.map((p) => [p, 0]));
    for (const { plugin, weight } of scorers) {
      const scores = this.timed("Scorer", plugin.type, plugin.name, () => plugin.score!(state, req, pods));
      for (const [pod, score] of scores) {
        if (total.has(pod)) total.set(pod, total.get(pod)! + clamp01(score) * weight);
      }
    }
    const scored: ScoredPod[] = pods.map((pod) => ({ pod, score: total.get(pod)! }));
    const picked = this.timed("Picker", picker.type, picker.name, () => picker.pick!(state, scored));
    return picked.length > 0 ? picked : undefined;
  }

  private timed<T>(point: string, type: string, name: string, fn: () => T): T {
    const start = performance.now();
    try {
      return fn();
    } finally {
      this.metrics.pluginDuration.labels(point, type, name).observe((performance.now() - start) / 1000);
    }
  }
}

function clamp01(v: number): number {
  if (!(v > 0)) return 0; // also NaN
  return Math.min(v, 1);
}
