// assembly/gateway/request/decide.ts, route.ts and rewrite.ts: the request path's answers in Envoy AI
// Gateway's shapes (v1.1.0) and byte-exact body rewrites.
import { beforeAll, describe, expect, it } from "vitest";
import { BUILD_DIR, loadLogicModule, type LogicModule } from "../request-module.js";
import { loadConfig, sampleConfig } from "../fixtures.js";

let m: LogicModule;
beforeAll(() => {
  m = loadLogicModule(BUILD_DIR + "logic-request.wasm");
  expect(loadConfig(m, sampleConfig())).toBeNull();
});

interface Reply {
  status: number;
  contentType: string;
  body: string;
}
interface Decision {
  reply: Reply | null;
  model: string;
  upstreamModel: string;
  rule: string | null;
  backend: string | null;
  body: string | null;
  /** The xDS route an unshared rate limit rule counts under (tokens/route-key.ts). */
  xdsRoute: string | null;
}

const NO_ROUTE = "No matching route found. It is likely because the model specified in your request is not configured in the Gateway.";
const MSGS = '"messages":[{"role":"user","content":"hi"}]';

function onHeaders(path: string, contentLength = -1): { endpoint: number; operation: string; reply: Reply | null } {
  const [p, l] = m.put(path);
  try {
    m.exports.decideHeaders(p, l, BigInt(contentLength));
    return JSON.parse(m.result());
  } finally {
    m.free(p);
  }
}

function onBody(path: string, body: string | Uint8Array, headers: Record<string, string> = {}, random = 0.5, forceUsage = false): Decision {
  const [pp, pl] = m.put(path);
  const [bp, bl] = m.put(body);
  const [hp, hl] = m.put(JSON.stringify(headers));
  try {
    m.exports.decideBody(pp, pl, bp, bl, hp, hl, random, forceUsage ? 1 : 0);
    return JSON.parse(m.result());
  } finally {
    m.free(pp);
    m.free(bp);
    m.free(hp);
  }
}

/** rewriteBody: the new bytes, or null when unchanged. */
function rewrite(body: string, newModel: string, forceUsage: boolean): string | null {
  const [bp, bl] = m.put(body);
  const [mp, ml] = m.put(newModel);
  try {
    const n = m.exports.rewriteBody(bp, bl, mp, ml, forceUsage ? 1 : 0) as number;
    if (n === -2) throw new Error("body rejected");
    return n < 0 ? null : Buffer.from(m.resultBytes()).toString("utf8");
  } finally {
    m.free(bp);
    m.free(mp);
  }
}

describe("on request headers", () => {
  it("answers 404 unsupported path for other paths (scenario 1), query stripped", () => {
    expect(onHeaders("/unknown")).toEqual({
      endpoint: 0,
      operation: "unknown",
      reply: { status: 404, contentType: "text/plain", body: "unsupported path: /unknown" },
    });
    expect(onHeaders("/v1/chat/completions/")?.reply?.body).toBe("unsupported path: /v1/chat/completions/");
    expect(onHeaders("/v1/audio/transcriptions?x=1")?.reply).toBeNull();
    expect(onHeaders("/anthropic/v1/messages")?.reply?.body).toBe("unsupported path: /anthropic/v1/messages");
    expect(onHeaders("/V1/chat/completions")?.reply?.status).toBe(404);
  });

  it("serves /v1/models itself (scenario 23)", () => {
    const d = onHeaders("/v1/models?limit=5");
    expect(d.reply).toMatchObject({ status: 200, contentType: "application/json" });
    const list = JSON.parse(d.reply!.body);
    expect(list.object).toBe("list");
    expect(list.data.map((x: { id: string }) => x.id)).toEqual(["meta-llama/Llama-3.1-8B-Instruct", "some-cool-self-hosted-model", 'quote"d']);
    expect(list.data.every((x: { object: string }) => x.object === "model")).toBe(true);
  });

  it("buffers AI endpoints and answers 413 over the body limit", () => {
    const paths = [
      "/v1/chat/completions",
      "/v1/completions",
      "/v1/embeddings",
      "/v1/responses",
      "/v1/responses/input_tokens",
      "/v1/images/generations",
      "/v1/audio/speech",
      "/tokenize",
      "/v1/chat/completions?api-version=1",
    ];
    paths.forEach((p) => expect(onHeaders(p, 100).reply, p).toBeNull());
    expect(paths.map((p) => onHeaders(p).operation)).toEqual([
      "chat",
      "completion",
      "embeddings",
      "responses",
      "responses_input_tokens",
      "image_generation",
      "speech",
      "tokenize",
      "chat",
    ]);
    expect(onHeaders("/v1/chat/completions", -1).reply).toBeNull();
    expect(onHeaders("/v1/chat/completions", 52428800).reply).toBeNull();
    const r = onHeaders("/v1/chat/completions", 52428801).reply!;
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body)).toEqual({
      type: "error",
      error: { type: "PayloadTooLarge", code: "413", message: "request body exceeds the limit of 52428800 bytes" },
    });
    m.exports.tooLarge(52428801n);
    expect(JSON.parse(m.result()).status).toBe(413);
    m.exports.tooLarge(10n);
    expect(m.result()).toBe("null");
  });

  it("reads content-length as decimal digits only, saturating instead of wrapping (property, hostile values)", () => {
    const MAX = 2n ** 63n - 1n;
    const expected = (v: string) => (/^[0-9]+$/.test(v) ? (BigInt(v) > MAX ? MAX : BigInt(v)) : -1n);
    const parse = (v: string) => {
      const [p, l] = m.put(v);
      try {
        return l === 0 ? (m.exports.parseContentLength(0, 0) as bigint) : (m.exports.parseContentLength(p, l) as bigint);
      } finally {
        m.free(p);
      }
    };
    const fixed = [
      "",
      "0",
      "42",
      "007",
      "18446744073709551617",
      "9223372036854775807",
      "9223372036854775808",
      "99999999999999999999",
      "-1",
      "+5",
      " 5",
      "5 ",
      "1e9",
      "0x10",
      "12a",
      "٣",
      "１",
    ];
    let seed = 7;
    const rand = (n: number) => (seed = (seed * 1103515245 + 12345) >>> 0) % n;
    const alphabet = "0123456789 +-xe.\t٣";
    const generated = Array.from({ length: 3000 }, () => Array.from({ length: 1 + rand(24) }, () => alphabet[rand(alphabet.length)]).join(""));
    for (const v of [...fixed, ...generated]) expect(parse(v), JSON.stringify(v)).toBe(expected(v));
  });
});

describe("on the request body", () => {
  it("answers 400 in Envoy AI Gateway's shape for malformed JSON (scenario 2)", () => {
    const d = onBody("/v1/chat/completions", '{"model": "something", "messages": [invalid json');
    expect(d.reply!.status).toBe(400);
    expect(d.reply!.contentType).toBe("application/json");
    expect(d.reply!.body).toContain('"type":"error"');
    expect(d.reply!.body).toContain('"type":"BadRequest"');
    expect(d.reply!.body).toContain('"code":"400"');
    expect(d.reply!.body).toContain("malformed request: failed to parse JSON for /v1/chat/completions:");
    expect(JSON.parse(d.reply!.body)).toEqual({
      type: "error",
      error: {
        type: "BadRequest",
        code: "400",
        message: "malformed request: failed to parse JSON for /v1/chat/completions: invalid character 'i' looking for beginning of value at offset 36",
      },
    });
  });

  it("answers 400 for a missing or non-string model, with the path's query stripped", () => {
    let d = onBody("/v1/chat/completions?x=1", `{${MSGS}}`);
    expect(JSON.parse(d.reply!.body).error.message).toBe('malformed request: failed to parse JSON for /v1/chat/completions: missing required field "model"');
    d = onBody("/v1/embeddings", '{"model":7,"input":"x"}');
    expect(d.reply!.status).toBe(400);
    expect(JSON.parse(d.reply!.body).error.message).toBe(
      'malformed request: failed to parse JSON for /v1/embeddings: field "model" must be a string, got a number',
    );
  });

  it("escapes the detail in the JSON error body", () => {
    const d = onBody("/v1/chat/completions", '{"model":"m","messages":[1]}"');
    const parsed = JSON.parse(d.reply!.body);
    expect(parsed.error.message).toBe(
      "malformed request: failed to parse JSON for /v1/chat/completions: invalid character '\"' after top-level value at offset 28",
    );
  });

  it("routes by the body's model (scenario 3) and ignores a client's x-ai-eg-model (scenario 5)", () => {
    const body = `{${MSGS},"model":"some-cool-self-hosted-model"}`;
    let d = onBody("/v1/chat/completions", body);
    expect(d).toEqual({
      reply: null,
      model: "some-cool-self-hosted-model",
      upstreamModel: "some-cool-self-hosted-model",
      rule: "default/llm-d-route/rule/1",
      backend: "default/envoy-ai-gateway-basic-testupstream",
      body: null,
      xdsRoute: "httproute/default/llm-d-route/rule/1/match/0/*",
    });
    d = onBody("/v1/chat/completions", body, { "x-ai-eg-model": "meta-llama/Llama-3.1-8B-Instruct" });
    expect(d.backend).toBe("default/envoy-ai-gateway-basic-testupstream");
    d = onBody("/v1/chat/completions", `{"model":"other",${MSGS}}`, { "x-ai-eg-model": "some-cool-self-hosted-model" });
    expect(d.reply).toEqual({ status: 404, contentType: "text/plain", body: NO_ROUTE });
  });

  it("answers 404 No matching route for an unknown model (scenario 4)", () => {
    const d = onBody("/v1/chat/completions", `{"model":"non-existent-model",${MSGS}}`);
    expect(d.reply).toEqual({ status: 404, contentType: "text/plain", body: NO_ROUTE });
    expect(d.model).toBe("non-existent-model");
  });

  it("sends pools the client's model whatever their modelNameOverride", () => {
    const d = onBody("/v1/completions", '{"model":"meta-llama/Llama-3.1-8B-Instruct","prompt":"x"}');
    // The pool's modelNameOverride waits for the EPP's pick: the EPP gets the client's body.
    expect(d).toMatchObject({ reply: null, backend: "default/vllm-llama3-8b-instruct", upstreamModel: "meta-llama/Llama-3.1-8B-Instruct", body: null });
  });

  it("matches regular expressions fully and applies modelNameOverride (scenario 6)", () => {
    const body = `{"model":"mistral-7b",${MSGS},"temperature":0.2}`;
    const d = onBody("/v1/chat/completions", body, {}, 0.1);
    expect(d).toMatchObject({ reply: null, model: "mistral-7b", upstreamModel: "mistral-override", backend: "default/a" });
    expect(d.body).toBe(`{"model":"mistral-override",${MSGS},"temperature":0.2}`);
    const other = onBody("/v1/chat/completions", body, {}, 0.9);
    expect(other).toMatchObject({ backend: "default/b", upstreamModel: "mistral-7b", body: null });
    expect(onBody("/v1/chat/completions", `{"model":"mistral-7bx",${MSGS}}`).reply?.status).toBe(404);
    expect(onBody("/v1/chat/completions", `{"model":"xmistral-7b",${MSGS}}`).reply?.status).toBe(404);
  });

  it("ANDs the headers of one match and ORs the matches", () => {
    const body = `{"model":"tenant-model",${MSGS}}`;
    expect(onBody("/v1/chat/completions", body, { "x-tenant": "gold" }).backend).toBe("default/tenant-backend");
    expect(onBody("/v1/chat/completions", body, { "x-tenant": "bronze" }).backend).toBe("default/tenant-backend");
    expect(onBody("/v1/chat/completions", body, { "x-tenant": "tin" }).reply?.body).toBe(NO_ROUTE);
    expect(onBody("/v1/chat/completions", body).reply?.body).toBe(NO_ROUTE);
  });

  it("answers 500 when the matched rule has only weight-0 backends", () => {
    const d = onBody("/v1/chat/completions", `{"model":"disabled-model",${MSGS}}`);
    expect(d.reply!.status).toBe(500);
    expect(JSON.parse(d.reply!.body).error.message).toBe("no backend with a positive weight in rule default/disabled/rule/0");
  });

  it("answers 413 when the buffered body exceeds the limit", () => {
    expect(loadConfig(m, { ...sampleConfig(), maxRequestBodyBytes: 100 })).toBeNull();
    try {
      const body = `{"model":"some-cool-self-hosted-model",${MSGS}}`;
      expect(onBody("/v1/chat/completions", body.padEnd(100)).reply).toBeNull();
      expect(onBody("/v1/chat/completions", body.padEnd(101)).reply?.status).toBe(413);
    } finally {
      expect(loadConfig(m, sampleConfig())).toBeNull();
    }
  });

  it("forces include_usage only for streaming chat when asked", () => {
    const chat = `{"model":"some-cool-self-hosted-model",${MSGS},"stream": true}`;
    expect(onBody("/v1/chat/completions", chat, {}, 0.5, true).body).toBe(chat.slice(0, -1) + ',"stream_options":{"include_usage":true}}');
    expect(onBody("/v1/chat/completions", chat, {}, 0.5, false).body).toBeNull();
    const completion = '{"model":"some-cool-self-hosted-model","prompt":"x","stream":true}';
    expect(onBody("/v1/completions", completion, {}, 0.5, true).body).toBeNull();
  });
});

describe("body rewrites keep every other byte", () => {
  it("replaces only the model value, JSON-escaped", () => {
    const body = ' {\n  "messages": [{"role":"user","content":"the \\"model\\": stays"}],\n  "model" :  "requested-model" ,\n  "x":{"model":"nested"}\n}\n';
    const out = rewrite(body, 'new "model"\\é', false)!;
    expect(out).toBe(body.replace('"requested-model"', '"new \\"model\\"\\\\é"'));
    expect(JSON.parse(out).model).toBe('new "model"\\é');
    expect(rewrite(body, "requested-model", false)).toBeNull();
    expect(rewrite(body, "", false)).toBeNull();
  });

  it("rewrites the last of duplicate model keys and an escaped model token whole", () => {
    const body = `{"model":"a",${MSGS},"model":"b\\u00e9"}`;
    expect(rewrite(body, "c", false)).toBe(`{"model":"a",${MSGS},"model":"c"}`);
  });

  // A stream must report its usage when costs are configured.
  const usage: Array<[string, string | null]> = [
    [
      '{"model":"m",' + MSGS + ',"stream": true, "stream_options": {"include_usage": false}}',
      '{"model":"m",' + MSGS + ',"stream": true, "stream_options": {"include_usage": true}}',
    ],
    ['{"model":"m",' + MSGS + ',"stream": true}', '{"model":"m",' + MSGS + ',"stream": true,"stream_options":{"include_usage":true}}'],
    ['{"model":"m",' + MSGS + ',"stream": true }\n', '{"model":"m",' + MSGS + ',"stream": true ,"stream_options":{"include_usage":true}}\n'],
    [
      '{"stream":true,"stream_options":{"include_usage":null},"model":"m",' + MSGS + "}",
      '{"stream":true,"stream_options":{"include_usage":true},"model":"m",' + MSGS + "}",
    ],
    ['{"stream":true,"stream_options":{},"model":"m",' + MSGS + "}", '{"stream":true,"stream_options":{"include_usage":true},"model":"m",' + MSGS + "}"],
    ['{"stream":true,"stream_options":{ },"model":"m",' + MSGS + "}", '{"stream":true,"stream_options":{"include_usage":true },"model":"m",' + MSGS + "}"],
    [
      '{"stream":true,"stream_options":{"continuous_usage_stats":true},"model":"m",' + MSGS + "}",
      '{"stream":true,"stream_options":{"include_usage":true,"continuous_usage_stats":true},"model":"m",' + MSGS + "}",
    ],
    ['{"stream":true,"stream_options":null,"model":"m",' + MSGS + "}", '{"stream":true,"stream_options":{"include_usage":true},"model":"m",' + MSGS + "}"],
    [
      '{"stream":true,"stream_options":{"include_usage":true,"include_usage":false},"model":"m",' + MSGS + "}",
      '{"stream":true,"stream_options":{"include_usage":true,"include_usage":true},"model":"m",' + MSGS + "}",
    ],
    // Already asking for usage, or not streaming: untouched.
    ['{"model":"m",' + MSGS + ',"stream":true,"stream_options":{"include_usage":true}}', null],
    ['{"model":"m",' + MSGS + ',"stream":false}', null],
    ['{"model":"m",' + MSGS + "}", null],
    ['{"model":"m",' + MSGS + ',"stream":null,"stream_options":{"include_usage":false}}', null],
  ];
  for (const [input, output] of usage) {
    it(`include_usage: ${input}`, () => {
      expect(rewrite(input, "", true)).toBe(output);
      expect(rewrite(input, "", false)).toBeNull();
      if (output !== null) expect(JSON.parse(output).stream_options.include_usage).toBe(true);
    });
  }

  it("combines the override with forced usage in either order", () => {
    expect(rewrite('{"stream":true,"model":"m",' + MSGS + "}", "o", true)).toBe(
      '{"stream":true,"model":"o",' + MSGS + ',"stream_options":{"include_usage":true}}',
    );
    expect(rewrite('{"stream_options":{},"stream":true,' + MSGS + ',"model":"m"}', "o", true)).toBe(
      '{"stream_options":{"include_usage":true},"stream":true,' + MSGS + ',"model":"o"}',
    );
  });

  it("rewrites a 1 MiB body", () => {
    const content = "x".repeat(1 << 20);
    const body = `{"messages":[{"role":"user","content":"${content}"}],"model":"m","stream":true}`;
    const out = rewrite(body, "override", true)!;
    expect(out).toBe(`{"messages":[{"role":"user","content":"${content}"}],"model":"override","stream":true,"stream_options":{"include_usage":true}}`);
  });
});

describe("rules limited to host names (Gateway API hostname precedence)", () => {
  const rule = (route: string, model: string, backend: string, hostnames?: string[]) => ({
    route,
    index: 0,
    matches: [{ headers: [{ name: "x-ai-eg-model", type: "Exact", value: model }] }],
    backends: [{ name: backend, kind: "AIServiceBackend", weight: 1, modelNameOverride: "" }],
    ...(hostnames ? { hostnames } : {}),
  });
  const chat = (model: string, authority?: string) =>
    onBody("/v1/chat/completions", `{"model":"${model}",${MSGS}}`, authority === undefined ? {} : { ":authority": authority });

  it("ranks an exact host name, then the longest wildcard, then rules for every host; others do not match", () => {
    const config = {
      ...sampleConfig(),
      rules: [
        rule("default/any", "m", "default/any"),
        rule("default/wild", "m", "default/wild", ["*.example.com"]),
        rule("default/deeper", "m", "default/deeper", ["*.api.example.com"]),
        rule("default/exact", "m", "default/exact", ["other.test", "api.example.com"]),
        rule("default/scoped-only", "s", "default/scoped-only", ["api.example.com"]),
      ],
    };
    expect(loadConfig(m, config)).toBeNull();
    try {
      expect(chat("m", "api.example.com").backend).toBe("default/exact");
      expect(chat("m", "API.Example.com:443").backend).toBe("default/exact");
      expect(chat("m", "v1.api.example.com").backend).toBe("default/deeper");
      expect(chat("m", "a.b.example.com").backend).toBe("default/wild");
      expect(chat("m", "example.com").backend).toBe("default/any");
      expect(chat("m").backend).toBe("default/any");
      expect(chat("s", "api.example.com").backend).toBe("default/scoped-only");
      expect(chat("s", "www.example.com").reply?.body).toBe(NO_ROUTE);
      expect(chat("s").reply?.status).toBe(404);
      // Token budgets count per xDS route: each host name of a rule is a route of its own (Envoy Gateway v1.8).
      expect(chat("m", "API.Example.com:443").xdsRoute).toBe("httproute/default/exact/rule/0/match/0/api_example_com");
      expect(chat("m", "other.test").xdsRoute).toBe("httproute/default/exact/rule/0/match/0/other_test");
      expect(chat("m", "a.b.example.com").xdsRoute).toBe("httproute/default/wild/rule/0/match/0/*_example_com");
      expect(chat("m", "example.com").xdsRoute).toBe("httproute/default/any/rule/0/match/0/*");
      expect(chat("s", "www.example.com").xdsRoute).toBeNull();
    } finally {
      expect(loadConfig(m, sampleConfig())).toBeNull();
    }
  });
});
