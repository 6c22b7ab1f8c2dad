// The seed guide end to end: `aigw run` on envoy/examples/inference-pool, driven with the official openai
// client as a user would after `make run` (Step 6 of the guide, and the routing behaviours around it).
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runGateway, type RunningGateway } from "../../src-host/cli/run.js";

let gw: RunningGateway;
let base: string;
let client: OpenAI;
const logs: string[] = [];
const nodeWarnings: Error[] = [];
const onWarning = (w: Error) => nodeWarnings.push(w);

beforeAll(async () => {
  process.on("warning", onWarning);
  gw = await runGateway({ paths: [], port: 0, adminPort: 0, log: (l) => logs.push(l) });
  const a = gw.gateway.listenerAddress;
  base = `http://${a.address}:${a.port}`;
  client = new OpenAI({ baseURL: `${base}/v1`, apiKey: "unused", maxRetries: 0 });
});

afterAll(async () => {
  process.off("warning", onWarning);
  await gw?.close();
});

const hi = [{ role: "user" as const, content: "Hi. Say this is a test" }];

async function chat(model: string, headers: Record<string, string> = {}) {
  return client.chat.completions.create({ model, messages: hi }, { headers }).withResponse();
}

describe("the guide's Step 6 requests", () => {
  it("routes meta-llama/Llama-3.1-8B-Instruct to the vLLM simulator pool", async () => {
    const { data, response } = await chat("meta-llama/Llama-3.1-8B-Instruct");
    expect(response.status).toBe(200);
    expect(response.headers.get("x-inference-pod")).toMatch(/^vllm-llama3-8b-instruct-\d$/);
    expect(data.model).toBe("meta-llama/Llama-3.1-8B-Instruct");
    expect(data.choices[0].message.content?.length).toBeGreaterThan(0);
  });

  it("routes mistral:latest to the mistral pool's test upstreams", async () => {
    const { response } = await chat("mistral:latest");
    expect(response.status).toBe(200);
    expect(response.headers.get("x-inference-pod")).toMatch(/^mistral-upstream-\d$/);
    expect(response.headers.get("x-model")).toBe("mistral:latest");
  });

  it("routes some-cool-self-hosted-model to the AIServiceBackend", async () => {
    const { response } = await chat("some-cool-self-hosted-model");
    expect(response.status).toBe(200);
    expect(response.headers.get("x-inference-pod")).toBe("envoy-ai-gateway-basic-testupstream-0");
    expect(response.headers.get("testupstream-id")).toBe("test");
  });

  it("spreads pool traffic only over the pool's pods", async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const { response } = await chat("meta-llama/Llama-3.1-8B-Instruct");
      seen.add(response.headers.get("x-inference-pod") ?? "");
    }
    for (const pod of seen) expect(pod).toMatch(/^vllm-llama3-8b-instruct-[0-2]$/);
  });
});

describe("routing by the body's model", () => {
  it("answers an unknown model with Envoy AI Gateway's 404", async () => {
    const err = await chat("non-existent-model").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "non-existent-model", messages: hi }),
    });
    expect(res.status).toBe(404);
    expect(await res.text()).toBe("No matching route found. It is likely because the model specified in your request is not configured in the Gateway.");
  });

  it("answers malformed JSON with a 400 in the OpenAI error shape", async () => {
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: '{"model": "something", "messages": [invalid json',
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { type: string; error: { type: string; code: string; message: string } };
    expect(body.type).toBe("error");
    expect(body.error.type).toBe("BadRequest");
    expect(body.error.code).toBe("400");
    expect(body.error.message).toContain("malformed request: failed to parse JSON for /v1/chat/completions:");
  });

  it("ignores a client's own x-ai-eg-model: the body's model routes", async () => {
    const { response } = await chat("some-cool-self-hosted-model", { "x-ai-eg-model": "mistral:latest" });
    expect(response.status).toBe(200);
    expect(response.headers.get("x-inference-pod")).toBe("envoy-ai-gateway-basic-testupstream-0");
  });

  it("ignores a client's own x-ai-eg-backend", async () => {
    const { response } = await chat("some-cool-self-hosted-model", { "x-ai-eg-backend": "default/mistral" });
    expect(response.headers.get("x-inference-pod")).toBe("envoy-ai-gateway-basic-testupstream-0");
  });

  it("passes a 1 MiB prompt", async () => {
    const big = "x".repeat(1024 * 1024);
    const { response, data } = await client.chat.completions
      .create({ model: "some-cool-self-hosted-model", messages: [{ role: "user", content: big }] })
      .withResponse();
    expect(response.status).toBe(200);
    expect(data.choices.length).toBeGreaterThan(0);
  });

  it("answers paths that are not AI endpoints with 404 unsupported path", async () => {
    const res = await fetch(`${base}/unknown`, { method: "POST", body: '{"prompt":"hello"}' });
    expect(res.status).toBe(404);
    expect(await res.text()).toBe("unsupported path: /unknown");
  });
});

describe("GET /v1/models", () => {
  it("lists the Exact model matches of the AIGatewayRoute", async () => {
    const ids: string[] = [];
    for await (const m of client.models.list()) {
      ids.push(m.id);
      expect(m.owned_by).toBe("Envoy AI Gateway");
      expect(m.object).toBe("model");
    }
    expect(ids).toEqual(["meta-llama/Llama-3.1-8B-Instruct", "mistral:latest", "some-cool-self-hosted-model"]);
  });
});

describe("streaming", () => {
  it("streams a test upstream's canned answer to the openai client, through the EPP's pick, with usage", async () => {
    const stream = await client.chat.completions.create({ model: "mistral:latest", messages: hi, stream: true, stream_options: { include_usage: true } });
    let text = "";
    let usage;
    for await (const c of stream) {
      text += c.choices[0]?.delta.content ?? "";
      usage = c.usage ?? usage;
    }
    expect(text.length).toBeGreaterThan(0);
    expect(usage).toEqual({ prompt_tokens: 1, completion_tokens: 100, total_tokens: 300 });
  });

  it("gets the embedding in the openai client's default encoding (base64) from the AIServiceBackend", async () => {
    const e = await client.embeddings.create({ model: "some-cool-self-hosted-model", input: "x" });
    expect(e.data[0]!.embedding).toHaveLength(5);
  });

  it("delivers 20 SSE events 200 ms apart one by one", async () => {
    const lines = Array.from({ length: 20 }, (_, i) =>
      JSON.stringify({
        id: "c",
        object: "chat.completion.chunk",
        created: 1,
        model: "some-cool-self-hosted-model",
        choices: [{ index: 0, delta: { content: `t${i}` }, finish_reason: null }],
      }),
    );
    const stream = await client.chat.completions.create(
      { model: "some-cool-self-hosted-model", messages: hi, stream: true },
      { headers: { "x-response-type": "sse", "x-response-body": Buffer.from(lines.join("\n")).toString("base64") } },
    );
    const arrivals: number[] = [];
    const texts: string[] = [];
    for await (const chunk of stream) {
      arrivals.push(performance.now());
      texts.push(chunk.choices[0]?.delta?.content ?? "");
    }
    expect(texts).toEqual(lines.map((_, i) => `t${i}`));
    // Buffered delivery would bunch them at the end; incremental delivery spreads them over ~3.8 s.
    const spread = arrivals[arrivals.length - 1] - arrivals[0];
    expect(spread).toBeGreaterThan(2500);
    const gaps = arrivals.slice(1).map((t, i) => t - arrivals[i]);
    expect(gaps.filter((g) => g > 100).length).toBeGreaterThanOrEqual(15);
  }, 20_000);
});

describe("admin", () => {
  it("reports ready and serves metrics and the config dump", async () => {
    const a = gw.gateway.adminAddress;
    const admin = `http://${a.address}:${a.port}`;
    expect((await fetch(`${admin}/ready`)).status).toBe(200);
    const metrics = await (await fetch(`${admin}/metrics`)).text();
    expect(metrics).toMatch(/downstream_rq/);
    const dump = (await (await fetch(`${admin}/config_dump`)).json()) as { listener: unknown };
    expect(dump.listener).toBeDefined();
  });
});

describe("the process", () => {
  it("emitted no Node warnings, e.g. DEP0123 for a TLS server name that is an IP address on the first EPP call", () => {
    expect(logs.some((l) => l.startsWith("started epp "))).toBe(true);
    expect(nodeWarnings.map((w) => `${w.name}: ${w.message}`)).toEqual([]);
  });
});
