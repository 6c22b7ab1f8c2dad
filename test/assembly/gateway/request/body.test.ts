// assembly/gateway/request/body.ts: one validating pass that takes `model` and the fields the gateway
// relies on; JSON.parse is the oracle for validity and for the model.
import { beforeAll, describe, expect, it } from "vitest";
import { BUILD_DIR, loadLogicModule, type LogicModule } from "../request-module.js";
import { Gen, chatRequest, expectedChat, mutate, rng } from "../json-gen.js";

let m: LogicModule;
beforeAll(() => {
  m = loadLogicModule(BUILD_DIR + "logic-request.wasm");
});

type SpanT = [number, number, number];
interface Facts {
  ok: boolean;
  error?: string;
  model?: string;
  modelSpan: SpanT;
  messages: SpanT;
  prompt: SpanT;
  input: SpanT;
  stream: SpanT;
  streamOptions: SpanT;
  includeUsage: SpanT;
  streamOptionsOpen: number;
  streamOptionsEmpty: boolean;
  objectClose: number;
  streaming: boolean;
}

const KIND = { absent: 0, object: 1, array: 2, string: 3, number: 4, true: 5, false: 6, null: 7 };
const CHAT = "/v1/chat/completions";

function scan(body: string | Uint8Array, path = CHAT): Facts {
  const [pp, pl] = m.put(path);
  const [bp, bl] = m.put(body);
  try {
    m.exports.scanBody(pp, pl, bp, bl);
    return JSON.parse(m.result()) as Facts;
  } finally {
    m.free(pp);
    m.free(bp);
  }
}

const bytes = (s: string) => Buffer.from(s, "utf8");
const slice = (body: string, s: SpanT) => bytes(body).subarray(s[1], s[2]).toString("utf8");

describe("model extraction", () => {
  const msgs = '"messages":[{"role":"user","content":"hi"}]';
  const cases: Array<[string, string, string]> = [
    ["first", `{"model":"m1",${msgs}}`, "m1"],
    ["last", `{${msgs},"model":"m2"}`, "m2"],
    ["middle", `{"a":1,"model":"m3",${msgs},"z":[true]}`, "m3"],
    ["after nested model keys", `{"x":{"model":"no"},${msgs},"tools":[{"model":"no2"}],"model":"yes"}`, "yes"],
    ["before nested model keys", `{"model":"yes",${msgs},"metadata":{"model":"no","deep":{"model":"no"}}}`, "yes"],
    ["model in a string value", `{"content":"\\"model\\":\\"no\\"",${msgs},"model":"yes"}`, "yes"],
    ["escaped quotes in the model", `{"model":"a\\"b\\\\c",${msgs}}`, 'a"b\\c'],
    ["unicode escapes in the model", `{"model":"caf\\u00e9-\\ud83d\\ude00-\\u4e2d",${msgs}}`, "café-😀-中"],
    ["raw UTF-8 in the model", `{"model":"café-😀-中",${msgs}}`, "café-😀-中"],
    ["escaped key", `{"mod\\u0065l":"esc",${msgs}}`, "esc"],
    ["escaped slash", `{"model":"meta-llama\\/Llama-3",${msgs}}`, "meta-llama/Llama-3"],
    ["whitespace everywhere", ` \n\t{ \r\n "model" \t : \n "ws" , \n "messages" : [ { "role" : "user" } ] \n } \n `, "ws"],
    ["duplicate keys: last wins", `{"model":"first",${msgs},"model":"second"}`, "second"],
    ["similar keys", `{"models":"no","mode":"no","Model":"no","model ":"no",${msgs},"model":"yes","modelx":"no"}`, "yes"],
  ];
  for (const [name, body, model] of cases) {
    it(name, () => {
      const f = scan(body);
      expect(f.ok, f.error).toBe(true);
      expect(f.model).toBe(model);
      expect(f.model).toBe(JSON.parse(body).model);
      expect(JSON.parse(slice(body, f.modelSpan))).toBe(model);
      expect(f.messages[0]).toBe(KIND.array);
    });
  }

  it("records spans, stream and stream_options", () => {
    const body = '{"model":"m","messages":[{"role":"user"}],"stream":true,"stream_options":{"a":1,"include_usage":false}}';
    const f = scan(body);
    expect(f).toMatchObject({ ok: true, streaming: true, streamOptionsEmpty: false, objectClose: body.length - 1 });
    expect(slice(body, f.stream)).toBe("true");
    expect(slice(body, f.includeUsage)).toBe("false");
    expect(body[f.streamOptionsOpen]).toBe("{");
    expect(slice(body, f.streamOptions)).toBe('{"a":1,"include_usage":false}');
  });

  it("keeps the last stream_options and what it holds", () => {
    let f = scan('{"model":"m","messages":[{"role":"user"}],"stream_options":{"include_usage":true},"stream_options":{}}');
    expect(f.includeUsage[0]).toBe(KIND.absent);
    expect(f.streamOptionsEmpty).toBe(true);
    f = scan('{"model":"m","messages":[{"role":"user"}],"stream_options":{"include_usage":true},"stream_options":null}');
    expect(f.includeUsage[0]).toBe(KIND.absent);
    expect(f.streamOptions[0]).toBe(KIND.null);
    f = scan('{"model":"m","messages":[{"role":"user"}],"stream_options":{"include_usage":true,"include_usage":false}}');
    expect(f.includeUsage[0]).toBe(KIND.false);
  });

  it("handles a 1 MiB body with the model last and first", () => {
    const content = 'lorem ipsum \\"quoted\\" \\n é 😀 '.repeat(Math.ceil((1 << 20) / 30));
    for (const body of [
      `{"messages":[{"role":"user","content":"${content}"}],"model":"big-last"}`,
      `{"model":"big-first","messages":[{"role":"user","content":"${content}"}]}`,
    ]) {
      expect(bytes(body).length).toBeGreaterThan(1 << 20);
      const f = scan(body);
      expect(f.ok, f.error).toBe(true);
      expect(f.model).toBe(JSON.parse(body).model);
      // Validation is complete: a defect at the very end is found even with the model first.
      const broken = scan(body.slice(0, -1) + ",}");
      expect(broken.ok).toBe(false);
      expect(broken.error).toMatch(/looking for beginning of object key string/);
    }
  });
});

describe("body errors", () => {
  const invalid: Array<[string, RegExp]> = [
    ['{"model": "something", "messages": [invalid json', /invalid character 'i' looking for beginning of value at offset 36/],
    ["", /unexpected end of JSON input/],
    ["{", /unexpected end of JSON input/],
    ['{"model":"m","messages":[1],}', /looking for beginning of object key string at offset 28/],
    ['{"model":"m","messages":[1,]}', /looking for beginning of value at offset 27/],
    ["{'model':'m'}", /looking for beginning of object key string at offset 1/],
    ['{"model":"m\u0001","messages":[1]}', /invalid control character 0x01 in string at offset 11/],
    ['{"model":"\\q","messages":[1]}', /invalid escape sequence in string at offset 10/],
    ['{"model":"\\ud800","messages":[1]}', /lone UTF-16 surrogate/],
    ['{"model":"m","messages":[1]} {}', /invalid character '{' after top-level value at offset 29/],
    ['{"model":"m","messages":[01]}', /invalid number at offset 25/],
    ['{"model":"m","messages":[1.]}', /invalid number at offset 25/],
    ['{"model":"m","messages":[-]}', /invalid number at offset 25/],
    ['{"model":"m","messages":[1e]}', /invalid number at offset 25/],
    ['{"model":"m","messages":[tru]}', /invalid literal at offset 25/],
    ['[{"model":"m"}]', /request body must be a JSON object, got array/],
    ['"model"', /request body must be a JSON object, got string/],
    ["null", /request body must be a JSON object, got null/],
    ["[1,]", /looking for beginning of value/],
    ['{"a":' + "[".repeat(600) + "]".repeat(600) + "}", /nesting deeper than 512 levels/],
  ];
  for (const [body, message] of invalid) {
    it(`rejects ${JSON.stringify(body.slice(0, 60))}`, () => {
      const f = scan(body);
      expect(f.ok).toBe(false);
      expect(f.error).toMatch(message);
    });
  }

  it("rejects invalid UTF-8 inside strings", () => {
    const f = scan(Buffer.concat([bytes('{"model":"m'), Buffer.from([0xc3, 0x28]), bytes('","messages":[1]}')]));
    expect(f).toMatchObject({ ok: false, error: "invalid UTF-8 in string at offset 11" });
  });

  it("rejects every truncation of a request", () => {
    const body =
      '{"model":"m\\u00e9","messages":[{"role":"user","content":"a \\"b\\" 😀"}],"stream":true,"stream_options":{"include_usage":false},"temperature":-0.5e-3,"stop":null}';
    expect(scan(body).ok).toBe(true);
    const b = bytes(body);
    for (let n = 0; n < b.length; n++) {
      const f = scan(b.subarray(0, n));
      expect(f.ok, String(n)).toBe(false);
      expect(f.error, String(n)).toMatch(/unexpected end of JSON input|invalid UTF-8/);
    }
  });
});

describe("field rules per endpoint", () => {
  const P = {
    chat: "/v1/chat/completions",
    completions: "/v1/completions",
    embeddings: "/v1/embeddings",
    responses: "/v1/responses",
    images: "/v1/images/generations",
    speech: "/v1/audio/speech",
    tokenize: "/tokenize",
    inputTokens: "/v1/responses/input_tokens",
  };
  // [path, body, expected error or null]
  const table: Array<[string, string, string | null]> = [
    [P.chat, '{"messages":[{"role":"user"}]}', 'missing required field "model"'],
    [P.chat, '{"model":null,"messages":[{"role":"user"}]}', 'missing required field "model"'],
    [P.chat, '{"model":42,"messages":[{"role":"user"}]}', 'field "model" must be a string, got a number'],
    [P.chat, '{"model":["m"],"messages":[{"role":"user"}]}', 'field "model" must be a string, got an array'],
    [P.chat, '{"model":{"id":"m"},"messages":[{"role":"user"}]}', 'field "model" must be a string, got an object'],
    [P.chat, '{"model":true,"messages":[{"role":"user"}]}', 'field "model" must be a string, got a boolean'],
    [P.chat, '{"model":"","messages":[{"role":"user"}]}', 'field "model" must not be empty'],
    [P.chat, '{"model":"a\\nb","messages":[{"role":"user"}]}', 'field "model" must not contain control characters'],
    [P.chat, '{"model":"a\\u0000","messages":[{"role":"user"}]}', 'field "model" must not contain control characters'],
    [P.chat, '{"model":"a\u007f","messages":[{"role":"user"}]}', 'field "model" must not contain control characters'],
    [P.chat, '{"model":"é\u007f","messages":[{"role":"user"}]}', 'field "model" must not contain control characters'],
    [P.chat, '{"model":"\u007fé","messages":[{"role":"user"}]}', 'field "model" must not contain control characters'],
    [P.chat, '{"model":"a\\t","messages":[{"role":"user"}]}', 'field "model" must not contain control characters'],
    [P.chat, '{"model":"m","messages":"hi"}', 'field "messages" must be an array, got a string'],
    [P.chat, '{"model":"m","messages":[]}', 'field "messages" must be a non-empty array, got an empty array'],
    [P.chat, '{"model":"m","messages":[ \n ]}', 'field "messages" must be a non-empty array, got an empty array'],
    [P.chat, '{"model":"m"}', 'missing required field "messages"'],
    [P.chat, '{"model":"m","messages":null}', 'missing required field "messages"'],
    [P.chat, '{"model":"m","messages":[{"role":"user"}],"stream":"true"}', 'field "stream" must be a boolean, got a string'],
    [P.chat, '{"model":"m","messages":[{"role":"user"}],"stream":1}', 'field "stream" must be a boolean, got a number'],
    [P.chat, '{"model":"m","messages":[{"role":"user"}],"stream":null}', null],
    [P.chat, '{"model":"m","messages":[{"role":"user"}],"stream":false}', null],
    [P.chat, '{"model":"m","messages":[{"role":"user"}],"stream_options":[]}', 'field "stream_options" must be an object, got an array'],
    [P.chat, '{"model":"m","messages":[{"role":"user"}],"stream_options":true}', 'field "stream_options" must be an object, got a boolean'],
    [P.chat, '{"model":"m","messages":[{"role":"user"}],"stream_options":null}', null],
    [
      P.chat,
      '{"model":"m","messages":[{"role":"user"}],"stream_options":{"include_usage":"yes"}}',
      'field "stream_options.include_usage" must be a boolean, got a string',
    ],
    [P.chat, '{"model":"m","messages":[{"role":"user"}],"stream_options":{"include_usage":null}}', null],
    [P.chat, '{"model":"m","messages":[{"role":"user"}],"prompt":5,"input":{}}', null],
    [P.completions, '{"model":"m","prompt":"hi"}', null],
    [P.completions, '{"model":"m","prompt":[1,2,3]}', null],
    [P.completions, '{"model":"m","prompt":[]}', null],
    [P.completions, '{"model":"m"}', 'missing required field "prompt"'],
    [P.completions, '{"model":"m","prompt":7}', 'field "prompt" must be a string or an array, got a number'],
    [P.completions, '{"model":"m","prompt":"x","stream":"no"}', 'field "stream" must be a boolean, got a string'],
    [P.completions, '{"model":"m","prompt":"x","messages":"x"}', null],
    [P.embeddings, '{"model":"m","input":"hi"}', null],
    [P.embeddings, '{"model":"m","input":["a","b"]}', null],
    [P.embeddings, '{"model":"m"}', 'missing required field "input"'],
    [P.embeddings, '{"model":"m","input":{"text":"a"}}', 'field "input" must have a non-empty "content"'],
    [P.embeddings, '{"model":"m","input":true}', 'field "input" must be a string, an object or an array, got a boolean'],
    [P.embeddings, '{"model":"m","input":"a","stream":"x"}', null],
    [P.embeddings, '{"input":"a"}', 'missing required field "model"'],
    [P.responses, '{"model":"m"}', null],
    [P.responses, '{"model":"m","input":[{"role":"user","content":"x"}],"stream":true}', null],
    [P.responses, '{"model":"m","input":3}', 'field "input" must be a string or an array, got a number'],
    [P.responses, '{"model":"m","stream":"yes"}', 'field "stream" must be a boolean, got a string'],
    [P.inputTokens, '{"model":"m","input":"x"}', null],
    [P.images, '{"model":"m","prompt":"a cat"}', null],
    [P.images, '{"model":"m"}', 'missing required field "prompt"'],
    [P.images, '{"model":"m","prompt":["a"]}', 'field "prompt" must be a string, got an array'],
    [P.speech, '{"model":"m","input":"hello","voice":"alloy"}', null],
    [P.speech, '{"model":"m","input":["hello"]}', 'field "input" must be a string, got an array'],
    [P.tokenize, '{"model":"m","prompt":"hello"}', null],
    [P.tokenize, '{"prompt":"hello"}', 'missing required field "model"'],
  ];
  for (const [path, body, error] of table) {
    it(`${path} ${body}`, () => {
      const f = scan(body, path);
      if (error === null) expect(f.ok, f.error).toBe(true);
      else expect(f).toMatchObject({ ok: false, error });
    });
  }
});

describe("against JSON.parse on generated requests", () => {
  it("agrees on 3000 generated chat requests", () => {
    const g = new Gen(rng(11));
    let ok = 0;
    for (let i = 0; i < 3000; i++) {
      const body = chatRequest(g);
      const b = bytes(body);
      const exp = expectedChat(b);
      const f = scan(b);
      expect(f.ok, body).toBe(exp.ok);
      if (exp.ok) {
        ok++;
        expect(f.model, body).toBe(exp.model);
      }
    }
    // About a third are valid: random duplicates of known keys are type-checked too, and often wrong.
    expect(ok).toBeGreaterThan(900);
  });

  it("agrees on 3000 mutated chat requests", () => {
    const g = new Gen(rng(12));
    for (let i = 0; i < 3000; i++) {
      const doc = mutate(g, bytes(chatRequest(g)));
      const exp = expectedChat(doc);
      const f = scan(doc);
      expect(f.ok, Buffer.from(doc).toString("latin1")).toBe(exp.ok);
      if (exp.ok) expect(f.model).toBe(exp.model);
    }
  });
});
