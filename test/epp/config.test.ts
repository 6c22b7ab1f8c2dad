// EndpointPickerConfig loading: the loader's defaults and its errors, directly and through startEpp.
import { beforeAll, describe, expect, it } from "vitest";
import { EppMetrics } from "../../src-host/epp/epp-metrics.js";
import { startEpp } from "../../src-host/epp/epp.js";
import { DEFAULT_CONFIG_TEXT, loadSchedulerConfig } from "../../src-host/epp/scheduling/config.js";
import { loadXxh64, type Xxh64 } from "../../src-host/epp/scheduling/xxhash.js";
import { emptyMetrics, type Pod } from "../../src-host/epp/scheduling/types.js";
import { BASE_ARGS, TestDiscovery } from "./helpers.js";

let xxh64: Xxh64;
beforeAll(async () => {
  xxh64 = await loadXxh64();
});
const load = (text: string) => loadSchedulerConfig(text, { random: Math.random, xxh64, metrics: new EppMetrics() });
const HEAD = "apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: EndpointPickerConfig\n";

describe("EndpointPickerConfig defaults", () => {
  it("the default config scores queue, KV and prefix 1:1:1 with a max-score-picker", () => {
    const cfg = load(DEFAULT_CONFIG_TEXT);
    expect(cfg.profile.name).toBe("default");
    expect(cfg.profile.scorers.map((s) => [s.plugin.type, s.weight])).toEqual([
      ["queue-scorer", 1],
      ["kv-cache-utilization-scorer", 1],
      ["prefix-cache-scorer", 1],
    ]);
    expect(cfg.profile.picker.type).toBe("max-score-picker");
    expect(cfg.plugins.get("single-profile-handler")?.type).toBe("single-profile-handler");
    expect(cfg.preRequest.map((p) => p.type)).toEqual(["prefix-cache-scorer"]);
  });

  it("builds a default profile from every filter, scorer and picker when none is given", () => {
    const cfg = load(
      HEAD + "plugins:\n- type: header-based-testing-filter\n- name: q\n  type: queue-scorer\n- type: random-picker\n  parameters:\n    maxNumOfEndpoints: 2\n",
    );
    expect(cfg.profile.filters.map((p) => p.name)).toEqual(["header-based-testing-filter"]);
    expect(cfg.profile.scorers.map((s) => [s.plugin.name, s.weight])).toEqual([["q", 1]]);
    expect(cfg.profile.picker.type).toBe("random-picker");
    const pods: Pod[] = [0, 1, 2].map((i) => ({ name: `p${i}`, namespace: "d", ip: `10.0.0.${i}`, port: 1, labels: {}, metrics: emptyMetrics() }));
    expect(
      cfg.profile.picker.pick!(
        new Map(),
        pods.map((pod) => ({ pod, score: 0 })),
      ),
    ).toHaveLength(2);
  });

  it("adds a max-score-picker to a profile without one and honours weights and prefix parameters", () => {
    const cfg = load(
      HEAD +
        "plugins:\n- type: prefix-cache-scorer\n  parameters:\n    hashBlockSize: 32\n    maxPrefixBlocksToMatch: 4\n    lruCapacityPerServer: 10\n" +
        "- type: lora-affinity-scorer\nschedulingProfiles:\n- name: p\n  plugins:\n  - pluginRef: prefix-cache-scorer\n    weight: 3\n  - pluginRef: lora-affinity-scorer\n",
    );
    expect(cfg.profile.name).toBe("p");
    expect(cfg.profile.scorers.map((s) => [s.plugin.type, s.weight])).toEqual([
      ["prefix-cache-scorer", 3],
      ["lora-affinity-scorer", 1],
    ]);
    expect(cfg.profile.picker.type).toBe("max-score-picker");
    const prefix = cfg.profile.scorers[0].plugin;
    const state = new Map();
    const scores = prefix.score!(state, { requestId: "", targetModel: "m", prompt: "z".repeat(500), headers: new Map() }, []);
    expect(scores.size).toBe(0);
    expect((state.values().next().value as { hashes: bigint[] }).hashes).toHaveLength(5); // model + 4 blocks of 32
  });
});

describe("EndpointPickerConfig errors", () => {
  const cases: [string, string, RegExp][] = [
    ["unknown plugin type", HEAD + "plugins:\n- type: least-kv-cache-filter\n", /plugin type 'least-kv-cache-filter' is not registered/],
    ["missing type", HEAD + "plugins:\n- name: x\n", /plugin 'x' is missing a type/],
    ["duplicate name", HEAD + "plugins:\n- type: queue-scorer\n- type: queue-scorer\n", /duplicate plugin name 'queue-scorer'/],
    ["wrong kind", "apiVersion: inference.networking.x-k8s.io/v1alpha1\nkind: Config\n", /expected apiVersion .* and kind EndpointPickerConfig/],
    ["unknown field", HEAD + "plugin:\n- type: queue-scorer\n", /unknown field "plugin"/],
    [
      "undefined pluginRef",
      HEAD + "plugins:\n- type: queue-scorer\nschedulingProfiles:\n- name: a\n  plugins:\n  - pluginRef: nope\n",
      /nope is a reference to an undefined Plugin/,
    ],
    [
      "two profiles",
      HEAD + "plugins:\n- type: queue-scorer\nschedulingProfiles:\n- name: a\n  plugins: []\n- name: b\n  plugins: []\n",
      /cannot support multiple scheduling profiles/,
    ],
    ["two pickers", HEAD + "plugins:\n- type: random-picker\n- type: max-score-picker\n", /already has picker/],
    [
      "fractional weight",
      HEAD + "plugins:\n- type: queue-scorer\nschedulingProfiles:\n- name: a\n  plugins:\n  - pluginRef: queue-scorer\n    weight: 1.5\n",
      /weight must be an integer/,
    ],
    [
      "bad parameter",
      HEAD + 'plugins:\n- type: prefix-cache-scorer\n  parameters:\n    hashBlockSize: "64"\n',
      /failed to create plugin 'prefix-cache-scorer'.*hashBlockSize must be an integer/,
    ],
    ["zero block size", HEAD + "plugins:\n- type: prefix-cache-scorer\n  parameters:\n    hashBlockSize: 0\n", /hashBlockSize must be positive/],
    ["not YAML", "{{{", /failed to decode configuration JSON\/YAML/],
    [
      "handler in profile",
      HEAD + "plugins:\n- type: single-profile-handler\nschedulingProfiles:\n- name: a\n  plugins:\n  - pluginRef: single-profile-handler\n",
      /not a filter, scorer or picker/,
    ],
    ["unnamed profile", HEAD + "plugins:\n- type: queue-scorer\nschedulingProfiles:\n- plugins: []\n", /SchedulingProfile must have a name/],
  ];
  for (const [what, text, err] of cases) {
    it(what, () => {
      expect(() => load(text)).toThrow(err);
    });
  }

  it("startEpp reports config problems before listening", async () => {
    const discovery = new TestDiscovery(undefined);
    const start = (args: string[], files?: Record<string, string>) => startEpp({ args: [...BASE_ARGS, ...args], discovery, files, log: () => undefined });
    await expect(start(["--config-file=/config/missing.yaml"])).rejects.toThrow(/failed to load config from a file '\/config\/missing.yaml'/);
    await expect(start(["--config-text", HEAD + "plugins:\n- type: nope\n"])).rejects.toThrow(
      /failed to load the configuration - plugin type 'nope' is not registered/,
    );
    await expect(start(["--config-file=/a", "--config-text=b"])).rejects.toThrow(/mutually exclusive/);
    const epp = await start(["--config-file=/config/default-plugins.yaml"], {
      "/config/default-plugins.yaml": HEAD + "plugins:\n- type: header-based-testing-filter\n",
    });
    await epp.close();
  });
});
