// Scorers, pickers, filters and the scheduling cycle on fixed metric snapshots.
import { beforeAll, describe, expect, it } from "vitest";
import { EppMetrics } from "../../src-host/epp/epp-metrics.js";
import { loadSchedulerConfig } from "../../src-host/epp/scheduling/config.js";
import { headerBasedTestingFilter } from "../../src-host/epp/scheduling/filters.js";
import { maxScorePicker, randomPicker, weightedRandomPicker } from "../../src-host/epp/scheduling/pickers.js";
import { hashPrompt, prefixCacheScorer, type PrefixPlugin } from "../../src-host/epp/scheduling/prefix.js";
import { Scheduler } from "../../src-host/epp/scheduling/scheduler.js";
import { kvCacheUtilizationScorer, loraAffinityScorer, queueScorer } from "../../src-host/epp/scheduling/scorers.js";
import { emptyMetrics, type LLMRequest, type Pod, type PodMetrics } from "../../src-host/epp/scheduling/types.js";
import { loadXxh64, type Xxh64 } from "../../src-host/epp/scheduling/xxhash.js";

// XXH64 written from the xxHash specification (doc/xxhash_spec.md), independent of xxhash-wasm.
const M = (1n << 64n) - 1n;
const P1 = 11400714785074694791n,
  P2 = 14029467366897019727n,
  P3 = 1609587929392839161n,
  P4 = 9650029242287828579n,
  P5 = 2870177450012600261n;
const rotl = (x: bigint, r: bigint) => ((x << r) | (x >> (64n - r))) & M;
const round = (acc: bigint, lane: bigint) => (rotl((acc + lane * P2) & M, 31n) * P1) & M;
const merge = (acc: bigint, v: bigint) => ((acc ^ round(0n, v)) * P1 + P4) & M;
function specXxh64(b: Uint8Array): bigint {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let i = 0;
  let h: bigint;
  if (b.length >= 32) {
    let v1 = (P1 + P2) & M,
      v2 = P2,
      v3 = 0n,
      v4 = (M + 1n - P1) & M;
    for (; i + 32 <= b.length; i += 32) {
      v1 = round(v1, dv.getBigUint64(i, true));
      v2 = round(v2, dv.getBigUint64(i + 8, true));
      v3 = round(v3, dv.getBigUint64(i + 16, true));
      v4 = round(v4, dv.getBigUint64(i + 24, true));
    }
    h = (rotl(v1, 1n) + rotl(v2, 7n) + rotl(v3, 12n) + rotl(v4, 18n)) & M;
    h = merge(merge(merge(merge(h, v1), v2), v3), v4);
  } else {
    h = P5;
  }
  h = (h + BigInt(b.length)) & M;
  for (; i + 8 <= b.length; i += 8) h = (rotl(h ^ round(0n, dv.getBigUint64(i, true)), 27n) * P1 + P4) & M;
  if (i + 4 <= b.length) {
    h = (rotl(h ^ ((BigInt(dv.getUint32(i, true)) * P1) & M), 23n) * P2 + P3) & M;
    i += 4;
  }
  for (; i < b.length; i++) h = (rotl(h ^ ((BigInt(b[i]) * P5) & M), 11n) * P1) & M;
  h ^= h >> 33n;
  h = (h * P2) & M;
  h ^= h >> 29n;
  h = (h * P3) & M;
  return h ^ (h >> 32n);
}

let xxh64: Xxh64;
beforeAll(async () => {
  xxh64 = await loadXxh64();
});

function pod(i: number, m: Partial<PodMetrics> = {}): Pod {
  return { name: `pod-${i}`, namespace: "default", ip: `10.0.0.${i}`, port: 8000, labels: {}, metrics: { ...emptyMetrics(), updateTime: 1, ...m } };
}
const req = (prompt: string, extra: Partial<LLMRequest> = {}): LLMRequest => ({ requestId: "r", targetModel: "m", prompt, headers: new Map(), ...extra });
const scoresOf = (m: Map<Pod, number>) => [...m.values()];

describe("xxhash64", () => {
  it("matches the specification's test vectors, as does the independent implementation", () => {
    for (const [input, want] of [
      ["", 0xef46db3751d8e999n],
      ["abc", 0x44bc2cf5ad770999n],
      ["a", 0xd24ec4f1a98c6e5bn],
    ] as const) {
      expect(xxh64(Buffer.from(input))).toBe(want);
      expect(specXxh64(Buffer.from(input))).toBe(want);
    }
    const long = Buffer.from("The quick brown fox jumps over the lazy dog, twice over: ".repeat(3));
    expect(xxh64(long)).toBe(specXxh64(long));
  });
});

describe("prefix-cache-scorer", () => {
  it("chains block hashes: model first, then each 64-byte block with the previous hash as LE uint64", () => {
    const prompt = "A".repeat(64) + "B".repeat(64) + "C".repeat(64) + "tail shorter than a block";
    const hashes = hashPrompt(xxh64, req(prompt, { targetModel: "llama" }), 64, 256);
    const expected = [specXxh64(Buffer.from("llama"))];
    for (let i = 0; i < 3; i++) {
      const block = Buffer.alloc(72);
      block.write(prompt.slice(i * 64, i * 64 + 64), 0, "utf8");
      block.writeBigUInt64LE(expected[expected.length - 1], 64);
      expected.push(specXxh64(block));
    }
    expect(hashes).toEqual(expected);
    expect(hashPrompt(xxh64, req("short"), 64, 256)).toEqual([]);
    expect(hashPrompt(xxh64, req("x".repeat(64 * 300)), 64, 256)).toHaveLength(257); // truncated to 256 blocks
  });

  it("scores the matched prefix fraction and learns only the chosen pod", async () => {
    const metrics = new EppMetrics();
    const plugin = prefixCacheScorer("prefix", { hashBlockSize: 64, maxPrefixBlocksToMatch: 256, lruCapacityPerServer: 100 }, xxh64, metrics);
    const pods = [pod(0), pod(1)];
    const base = "s".repeat(64) + "y".repeat(64) + "z".repeat(64) + "w".repeat(64);
    const state = new Map();
    expect(scoresOf(plugin.score!(state, req(base), pods))).toEqual([0, 0]);
    plugin.preRequest!(state, req(base), [pods[0]]);
    expect(scoresOf(plugin.score!(new Map(), req(base), pods))).toEqual([1, 0]);
    const half = base.slice(0, 128) + "q".repeat(128);
    expect(scoresOf(plugin.score!(new Map(), req(half), pods))).toEqual([3 / 5, 0]); // model + 2 of 4 blocks
    expect(scoresOf(plugin.score!(new Map(), req(base, { targetModel: "other" }), pods))).toEqual([0, 0]);
    expect(scoresOf(plugin.score!(new Map(), req("tiny"), pods))).toEqual([0, 0]);
    expect(await metrics.registry.metrics()).toMatch(/inference_extension_prefix_indexer_size 5/);
  });

  it("evicts least recently used hashes per pod", () => {
    const plugin = prefixCacheScorer(
      "prefix",
      { hashBlockSize: 64, maxPrefixBlocksToMatch: 256, lruCapacityPerServer: 3 },
      xxh64,
      new EppMetrics(),
    ) as PrefixPlugin;
    const pods = [pod(0)];
    const prompt = "a".repeat(64) + "b".repeat(64) + "c".repeat(64) + "d".repeat(64);
    const state = new Map();
    plugin.score!(state, req(prompt), pods);
    plugin.preRequest!(state, req(prompt), pods);
    // 5 hashes into a 3-entry LRU: the model hash and block 0 were evicted, so nothing matches from the start.
    expect(plugin.indexer.size()).toBe(3);
    expect(scoresOf(plugin.score!(new Map(), req(prompt), pods))).toEqual([0]);
    plugin.indexer.removePod("default/pod-0");
    expect(plugin.indexer.size()).toBe(0);
  });
});

describe("scorers", () => {
  it("queue-scorer normalises min-max, all-equal scores 1", () => {
    const pods = [pod(0, { waitingQueueSize: 0 }), pod(1, { waitingQueueSize: 5 }), pod(2, { waitingQueueSize: 10 })];
    expect(scoresOf(queueScorer("q").score!(new Map(), req(""), pods))).toEqual([1, 0.5, 0]);
    const same = [pod(0, { waitingQueueSize: 4 }), pod(1, { waitingQueueSize: 4 })];
    expect(scoresOf(queueScorer("q").score!(new Map(), req(""), same))).toEqual([1, 1]);
  });

  it("kv-cache-utilization-scorer is 1 - usage", () => {
    const pods = [pod(0, { kvCacheUsagePercent: 0.25 }), pod(1, { kvCacheUsagePercent: 1 })];
    expect(scoresOf(kvCacheUtilizationScorer("kv").score!(new Map(), req(""), pods))).toEqual([0.75, 0]);
  });

  it("lora-affinity-scorer prefers running adapters, then free slots, then waiting", () => {
    const pods = [
      pod(0, { activeModels: new Set(["m"]), maxActiveModels: 1 }),
      pod(1, { activeModels: new Set(["x"]), maxActiveModels: 2 }),
      pod(2, { activeModels: new Set(["x"]), waitingModels: new Set(["m"]), maxActiveModels: 2 }),
      pod(3, { activeModels: new Set(["x", "y"]), maxActiveModels: 2 }),
    ];
    expect(scoresOf(loraAffinityScorer("l").score!(new Map(), req(""), pods))).toEqual([1, 0.8, 0.6, 0]);
  });
});

describe("pickers", () => {
  const seq = (values: number[]) => {
    let i = 0;
    return () => values[i++ % values.length];
  };

  it("max-score-picker breaks ties randomly and never picks a lower score", () => {
    const pods = [pod(0), pod(1), pod(2)];
    const scored = [
      { pod: pods[0], score: 2 },
      { pod: pods[1], score: 2 },
      { pod: pods[2], score: 1.5 },
    ];
    const picked = new Map<string, number>();
    for (let i = 0; i < 200; i++) {
      const [p] = maxScorePicker("max", 1, Math.random).pick!(new Map(), scored);
      picked.set(p.name, (picked.get(p.name) ?? 0) + 1);
    }
    expect(picked.get("pod-2")).toBeUndefined();
    expect(picked.get("pod-0")).toBeGreaterThan(40);
    expect(picked.get("pod-1")).toBeGreaterThan(40);
    // Deterministic shuffles: the stable sort keeps the shuffled order among equal scores.
    const a = maxScorePicker("max", 3, seq([0.99, 0.99])).pick!(new Map(), scored).map((p) => p.name);
    const b = maxScorePicker("max", 3, seq([0.0, 0.0])).pick!(new Map(), scored).map((p) => p.name);
    expect(a).toEqual(["pod-0", "pod-1", "pod-2"]);
    expect(b).toEqual(["pod-1", "pod-0", "pod-2"]);
    expect(maxScorePicker("max", 2, Math.random).pick!(new Map(), scored)).toHaveLength(2);
  });

  it("random-picker ignores scores; weighted-random-picker never picks a zero score while others are positive", () => {
    const pods = [pod(0), pod(1), pod(2)];
    const scored = [
      { pod: pods[0], score: 0 },
      { pod: pods[1], score: 3 },
      { pod: pods[2], score: 1 },
    ];
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) seen.add(randomPicker("r", 1, Math.random).pick!(new Map(), scored)[0].name);
    expect(seen.size).toBe(3);
    const w = new Map<string, number>();
    for (let i = 0; i < 400; i++) {
      const name = weightedRandomPicker("w", 1, Math.random).pick!(new Map(), scored)[0].name;
      w.set(name, (w.get(name) ?? 0) + 1);
    }
    expect(w.get("pod-0")).toBeUndefined();
    expect(w.get("pod-1")!).toBeGreaterThan(w.get("pod-2")!);
    expect(new Set(randomPicker("r", 3, Math.random).pick!(new Map(), scored)).size).toBe(3);
  });
});

describe("header-based-testing-filter", () => {
  it("keeps the pods named in test-epp-endpoint-selection, in header order", () => {
    const pods = [pod(0), pod(1), pod(2)];
    const f = headerBasedTestingFilter("f");
    const run = (h?: string) =>
      f.filter!(new Map(), req("", { headers: new Map(h === undefined ? [] : [["test-epp-endpoint-selection", h]]) }), pods).map((p) => p.name);
    expect(run("10.0.0.2, 10.0.0.0")).toEqual(["pod-2", "pod-0"]);
    expect(run("10.0.0.1:3000")).toEqual(["pod-1"]);
    expect(run("10.9.9.9")).toEqual([]);
    expect(run()).toEqual([]);
  });
});

describe("scheduling cycle", () => {
  const config = (qw: number, kw: number) => `apiVersion: inference.networking.x-k8s.io/v1alpha1
kind: EndpointPickerConfig
plugins:
- type: queue-scorer
- type: kv-cache-utilization-scorer
schedulingProfiles:
- name: default
  plugins:
  - pluginRef: queue-scorer
    weight: ${qw}
  - pluginRef: kv-cache-utilization-scorer
    weight: ${kw}
`;
  const pods = [pod(0, { waitingQueueSize: 0, kvCacheUsagePercent: 0.9 }), pod(1, { waitingQueueSize: 10, kvCacheUsagePercent: 0 })];

  it("sums weight × score per pod and picks the best", async () => {
    const metrics = new EppMetrics();
    const deps = { random: Math.random, xxh64, metrics };
    // pod-0: 1·1 + 3·0.1 = 1.3; pod-1: 1·0 + 3·1 = 3
    const kvHeavy = new Scheduler(loadSchedulerConfig(config(1, 3), deps), metrics).schedule(req(""), pods);
    expect(kvHeavy.ok && kvHeavy.targets.map((p) => p.name)).toEqual(["pod-1"]);
    // pod-0: 5·1 + 1·0.1 = 5.1; pod-1: 0 + 1 = 1
    const queueHeavy = new Scheduler(loadSchedulerConfig(config(5, 1), deps), metrics).schedule(req(""), pods);
    expect(queueHeavy.ok && queueHeavy.targets.map((p) => p.name)).toEqual(["pod-0"]);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/inference_extension_scheduler_e2e_duration_seconds_count 2/);
    expect(text).toMatch(
      /inference_extension_plugin_duration_seconds_count\{extension_point="Scorer",plugin_type="queue-scorer",plugin_name="queue-scorer"\} 2/,
    );
  });

  it("fails the profile when filters leave no pod", () => {
    const metrics = new EppMetrics();
    const cfg = loadSchedulerConfig(
      "apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: EndpointPickerConfig\nplugins:\n- type: header-based-testing-filter\n",
      { random: Math.random, xxh64, metrics },
    );
    const s = new Scheduler(cfg, metrics);
    expect(s.schedule(req(""), pods)).toEqual({ ok: false, error: "failed to run scheduler profile 'default'" });
    const ok = s.schedule(req("", { headers: new Map([["test-epp-endpoint-selection", "10.0.0.1"]]) }), pods);
    expect(ok.ok && ok.targets[0].name).toBe("pod-1");
  });
});
