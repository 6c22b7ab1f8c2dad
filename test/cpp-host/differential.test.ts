// Differential test: every scenario in scenarios/ runs in the Node host and in proxy-wasm-cpp-host on WAMR
// (the library Envoy embeds), each module in the WAMR build that takes it: ai-gateway-scalar.wasm in WAMR as
// Envoy builds it (SIMD off), ai-gateway.wasm in WAMR with SIMD. Everything either host shows the outside
// must be equal; the Node host runs the same module file. Skipped, visibly, when `make cpp-host` could not
// build the C++ host (its reason is in the test name).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import type { ClusterConfig } from "../../src-host/dataplane-api/bootstrap.js";
import { RATE_LIMIT_CLUSTER } from "../../src-host/config/build/rate-limits.js";
import { startRateLimitService, type RunningRateLimitService } from "../../src-host/ratelimit/service.js";
import { translate } from "../../src-host/translate/translate.js";
import { CppHost, cppHostMissing } from "./cpp-host.js";
import { startEppPeer, type EppPeer } from "./epp-peer.js";
import { NodeHost } from "./node-host.js";
import { compare, run, type Scenario } from "./scenario.js";

const DIR = join(import.meta.dirname, "scenarios");
const scenarios: Array<[string, Scenario]> = readdirSync(DIR)
  .filter((f) => f.endsWith(".json"))
  .sort()
  .map((f) => [f.replace(/\.json$/, ""), JSON.parse(readFileSync(join(DIR, f), "utf8")) as Scenario]);

/** The wasm filter exactly as `aigw translate` writes it for the seed example, for that runtime. */
function translated(runtime: "v8" | "wamr") {
  const bootstrap = parse(translate({ runtime }).files[0]!.content);
  const hcm = bootstrap.static_resources.listeners[0].filter_chains[0].filters[0].typed_config;
  return hcm.http_filters[0].typed_config.config as { root_id: string; vm_config: { vm_id: string }; configuration: { value: string } };
}

const FLAVOURS = [
  { flavour: "scalar" as const, module: "build/ai-gateway-scalar.wasm", runtime: "wamr" as const },
  { flavour: "simd" as const, module: "build/ai-gateway.wasm", runtime: "v8" as const },
];

test("a disagreement names the scenario, the stream, the callback and both values", () => {
  const obs = (ret: string, fs: string) => ({
    started: [true],
    metrics: {},
    logs: [],
    streams: [{ effects: ["x"], returns: [ret], filterState: { "wasm.in": fs } }],
  });
  expect(compare("s", obs("on_request_body=1", "1"), obs("on_request_body=1", "1"))).toBeUndefined();
  expect(compare("s", obs("on_request_body=1", "1"), obs("on_request_body=0", "1"))).toBe(
    's: stream 1, on_request_body call #1 return value: Node host "on_request_body=1" ≠ cpp-host "on_request_body=0"',
  );
  expect(compare("s", obs("on_request_body=1", "1"), obs("on_request_body=1", "2"))).toContain("stream 1, filter state");
});

/** Until the EPP's log has not grown for 150 ms (at most 5 s): its messages arrive asynchronously. */
async function settle(peer: EppPeer): Promise<void> {
  const end = Date.now() + 5000;
  let seen = -1;
  while (seen !== peer.received.length && Date.now() < end) {
    seen = peer.received.length;
    await new Promise((r) => setTimeout(r, 150));
  }
}

const missing = cppHostMissing();
if (missing) console.warn(`differential tests skipped: ${missing}`);
for (const [file, s] of scenarios) if (s.pending) console.warn(`differential scenario ${file} skipped, pending: ${s.pending}`);

describe.skipIf(missing !== undefined)(`Node host and proxy-wasm-cpp-host agree${missing ? ` (SKIPPED: ${missing})` : ""}`, () => {
  test("WAMR as Envoy builds it (SIMD off) refuses the SIMD module: the reason the scalar one exists", async () => {
    const filter = translated("v8");
    const cpp = await CppHost.start("scalar", "build/ai-gateway.wasm", filter.configuration.value, "refusal", filter.root_id, 1);
    try {
      const o = await cpp.observe();
      expect(o.started).toEqual([false]);
      expect(o.logs.join("\n")).toContain("Failed to load Wasm bytecode");
    } finally {
      await cpp.close();
    }
  });

  for (const { flavour, module, runtime } of FLAVOURS) {
    for (const [file, s] of scenarios) {
      test.skipIf(s.pending !== undefined)(`${flavour}: ${file} — ${s.name}${s.pending ? ` (PENDING: ${s.pending})` : ""}`, async () => {
        const filter = translated(runtime);
        const configuration =
          s.config && s.config !== "seed" ? JSON.stringify({ ...JSON.parse(filter.configuration.value), ...s.config }) : filter.configuration.value;
        const vms = s.vms ?? 2;
        const vmId = `${filter.vm_config.vm_id}-${flavour}-${file}`;
        const eppClusters = (JSON.parse(configuration).pools as Array<{ eppCluster: string }>).map((p) => p.eppCluster);
        const peers: EppPeer[] = [];
        const peer = async () => {
          const p = await startEppPeer(s.epp ?? "silent");
          peers.push(p);
          return p;
        };
        const services: RunningRateLimitService[] = [];
        /** A host's peers: its own EPP and, for Global limits, its own rate limit service. */
        const clustersFor = async (epp: EppPeer): Promise<ClusterConfig[]> => {
          const clusters = epp.clusters(eppClusters);
          if (!s.ratelimit) return clusters;
          const rls = await startRateLimitService({ host: "127.0.0.1", port: 0, rules: JSON.parse(configuration).rateLimits });
          services.push(rls);
          return [...clusters, { name: RATE_LIMIT_CLUSTER, type: "STATIC", http2: true, connectTimeoutMs: 1000, endpoints: [{ ...rls.address, ready: true }] }];
        };
        const nodePeer = await peer();
        const cppPeer = await peer();
        const node = await NodeHost.start(
          {
            name: "ai-gateway",
            rootId: filter.root_id,
            vmId,
            modulePath: module,
            configuration,
            allowOnHeadersStopIteration: true,
            failOpen: false,
            workers: vms,
          },
          await clustersFor(nodePeer),
          s.env,
        );
        const cpp = await CppHost.start(flavour, module, configuration, vmId, filter.root_id, vms, await clustersFor(cppPeer), s.env);
        try {
          // The rate limit service keeps no log to watch: its charges get a fixed 200 ms.
          const settled = (p: EppPeer) => async () => {
            await settle(p);
            if (s.ratelimit) await new Promise((r) => setTimeout(r, 200));
          };
          const a = { ...(await run(s, node, settled(nodePeer))), callouts: nodePeer.received };
          const b = { ...(await run(s, cpp, settled(cppPeer))), callouts: cppPeer.received };
          expect(b.started).toEqual(Array(vms).fill(true));
          expect(a.streams.length).toBe(s.streams.length);
          // Something to compare: every stream was answered or forwarded; upstream responses were counted.
          for (const r of [...a.streams, ...b.streams]) expect(r.effects.length * r.returns.length).toBeGreaterThan(0);
          for (const [i, st] of s.streams.entries()) {
            if (st.expect)
              expect(
                a.streams[i]!.effects.some((e) => e.startsWith(st.expect!)),
                `stream ${i + 1}: ${st.expect} among ${JSON.stringify(a.streams[i]!.effects.map((e) => e.slice(0, 80)))}`,
              ).toBe(true);
            if (st.holds)
              expect(
                a.streams[i]!.effects.some((e) => e.startsWith(st.expect ?? "") && e.includes(st.holds!)),
                `stream ${i + 1}: ${st.holds}`,
              ).toBe(true);
            if (st.lacks) expect(a.streams[i]!.effects.join("\n")).not.toContain(st.lacks);
          }
          if (s.streams.some((st) => st.response)) expect(Object.keys(b.metrics).length).toBeGreaterThan(0);
          expect(compare(`${flavour}/${file}`, a, b)).toBeUndefined();
        } finally {
          await node.close();
          await cpp.close();
          for (const p of peers) await p.close();
          for (const r of services) await r.close();
        }
      });
    }
  }
});
