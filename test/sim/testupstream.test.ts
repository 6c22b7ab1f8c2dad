import { afterAll, beforeAll, describe, expect, it } from "vitest";
import zlib from "node:zlib";
import { startTestUpstream } from "../../src-host/sim/testupstream.js";
import type { ListeningServer } from "../../src-host/sim/http-server.js";
import { b64, request, type RawResponse } from "./http-client.js";

const SSE_INTERVAL = 40;
let up: ListeningServer;
let addr: { address: string; port: number };

beforeAll(async () => {
  up = await startTestUpstream({ host: "127.0.0.1", port: 0, id: "backend-a", podName: "pod-a-0", sseIntervalMs: SSE_INTERVAL });
  addr = up.address;
});
afterAll(async () => {
  await up.close();
});

const chat = JSON.stringify({ model: "some-model", messages: [{ role: "user", content: "hi" }] });
const post = (headers: Record<string, string>, body = chat, path = "/v1/chat/completions") => request(addr, { path, headers, body });

function expectFailure(res: RawResponse, text: string): void {
  expect(res.status).toBe(400);
  expect(res.headers["x-testupstream-error"]).toBe("true");
  expect(res.headers["content-type"]).toBe("text/plain; charset=utf-8");
  expect(res.body.toString()).toContain(text);
}

describe("test upstream: basics", () => {
  it("answers /health", async () => {
    const res = await request(addr, { path: "/health" });
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(0);
  });

  it("answers a canned chat completion echoing id, model and pod", async () => {
    const res = await post({});
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("application/json");
    expect(res.headers["testupstream-id"]).toBe("backend-a");
    expect(res.headers["x-model"]).toBe("some-model");
    expect(res.headers["x-inference-pod"]).toBe("pod-a-0");
    const body = JSON.parse(res.body.toString());
    expect(body.usage).toEqual({ prompt_tokens: 1, completion_tokens: 100, total_tokens: 300 });
    expect(body.choices[0].message.role).toBe("assistant");
    expect(typeof body.choices[0].message.content).toBe("string");
    expect(body.choices[0].finish_reason).toBe("stop");
  });

  it("answers a canned embedding with usage 3/3", async () => {
    const res = await post({}, JSON.stringify({ model: "e", input: "x" }), "/v1/embeddings");
    expect(res.status).toBe(200);
    const body = JSON.parse(res.body.toString());
    expect(body.usage).toEqual({ prompt_tokens: 3, total_tokens: 3 });
    expect(body.data[0].embedding.length).toBeGreaterThan(0);
  });

  it("refuses a path it has no canned answer for", async () => {
    expectFailure(await post({}, "{}", "/v1/unknown"), "unknown path: /v1/unknown");
  });

  it("omits X-Model when the body has no model", async () => {
    const res = await post({}, JSON.stringify({ input: "x" }), "/v1/embeddings");
    expect(res.status).toBe(200);
    expect(res.headers["x-model"]).toBeUndefined();
  });

  it("serves sized canned answers for x-fake-response and refuses unknown sizes", async () => {
    const small = await post({ "x-fake-response": "small" });
    expect(small.status).toBe(200);
    expect(small.body.length).toBeGreaterThan(4000);
    expect(small.body.length).toBeLessThan(8000);
    expect(JSON.parse(small.body.toString()).usage.total_tokens).toBe(25);
    const medium = await post({ "x-fake-response": "medium" });
    expect(medium.body.length).toBeGreaterThan(400_000);
    expectFailure(await post({ "x-fake-response": "huge" }), "unknown large fake response key: huge");
  });
});

describe("test upstream: expectations", () => {
  const cases: Array<{ name: string; pass: Record<string, string>; fail: Record<string, string>; message: string; path?: string }> = [
    {
      name: "x-expected-host",
      pass: { "x-expected-host": "" },
      fail: { "x-expected-host": "other.example:80" },
      message: 'unexpected host: got "127.0.0.1:',
    },
    {
      name: "x-expected-headers",
      pass: { "x-expected-headers": b64("x-one:1,x-two:a:b"), "x-one": "1", "x-two": "a:b" },
      fail: { "x-expected-headers": b64("x-one:1,x-two:3"), "x-one": "1", "x-two": "2" },
      message: 'unexpected header "x-two": got "2", expected "3"',
    },
    {
      name: "x-non-expected-request-headers",
      pass: { "x-non-expected-request-headers": b64("x-secret,x-other") },
      fail: { "x-non-expected-request-headers": b64("x-secret"), "x-secret": "leak" },
      message: 'unexpected header "x-secret" presence with value "leak"',
    },
    {
      name: "x-expected-testupstream-id",
      pass: { "x-expected-testupstream-id": "backend-a" },
      fail: { "x-expected-testupstream-id": "backend-b" },
      message: "unexpected testupstream-id: received by 'backend-a' but expected 'backend-b'",
    },
    {
      name: "x-expected-path",
      pass: { "x-expected-path": b64("/v1/chat/completions") },
      fail: { "x-expected-path": b64("/v1/completions") },
      message: "unexpected path: got /v1/chat/completions, expected /v1/completions",
    },
    {
      name: "x-expected-raw-query",
      path: "/v1/chat/completions?a=1&b=%20",
      pass: { "x-expected-raw-query": "a=1&b=%20" },
      fail: { "x-expected-raw-query": "a=2" },
      message: "unexpected raw query: got a=1&b=%20, expected a=2",
    },
    {
      name: "x-expected-request-body",
      pass: { "x-expected-request-body": b64(chat) },
      fail: { "x-expected-request-body": b64(chat + " ") },
      message: "unexpected request body: got",
    },
  ];
  for (const c of cases) {
    it(`${c.name}: passes when met, 400 when not`, async () => {
      const pass = { ...c.pass };
      if (c.name === "x-expected-host") pass["x-expected-host"] = `${addr.address}:${addr.port}`;
      const ok = await post(pass, chat, c.path);
      expect(ok.status, ok.body.toString()).toBe(200);
      expect(ok.headers["x-testupstream-error"]).toBeUndefined();
      expectFailure(await post(c.fail, chat, c.path), c.message);
    });
  }

  it("refuses malformed base64 and malformed header pairs", async () => {
    expectFailure(await post({ "x-expected-path": "not base64!" }), "failed to decode the expected path");
    expectFailure(await post({ "x-expected-headers": b64("no-colon") }), "invalid header key-value pair: no-colon");
  });
});

describe("test upstream: response overrides", () => {
  it("sets status, headers and body from the request", async () => {
    const body = '{"error":{"message":"missing required field","type":"BadRequestError","code":"400"}}';
    const res = await post({
      "x-response-status": "418",
      "x-response-headers": b64("x-custom:yes,content-type:text/plain"),
      "x-response-body": b64(body),
    });
    expect(res.status).toBe(418);
    expect(res.headers["x-custom"]).toBe("yes");
    expect(res.headers["content-type"]).toBe("text/plain");
    expect(res.headers["testupstream-id"]).toBe("backend-a");
    expect(res.body.toString()).toBe(body);
  });

  it("passes UTF-8 header values through as bytes and refuses invalid header names", async () => {
    const res = await post({ "x-response-headers": b64("x-greeting:grüß dich") }, JSON.stringify({ model: "modèle-😀", messages: [] }));
    expect(res.status).toBe(200);
    expect(Buffer.from(res.headers["x-model"] as string, "latin1").toString("utf8")).toBe("modèle-😀");
    expect(Buffer.from(res.headers["x-greeting"] as string, "latin1").toString("utf8")).toBe("grüß dich");
    expectFailure(await post({ "x-response-headers": b64("bad name:v") }), "invalid header key-value pair: bad name:v");
    const utf = await post({ "x-expected-headers": b64(Buffer.from("x-utf:é")), "x-utf": Buffer.from("é").toString("latin1") });
    expect(utf.status, utf.body.toString()).toBe(200);
  });

  it("says plainly that aws-event-stream is not supported", async () => {
    expectFailure(await post({ "x-response-type": "aws-event-stream", "x-response-body": b64("{}") }), "aws-event-stream is not supported");
  });

  it("refuses a status that is not a number", async () => {
    expectFailure(await post({ "x-response-status": "abc" }), "failed to parse the response status");
  });

  it("gzips the body for x-response-type: gzip", async () => {
    const body = '{"choices":[{"message":{"content":"This is a test."}}]}';
    const res = await post({ "x-response-type": "gzip", "x-response-body": b64(body) });
    expect(res.status).toBe(200);
    expect(res.headers["content-encoding"]).toBe("gzip");
    expect(res.headers["content-type"]).toBe("application/json");
    expect(zlib.gunzipSync(res.body).toString()).toBe(body);
  });
});

describe("test upstream: SSE", () => {
  const lines = Array.from({ length: 20 }, (_, i) => JSON.stringify({ choices: [{ delta: { content: `t${i}` } }], usage: null }));

  function arrivals(res: RawResponse, decode: (b: Buffer) => string): Array<{ at: number; text: string }> {
    return res.chunks.map((c) => ({ at: c.at, text: decode(c.data) }));
  }

  function expectIncremental(events: Array<{ at: number; text: string }>, count: number): void {
    const withData = events.filter((e) => e.text.includes("data: "));
    // Each event is flushed on its own, so at least most arrive in separate chunks, spaced by the interval.
    expect(withData.length).toBeGreaterThanOrEqual(count - 2);
    const span = withData[withData.length - 1].at - withData[0].at;
    expect(span).toBeGreaterThanOrEqual((count - 1) * SSE_INTERVAL * 0.7);
    expect(withData[0].at).toBeLessThan(SSE_INTERVAL * 5);
  }

  it("sends one JSON per line as data events, spaced and flushed", async () => {
    const res = await post({ "x-response-type": "sse", "x-response-body": b64(lines.join("\n")) });
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/event-stream");
    expect(res.body.toString()).toBe(lines.map((l) => `data: ${l}\n\n`).join(""));
    expectIncremental(
      arrivals(res, (b) => b.toString()),
      20,
    );
  });

  it("sends \\n\\n-separated blocks as they are", async () => {
    const body = 'event: a\ndata: {"x":1}\n\n\n\ndata: [DONE]\n\n';
    const res = await post({ "x-response-type": "sse", "x-response-body": b64(body) });
    expect(res.body.toString()).toBe('event: a\ndata: {"x":1}\n\ndata: [DONE]\n\n');
  });

  it("gzips SSE with a flush per event for sse-gzip", async () => {
    const gunzip = zlib.createGunzip();
    const decoded: Array<{ at: number; text: string }> = [];
    let lastAt = 0;
    gunzip.on("data", (d: Buffer) => decoded.push({ at: lastAt, text: d.toString() }));
    const res = await request(addr, {
      path: "/v1/chat/completions",
      headers: { "x-response-type": "sse-gzip", "x-response-body": b64(lines.join("\n")) },
      body: chat,
      onChunk: (data, at) => {
        lastAt = at;
        gunzip.write(data);
      },
    });
    await new Promise((resolve) => gunzip.end(resolve));
    expect(res.headers["content-encoding"]).toBe("gzip");
    expect(decoded.map((d) => d.text).join("")).toBe(lines.map((l) => `data: ${l}\n\n`).join(""));
    expectIncremental(decoded, 20);
  });

  it("stops streaming when closed with a stream in flight", async () => {
    const other = await startTestUpstream({ host: "127.0.0.1", port: 0, sseIntervalMs: 1000 });
    const pending = request(other.address, {
      path: "/v1/chat/completions",
      headers: { "x-response-type": "sse", "x-response-body": b64(lines.join("\n")) },
      body: chat,
    }).catch(() => "aborted");
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    await other.close();
    expect(performance.now() - t0).toBeLessThan(1000);
    await pending;
  });
});

describe("test upstream: content-length rule", () => {
  it("refuses a chunked body", async () => {
    const res = await request(addr, { path: "/v1/chat/completions", body: chat, chunked: true });
    expectFailure(res, `no Content-Length header, using request body length: ${chat.length}`);
  });

  it("accepts a chunked body that an endpoint picker rewrote", async () => {
    const res = await request(addr, {
      path: "/v1/chat/completions",
      body: chat,
      chunked: true,
      headers: { "x-gateway-destination-endpoint": "127.0.0.1:8080", "x-expected-request-body": b64(chat) },
    });
    expect(res.status, res.body.toString()).toBe(200);
  });

  it("accepts a bodiless GET", async () => {
    const res = await request(addr, { path: "/v1/embeddings", method: "GET" });
    expect(res.status).toBe(200);
  });
});
