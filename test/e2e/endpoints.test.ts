// The OpenAI endpoints beyond chat, completions and embeddings, with the official openai client end to end
// through `aigw run`: responses (JSON and streamed), image generations, speech, audio transcriptions and
// translations (multipart/form-data), /tokenize; usage priced where the answer reports it; upstream errors
// in OpenAI's shape; streamIdleTimeout; x-ai-eg-original-path.
//
// The model server is a loopback HTTP server of this test, standing for a vLLM or OpenAI-compatible server
// (the simulators answer chat and completions only): it records what arrives and answers each path in
// OpenAI's shapes. It is an AIServiceBackend (Backend ip endpoint) and, as a declared Pod, the member of an
// InferencePool with our Endpoint Picker.
import { createHash } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI, { toFile } from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningGateway } from "../../src-host/cli/run.js";
import { ipBackend } from "../config/helpers.js";
import { GATEWAY, poolWithEpp, runManifests, serviceBackend } from "./manifests.js";

interface Seen {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** For a multipart body: the form as undici's parser reads it. */
  form?: { model: string | null; fileSha256?: string; fileName?: string };
}

const seen: Seen[] = [];
const FILE = Buffer.alloc(300_000, 0);
for (let i = 0; i < FILE.length; i++) FILE[i] = (i * 7919) % 251;
// A near-delimiter in the audio bytes: the scan must not take it for the end of the file part.
FILE.write("\r\n--not-the-boundary\r\n", 1000, "latin1");
const SPEECH = Buffer.from(Array.from({ length: 50_000 }, (_, i) => (i * 31) % 256));
const sha256 = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

async function answer(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> {
  const path = (req.url ?? "/").split("?")[0];
  const entry: Seen = { path, headers: req.headers, body };
  seen.push(entry);
  const type = req.headers["content-type"] ?? "";
  const json = (status: number, doc: object) => {
    const text = JSON.stringify(doc);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
  };
  if (type.startsWith("multipart/form-data")) {
    const form = await new Response(new Uint8Array(body), { headers: { "content-type": type } }).formData();
    const file = form.get("file") as File | null;
    entry.form = { model: form.get("model") as string | null };
    if (file) Object.assign(entry.form, { fileSha256: sha256(new Uint8Array(await file.arrayBuffer())), fileName: file.name });
    const text = path.endsWith("translations") ? "Hello, in English." : "Bonjour.";
    return json(200, { text, usage: { type: "tokens", input_tokens: 40, output_tokens: 6, total_tokens: 46 } });
  }
  const doc = JSON.parse(body.toString("utf8") || "{}") as Record<string, any>;
  const model = String(doc.model);
  if (model === "text-error") {
    res.writeHead(500, { "content-type": "text/plain; charset=utf-8" });
    return void res.end("upstream exploded");
  }
  if (model === "json-error") return json(404, { error: { message: "no such model", type: "invalid_request_error", param: null, code: null } });
  switch (path) {
    case "/v1/responses": {
      const response = {
        id: "resp_1",
        object: "response",
        created_at: 1,
        status: "completed",
        model: `${model}-2025`,
        output: [
          { type: "message", id: "msg_1", status: "completed", role: "assistant", content: [{ type: "output_text", text: "Hi there.", annotations: [] }] },
        ],
        usage: {
          input_tokens: 11,
          input_tokens_details: { cached_tokens: 2 },
          output_tokens: 7,
          output_tokens_details: { reasoning_tokens: 3 },
          total_tokens: 18,
        },
      };
      if (!doc.stream) return json(200, response);
      res.writeHead(200, { "content-type": "text/event-stream" });
      const event = (e: object) => res.write(`event: ${(e as { type: string }).type}\ndata: ${JSON.stringify(e)}\n\n`);
      event({ type: "response.created", sequence_number: 0, response: { ...response, status: "in_progress", output: [], usage: null } });
      event({ type: "response.output_text.delta", sequence_number: 1, item_id: "msg_1", output_index: 0, content_index: 0, delta: "Hi there." });
      event({ type: "response.completed", sequence_number: 2, response });
      return void res.end();
    }
    case "/v1/images/generations":
      return json(200, {
        created: 1,
        data: [{ b64_json: Buffer.from("png").toString("base64") }],
        usage: { input_tokens: 9, output_tokens: 1056, total_tokens: 1065 },
      });
    case "/v1/audio/speech":
      res.writeHead(200, { "content-type": "audio/mpeg", "content-length": SPEECH.length });
      return void res.end(SPEECH);
    case "/tokenize":
      return json(200, { count: 2, max_model_len: 4096, tokens: [9906, 1917] });
    case "/v1/chat/completions": {
      // model "idle": chunks 100 ms apart, then (with "stall") silence.
      res.writeHead(200, { "content-type": "text/event-stream" });
      const chunk = (content: string) =>
        `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model, choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;
      for (let i = 0; i < 4; i++) {
        res.write(chunk(`w${i} `));
        await new Promise((r) => setTimeout(r, 100));
      }
      if (doc.messages?.[0]?.content === "stall") return; // never ends: the gateway's idle timeout must cut it
      return void res.end("data: [DONE]\n\n");
    }
  }
  json(404, { error: { message: `no ${path}` } });
}

let server: http.Server;
let gw: RunningGateway;
let client: OpenAI;
let base: string;
const accessLog: string[] = [];

function manifests(port: number): string {
  return `${GATEWAY}---
apiVersion: v1
kind: Pod
metadata: { name: model-server, labels: { app: model-server } }
spec:
  containers: [{ name: server, image: vllm/vllm-openai:latest }]
status:
  podIP: 127.0.0.1
  conditions: [{ type: Ready, status: "True" }]
---${poolWithEpp("pooled", "model-server", port)}---
${ipBackend("direct", "127.0.0.1", port)}---${serviceBackend("down", 80, 8080)}---
apiVersion: aigateway.envoyproxy.io/v1beta1
kind: AIGatewayRoute
metadata: { name: endpoints }
spec:
  parentRefs: [{ name: eg, kind: Gateway, group: gateway.networking.k8s.io }]
  rules:
  - matches: [{ headers: [{ type: Exact, name: x-ai-eg-model, value: direct }] }, { headers: [{ type: Exact, name: x-ai-eg-model, value: text-error }] },
              { headers: [{ type: Exact, name: x-ai-eg-model, value: json-error }] }]
    backendRefs: [{ name: direct }]
  - matches: [{ headers: [{ type: Exact, name: x-ai-eg-model, value: renamed }] }]
    backendRefs: [{ name: direct, modelNameOverride: served-name }]
  - matches: [{ headers: [{ type: Exact, name: x-ai-eg-model, value: pooled }] }]
    backendRefs: [{ group: inference.networking.k8s.io, kind: InferencePool, name: pooled }]
  - matches: [{ headers: [{ type: Exact, name: x-ai-eg-model, value: down }] }]
    backendRefs: [{ name: down }]
  - matches: [{ headers: [{ type: Exact, name: x-ai-eg-model, value: idle }] }]
    backendRefs: [{ name: direct }]
    streamIdleTimeout: 300ms
  llmRequestCosts:
  - { metadataKey: in, type: InputToken }
  - { metadataKey: out, type: OutputToken }
  - { metadataKey: total, type: TotalToken }
`;
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (b: Buffer) => parts.push(b));
    req.on("end", () => {
      answer(req, res, Buffer.concat(parts)).catch((err: unknown) => {
        res.writeHead(500, { "content-type": "text/plain" });
        res.end(`test server: ${String(err)}`);
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  gw = await runManifests({ "endpoints.yaml": manifests(port) }, { accessLog: (l) => accessLog.push(l) });
  const l = gw.gateway.listenerAddress;
  base = `http://${l.address}:${l.port}`;
  client = new OpenAI({ baseURL: `${base}/v1`, apiKey: "unused", maxRetries: 0 });
}, 60_000);

afterAll(async () => {
  await gw?.close();
  await new Promise<void>((r) => server?.close(() => r()));
});

/** The last request the model server got on `path`. */
function lastSeen(path: string): Seen {
  const s = seen.filter((e) => e.path === path).at(-1);
  expect(s, `nothing reached ${path}`).toBeDefined();
  return s!;
}

/** The access-log line of the last request on `path` (written just after its response ends). */
async function logLine(path: string, count = 1): Promise<string> {
  const mine = () => accessLog.filter((l) => l.includes(` ${path} HTTP/`));
  for (let i = 0; i < 80 && mine().length < count; i++) await new Promise((r) => setTimeout(r, 25));
  expect(mine().length, accessLog.join("\n")).toBeGreaterThanOrEqual(count);
  return mine().at(-1)!;
}

describe("responses", () => {
  it("responses.create: the answer, its usage priced, x-ai-eg-original-path set", async () => {
    const r = await client.responses.create({ model: "direct", input: "Say hi." });
    expect(r.output_text).toBe("Hi there.");
    expect(r.usage).toMatchObject({ input_tokens: 11, output_tokens: 7 });
    const s = lastSeen("/v1/responses");
    expect(s.headers["x-ai-eg-model"]).toBe("direct");
    expect(s.headers["x-ai-eg-original-path"]).toBe("/v1/responses");
    const line = await logLine("/v1/responses");
    expect(line).toMatch(/ wasm\.in=11( |$)/);
    expect(line).toMatch(/ wasm\.out=7( |$)/);
    expect(line).toMatch(/ wasm\.total=18( |$)/);
  });

  it("a streamed response: the events reach the client, the usage of response.completed is priced", async () => {
    const stream = await client.responses.create({ model: "direct", input: "Say hi.", stream: true });
    const types: string[] = [];
    for await (const e of stream) types.push(e.type);
    expect(types).toEqual(["response.created", "response.output_text.delta", "response.completed"]);
    const line = await logLine("/v1/responses", 2);
    expect(line).toMatch(/ wasm\.in=11( |$)/);
    expect(line).toMatch(/ wasm\.out=7( |$)/);
    expect(line).toMatch(/ wasm\.response_model=direct-2025( |$)/);
  });
});

describe("images, speech and tokenize", () => {
  it("images.generate through the InferencePool (the EPP picks the pod), usage priced", async () => {
    const r = await client.images.generate({ model: "pooled", prompt: "a lighthouse at dusk" });
    expect(Buffer.from(r.data![0]!.b64_json!, "base64").toString()).toBe("png");
    const s = lastSeen("/v1/images/generations");
    expect(s.headers["x-gateway-destination-endpoint"]).toMatch(/^127\.0\.0\.1:\d+$/);
    const line = await logLine("/v1/images/generations");
    expect(line).toMatch(/ wasm\.in=9( |$)/);
    expect(line).toMatch(/ wasm\.out=1056( |$)/);
  });

  it("audio.speech.create: the audio bytes come back unchanged (passed on, not buffered as JSON)", async () => {
    const r = await client.audio.speech.create({ model: "direct", voice: "alloy", input: "Hello there." });
    expect(r.headers.get("content-type")).toBe("audio/mpeg");
    expect(Buffer.from(await r.arrayBuffer()).equals(SPEECH)).toBe(true);
    expect(JSON.parse(lastSeen("/v1/audio/speech").body.toString())).toMatchObject({ model: "direct", input: "Hello there." });
  });

  it("a responses request to the pool: the v1.0 Endpoint Picker refuses a body without prompt or messages", async () => {
    const err = (await client.responses.create({ model: "pooled", input: "x" }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(err.status).toBe(400);
    expect(err.message).toContain("inference gateway: BadRequest - prompt not found in request");
  });

  it("/tokenize through the InferencePool", async () => {
    const r = await fetch(`${base}/tokenize`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "pooled", prompt: "Hello world" }),
    });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ count: 2, max_model_len: 4096, tokens: [9906, 1917] });
    expect(lastSeen("/tokenize").headers["x-ai-eg-model"]).toBe("pooled");
  });
});

describe("audio transcriptions and translations (multipart/form-data)", () => {
  it("audio.transcriptions.create: routed by the form's model, modelNameOverride written into the field, the file intact", async () => {
    const r = await client.audio.transcriptions.create({ model: "renamed", file: await toFile(FILE, "speech.wav", { type: "audio/wav" }) });
    expect(r.text).toBe("Bonjour.");
    const s = lastSeen("/v1/audio/transcriptions");
    expect(s.form).toEqual({ model: "served-name", fileSha256: sha256(FILE), fileName: "speech.wav" });
    expect(s.headers["x-ai-eg-model"]).toBe("renamed");
    expect(Number(s.headers["content-length"])).toBe(s.body.length);
    const line = await logLine("/v1/audio/transcriptions");
    expect(line).toMatch(/ wasm\.model_name_override=served-name( |$)/);
    expect(line).toMatch(/ wasm\.in=40( |$)/);
  });

  it("audio.translations.create", async () => {
    const r = await client.audio.translations.create({ model: "direct", file: await toFile(FILE, "speech.mp3", { type: "audio/mpeg" }) });
    expect(r.text).toBe("Hello, in English.");
    expect(lastSeen("/v1/audio/translations").form).toEqual({ model: "direct", fileSha256: sha256(FILE), fileName: "speech.mp3" });
  });

  it("a form without a model, and a JSON body, are 400s in OpenAI's shape", async () => {
    const audio = () => seen.filter((e) => e.path.startsWith("/v1/audio/")).length;
    const before = audio();
    const form = new FormData();
    form.append("file", new Blob([FILE.subarray(0, 100)]), "a.wav");
    let r = await fetch(`${base}/v1/audio/transcriptions`, { method: "POST", body: form });
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({ type: "error", error: { type: "BadRequest", code: "400", message: "malformed request: missing required field 'model'" } });
    r = await fetch(`${base}/v1/audio/translations`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"model":"direct"}' });
    expect(r.status).toBe(400);
    expect((await r.json()).error.message).toBe("malformed request: expected multipart/form-data content type for /v1/audio/translations");
    expect(audio()).toBe(before);
  });
});

describe("upstream errors in OpenAI's shape", () => {
  it("Envoy's own 503 (no healthy upstream) reaches the client as an OpenAIBackendError", async () => {
    const err = await client.chat.completions.create({ model: "down", messages: [{ role: "user", content: "hi" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    const e = err as InstanceType<typeof OpenAI.APIError>;
    expect(e.status).toBe(503);
    expect(e.error).toEqual({ type: "OpenAIBackendError", code: "503", message: "no healthy upstream" });
  });

  it("a backend's text error is wrapped with its status; a JSON error passes as it came", async () => {
    const text = (await client.responses.create({ model: "text-error", input: "x" }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(text.status).toBe(500);
    expect(text.error).toEqual({ type: "OpenAIBackendError", code: "500", message: "upstream exploded" });
    const json = (await client.images.generate({ model: "json-error", prompt: "x" }).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>;
    expect(json.status).toBe(404);
    expect(json.error).toEqual({ message: "no such model", type: "invalid_request_error", param: null, code: null });
  });
});

describe("streamIdleTimeout", () => {
  it("a stream whose gaps stay under the rule's 300 ms completes; one that goes quiet is cut", async () => {
    const words = async (content: string) => {
      const got: string[] = [];
      const stream = await client.chat.completions.create({ model: "idle", stream: true, messages: [{ role: "user", content }] });
      try {
        for await (const c of stream) got.push(c.choices[0]?.delta?.content ?? "");
        return { got, ended: true };
      } catch {
        return { got, ended: false };
      }
    };
    expect(await words("go")).toEqual({ got: ["w0 ", "w1 ", "w2 ", "w3 "], ended: true });
    const t0 = Date.now();
    const cut = await words("stall");
    expect(cut).toEqual({ got: ["w0 ", "w1 ", "w2 ", "w3 "], ended: false });
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(await logLine("/v1/chat/completions", 2)).toContain("upstream_per_try_idle_timeout");
  });
});
