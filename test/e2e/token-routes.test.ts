// Token budgets counted as Envoy Gateway counts them, end to end through `aigw run`: one BackendTrafficPolicy
// on the Gateway and two models on one AIGatewayRoute. An unshared rule keeps a counter per xDS route (per
// AIGatewayRoute rule and match), so spending the Llama budget leaves Mistral's whole; `shared: true` is one
// counter for every route. Local (shared data in the filter) and Global (the rate limit service) alike.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningGateway } from "../../src-host/cli/run.js";
import { GATEWAY, runManifests, testUpstreamBackend, tokenBudgetOnGateway } from "./manifests.js";

// Rule 0 has two matches (two xDS routes), rule 1 one.
const route = `${testUpstreamBackend(8080)}
apiVersion: aigateway.envoyproxy.io/v1alpha1
kind: AIGatewayRoute
metadata: { name: models }
spec:
  parentRefs: [{ name: eg, kind: Gateway, group: gateway.networking.k8s.io }]
  rules:
  - matches:
    - headers: [{ type: Exact, name: x-ai-eg-model, value: llama }]
    - headers: [{ type: Exact, name: x-ai-eg-model, value: llama-large }]
    backendRefs: [{ name: upstream }]
  - matches: [{ headers: [{ type: Exact, name: x-ai-eg-model, value: "mistral:latest" }] }]
    backendRefs: [{ name: upstream }]
  llmRequestCosts:
  - metadataKey: llm_total_token
    type: TotalToken
`;

for (const type of ["Local", "Global"] as const) {
  describe(`a ${type} token budget on the Gateway`, () => {
    let gw: RunningGateway | undefined;
    let client: OpenAI;
    const start = async (shared: boolean) => {
      await gw?.close(); // every variant's pods use the same loopback addresses
      // 300 tokens per user and hour on every route of the Gateway: the test upstream's answer costs all 300.
      gw = await runManifests({ "all.yaml": `${GATEWAY}---${route}---${tokenBudgetOnGateway("per-user", type, 300, shared)}` });
      const a = gw.gateway.listenerAddress;
      client = new OpenAI({ baseURL: `http://${a.address}:${a.port}/v1`, apiKey: "unused", maxRetries: 0 });
    };
    afterAll(async () => {
      await gw?.close();
    });

    /** The status of one chat completion of `model` for `user` (the Global charge lands before the next). */
    const status = async (model: string, user: string, body: Record<string, unknown> = {}): Promise<number> => {
      const s = await client.chat.completions
        .create({ model, messages: [{ role: "user", content: "hello" }], ...body }, { headers: { "x-user-id": user } })
        .then(
          () => 200,
          (e: unknown) => (e as { status: number }).status,
        );
      await new Promise((r) => setTimeout(r, 50)); // the Global charge is not awaited by the response
      return s;
    };

    describe("unshared (Envoy Gateway's default): a counter per xDS route", () => {
      beforeAll(() => start(false), 60_000);

      it("spending the Llama budget does not refuse Mistral, nor Llama's other match", async () => {
        expect(await status("llama", "alice")).toBe(200);
        expect(await status("llama", "alice")).toBe(429);
        expect(await status("mistral:latest", "alice")).toBe(200);
        expect(await status("mistral:latest", "alice")).toBe(429);
        // Rule 0's second match is an xDS route of its own.
        expect(await status("llama-large", "alice")).toBe(200);
        expect(await status("llama-large", "alice")).toBe(429);
        // Other users keep their own counters on every route.
        expect(await status("llama", "bob")).toBe(200);
      });

      it("refuses an output limit no server can honour with 400 in OpenAI's shape, before any budget", async () => {
        const refusal = async (body: Record<string, unknown>) =>
          (await client.chat.completions
            .create({ model: "llama", messages: [{ role: "user", content: "hi" }], ...body }, { headers: { "x-user-id": "carol" } })
            .catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
        // Not an integer of Go's int64: the OpenAI schema validation refuses it first, as Envoy AI Gateway's decoder would.
        for (const max_tokens of [1e30, 2 ** 64, 1.5]) {
          const err = await refusal({ max_tokens });
          expect(err, String(max_tokens)).toBeInstanceOf(OpenAI.BadRequestError);
          expect(err.message).toContain('field "max_tokens" must be an integer');
        }
        const err = await refusal({ max_completion_tokens: "10" });
        expect(err).toBeInstanceOf(OpenAI.BadRequestError);
        expect(err.message).toContain('field "max_completion_tokens" must be an integer');
        // An integer no server can honour: refused by the token budgets' estimate.
        for (const max_tokens of [-1, 2 ** 31]) {
          const err = await refusal({ max_tokens });
          expect(err, String(max_tokens)).toBeInstanceOf(OpenAI.BadRequestError);
          expect(err.message).toContain("max_tokens: must be an integer from 0 to 1073741824 (or null)");
        }
        // None of them spent carol's budget.
        expect(await status("llama", "carol", { max_tokens: 10 })).toBe(200);
      });
    });

    describe("shared: true: one counter over every route", () => {
      beforeAll(() => start(true), 60_000);

      it("spending the Llama budget refuses Mistral too", async () => {
        expect(await status("llama", "alice")).toBe(200);
        expect(await status("mistral:latest", "alice")).toBe(429);
        expect(await status("llama-large", "alice")).toBe(429);
        expect(await status("mistral:latest", "bob")).toBe(200);
        expect(await status("llama", "bob")).toBe(429);
      });
    });
  });
}
