// Routing quality (`make bench`): a prefix-heavy workload — tenants with long shared system prompts, each
// request a short question of its own — through `aigw run` to 3 simulated vLLM servers, once behind an
// InferencePool with the EPP's default configuration (queue, KV-cache and prefix-cache scorers) and once
// behind an ordinary backend with Envoy Gateway's RoundRobin. Fresh servers per arm; the same seeded
// request sequence; time to first token and throughput printed side by side.
//
// The servers use the per-token latency calculator, so a prompt whose prefix is in a server's KV cache is
// prefilled faster; each server's cache holds about a third of the tenants' prompts, so it pays to keep a
// tenant on one server.
import { cpus, loadavg } from "node:os";
import { expect, it } from "vitest";
import type { RunningGateway } from "../../src-host/cli/run.js";
import { GATEWAY, poolWithEpp, runManifests, serviceBackend, vllmSims } from "../e2e/manifests.js";

const MODEL = "bench-llama";
const TENANTS = 12;
const SYSTEM_PROMPT_WORDS = 1500;
const QUESTION_WORDS = 30;
const MAX_TOKENS = 16;
const CONCURRENCY = 12;
const WARMUP_REQUESTS = 72;
const MEASURED_REQUESTS = 360;
const ROUNDS = 2;

const SIM_ARGS = [
  "--model",
  MODEL,
  "--max-num-seqs",
  "16",
  "--max-model-len",
  "4096",
  "--kv-cache-size",
  "520",
  "--block-size",
  "16",
  "--prefill-overhead",
  "2ms",
  "--prefill-time-per-token",
  "0.1ms",
  "--inter-token-latency",
  "4ms",
  "--time-factor-under-load",
  "1.5",
  "--seed",
  "7",
];

const SIMS = vllmSims("vllm", 3, 8000, SIM_ARGS);

const routeTo = (backendRef: string) => `
apiVersion: aigateway.envoyproxy.io/v1alpha1
kind: AIGatewayRoute
metadata: { name: bench }
spec:
  parentRefs: [{ name: eg, kind: Gateway, group: gateway.networking.k8s.io }]
  rules:
  - matches: [{ headers: [{ type: Exact, name: x-ai-eg-model, value: ${MODEL} }] }]
    backendRefs: [${backendRef}]
`;

/** The seed's pool shape: InferencePool + our EPP with no --config-file (the chart's default plugins). */
const EPP_ARM = `${SIMS}---${poolWithEpp("vllm", "vllm", 8000)}---
${routeTo("{ name: vllm, group: inference.networking.k8s.io, kind: InferencePool }")}`;

const ROUND_ROBIN_ARM = `${SIMS}---${serviceBackend("vllm", 8000, 8000)}---
apiVersion: gateway.envoyproxy.io/v1alpha1
kind: BackendTrafficPolicy
metadata: { name: round-robin }
spec:
  targetRefs: [{ group: gateway.networking.k8s.io, kind: HTTPRoute, name: bench }]
  loadBalancer: { type: RoundRobin }
---
${routeTo("{ name: vllm }")}`;

/** Deterministic words (mulberry32), so both arms see the same prompts. */
function words(seed: number, n: number): string {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(Math.floor(next() * 36 ** 5).toString(36));
  return out.join(" ");
}

interface Request {
  tenant: number;
  body: string;
}

function workload(count: number, seed: number): Request[] {
  const systems = Array.from({ length: TENANTS }, (_, t) => `You are the assistant of tenant ${t}. ${words(1000 + t, SYSTEM_PROMPT_WORDS)}`);
  const pick = words(seed, count).split(" ");
  return pick.map((w, i) => {
    const tenant = parseInt(w, 36) % TENANTS;
    const messages = [
      { role: "system", content: systems[tenant] },
      { role: "user", content: words(seed * 7919 + i, QUESTION_WORDS) },
    ];
    return { tenant, body: JSON.stringify({ model: MODEL, messages, max_tokens: MAX_TOKENS, stream: true }) };
  });
}

interface Sample {
  ttftMs: number;
  totalMs: number;
  pod: string;
}

/** One streamed chat; TTFT is the time until the first chunk that carries content. */
async function chat(url: string, body: string): Promise<Sample> {
  const t0 = performance.now();
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
  if (res.status !== 200) throw new Error(`status ${res.status}: ${await res.text()}`);
  const decoder = new TextDecoder();
  let text = "";
  let ttftMs = -1;
  for await (const chunk of res.body!) {
    text += decoder.decode(chunk, { stream: true });
    if (ttftMs < 0 && /"content":"[^"]/.test(text)) ttftMs = performance.now() - t0;
  }
  if (ttftMs < 0 || !text.includes("[DONE]")) throw new Error(`incomplete stream: ${text.slice(0, 200)}`);
  return { ttftMs, totalMs: performance.now() - t0, pod: res.headers.get("x-inference-pod") ?? "?" };
}

/** Closed loop: CONCURRENCY clients take the next request of the sequence until it is done. */
async function drive(url: string, reqs: Request[]): Promise<{ samples: Sample[]; elapsedMs: number }> {
  const samples: Sample[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < reqs.length) samples.push(await chat(url, reqs[next++]!.body));
    }),
  );
  return { samples, elapsedMs: performance.now() - t0 };
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
};

interface Row {
  arm: string;
  p50: number;
  p90: number;
  rps: number;
  hitRate: number;
  spread: string;
}

async function runArm(arm: string, manifests: string): Promise<Row> {
  const gw = await runManifests({ "gateway.yaml": GATEWAY, "arm.yaml": manifests }, { accessLog: () => {} });
  try {
    const a = gw.gateway.listenerAddress;
    const url = `http://${a.address}:${a.port}/v1/chat/completions`;
    await drive(url, workload(WARMUP_REQUESTS, 11));
    const before = await prefixHitRateCounters(gw);
    const { samples, elapsedMs } = await drive(url, workload(MEASURED_REQUESTS, 23));
    const after = await prefixHitRateCounters(gw);
    expect(samples).toHaveLength(MEASURED_REQUESTS);
    const perPod = new Map<string, number>();
    for (const s of samples) perPod.set(s.pod, (perPod.get(s.pod) ?? 0) + 1);
    const ttft = samples.map((s) => s.ttftMs);
    return {
      arm,
      p50: quantile(ttft, 0.5),
      p90: quantile(ttft, 0.9),
      rps: (samples.length * 1000) / elapsedMs,
      hitRate: (after.hits - before.hits) / (after.queries - before.queries),
      spread: [...perPod.entries()]
        .sort()
        .map(([, n]) => n)
        .join("/"),
    };
  } finally {
    await gw.close();
  }
}

/** Prefix-cache hits and queries (tokens) summed over the servers, from their vLLM metrics. */
async function prefixHitRateCounters(gw: RunningGateway): Promise<{ hits: number; queries: number }> {
  const rate = { hits: 0, queries: 0 };
  for (const [name, ip] of gw.pods) {
    if (!/^default\/vllm-\d+$/.test(name)) continue;
    const text = await (await fetch(`http://${ip}:8000/metrics`)).text();
    const value = (metric: string) => Number(new RegExp(`^${metric}\\{[^}]*\\} (\\S+)$`, "m").exec(text)?.[1]);
    rate.hits += value("vllm:prefix_cache_hits_total");
    rate.queries += value("vllm:prefix_cache_queries_total");
  }
  return rate;
}

it("routing quality: InferencePool with the default EPP config vs RoundRobin on a prefix-heavy workload", async () => {
  // Which server ends up with which tenants is decided early and differs run to run, so the arms run
  // ROUNDS times each, alternating, every run on fresh servers.
  const rows: Array<{ epp: Row; rr: Row }> = [];
  for (let round = 0; round < ROUNDS; round++) {
    const epp = await runArm(`InferencePool + EPP (default), run ${round + 1}`, EPP_ARM);
    const rr = await runArm(`RoundRobin backend, run ${round + 1}`, ROUND_ROBIN_ARM);
    rows.push({ epp, rr });
  }
  const fmt = (r: Row) =>
    `${r.arm.padEnd(38)} ${r.p50.toFixed(1).padStart(8)} ${r.p90.toFixed(1).padStart(8)} ${r.rps.toFixed(1).padStart(8)} ${(r.hitRate * 100).toFixed(1).padStart(8)}%  ${r.spread}`;
  const ratios = (r: { epp: Row; rr: Row }) =>
    `TTFT p50 ×${(r.epp.p50 / r.rr.p50).toFixed(2)}, p90 ×${(r.epp.p90 / r.rr.p90).toFixed(2)}, throughput ×${(r.epp.rps / r.rr.rps).toFixed(2)}`;
  console.log(
    `\n${TENANTS} tenants × ${SYSTEM_PROMPT_WORDS}-token system prompts, ${QUESTION_WORDS}-token questions, ${MAX_TOKENS} output tokens, ` +
      `${MEASURED_REQUESTS} streamed chats after ${WARMUP_REQUESTS} warm-up, concurrency ${CONCURRENCY}, 3 simulated vLLM servers ` +
      `(${cpus().length} CPUs, load ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")})\n` +
      `${"".padEnd(38)} ${"TTFT p50".padStart(8)} ${"p90 ms".padStart(8)} ${"req/s".padStart(8)} ${"prefix hit".padStart(9)}  requests per server\n` +
      rows.map((r) => `${fmt(r.epp)}\n${fmt(r.rr)}\n`).join("") +
      rows.map((r, i) => `EPP / RoundRobin, run ${i + 1}: ${ratios(r)}\n`).join(""),
  );
  // Every request of both arms was answered; a pool that never used its servers' caches would show here.
  for (const r of rows) {
    expect(r.epp.hitRate).toBeGreaterThan(0);
    expect(r.rr.hitRate).toBeGreaterThan(0);
  }
});
