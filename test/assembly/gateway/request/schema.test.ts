// assembly/gateway/request/schema.ts + openai-schema.ts through body.ts's scan: Envoy AI Gateway v1.1.0's
// schema decoding rules (wrong JSON types, roles, content part types → 400 naming the field), on examples
// and on generated bodies against openai-oracle.ts.
import { beforeAll, describe, expect, it } from "vitest";
import { BUILD_DIR, loadLogicModule, type LogicModule } from "../request-module.js";
import { Gen, rng } from "../json-gen.js";
import { accepts, CHAT, check, COMPLETIONS, EMBEDDINGS, type J, Num, RESPONSES, type T, toJson } from "./openai-oracle.js";

let m: LogicModule;
beforeAll(() => {
  m = loadLogicModule(BUILD_DIR + "logic-request.wasm");
});

function scan(body: string, path: string): { ok: boolean; error?: string } {
  const [pp, pl] = m.put(path);
  const [bp, bl] = m.put(body);
  try {
    m.exports.scanBody(pp, pl, bp, bl);
    return JSON.parse(m.result()) as { ok: boolean; error?: string };
  } finally {
    m.free(pp);
    m.free(bp);
  }
}

const CHAT_PATH = "/v1/chat/completions";
const chat = (extra: string, messages = '[{"role":"user","content":"hi"}]') => `{"model":"m","messages":${messages}${extra ? "," + extra : ""}}`;

describe("chat completions: field types", () => {
  const rejected: Array<[string, string, string]> = [
    ['"temperature":"hot"', "temperature", "must be a number, got a string"],
    ['"max_tokens":"x"', "max_tokens", "must be an integer, got a string"],
    ['"n":1.5', "n", "must be an integer, got 1.5"],
    ['"n":1e2', "n", "must be an integer, got 1e2"],
    ['"n":1.0', "n", "must be an integer, got 1.0"],
    ['"seed":9223372036854775808', "seed", "must be an integer within int64 range"],
    ['"frequency_penalty":1e39', "frequency_penalty", "must be a number within float32 range"],
    ['"top_p":1e400', "top_p", "must be a number within float64 range"],
    ['"logprobs":"yes"', "logprobs", "must be a boolean, got a string"],
    ['"logit_bias":{"50256":"x"}', "logit_bias.50256", "must be an integer, got a string"],
    ['"tools":[{"type":"function","function":{"name":1}}]', "tools[0].function.name", "must be a string, got a number"],
    ['"tool_choice":5', "tool_choice", "must be a string or an object, got a number"],
    ['"stop":5', "stop", "must be a string or an array of strings, got a number"],
    ['"stop":["a",1]', "stop[1]", "must be a string, got a number"],
    ['"response_format":{"json_schema":{}}', "response_format.type", "is missing"],
    ['"response_format":{"type":"yaml"}', "response_format.type", 'must be one of "text", "json_schema", "json_object"'],
    ['"response_format":{"type":"json_schema","json_schema":{"strict":"yes"}}', "response_format.json_schema.strict", "must be a boolean, got a string"],
    ['"prediction":{"content":null}', "prediction.content", "must not be null"],
    ['"modalities":"text"', "modalities", "must be an array, got a string"],
  ];
  for (const [field, path, message] of rejected) {
    it(`rejects ${field}`, () => {
      expect(scan(chat(field), CHAT_PATH)).toEqual({ ok: false, error: `field "${path}" ${message}` });
    });
  }

  const accepted = [
    '"temperature":null',
    '"n":null',
    '"max_tokens":-0',
    '"temperature":1e2',
    '"temperature":-1.5E-3',
    '"seed":-9223372036854775808',
    '"top_p":1e-400',
    '"Temperature":"hot"', // keys are case-sensitive: an unknown key passes
    '"metadata":{"a":1}',
    '"unknown":[{"n":"x"}]',
    '"response_format":{"type":"text","json_schema":5}', // json_schema is not part of the text variant
    '"response_format":null',
    '"tool_choice":"auto"',
    '"tool_choice":{"type":"function","function":{"name":"f"}}',
    '"stop":null',
    '"stop":"x"',
    '"stop":["a",null]',
    '"logit_bias":{}',
    '"thinking":{"type":"enabled","budget_tokens":100}',
  ];
  for (const field of accepted) {
    it(`accepts ${field}`, () => {
      const r = scan(chat(field), CHAT_PATH);
      expect(r.ok, r.error).toBe(true);
    });
  }

  it("checks every occurrence of a duplicate key", () => {
    expect(scan(chat('"n":"x","n":1'), CHAT_PATH).ok).toBe(false);
    expect(scan(chat('"n":1,"n":"x"'), CHAT_PATH).ok).toBe(false);
  });

  it("decodes escaped keys", () => {
    expect(scan(chat('"\\u006e":"x"'), CHAT_PATH)).toEqual({ ok: false, error: 'field "n" must be an integer, got a string' });
  });

  it("escapes the field path in the 400's JSON", () => {
    const r = scan(chat('"logit_bias":{"a\\"b\\u0001":true}'), CHAT_PATH);
    expect(r).toEqual({ ok: false, error: 'field "logit_bias.a"b\u0001" must be an integer, got a boolean' });
  });
});

describe("chat completions: messages", () => {
  const rejected: Array<[string, string]> = [
    ['"hi"', 'field "messages" must be an array, got a string'],
    ['[{"content":"hi"}]', 'field "messages[0].role" is missing'],
    ['[{"role":"bot","content":"hi"}]', 'field "messages[0].role" must be one of "user", "system", "developer", "assistant", "tool"'],
    ['[{"role":5}]', 'field "messages[0].role" must be one of "user", "system", "developer", "assistant", "tool"'],
    ["[null]", 'field "messages[0]" must not be null'],
    ['[{"role":"user","content":"a"},"x"]', 'field "messages[1]" must be an object, got a string'],
    ['[{"role":"user","content":5}]', 'field "messages[0].content" must be a string or an array, got a number'],
    ['[{"role":"system","content":null}]', 'field "messages[0].content" must be a string or an array, got null'],
    [
      '[{"role":"user","content":[{"type":"audio","audio":{}}]}]',
      'field "messages[0].content[0].type" must be one of "text", "input_audio", "image_url", "audio_url", "video_url", "file"',
    ],
    ['[{"role":"user","content":[{"text":"x"}]}]', 'field "messages[0].content[0].type" is missing'],
    ['[{"role":"user","content":[null]}]', 'field "messages[0].content[0]" must be an object, got null'],
    ['[{"role":"user","content":[{"type":"text","text":1}]}]', 'field "messages[0].content[0].text" must be a string, got a number'],
    ['[{"role":"user","content":[{"type":"image_url","image_url":{"url":1}}]}]', 'field "messages[0].content[0].image_url.url" must be a string, got a number'],
    // content before role: the role decides afterwards which rules apply
    ['[{"content":[{"image_url":"x","type":"image_url"}],"role":"user"}]', 'field "messages[0].content[0].image_url" must be an object, got a string'],
    ['[{"content":{"type":"text","text":"x"},"role":"user"}]', 'field "messages[0].content" must be a string or an array, got an object'],
    [
      '[{"role":"assistant","tool_calls":[{"function":{"arguments":{}}}]}]',
      'field "messages[0].tool_calls[0].function.arguments" must be a string, got an object',
    ],
    ['[{"role":"tool","tool_call_id":7,"content":"x"}]', 'field "messages[0].tool_call_id" must be a string, got a number'],
    ['[{"role":"user","name":false}]', 'field "messages[0].name" must be a string, got a boolean'],
    ['[{"role":"user","role":5}]', 'field "messages[0].role" must be a string, got a number'],
  ];
  for (const [messages, error] of rejected) {
    it(`rejects ${messages}`, () => {
      expect(scan(chat("", messages), CHAT_PATH)).toEqual({ ok: false, error });
    });
  }

  const accepted = [
    '[{"role":"user"}]',
    '[{"role":"user","content":null}]',
    '[{"role":"assistant","content":null}]',
    '[{"role":"assistant","content":{"type":"text","text":"x"}}]',
    '[{"role":"assistant","content":[null,{"type":"anything"}]}]',
    '[{"role":"system","content":[{"type":"image_url","image_url":5}]}]', // text parts: type is any string, image_url unknown
    '[{"role":"tool","name":5,"content":"x"}]', // tool messages have no name field
    '[{"role":"user","tool_call_id":5}]', // user messages have no tool_call_id field
    '[{"content":[{"text":"x","type":"text"}],"role":"user"}]',
    '[{"role":"user","content":[{"type":"text","text":"a","image_url":5}]}]', // image_url is unknown to text parts
    '[{"role":"user","role":"bot"}]', // gjson takes the first role
    '[{"r\\u006fle":"us\\u0065r","content":"x"}]',
    '[{"role":"developer","content":[null]}]',
    '[{"Role":"bot","role":"user"}]',
  ];
  for (const messages of accepted) {
    it(`accepts ${messages}`, () => {
      const r = scan(chat("", messages), CHAT_PATH);
      expect(r.ok, r.error).toBe(true);
    });
  }
});

/** One test per [path, body, error]: the error the scan gives, or null for a body it accepts. */
function scanCases(cases: Array<[string, string, string | null]>) {
  for (const [path, body, error] of cases) {
    it(`${path} ${body}`, () => {
      expect(scan(body, path)).toMatchObject(error === null ? { ok: true } : { ok: false, error });
    });
  }
}

describe("completions and embeddings", () => {
  const cases: Array<[string, string, string | null]> = [
    ["/v1/completions", '{"model":"m","prompt":[1,2,"x"]}', 'field "prompt[2]" must be an integer, got a string'],
    ["/v1/completions", '{"model":"m","prompt":[[1],[2.5]]}', 'field "prompt[1][0]" must be an integer, got 2.5'],
    ["/v1/completions", '{"model":"m","prompt":[true]}', 'field "prompt" must be an array of strings, integers or integer arrays, got an array of booleans'],
    ["/v1/completions", '{"model":"m","prompt":"x","echo":1}', 'field "echo" must be a boolean, got a number'],
    ["/v1/completions", '{"model":"m","prompt":[],"stop":5,"best_of":null}', null],
    ["/v1/embeddings", '{"model":"m","input":{"content":"x","task_type":"t"}}', null],
    ["/v1/embeddings", '{"model":"m","input":[{"content":["a"]},{"content":""}]}', 'field "input[1]" must have a non-empty "content"'],
    ["/v1/embeddings", '{"model":"m","input":{"content":5}}', 'field "input.content" must be a string or an array of strings, got a number'],
    [
      "/v1/embeddings",
      '{"model":"m","input":[null]}',
      'field "input" must be an array of strings, integers or integer arrays or objects, got an array of nulls',
    ],
    ["/v1/embeddings", '{"model":"m","input":"x","dimensions":"3"}', 'field "dimensions" must be an integer, got a string'],
    ["/v1/embeddings", '{"model":"m","messages":[{"role":"user","content":"x"}]}', null],
    ["/v1/embeddings", '{"model":"m","messages":[{"role":"x"}]}', 'field "messages[0].role" must be one of "user", "system", "developer", "assistant", "tool"'],
    ["/v1/embeddings", '{"model":"m","input":"x","messages":[]}', 'fields "input" and "messages" must not both be present'],
    ["/v1/responses", '{"model":"m","input":"x","max_output_tokens":1.5}', 'field "max_output_tokens" must be an integer, got 1.5'],
    ["/v1/responses", '{"model":"m","metadata":{"k":1}}', 'field "metadata.k" must be a string, got a number'],
    ["/v1/responses", '{"model":"m","conversation":{"id":"c"},"include":["x"],"input":[{"any":1}]}', null],
  ];
  scanCases(cases);
});

describe("responses in depth, images, speech and tokenize", () => {
  const R = "/v1/responses";
  const item = (json: string) => `{"model":"m","input":[${json}]}`;
  const cases: Array<[string, string, string | null]> = [
    [R, item('{"type":"message","role":"user","content":[{"type":"input_text","text":5}]}'), 'field "input[0].content[0].text" must be a string, got a number'],
    [
      R,
      item('{"role":"user","content":[{"type":"output_audio"}]}'),
      'field "input[0].content[0].type" must be one of "input_text", "input_image", "input_file", "output_text", "refusal"',
    ],
    [R, item('{"role":"user","content":[null]}'), 'field "input[0].content[0]" must not be null'],
    [R, item('{"type":"function_call_output","call_id":"c","output":null}'), 'field "input[0].output" must not be null'],
    [
      R,
      item('{"type":"function_call_output","call_id":"c","output":[{"type":"input_video","video_url":1}]}'),
      'field "input[0].output[0].video_url" must be a string, got a number',
    ],
    [R, item('{"type":"function_call","call_id":"c","name":"f","arguments":{}}'), 'field "input[0].arguments" must be a string, got an object'],
    [
      R,
      item('{"type":"computer_call","id":"i","call_id":"c","action":{"type":"click","x":1.5,"y":2}}'),
      'field "input[0].action.x" must be an integer, got 1.5',
    ],
    [R, item('{"type":"reasoning","id":"r","summary":[{"type":"summary_text","text":1}]}'), 'field "input[0].summary[0].text" must be a string, got a number'],
    [R, item('{"type":"mcp_approval_response","approval_request_id":"a","approve":"yes"}'), 'field "input[0].approve" must be a boolean, got a string'],
    [R, item("null"), 'field "input[0]" must not be null'],
    [R, item('{"id":5,"type":"item_reference"}'), 'field "input[0].id" must be a string, got a number'],
    [R, '{"model":"m","tools":[{"type":"function","name":"f","parameters":"x"}]}', 'field "tools[0].parameters" must be an object, got a string'],
    [
      R,
      '{"model":"m","tools":[{"type":"mcp","server_label":"s","require_approval":5}]}',
      'field "tools[0].require_approval" must be a string or an object, got a number',
    ],
    [R, '{"model":"m","tool_choice":{"name":"f"}}', 'field "tool_choice.type" is missing'],
    [R, '{"model":"m","text":{"format":{"type":"yaml"}}}', 'field "text.format.type" must be one of "text", "json_schema", "json_object"'],
    [R, '{"model":"m","text":{"format":null}}', 'field "text.format" must not be null'],
    [R, '{"model":"m","text":{"format":{"type":"json_schema","name":"n","strict":"yes"}}}', 'field "text.format.strict" must be a boolean, got a string'],
    [R, '{"model":"m","reasoning":{"effort":1}}', 'field "reasoning.effort" must be a string, got a number'],
    [
      R,
      '{"model":"m","prompt":{"id":"p","variables":{"a":"x","b":{"type":"input_file","file_id":2}}}}',
      'field "prompt.variables.b.file_id" must be a string, got a number',
    ],
    [R, '{"model":"m","frequency_penalty":1e39}', 'field "frequency_penalty" must be a number within float32 range'],
    ["/v1/responses/input_tokens", item('{"role":"user","content":5}'), 'field "input[0].content" must be a string or an array, got a number'],
    [R, item('{"role":"user","content":"hi"}'), null],
    [
      R,
      item(
        '{"role":"assistant","content":[{"type":"output_text","text":"t","annotations":[{"type":"url_citation","url":"u","start_index":0,"end_index":1,"title":"x"}]}]}',
      ),
      null,
    ],
    [R, item('{"type":"message","role":"developer","content":[{"type":"input_image","image_url":"u","detail":"low"}],"status":5}'), null],
    [R, item('{"type":"agent_message","anything":[1]}'), null],
    [R, item('{"type":"local_shell_call_output","id":"i","output":[1]}'), null], // `output` is checked for function_call_output only
    [R, '{"model":"m","tools":[{"type":"future_tool","x":1},"raw",null,{"name":5}]}', null],
    [R, '{"model":"m","tool_choice":"auto"}', null],
    [R, '{"model":"m","tool_choice":null,"text":{"format":{"type":"json_schema","name":"n","schema":{"type":"object"},"strict":true}}}', null],
    [R, '{"model":"m","conversation":null,"prompt":{"id":"p","variables":{"a":null,"b":{"type":"input_text","text":"t"}}}}', null],
    ["/v1/images/generations", '{"model":"m","prompt":"p","n":"2"}', 'field "n" must be an integer, got a string'],
    ["/v1/images/generations", '{"model":"m","prompt":"p","output_compression":null,"stream":true,"size":"1024x1024"}', null],
    ["/v1/audio/speech", '{"model":"m","input":"x","voice":"v","speed":"fast"}', 'field "speed" must be a number, got a string'],
    ["/v1/audio/speech", '{"model":"m","input":"x","voice":7}', 'field "voice" must be a string, got a number'],
    ["/tokenize", '{"model":"m","prompt":"x","add_special_tokens":"y"}', 'field "add_special_tokens" must be a boolean, got a string'],
    ["/tokenize", '{"model":"m","messages":[{"role":"bot"}]}', 'field "messages[0].role" must be one of "user", "system", "developer", "assistant", "tool"'],
    ["/tokenize", '{"model":"m","messages":[{"role":"user","content":"x"}],"add_generation_prompt":true}', null],
  ];
  scanCases(cases);

  it("refuses an input item of an unknown type, naming the types", () => {
    const r = scan(item('{"type":"bogus"}'), R);
    expect(r.ok).toBe(false);
    expect(r.error).toMatch(/^field "input\[0\]\.type" must be one of "message", "file_search_call", .*"additional_tools"$/);
  });
});

// Generated bodies ---------------------------------------------------------------------------------------

const WORDS = ["a", "text", "image_url", "user", "function", "json_schema", "auto", ""];

/** A value valid for `t`. */
function valid(g: Gen, t: T, depth = 0): J {
  if (typeof t === "object") {
    if ("tagged" in t) {
      const tag = g.pick(Object.keys(t.variants));
      return { ...validFields(g, t.variants[tag], depth), [t.tagged]: tag };
    }
    if ("obj" in t) return validFields(g, t.obj, depth);
    if ("arr" in t) return Array.from({ length: g.int(3) }, () => valid(g, t.arr, depth + 1));
    if ("map" in t) return Object.fromEntries(Array.from({ length: g.int(3) }, (_, i) => ["k" + i, valid(g, t.map, depth + 1)]));
    if ("nonNull" in t) return valid(g, t.nonNull, depth);
    return g.rand() < 0.5 ? g.pick(WORDS) : valid(g, t.stringOr, depth + 1);
  }
  switch (t) {
    case "string":
      return g.pick(WORDS);
    case "bool":
      return g.rand() < 0.5;
    case "int":
      return new Num(g.pick(["0", "-1", "7", "512", "9223372036854775807"]));
    case "f32":
    case "f64":
      return new Num(g.pick(["0", "0.7", "-1.5e-3", "2", "1E2"]));
    case "any":
    case "unknown":
      return junk(g, depth + 1);
    case "strings":
      return g.rand() < 0.5 ? "x" : ["a", "b"];
    case "prompt":
      return g.pick<J>(["x", ["a", "b"], [new Num("1"), new Num("2")], [[new Num("3")]], []]);
    case "input":
      return g.pick<J>(["x", ["a"], { content: "c", title: "t" }, [{ content: ["a"] }], [new Num("5")]]);
    case "textContent":
      return g.rand() < 0.5 ? "x" : [{ type: "text", text: "x" }];
    case "messages":
      return Array.from({ length: 1 + g.int(3) }, () => validMessage(g));
  }
}

function validFields(g: Gen, table: Record<string, T>, depth: number): { [k: string]: J } {
  const out: { [k: string]: J } = {};
  for (const [k, t] of Object.entries(table)) if (depth < 4 && g.rand() < 0.5) out[k] = valid(g, t, depth + 1);
  return out;
}

function validMessage(g: Gen): J {
  const role = g.pick(["user", "system", "developer", "assistant", "tool"]);
  const contents: Record<string, J[]> = {
    user: [
      "hi",
      [
        { type: "text", text: "x" },
        { type: "image_url", image_url: { url: "u", detail: "low" } },
      ],
      [
        { type: "input_audio", input_audio: { data: "d", format: "wav" } },
        { type: "file", file: { file_id: "f" } },
      ],
      null,
    ],
    assistant: [
      "a",
      null,
      [
        { type: "text", text: "t" },
        { type: "refusal", refusal: "r" },
      ],
      { type: "text", text: "t" },
    ],
  };
  const content = g.pick(contents[role] ?? ["s", [{ type: "text", text: "x" }]]);
  const msg: { [k: string]: J } = { role, content };
  if (role === "tool") msg.tool_call_id = "c1";
  if (role === "assistant" && g.rand() < 0.3) msg.tool_calls = [{ id: "c1", type: "function", function: { name: "f", arguments: "{}" } }];
  if (role !== "tool" && g.rand() < 0.3) msg.name = "n";
  return msg;
}

/** Any value, including wrong ones for every kind. */
function junk(g: Gen, depth = 0): J {
  const r = g.int(depth > 2 ? 9 : 13);
  switch (r) {
    case 0:
      return null;
    case 1:
      return g.rand() < 0.5;
    case 2:
      return g.pick(WORDS);
    case 3:
      return new Num(g.pick(["1", "-0", "1.5", "1e2", "1.0", "-7", "1e400", "1e39", "9223372036854775808", "-9223372036854775809"]));
    case 4:
      return g.pick(["user", "assistant", "system", "tool", "developer", "bot"]);
    case 5:
      return new Num(String(g.int(1000)));
    case 6:
      return [];
    case 7:
      return {};
    case 8:
      return "";
    case 9:
      return Array.from({ length: 1 + g.int(2) }, () => junk(g, depth + 1));
    case 10:
      return { type: g.pick(["text", "image_url", "json_schema", "x", "input_text", "function_call", "message"]), text: junk(g, depth + 1) };
    case 11:
      return { role: g.pick(["user", "assistant", "tool", "bot"]), content: junk(g, depth + 1) };
    default:
      return { [g.pick(["content", "url", "name", "type", "x"])]: junk(g, depth + 1) };
  }
}

/** Every place in `v` a value can be swapped: [container, key]. */
function slots(v: J, out: Array<[{ [k: string]: J } | J[], string | number]> = []) {
  if (Array.isArray(v))
    v.forEach((x, i) => {
      out.push([v, i]);
      slots(x, out);
    });
  else if (v !== null && typeof v === "object" && !(v instanceof Num)) {
    for (const [k, x] of Object.entries(v)) {
      out.push([v, k]);
      slots(x, out);
    }
  }
  return out;
}

function mutateBody(g: Gen, body: { [k: string]: J }, table: Record<string, T>) {
  const n = 1 + g.int(2);
  for (let i = 0; i < n; i++) {
    const r = g.rand();
    if (r < 0.15) {
      body[g.pick(Object.keys(table))] = junk(g);
    } else if (r < 0.2) {
      delete body[g.pick(Object.keys(body))];
    } else {
      const all = slots(body);
      if (all.length === 0) continue;
      const [c, k] = g.pick(all);
      (c as Record<string | number, J>)[k] = junk(g);
    }
  }
}

describe("generated bodies against the oracle", () => {
  const endpoints: Array<[string, Record<string, T>]> = [
    ["/v1/chat/completions", CHAT],
    ["/v1/completions", COMPLETIONS],
    ["/v1/embeddings", EMBEDDINGS],
    ["/v1/responses", RESPONSES],
  ];
  for (const [path, table] of endpoints) {
    it(path, () => {
      const g = new Gen(rng(path.length * 7919));
      let acceptedValid = 0,
        rejected = 0;
      for (let i = 0; i < 4000; i++) {
        const body = validFields(g, table, 0);
        for (const req of ["messages", "prompt", "input"]) if (req in table) body[req] = valid(g, table[req]);
        body.model = "m-" + g.int(5);
        if (path === "/v1/embeddings") delete body.stream;
        const isValid = accepts(body, table);
        expect(isValid, toJson(body)).toBe(true);
        if (i % 4 !== 0) mutateBody(g, body, table);
        const text = toJson(body);
        const want = accepts(body, table);
        const got = scan(text, path);
        expect(got.ok, `${text}\nfilter: ${got.error ?? "accepted"}`).toBe(want);
        if (want) acceptedValid++;
        else rejected++;
      }
      // Both outcomes are well represented, so the comparison means something.
      expect(acceptedValid).toBeGreaterThan(800);
      expect(rejected).toBeGreaterThan(800);
    });
  }

  it("the oracle's integer and float rules", () => {
    expect(check(new Num("1e2"), "int")).toBe(false);
    expect(check(new Num("-9223372036854775808"), "int")).toBe(true);
    expect(check(new Num("3.5e38"), "f32")).toBe(false);
  });
});
