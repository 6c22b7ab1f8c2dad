// The EPP's own metrics (prom-client registry) keep the families of GIE v1.0.x pkg/epp/metrics/metrics.go:
// the same names, types, label names (in order) and bucket bounds as before the move to prom-client, and
// an exposition promtool accepts.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { EppMetrics } from "../../src-host/epp/epp-metrics.js";
import { prometheusTools } from "../stats/prometheus-tools.js";

const MODEL = ["model_name", "target_model_name"];
const LATENCY = [
  0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900, 1200, 1800, 2700,
  3600,
];
const REQUEST_SIZES = Array.from({ length: 25 }, (_, i) => 64 * 2 ** i);
// 32778 (not 32768) is upstream's own spelling in these two lists.
const RESPONSE_SIZES = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32778, 65536];
const INPUT_TOKENS = [...RESPONSE_SIZES, 131072, 262144, 524288, 1048576];
const OUTPUT_TOKENS = [1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192];
const TPOT = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10];
const PLUGIN = [0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1];

/** name → [type, label names, buckets (histograms)] */
const FAMILIES: Record<string, [string, string[], number[]?]> = {
  inference_model_request_total: ["counter", MODEL],
  inference_model_request_error_total: ["counter", [...MODEL, "error_code"]],
  inference_model_request_duration_seconds: ["histogram", MODEL, LATENCY],
  inference_model_request_sizes: ["histogram", MODEL, REQUEST_SIZES],
  inference_model_response_sizes: ["histogram", MODEL, RESPONSE_SIZES],
  inference_model_input_tokens: ["histogram", MODEL, INPUT_TOKENS],
  inference_model_output_tokens: ["histogram", MODEL, OUTPUT_TOKENS],
  inference_model_normalized_time_per_output_token_seconds: ["histogram", MODEL, TPOT],
  inference_model_running_requests: ["gauge", ["model_name"]],
  inference_pool_average_kv_cache_utilization: ["gauge", ["name"]],
  inference_pool_average_queue_size: ["gauge", ["name"]],
  inference_pool_ready_pods: ["gauge", ["name"]],
  inference_pool_per_pod_queue_size: ["gauge", ["name", "model_server_pod"]],
  inference_extension_scheduler_e2e_duration_seconds: ["histogram", [], PLUGIN],
  inference_extension_plugin_duration_seconds: ["histogram", ["extension_point", "plugin_type", "plugin_name"], PLUGIN],
  inference_extension_prefix_indexer_size: ["gauge", []],
  inference_extension_prefix_indexer_hit_ratio: ["histogram", [], [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1]],
  inference_extension_prefix_indexer_hit_bytes: ["histogram", [], [0, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536]],
  inference_extension_info: ["gauge", ["commit", "build_ref"]],
};

/** Every family's series after one sample each, through the fields the EPP records with. */
async function exposition(): Promise<string> {
  const m = new EppMetrics();
  const model = ["a", "b"] as const;
  m.requestTotal.labels(...model).inc();
  m.requestErrorTotal.labels(...model, "BadRequest").inc();
  for (const h of [m.requestDuration, m.requestSizes, m.responseSizes, m.inputTokens, m.outputTokens, m.normalizedTimePerOutputToken])
    h.labels(...model).observe(1);
  m.runningRequests.labels("a").inc();
  for (const g of [m.poolAverageKvCache, m.poolAverageQueueSize, m.poolReadyPods]) g.labels("pool").set(1);
  m.poolPerPodQueueSize.labels("pool", "pod-1").set(2);
  m.schedulerE2eDuration.observe(0.001);
  m.pluginDuration.labels("Score", "queue-scorer", "q").observe(0.001);
  m.prefixIndexerSize.set(3);
  m.recordPrefixMatch(32, 64);
  return m.registry.metrics();
}

describe("EPP metrics", () => {
  it("keep upstream's names, types, label names and buckets", async () => {
    const text = await exposition();
    const types = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((t) => [t[1]!, t[2]!]));
    expect([...types.keys()].sort()).toEqual(Object.keys(FAMILIES).sort());
    for (const [name, [type, labels, buckets]] of Object.entries(FAMILIES)) {
      expect(types.get(name), name).toBe(type);
      const series = [...text.matchAll(new RegExp(`^${name}(_bucket|_sum|_count)?(?:\\{([^}]*)\\})? \\S+$`, "gm"))];
      expect(series.length, name).toBeGreaterThan(0);
      for (const s of series) {
        const names = [...(s[2] ?? "").matchAll(/(\w+)="/g)].map((l) => l[1]!).filter((l) => l !== "le");
        expect(names, `${name} ${s[0]}`).toEqual(labels);
      }
      if (buckets) {
        const le = series.filter((s) => s[1] === "_bucket").map((s) => /le="([^"]+)"/.exec(s[2]!)![1]);
        expect(le, name).toEqual([...buckets.map(String), "+Inf"]);
      }
    }
    expect(text).toContain('inference_extension_info{commit="unknown",build_ref="aigw-epp"} 1');
    expect(text).toMatch(/^inference_extension_prefix_indexer_hit_ratio_bucket\{le="0.5"\} 1$/m);
  });

  const tools = prometheusTools();
  it.skipIf(typeof tools === "string")(`promtool check metrics accepts the exposition${typeof tools === "string" ? ` — SKIPPED: ${tools}` : ""}`, async () => {
    const r = spawnSync((tools as { promtool: string }).promtool, ["check", "metrics"], { input: await exposition(), encoding: "utf8" });
    // Exit 1 is a parse error; 3 only lint advice (such as a counter without _total), which upstream's names decide.
    expect([0, 3], `${r.stdout}${r.stderr}`).toContain(r.status);
    expect(r.stderr).not.toMatch(/error while linting|parsing error/);
  });
});
