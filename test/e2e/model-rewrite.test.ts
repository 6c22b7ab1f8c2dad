// x-gateway-model-name-rewrite end to end through `aigw run`: the client's header reaches the pool's
// Endpoint Picker with the request, the EPP rewrites the body's model, and the filter sends the rewritten
// body to the chosen simulator — which serves only the target name, so without the rewrite it answers 404.
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
`;

let gw: RunningGateway;
let client: OpenAI;

beforeAll(async () => {
  gw = await runManifests({ "gateway.yaml": GATEWAY, "rewrite.yaml": manifests });
  const a = gw.gateway.listenerAddress;
  client = new OpenAI({ baseURL: `http://${a.address}:${a.port}/v1`, apiKey: "unused", maxRetries: 0 });
}, 60_000);

afterAll(async () => {
  await gw?.close();
});

describe("x-gateway-model-name-rewrite", () => {
  it("the EPP rewrites the body's model and the simulator serves the rewritten name", async () => {
    const { data, response } = await client.chat.completions
      .create(
        { model: "alias-model", messages: [{ role: "user", content: "hello" }], max_tokens: 3 },
        { headers: { "x-gateway-model-name-rewrite": "target-model" } },
      )
      .withResponse();
    expect(response.status).toBe(200);
    expect(data.model).toBe("target-model");
    expect(response.headers.get("x-inference-pod")).toMatch(/^rewrite-vllm-[01]$/);
  });

  it("without the header the alias reaches the simulator as written, which does not serve it", async () => {
    // fetch, not the openai client: vLLM's error body is {"object":"error","message":...}, not {"error":...}.
    const a = gw.gateway.listenerAddress;
    const res = await fetch(`http://${a.address}:${a.port}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "alias-model", messages: [{ role: "user", content: "hello" }], max_tokens: 3 }),
    });
    expect(res.status).toBe(404);
    expect(res.headers.get("x-inference-pod")).toMatch(/^rewrite-vllm-[01]$/);
    expect(((await res.json()) as { message: string }).message).toBe("The model `alias-model` does not exist.");
  });
});
