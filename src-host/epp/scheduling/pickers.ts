// Pickers of GIE v1.0.x (pkg/epp/scheduling/framework/plugins/picker): choose up to maxNumOfEndpoints pods.
import { shuffle, type CycleState, type Plugin, type Pod, type Random, type ScoredPod } from "./types.js";

/** max-score-picker: shuffle (random tie-break), stable sort by score descending, keep the top N. */
export function maxScorePicker(name: string, maxNumOfEndpoints: number, random: Random): Plugin {
  return {
    type: "max-score-picker",
    name,
    pick(_s: CycleState, scored: ScoredPod[]): Pod[] {
      const list = [...scored];
      shuffle(list, random);
      list.sort((a, b) => b.score - a.score); // Array.prototype.sort is stable
      return list.slice(0, maxNumOfEndpoints).map((s) => s.pod);
    },
  };
}

/** random-picker: shuffle, keep the first N. */
export function randomPicker(name: string, maxNumOfEndpoints: number, random: Random): Plugin {
  return {
    type: "random-picker",
    name,
    pick(_s: CycleState, scored: ScoredPod[]): Pod[] {
      const list = [...scored];
      shuffle(list, random);
      return list.slice(0, maxNumOfEndpoints).map((s) => s.pod);
    },
  };
}

/**
 * weighted-random-picker: weighted sampling without replacement (A-Res, key = U^(1/score)); uniform when no pod has
 * a positive score.
 */
export function weightedRandomPicker(name: string, maxNumOfEndpoints: number, random: Random): Plugin {
  return {
    type: "weighted-random-picker",
    name,
    pick(_s: CycleState, scored: ScoredPod[]): Pod[] {
      const list = [...scored];
      if (!list.some((s) => s.score > 0)) {
        shuffle(list, random);
        return list.slice(0, maxNumOfEndpoints).map((s) => s.pod);
      }
      const keyed = list.map((s) => ({ pod: s.pod, key: s.score > 0 ? (1 - random()) ** (1 / s.score) : 0 }));
      keyed.sort((a, b) => b.key - a.key);
      return keyed.slice(0, maxNumOfEndpoints).map((k) => k.pod);
    },
  };
}
