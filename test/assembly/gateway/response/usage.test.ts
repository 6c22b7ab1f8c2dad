// Token usage of non-streaming JSON responses (assembly/gateway/response/usage.ts): every usage shape of
// Envoy AI Gateway v1.1.0's usage fields, read by scanning bytes, with strict validation.
import { beforeAll, describe, expect, it } from "vitest";
import { loadLogicModule, type LogicModule } from "../logic-module.js";

let m: LogicModule;
beforeAll(() => {
  m = loadLogicModule("logic-response");
});

const INPUT = 1,
  CACHED = 2,
  CREATION = 4,
  OUTPUT = 8,
  TOTAL = 16,
  REASONING = 32;

interface Usage {
  ok: boolean;
  error: string;
  seen: number;
  input: number;
  cached: number;
  creation: number;
  output: number;
  total: number;
  reasoning: number;
  model: string;
}

function usage(body: string | object | Buffer): Usage {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === "string" ? body : JSON.stringify(body));
  const p = m.put(bytes);
  m.exports.jsonUsage(p, bytes.length);
  m.free(p);
  return JSON.parse(m.outText());
}

describe("chat completions", () => {
  it("reads prompt, completion, total and the response model", () => {
    const u = usage({
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1,
      model: "gpt-4o-2024-08-06",
      choices: [{ index: 0, message: { role: "assistant", content: "This is a test." }, finish_reason: "stop" }],
      usage: { prompt_tokens: 13, completion_tokens: 12, total_tokens: 25 },
    });
    expect(u).toMatchObject({ ok: true, input: 13, output: 12, total: 25, seen: INPUT | OUTPUT | TOTAL, model: "gpt-4o-2024-08-06" });
  });

  it("scenario 12: cached, cache-creation and reasoning tokens", () => {
    let u = usage({
      usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8, prompt_tokens_details: { cached_tokens: 2, cache_creation_input_tokens: 1 } },
    });
    expect(u).toMatchObject({ input: 5, cached: 2, creation: 1, output: 3, total: 8, seen: INPUT | CACHED | CREATION | OUTPUT | TOTAL });
    u = usage({ usage: { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8, completion_tokens_details: { reasoning_tokens: 8 } } });
    expect(u).toMatchObject({ reasoning: 8, seen: INPUT | OUTPUT | TOTAL | REASONING });
  });

  it("scenario 20 (recorded gpt-5-nano answer): output 377 with reasoning 320, cached 0", () => {
    const u = usage(`{
  "id": "chatcmpl-CAmm6nbsSGHwd1Hp0wFqsgEhA2Lk5",
  "object": "chat.completion",
  "created": 1756542690,
  "model": "gpt-5-nano-2025-08-07",
  "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello! How can I help?", "refusal": null, "annotations": []}, "finish_reason": "stop"}],
  "usage": {
    "prompt_tokens": 8, "completion_tokens": 377, "total_tokens": 385,
    "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 320, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}
  },
  "service_tier": "default",
  "system_fingerprint": null
}`);
    expect(u).toMatchObject({ ok: true, input: 8, cached: 0, output: 377, reasoning: 320, total: 385, model: "gpt-5-nano-2025-08-07" });
    expect(u.seen).toBe(INPUT | CACHED | OUTPUT | TOTAL | REASONING);
  });

  it("usage and model anywhere in the object; nested 'usage' keys are not the response's", () => {
    const u = usage(
      `{"choices":[{"message":{"content":"{\\"usage\\":{\\"total_tokens\\":99}}"},"usage":{"total_tokens":77}}],` +
        `"usage":{"total_tokens":3,"prompt_tokens":1},"model":"m1"}`,
    );
    expect(u).toMatchObject({ ok: true, total: 3, input: 1, seen: INPUT | TOTAL, model: "m1" });
  });

  it("a field given twice: the last one wins, as Go's decoder does", () => {
    expect(usage('{"usage":{"total_tokens":1},"usage":{"total_tokens":2},"model":"a","model":"b"}')).toMatchObject({ total: 2, model: "b" });
  });

  it("decodes an escaped model name", () => {
    expect(usage('{"model":"gpt\\u002d4o\\/mini \\u00e9","usage":null}').model).toBe("gpt-4o/mini é");
  });
});

describe("embeddings and completions", () => {
  it("scenario 13: embeddings report input and total, no output", () => {
    const vector = Array.from({ length: 1536 }, (_, i) => Math.sin(i) / 7);
    const u = usage({
      object: "list",
      data: [{ object: "embedding", index: 0, embedding: vector }],
      model: "text-embedding-3-small",
      usage: { prompt_tokens: 8, total_tokens: 8 },
    });
    expect(u).toMatchObject({ ok: true, input: 8, total: 8, seen: INPUT | TOTAL, model: "text-embedding-3-small" });
  });

  it("legacy completions", () => {
    const u = usage({
      id: "cmpl-1",
      object: "text_completion",
      model: "gpt-3.5-turbo-instruct",
      choices: [{ text: "hi", index: 0, logprobs: null, finish_reason: "length" }],
      usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 },
    });
    expect(u).toMatchObject({ input: 5, output: 7, total: 12, seen: INPUT | OUTPUT | TOTAL });
  });
});

describe("responses and image generations (input_tokens / output_tokens)", () => {
  it("a /v1/responses answer: input, output, total, cached, cache creation and reasoning", () => {
    const u = usage({
      id: "resp_1",
      object: "response",
      created_at: 1,
      status: "completed",
      model: "gpt-4.1-2025-04-14",
      output: [{ type: "message", id: "msg_1", status: "completed", role: "assistant", content: [{ type: "output_text", text: "hi", annotations: [] }] }],
      usage: {
        input_tokens: 36,
        input_tokens_details: { cached_tokens: 4, cache_creation_tokens: 2 },
        output_tokens: 87,
        output_tokens_details: { reasoning_tokens: 9 },
        total_tokens: 123,
      },
    });
    expect(u).toMatchObject({ ok: true, input: 36, cached: 4, creation: 2, output: 87, reasoning: 9, total: 123, model: "gpt-4.1-2025-04-14" });
    expect(u.seen).toBe(INPUT | CACHED | CREATION | OUTPUT | TOTAL | REASONING);
  });

  it("a responses stream event: usage and model inside its `response` object", () => {
    const u = usage({
      type: "response.completed",
      sequence_number: 9,
      response: { id: "resp_1", model: "m-resp", usage: { input_tokens: 3, output_tokens: 4, total_tokens: 7 } },
    });
    expect(u).toMatchObject({ ok: true, input: 3, output: 4, total: 7, seen: INPUT | OUTPUT | TOTAL, model: "m-resp" });
    // response.created carries usage null: nothing seen.
    expect(usage({ type: "response.created", response: { id: "r", model: "m", usage: null } })).toMatchObject({ ok: true, seen: 0 });
    expect(usage({ type: "x", response: { usage: { input_tokens: "3" } } }).ok).toBe(false);
  });

  it("an image generation: input, output and total tokens", () => {
    const u = usage({
      created: 1,
      data: [{ b64_json: "aGk=" }],
      usage: { input_tokens: 50, output_tokens: 4160, total_tokens: 4210, input_tokens_details: { text_tokens: 50, image_tokens: 0 } },
    });
    expect(u).toMatchObject({ ok: true, input: 50, output: 4160, total: 4210, seen: INPUT | OUTPUT | TOTAL });
  });
});

describe("absent usage and invalid bodies", () => {
  it("no usage, usage null, null token fields and null details: nothing seen", () => {
    expect(usage({ model: "m", choices: [] })).toMatchObject({ ok: true, seen: 0, model: "m" });
    expect(usage({ model: "m", usage: null })).toMatchObject({ ok: true, seen: 0 });
    expect(usage({ usage: { prompt_tokens: null, total_tokens: 4, prompt_tokens_details: null, completion_tokens_details: null } })).toMatchObject({
      ok: true,
      seen: TOTAL,
      total: 4,
    });
    expect(usage({ usage: {} })).toMatchObject({ ok: true, seen: 0 });
  });

  it("a literal null body is zero usage, not an error", () => {
    expect(usage(" null ")).toMatchObject({ ok: true, seen: 0, model: "" });
  });

  it("an integral exponent is an integer; 2^53 and beyond are exact", () => {
    expect(usage('{"usage":{"total_tokens":1e3,"prompt_tokens":9007199254740993}}')).toMatchObject({ ok: true, total: 1000 });
    // 9007199254740993 is not representable in a double: check through the text.
    const p = m.put('{"usage":{"prompt_tokens":9007199254740993}}');
    m.exports.jsonUsage(p, 45);
    expect(m.outText()).toContain('"input":9007199254740993');
  });

  const invalid: [string, RegExp][] = [
    ['{"usage":{"total_tokens":1}', /unexpected end/],
    ['{"usage":{"total_tokens":1}} x', /after top-level value/],
    ['{"usage":{"total_tokens":1.5}}', /not an integer/],
    ['{"usage":{"total_tokens":-1}}', /negative/],
    ['{"usage":{"total_tokens":"12"}}', /not an integer/],
    ['{"usage":"12"}', /neither an object nor null/],
    ['{"usage":{"prompt_tokens_details":5}}', /prompt_tokens_details is not an object/],
    ['[{"usage":{"total_tokens":1}}]', /unexpected type|looking for/],
    ["backend timeout", /invalid character/],
    ["", /unexpected end/],
    ['{"model":"a\u0001b"}', /control character/],
  ];
  for (const [body, re] of invalid) {
    it(`rejects ${JSON.stringify(body)}`, () => {
      const u = usage(body);
      expect(u.ok).toBe(false);
      expect(u.error).toMatch(re);
    });
  }

  it("rejects invalid UTF-8 inside strings", () => {
    const u = usage(Buffer.concat([Buffer.from('{"model":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]));
    expect(u.ok).toBe(false);
  });
});
