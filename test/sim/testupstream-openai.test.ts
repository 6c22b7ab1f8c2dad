// The test upstream as the official openai client sees it: where the image answers JSON to "stream": true
// (the SDK then yields nothing, without an error) and floats to the SDK's default base64 embeddings, this
// one answers as an OpenAI server would.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ListeningServer } from "../../src-host/sim/http-server.js";
import { startTestUpstream } from "../../src-host/sim/testupstream.js";
import { b64, request } from "./http-client.js";

let up: ListeningServer;
let client: OpenAI;

beforeAll(async () => {
  up = await startTestUpstream({ host: "127.0.0.1", port: 0, id: "u", sseIntervalMs: 5 });
  client = new OpenAI({ baseURL: `http://127.0.0.1:${up.address.port}/v1`, apiKey: "unused", maxRetries: 0 });
});
afterAll(async () => {
  await up.close();
});

const messages = [{ role: "user" as const, content: "Hi" }];

describe("test upstream and the openai client", () => {
  it("streams a canned chat completion when asked: a role chunk, the words, the finish reason, the usage", async () => {
    const stream = await client.chat.completions.create({ model: "m", messages, stream: true, stream_options: { include_usage: true } });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks.length).toBeGreaterThan(3);
    expect(chunks[0]!.choices[0]!.delta.role).toBe("assistant");
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    expect(text).toMatch(/^\S.*[.!?]$/);
    expect(chunks.every((c) => c.object === "chat.completion.chunk" && c.model === "m")).toBe(true);
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe("stop");
    expect(chunks.at(-1)!.choices).toEqual([]);
    expect(chunks.at(-1)!.usage).toEqual({ prompt_tokens: 1, completion_tokens: 100, total_tokens: 300 });
  });

  it("streams without a usage chunk unless stream_options asks for it, and answers JSON without stream", async () => {
    const chunks = [];
    for await (const c of await client.chat.completions.create({ model: "m", messages, stream: true })) chunks.push(c);
    expect(chunks.some((c) => c.usage)).toBe(false);
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe("stop");
    const plain = await client.chat.completions.create({ model: "m", messages });
    expect(plain.choices[0]!.message.content?.length).toBeGreaterThan(0);
    expect(plain.usage?.total_tokens).toBe(300);
  });

  it("answers an explicit x-response-body as given, even to stream: true (as the image does)", async () => {
    const body = JSON.stringify({ model: "m", messages, stream: true });
    const res = await request(up.address, { path: "/v1/chat/completions", body, headers: { "x-response-body": b64('{"fixed":true}') } });
    expect(res.headers["content-type"]).toBe("application/json");
    expect(res.body.toString()).toBe('{"fixed":true}');
  });

  it("sends the canned embedding as base64 float32 by default (the SDK decodes 5 dimensions) and as floats when asked", async () => {
    const sdk = await client.embeddings.create({ model: "e", input: "x" });
    expect(sdk.data[0]!.embedding.map((v) => Math.round(v * 1000) / 1000)).toEqual([0.1, 0.2, 0.3, 0.4, 0.5]);
    const floats = await client.embeddings.create({ model: "e", input: "x", encoding_format: "float" });
    expect(floats.data[0]!.embedding).toEqual([0.1, 0.2, 0.3, 0.4, 0.5]);
    const raw = await request(up.address, { path: "/v1/embeddings", body: JSON.stringify({ model: "e", input: "x", encoding_format: "base64" }) });
    const wire = JSON.parse(raw.body.toString()).data[0].embedding;
    expect(typeof wire).toBe("string");
    expect([...new Float32Array(new Uint8Array(Buffer.from(wire, "base64")).buffer)]).toEqual([...new Float32Array([0.1, 0.2, 0.3, 0.4, 0.5])]);
  });

  it("refuses an unknown encoding_format as OpenAI does", async () => {
    const err = await client.embeddings.create({ model: "e", input: "x", encoding_format: "int8" as "float" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("encoding_format");
  });
});
