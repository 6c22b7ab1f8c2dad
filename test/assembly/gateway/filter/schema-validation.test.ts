// OpenAI schema validation through the production module (assembly/gateway/request/schema.ts): a body with a
// documented field of the wrong type gets Envoy AI Gateway's 400 (valid JSON naming the field) and goes no
// further; a body with unknown fields reaches the upstream byte for byte.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestSink, bytes, load, request } from "./helpers.js";
import type { WasmFilter } from "../../../../src-host/proxy-wasm/index.js";

describe("production module: OpenAI schema validation", () => {
  let filter: WasmFilter;
  beforeAll(async () => {
    ({ filter } = await load());
  });
  afterAll(() => filter.close());

  function send(path: string, body: string): TestSink {
    const sink = new TestSink().attach(filter);
    sink.stream.requestHeaders(request("POST", path, [["content-type", "application/json"]]), false);
    sink.stream.requestData(bytes(body), true);
    return sink;
  }

  /** The body is routed and reaches the upstream byte for byte. */
  function passesUnchanged(path: string, body: string): void {
    const sink = send(path, body);
    expect(sink.localReplies).toEqual([]);
    expect(sink.header("x-ai-eg-model")).toBe("m1");
    expect(sink.requestText()).toBe(body);
    sink.stream.complete();
  }

  const rejected: Array<[string, string, string]> = [
    [
      "/v1/chat/completions",
      '{"model":"m1","messages":[{"role":"user","content":"hi"}],"temperature":"hot"}',
      'field "temperature" must be a number, got a string',
    ],
    ["/v1/chat/completions", '{"model":"m1","messages":"hi"}', 'field "messages" must be an array, got a string'],
    ["/v1/chat/completions", '{"model":"m1","messages":[{"role":"user","content":"hi"}],"n":1.5}', 'field "n" must be an integer, got 1.5'],
    [
      "/v1/chat/completions",
      '{"model":"m1","messages":[{"role":"robot","content":"hi"}]}',
      'field "messages[0].role" must be one of "user", "system", "developer", "assistant", "tool"',
    ],
    [
      "/v1/chat/completions",
      '{"model":"m1","messages":[{"role":"user","content":[{"type":"hologram"}]}]}',
      'field "messages[0].content[0].type" must be one of "text", "input_audio", "image_url", "audio_url", "video_url", "file"',
    ],
    ["/v1/completions", '{"model":"m1","prompt":"x","max_tokens":"x"}', 'field "max_tokens" must be an integer, got a string'],
    ["/v1/embeddings", '{"model":"m1","input":"x","dimensions":true}', 'field "dimensions" must be an integer, got a boolean'],
    [
      "/v1/responses",
      '{"model":"m1","input":[{"role":"user","content":[{"type":"input_text","text":["x"]}]}]}',
      'field "input[0].content[0].text" must be a string, got an array',
    ],
    [
      "/v1/responses",
      '{"model":"m1","input":"x","tools":[{"type":"function","name":"f","strict":"yes"}]}',
      'field "tools[0].strict" must be a boolean, got a string',
    ],
    ["/v1/images/generations", '{"model":"m1","prompt":"a cat","n":1.5}', 'field "n" must be an integer, got 1.5'],
  ];
  for (const [path, body, detail] of rejected) {
    it(`400 for ${body}`, () => {
      const sink = send(path, body);
      expect(sink.localReplies.map((r) => r.status)).toEqual([400]);
      expect(sink.requestHeaders).toBeUndefined();
      expect(JSON.parse(sink.localReplies[0]!.body)).toEqual({
        type: "error",
        error: { type: "BadRequest", code: "400", message: `malformed request: failed to parse JSON for ${path}: ${detail}` },
      });
      sink.stream.complete();
    });
  }

  it("the field path is escaped in the JSON body", () => {
    const sink = send("/v1/chat/completions", '{"model":"m1","messages":[{"role":"user"}],"logit_bias":{"\\"\\n":"x"}}');
    expect(JSON.parse(sink.localReplies[0]!.body).error.message).toContain('field "logit_bias."\n" must be an integer, got a string');
    sink.stream.complete();
  });

  it("unknown fields and valid documented ones pass byte for byte", () => {
    const body =
      '{"model":"m1","messages":[{"role":"user","content":[{"type":"text","text":"hi","x-vendor":{"a":[1]}}]}],' +
      '"Temperature":"hot","temperature":0.2,"max_tokens":64,"metadata":{"k":1},"guided_json":{"type":"object"}}';
    passesUnchanged("/v1/chat/completions", body);
  });

  it("a responses body with unknown members at every depth passes byte for byte", () => {
    const body =
      '{"model":"m1","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"hi","x":1}],"y":[2]},' +
      '{"type":"function_call_output","call_id":"c","output":"42","z":{}}],"tools":[{"type":"new_tool","anything":true}],' +
      '"text":{"format":{"type":"json_schema","name":"n","schema":{"type":"object"}},"extra":null},"reasoning":{"effort":"low","w":0}}';
    passesUnchanged("/v1/responses", body);
  });
});
