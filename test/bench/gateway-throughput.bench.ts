// Gateway throughput and latency (`make bench`): POST /v1/chat/completions with 1 KiB and 128 KiB bodies,
// closed-loop keep-alive client at concurrency 16, 3 s per case, printed beside the same client straight
// to the upstream in the same run.
import { cpus, loadavg } from "node:os";
import { expect, it } from "vitest";
import { PLUGIN_CONFIG_VERSION, type PluginConfig } from "../../src-host/config/plugin-config.js";
import { passThroughFilter } from "../../src-host/gateway/pass-through.js";
import { StatsStore } from "../../src-host/stats/index.js";
import { loadWasmFilter } from "../../src-host/proxy-wasm/index.js";
import { formatTable, runDirectBench, runGatewayBench, type BenchResult } from "./gateway-bench.js";

// The production filter, routing the benchmark's model to the bench cluster's backend.
async function aiGatewayFilter() {
  const plugin: PluginConfig = {
    version: PLUGIN_CONFIG_VERSION,
    rules: [
      {
        route: "bench/route",
        index: 0,
        matches: [{ headers: [{ name: "x-ai-eg-model", type: "Exact", value: "llama-3" }] }],
        backends: [{ name: "bench/upstream", kind: "AIServiceBackend", weight: 1, modelNameOverride: "" }],
      },
    ],
    models: [{ id: "llama-3", ownedBy: "", created: 0 }],
    pools: [],
    maxRequestBodyBytes: 50 << 20,
    costs: [],
    rateLimits: [],
  };
  return loadWasmFilter({
    config: {
      name: "ai-gateway",
      rootId: "ai-gateway",
      vmId: "ai-gateway",
      modulePath: "build/ai-gateway.wasm",
      configuration: JSON.stringify(plugin),
      allowOnHeadersStopIteration: true,
      failOpen: false,
      workers: 1,
    },
    clusters: [],
    bufferLimitBytes: 51 << 20,
    stats: new StatsStore(),
  });
}

it("gateway throughput: direct vs data plane without filter vs with the pass-through and the AI gateway filter", async () => {
  const rows: BenchResult[] = [];
  const wasm = await aiGatewayFilter();
  for (const bodyBytes of [1024, 128 * 1024]) {
    rows.push(await runDirectBench({ bodyBytes }));
    rows.push(await runGatewayBench(undefined, { bodyBytes, label: "gateway, no filter" }));
    rows.push(await runGatewayBench(passThroughFilter, { bodyBytes, label: "gateway + passThroughFilter" }));
    rows.push(await runGatewayBench(wasm, { bodyBytes, label: "gateway + ai-gateway.wasm" }));
  }
  await wasm.close();
  // Other work on the machine skews every row; the load average tells how much.
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
  console.log(`\nPOST /v1/chat/completions, concurrency 16, keep-alive, 3 s per case (${cpus().length} CPUs, load ${load})\n` + `${formatTable(rows)}\n`);
  for (const r of rows) {
    expect(r.errors).toBe(0);
    expect(r.requests).toBeGreaterThan(0);
  }
});
