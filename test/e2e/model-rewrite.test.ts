// x-gateway-model-name-rewrite end to end through `aigw run`: the EPP would rewrite the body's model to the
// name this header gives, so a client's own must never reach it — else a client picks the model (a LoRA
// adapter, say) behind routing, costs and budgets. The simulators serve only "target-model": the alias
// gets their 404 whether or not the client sends the header. A pool backend's modelNameOverride, applied
// after the EPP's pick, does reach them as target-model.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningGateway } from "../../src-host/cli/run.js";
import { GATEWAY, poolWithEpp, runManifests, vllmSims } from "./manifests.js";

// Ports of their own: materialized pods take the same loopback addresses in every e2e file.
const SIM_PORT = 8097;
const EPP_PORT = 9012;

const manifests = `${vllmSims("rewrite-vllm", 2, SIM_PORT, ["--model", "target-model"])}---${poolWithEpp("rewrite-pool", "rewrite-vllm", SIM_PORT, { port: EPP_PORT, args: ["--grpc-health-port", "9013", "--metrics-port", "9014"] })}---
apiVersion: aigateway.envoyproxy.io/v1alpha1
kind: AIGatewayRoute
metadata: { name: rewrite }
spec:
  parentRefs: [{ name: eg, kind: Gateway, group: gateway.networking.k8s.io }]
  rules:
  - matches: [{ headers: [{ type: Exact, name: x-ai-eg-model, value: alias-model }] }]
    backendRefs: [{ name: rewrite-pool, group: inference.networking.k8s.io, kind: InferencePool }]
  - matches: [{ headers: [{ type: Exact, name: x-ai-eg-model, value: public-name }] }]
    backendRefs: [{ name: rewrite-pool, group: inference.networking.k8s.io, kind: InferencePool, modelNameOverride: target-model }]
`;

let gw: RunningGateway;

beforeAll(async () => {
  gw = await runManifests({ "gateway.yaml": GATEWAY, "rewrite.yaml": manifests });
}, 60_000);

afterAll(async () => {
  await gw?.close();
});

describe("x-gateway-model-name-rewrite from a client", () => {
  for (const header of [false, true]) {
    it(`${header ? "with" : "without"} the client's header, the alias reaches the simulator as written`, async () => {
      // fetch, not the openai client: vLLM's error body is {"object":"error","message":...}, not {"error":...}.
      const a = gw.gateway.listenerAddress;
      const res = await fetch(`http://${a.address}:${a.port}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(header ? { "x-gateway-model-name-rewrite": "target-model" } : {}) },
        body: JSON.stringify({ model: "alias-model", messages: [{ role: "user", content: "hello" }], max_tokens: 3 }),
      });
      expect(res.status).toBe(404);
      expect(res.headers.get("x-inference-pod")).toMatch(/^rewrite-vllm-[01]$/);
      expect(((await res.json()) as { message: string }).message).toBe("The model `alias-model` does not exist.");
    });
  }
});

describe("modelNameOverride on an InferencePool backend (Envoy AI Gateway v1.1.0 processor_impl.go SetBackend)", () => {
  it("the pool's pick serves the override: the simulator, which knows only target-model, answers", async () => {
    const a = gw.gateway.listenerAddress;
    const client = new OpenAI({ baseURL: `http://${a.address}:${a.port}/v1`, apiKey: "unused", maxRetries: 0 });
    const r = await client.chat.completions.create({ model: "public-name", messages: [{ role: "user", content: "hello" }], max_tokens: 3 }).withResponse();
    expect(r.response.headers.get("x-inference-pod")).toMatch(/^rewrite-vllm-[01]$/);
    expect(r.data.model).toBe("target-model");
  });
});
