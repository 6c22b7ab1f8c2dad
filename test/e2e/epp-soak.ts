// Open-loop load through `aigw run` to an InferencePool and its EPP (3 simulated vLLM servers, no simulated
// latency), watching the gateway's HTTP/2 connection to the EPP: failed requests (those the endpoint picker
// failed are counted apart), RST_STREAMs and GOAWAYs. Shared by the e2e test (seconds) and the benchmark
// (minutes).
import { watchHttp2Clients } from "../http2-watch.js";
import { GATEWAY, poolWithEpp, runManifests, serviceBackend, vllmSims } from "./manifests.js";

export const SOAK_MODEL = "soak-llama";
export const SOAK_DIRECT_MODEL = "soak-llama-direct";

const MANIFESTS = `${vllmSims("vllm", 3, 8000, ["--model", SOAK_MODEL, "--max-model-len", "8192", "--mode", "echo"])}---${serviceBackend("vllm", 8000, 8000)}---${poolWithEpp("vllm", "vllm", 8000)}---
apiVersion: aigateway.envoyproxy.io/v1alpha1
kind: AIGatewayRoute
metadata: { name: soak }
spec:
  parentRefs: [{ name: eg, kind: Gateway, group: gateway.networking.k8s.io }]
  rules:
  - matches: [{ headers: [{ type: Exact, name: x-ai-eg-model, value: ${SOAK_MODEL} }] }]
    backendRefs: [{ name: vllm, group: inference.networking.k8s.io, kind: InferencePool }]
  - matches: [{ headers: [{ type: Exact, name: x-ai-eg-model, value: ${SOAK_DIRECT_MODEL} }] }]
    backendRefs: [{ name: vllm, modelNameOverride: ${SOAK_MODEL} }]
`;

export interface SoakArm {
  model: string;
  ratePerSecond: number;
  durationMs: number;
}

export interface SoakResult {
  requests: number;
  /** Requests sent per second over the run. */
  rate: number;
  ok: number;
  failures: number;
  /** Failures whose answer names the endpoint picker (its stream failed or timed out). */
  eppFailures: number;
  firstFailure?: string;
  p50Ms: number;
  p99Ms: number;
  /** On the gateway's HTTP/2 client connections (the EPP's) during the arm. */
  streams: number;
  resets: number;
  goaways: number;
}

/** Runs each arm in turn against one `aigw run`, with the same servers. */
export async function eppSoak(arms: SoakArm[]): Promise<SoakResult[]> {
  const wire = watchHttp2Clients();
  const gw = await runManifests({ "gateway.yaml": GATEWAY, "soak.yaml": MANIFESTS }, { accessLog: () => {} });
  try {
    const a = gw.gateway.listenerAddress;
    const url = `http://${a.address}:${a.port}/v1/chat/completions`;
    const results: SoakResult[] = [];
    for (const arm of arms) {
      const before = { streams: wire.streams, resets: wire.resets, goaways: wire.goaways };
      const r = await openLoop(url, arm);
      results.push({ ...r, streams: wire.streams - before.streams, resets: wire.resets - before.resets, goaways: wire.goaways - before.goaways });
    }
    return results;
  } finally {
    await gw.close();
    wire.stop();
  }
}

async function openLoop(url: string, arm: SoakArm): Promise<Omit<SoakResult, "streams" | "resets" | "goaways">> {
  const latencies: number[] = [];
  let sent = 0;
  let failures = 0;
  let eppFailures = 0;
  let firstFailure: string | undefined;
  const pending = new Set<Promise<void>>();
  const body = (i: number) => JSON.stringify({ model: arm.model, messages: [{ role: "user", content: `soak request ${i}: say ok` }], max_tokens: 2 });
  const one = async (i: number) => {
    const t0 = performance.now();
    let status = 0;
    let text = "";
    try {
      const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: body(i) });
      status = res.status;
      text = await res.text();
    } catch (err) {
      text = (err as Error).message;
    }
    latencies.push(performance.now() - t0);
    if (status === 200) return;
    failures++;
    if (/endpoint.picker/i.test(text)) eppFailures++;
    firstFailure ??= `${status} ${text.slice(0, 200)}`;
  };
  const start = performance.now();
  while (performance.now() - start < arm.durationMs) {
    const due = Math.floor(((performance.now() - start) / 1000) * arm.ratePerSecond);
    while (sent < due) {
      const p = one(sent++).finally(() => pending.delete(p));
      pending.add(p);
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  const elapsed = performance.now() - start;
  await Promise.all(pending);
  const sorted = latencies.sort((x, y) => x - y);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
  return { requests: sent, rate: (sent / elapsed) * 1000, ok: sent - failures, failures, eppFailures, firstFailure, p50Ms: q(0.5), p99Ms: q(0.99) };
}
