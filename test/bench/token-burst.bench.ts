// Token budgets under bursts (`make bench`): bursts of 50, 100 and 200 concurrent chat completions, each
// burst from a fresh x-user-id, through `aigw run` against a Local and a Global budget worth 10 requests'
// estimates, once to a server honouring max_tokens (the vLLM simulator) and once to one ignoring it (the test
// upstream, which answers 300 tokens whatever is asked). Printed beside the budget: admitted requests, what
// their answers really cost, and the bound.
//
// The bound (README "Token limits"): with a server honouring max_tokens, what a burst is admitted for, and
// so what it really costs, stays within the budget plus one request's estimate per worker VM. A server that
// ignores max_tokens is charged its real cost at the end, so it overshoots by what its answers exceed their
// estimates by: printed, not promised.
import { expect, it } from "vitest";
import type { RunningGateway } from "../../src-host/cli/run.js";
import { GATEWAY, runManifests, serviceBackend, testUpstreamBackend, tokenBudgetOnGateway, vllmSims } from "../e2e/manifests.js";

const WORKERS = 2;
const MAX_TOKENS = 20;
const BURSTS = [50, 100, 200];
const BODY = (model: string) => JSON.stringify({ model, messages: [{ role: "user", content: "Say something." }], max_tokens: MAX_TOKENS });
/** The filter's estimate of a request (tokens/estimate.ts): body bytes / 4, rounded up, plus max_tokens. */
const ESTIMATE = Math.ceil(Buffer.byteLength(BODY("honest")) / 4) + MAX_TOKENS;
const BUDGET = 10 * ESTIMATE;

const backends = `${vllmSims("vllm", 1, 8000, ["--model", "honest", "--max-num-seqs", "256", "--inter-token-latency", "1ms"])}---
${serviceBackend("vllm", 8000, 8000)}---${testUpstreamBackend(8080)}
apiVersion: aigateway.envoyproxy.io/v1alpha1
kind: AIGatewayRoute
metadata: { name: burst }
spec:
  parentRefs: [{ name: eg, kind: Gateway, group: gateway.networking.k8s.io }]
  rules:
  - matches: [{ headers: [{ type: Exact, name: x-ai-eg-model, value: honest }] }]
    backendRefs: [{ name: vllm }]
  - matches: [{ headers: [{ type: Exact, name: x-ai-eg-model, value: ignorer }] }]
    backendRefs: [{ name: upstream }]
  llmRequestCosts: [{ metadataKey: llm_total_token, type: TotalToken }]
`;

interface Burst {
  admitted: number;
  refused: number;
  /** What the admitted answers really cost (their usage.total_tokens). */
  cost: number;
}

async function burst(gw: RunningGateway, model: string, user: string, n: number): Promise<Burst> {
  const a = gw.gateway.listenerAddress;
  const one = async (): Promise<[number, number]> => {
    const res = await fetch(`http://${a.address}:${a.port}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-user-id": user },
      body: BODY(model),
    });
    const body = (await res.json()) as { usage?: { total_tokens?: number } };
    return [res.status, res.status === 200 ? (body.usage?.total_tokens ?? 0) : 0];
  };
  const results = await Promise.all(Array.from({ length: n }, one));
  const statuses = results.map(([s]) => s);
  expect(
    statuses.every((s) => s === 200 || s === 429),
    statuses.join(" "),
  ).toBe(true);
  return {
    admitted: statuses.filter((s) => s === 200).length,
    refused: statuses.filter((s) => s === 429).length,
    cost: results.reduce((sum, [, c]) => sum + c, 0),
  };
}

it("holds the bound under bursts: Local and Global, a server honouring max_tokens and one ignoring it", async () => {
  const bound = BUDGET + WORKERS * ESTIMATE;
  const rows: string[] = [];
  for (const type of ["Local", "Global"] as const) {
    // Unshared: each model (xDS route) and user has its own counter.
    const budget = tokenBudgetOnGateway("budget", type, BUDGET);
    const gw = await runManifests({ "all.yaml": `${GATEWAY}---${backends}---${budget}` }, { workers: WORKERS, accessLog: () => {} });
    try {
      for (const [model, server] of [
        ["honest", "honours max_tokens"],
        ["ignorer", "ignores max_tokens"],
      ] as const) {
        for (const n of BURSTS) {
          const b = await burst(gw, model, `${type}-${model}-${n}`, n);
          rows.push(
            `${type.padEnd(6)} ${server.padEnd(19)} burst ${String(n).padStart(3)}: admitted ${String(b.admitted).padStart(3)} ` +
              `(the budget holds ${BUDGET / ESTIMATE} estimates), real cost ${String(b.cost).padStart(5)} tokens ` +
              `= ${(b.cost / BUDGET).toFixed(2)}× the budget of ${BUDGET} (bound ${bound})`,
          );
          expect(b.admitted).toBeGreaterThan(0);
          // More than 10 may be admitted: an answer that cost less than its estimate gives the rest back
          // (Local) before the burst is over. What they cost is what the bound holds.
          if (model === "honest") expect(b.cost, rows.at(-1)).toBeLessThanOrEqual(bound);
        }
      }
    } finally {
      await gw.close();
    }
  }
  console.log(
    `token budget of ${BUDGET} tokens = 10 estimates of ${ESTIMATE} (body / 4 + max_tokens ${MAX_TOKENS}), ${WORKERS} worker VMs\n${rows.join("\n")}`,
  );
});
