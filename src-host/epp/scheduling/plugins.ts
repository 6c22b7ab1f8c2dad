// The plugin types this EPP registers (the in-tree set of GIE v1.0.2 cmd/epp/runner) and their parameters.
import type { EppMetrics } from "../epp-metrics.js";
import { headerBasedTestingFilter } from "./filters.js";
import { maxScorePicker, randomPicker, weightedRandomPicker } from "./pickers.js";
import { DEFAULT_PREFIX_CONFIG, prefixCacheScorer } from "./prefix.js";
import { kvCacheUtilizationScorer, loraAffinityScorer, queueScorer } from "./scorers.js";
import type { Plugin, Random } from "./types.js";
import type { Xxh64 } from "./xxhash.js";

export interface PluginDeps {
  random: Random;
  xxh64: Xxh64;
  metrics: EppMetrics;
}

type Factory = (name: string, params: Record<string, unknown>, deps: PluginDeps) => Plugin;

const DEFAULT_MAX_NUM_OF_ENDPOINTS = 1;

// Pickers fall back to the default on a non-positive count, as upstream's constructors do.
const endpoints = (p: Record<string, unknown>, type: string) => {
  const n = intParam(p, "maxNumOfEndpoints", DEFAULT_MAX_NUM_OF_ENDPOINTS, type);
  return n > 0 ? n : DEFAULT_MAX_NUM_OF_ENDPOINTS;
};

const FACTORIES: Record<string, Factory> = {
  "queue-scorer": (name) => queueScorer(name),
  "kv-cache-utilization-scorer": (name) => kvCacheUtilizationScorer(name),
  "lora-affinity-scorer": (name) => loraAffinityScorer(name),
  "prefix-cache-scorer": (name, p, deps) => {
    const type = "prefix-cache-scorer";
    const cfg = {
      hashBlockSize: intParam(p, "hashBlockSize", DEFAULT_PREFIX_CONFIG.hashBlockSize, type),
      maxPrefixBlocksToMatch: intParam(p, "maxPrefixBlocksToMatch", DEFAULT_PREFIX_CONFIG.maxPrefixBlocksToMatch, type),
      lruCapacityPerServer: intParam(p, "lruCapacityPerServer", DEFAULT_PREFIX_CONFIG.lruCapacityPerServer, type),
    };
    if (cfg.hashBlockSize <= 0) throw new Error(`hashBlockSize must be positive, got ${cfg.hashBlockSize}`);
    if (cfg.maxPrefixBlocksToMatch <= 0) throw new Error(`maxPrefixBlocksToMatch must be positive, got ${cfg.maxPrefixBlocksToMatch}`);
    if (cfg.lruCapacityPerServer <= 0) cfg.lruCapacityPerServer = DEFAULT_PREFIX_CONFIG.lruCapacityPerServer;
    return prefixCacheScorer(name, cfg, deps.xxh64, deps.metrics);
  },
  "max-score-picker": (name, p, deps) => maxScorePicker(name, endpoints(p, "max-score-picker"), deps.random),
  "random-picker": (name, p, deps) => randomPicker(name, endpoints(p, "random-picker"), deps.random),
  "weighted-random-picker": (name, p, deps) => weightedRandomPicker(name, endpoints(p, "weighted-random-picker"), deps.random),
  "single-profile-handler": (name) => ({ type: "single-profile-handler", name, profileHandler: true }),
  "header-based-testing-filter": (name) => headerBasedTestingFilter(name),
};

export const REGISTERED_PLUGIN_TYPES: readonly string[] = Object.keys(FACTORIES);

export function createPlugin(type: string, name: string, params: unknown, deps: PluginDeps): Plugin {
  const factory = FACTORIES[type];
  if (!factory) throw new Error(`plugin type '${type}' is not registered (known types: ${REGISTERED_PLUGIN_TYPES.join(", ")})`);
  if (params !== undefined && params !== null && (typeof params !== "object" || Array.isArray(params))) {
    throw new Error(`failed to create plugin '${name}' (type: ${type}): parameters must be an object`);
  }
  try {
    return factory(name, (params ?? {}) as Record<string, unknown>, deps);
  } catch (err) {
    throw new Error(`failed to create plugin '${name}' (type: ${type}): ${(err as Error).message}`);
  }
}

// Parameters are decoded like Go's json.Unmarshal into an int field: unknown keys are ignored, a wrong type fails.
function intParam(p: Record<string, unknown>, key: string, def: number, type: string): number {
  const v = p[key];
  if (v === undefined || v === null) return def;
  if (typeof v !== "number" || !Number.isInteger(v)) {
    throw new Error(`failed to parse the parameters of the ${type} plugin: ${key} must be an integer, got ${JSON.stringify(v)}`);
  }
  return v;
}
