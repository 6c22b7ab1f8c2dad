// assembly/gateway/config.ts (PluginConfig parsing, validation, compilation), request/route.ts (rules and
// weights) and request/models.ts (/v1/models).
import { beforeAll, describe, expect, it } from "vitest";
import { BUILD_DIR, loadLogicModule, type LogicModule } from "./request-module.js";
import { loadConfig, sampleConfig } from "./fixtures.js";
import { Gen, mutate, rng } from "./json-gen.js";
import { PLUGIN_CONFIG_VERSION } from "../../../src-host/config/plugin-config.js";

/** The start of a hand-written document: the contract version and the empty token sections. */
const HEAD = `{"version":"${PLUGIN_CONFIG_VERSION}","costs":[],"rateLimits":[],`;

let m: LogicModule;
beforeAll(() => {
  m = loadLogicModule(BUILD_DIR + "logic-request.wasm");
});

describe("plugin configuration", () => {
  it("accepts the sample configuration, pretty-printed too, and unknown keys", () => {
    expect(loadConfig(m, sampleConfig())).toBeNull();
    expect(loadConfig(m, JSON.stringify(sampleConfig(), null, 2))).toBeNull();
    expect(loadConfig(m, { ...sampleConfig(), futureField: { nested: [1, 2e5, "\u00e9"] }, "\u0000x": 1 })).toBeNull();
  });

  it("reads integers with exponents or fractions and escaped keys like any JSON reader", () => {
    expect(loadConfig(m, HEAD + '"rul\\u0065s":[],"models":[],"pools":[],"maxRequestBodyBytes":5e7}')).toBeNull();
    m.exports.tooLarge(50000001n);
    expect(JSON.parse(m.result()).status).toBe(413);
    expect(loadConfig(m, HEAD + '"rules":[],"models":[],"pools":[],"maxRequestBodyBytes":100.0e0}')).toBeNull();
    m.exports.tooLarge(100n);
    expect(m.result()).toBe("null");
    m.exports.tooLarge(101n);
    expect(JSON.parse(m.result()).status).toBe(413);
  });

  it("keeps every value through parsing and compiling", () => {
    const c = sampleConfig();
    c.rules[1].route = 'ns/"quoted" \\ é 😀';
    c.rules[2].backends[2].weight = 4294967295;
    c.pools[0].timeoutMs = 2147483647;
    c.pools[0].allowModeOverride = true;
    c.maxRequestBodyBytes = 2147483647;
    // Also with the non-ASCII characters and the slash written as escapes.
    const escaped = JSON.stringify(c).replace("é", "\\u00e9").replace("😀", "\\ud83d\\ude00").replaceAll("/", "\\/");
    expect(JSON.parse(escaped)).toEqual(c);
    for (const doc of [JSON.stringify(c), escaped]) {
      expect(loadConfig(m, doc)).toBeNull();
      m.exports.configDump();
      expect(JSON.parse(m.result())).toEqual(expected(c));
    }
  });

  function expected(c: ReturnType<typeof sampleConfig>) {
    return {
      maxRequestBodyBytes: 2147483647,
      rules: c.rules.map((r) => ({
        route: r.route,
        index: r.index,
        totalWeight: r.backends.reduce((s, b) => s + b.weight, 0),
        matches: r.matches.map((mm) =>
          mm.headers.map((h) => ({
            name: h.name.toLowerCase(),
            exact: h.type === "Exact" ? h.value : "",
            regex: h.type === "RegularExpression" ? h.value : null,
          })),
        ),
        backends: r.backends.map((b) => ({
          name: b.name,
          kind: b.kind === "InferencePool" ? 1 : 0,
          weight: b.weight,
          modelNameOverride: b.modelNameOverride,
          pool: b.kind === "InferencePool" ? b.name : null,
        })),
      })),
      pools: c.pools,
    };
  }

  type Mutate = (c: any) => void;
  const invalid: Array<[string, Mutate | string, string]> = [
    ["not JSON", "{rules:[]}", "invalid character 'r' looking for beginning of object key string at offset 1"],
    ["truncated", '{"rules":[', "unexpected end of JSON input"],
    ["not an object", "[]", "configuration: must be an object, got array"],
    ["trailing data", JSON.stringify(sampleConfig()) + "x", "after top-level value"],
    ["missing rules", (c) => delete c.rules, "rules: missing"],
    ["missing costs", (c) => delete c.costs, "costs: missing"],
    [
      "another contract version",
      (c) => (c.version = "v0"),
      `contract version "v0" of the configuration differs from "${PLUGIN_CONFIG_VERSION}" of this module`,
    ],
    [
      "another contract version and shape",
      (c) => {
        c.version = "v2";
        c.rules = { renamed: true };
      },
      `contract version "v2" of the configuration differs from "${PLUGIN_CONFIG_VERSION}" of this module`,
    ],
    ["no contract version", (c) => delete c.version, `contract version (none) of the configuration differs from "${PLUGIN_CONFIG_VERSION}"`],
    ["contract version not a string", (c) => (c.version = 1), "version: must be a string, got number"],
    ["missing maxRequestBodyBytes", (c) => delete c.maxRequestBodyBytes, "maxRequestBodyBytes: missing"],
    ["rules not an array", (c) => (c.rules = {}), "rules: must be an array, got object"],
    ["rule not an object", (c) => (c.rules[1] = 5), "rules[1]: must be an object, got number"],
    ["route not a string", (c) => (c.rules[0].route = 1), "rules[0].route: must be a string, got number"],
    ["index negative", (c) => (c.rules[0].index = -1), "rules[0].index: must be between 0 and 2147483647, got -1"],
    ["index fractional", (c) => (c.rules[0].index = 1.5), "rules[0].index: must be an integer"],
    ["missing headers", (c) => delete c.rules[0].matches[0].headers, "rules[0].matches[0].headers: missing"],
    ["header value null", (c) => (c.rules[1].matches[0].headers[0].value = null), "rules[1].matches[0].headers[0].value: must be a string, got null"],
    [
      "unknown match type",
      (c) => (c.rules[1].matches[0].headers[0].type = "Prefix"),
      'rules[1].matches[0].headers[0].type: must be "Exact" or "RegularExpression", got "Prefix"',
    ],
    ["empty header name", (c) => (c.rules[1].matches[0].headers[0].name = ""), "rules[1].matches[0].headers[0].name: must not be empty"],
    [
      "bad regex",
      (c) => (c.rules[2].matches[0].headers[0].value = "mistral-(7b"),
      "rules[2].matches[0].headers[0].value: invalid regex `mistral-(7b`: missing closing )",
    ],
    ["unsupported regex", (c) => (c.rules[2].matches[0].headers[0].value = "(?=x)"), "lookahead is not supported"],
    ["no backends", (c) => (c.rules[1].backends = []), "rules[1].backends: at least one backend is required"],
    [
      "unknown backend kind",
      (c) => (c.rules[1].backends[0].kind = "Service"),
      'rules[1].backends[0].kind: must be "AIServiceBackend" or "InferencePool", got "Service"',
    ],
    ["negative weight", (c) => (c.rules[2].backends[1].weight = -2), "rules[2].backends[1].weight: must be an integer between 0 and 4294967295, got -2"],
    ["fractional weight", (c) => (c.rules[2].backends[1].weight = 0.5), "rules[2].backends[1].weight: must be an integer"],
    ["duplicate key", HEAD + '"rules":[],"models":[],"pools":[],"maxRequestBodyBytes":100,"rules":[]}', "rules: duplicate key"],
    ["fractional limit", HEAD + '"rules":[],"models":[],"pools":[],"maxRequestBodyBytes":100.5}', "maxRequestBodyBytes: must be an integer, got 100.5"],
    ["weight as string", (c) => (c.rules[2].backends[1].weight = "1"), "rules[2].backends[1].weight: must be an integer, got string"],
    ["missing pool", (c) => (c.pools = []), 'rules[0].backends[0].name: no pool "default/vllm-llama3-8b-instruct" in pools'],
    [
      "override with a newline",
      (c) => (c.rules[2].backends[1].modelNameOverride = "a\nb"),
      "rules[2].backends[1].modelNameOverride: must not contain control characters",
    ],
    ["empty backend name", (c) => (c.rules[1].backends[0].name = ""), "rules[1].backends[0].name: must not be empty"],
    ["missing modelNameOverride", (c) => delete c.rules[1].backends[0].modelNameOverride, "rules[1].backends[0].modelNameOverride: missing"],
    ["zero body limit", (c) => (c.maxRequestBodyBytes = 0), "maxRequestBodyBytes: must be between 1 and 2147483647, got 0"],
    ["huge body limit", (c) => (c.maxRequestBodyBytes = 2 ** 40), "maxRequestBodyBytes: must be between 1 and 2147483647"],
    ["bad failure mode", (c) => (c.pools[0].failureMode = "Open"), 'pools[0].failureMode: must be "FailOpen" or "FailClose", got "Open"'],
    ["bad body mode", (c) => (c.pools[0].bodyMode = "streamed"), 'pools[0].bodyMode: must be "duplex" or "buffered", got "streamed"'],
    ["zero timeout", (c) => (c.pools[0].timeoutMs = 0), "pools[0].timeoutMs: must be between 1 and 2147483647, got 0"],
    ["duplicate pool", (c) => c.pools.push({ ...c.pools[0] }), 'pools[1].name: duplicate pool "default/vllm-llama3-8b-instruct"'],
    ["allowModeOverride not bool", (c) => (c.pools[0].allowModeOverride = "false"), "pools[0].allowModeOverride: must be a boolean, got string"],
    ["empty model id", (c) => (c.models[0].id = ""), "models[0].id: must not be empty"],
    ["negative created", (c) => (c.models[0].created = -5), "models[0].created: must be >= 0"],
    [
      "rule host name in upper case",
      (c) => (c.rules[0].hostnames = ["Api.example.com"]),
      'rules[0].hostnames[0]: must be a lower-case host name or "*." and one, got "Api.example.com"',
    ],
    ["bare wildcard host name", (c) => (c.rules[0].hostnames = ["*"]), "rules[0].hostnames[0]: must be a lower-case host name"],
    ["inner wildcard", (c) => (c.models[0].hostnames = ["a.*.com"]), "models[0].hostnames[0]: must be a lower-case host name"],
    ["host names not strings", (c) => (c.models[0].hostnames = [1]), "models[0].hostnames[0]: must be a string, got number"],
  ];
  for (const [name, mutate, message] of invalid) {
    it(`rejects: ${name}`, () => {
      let doc: string;
      if (typeof mutate === "string") doc = mutate;
      else {
        const c = sampleConfig() as any;
        mutate(c);
        doc = JSON.stringify(c);
      }
      const err = loadConfig(m, doc);
      expect(err).not.toBeNull();
      expect(err!.startsWith("invalid plugin configuration: "), err!).toBe(true);
      expect(err).toContain(message);
    });
  }
});

describe("contract version (property)", () => {
  const PREFIX = "invalid plugin configuration: ";
  const utf8 = new TextDecoder("utf-8", { fatal: true });

  it("is found among the keys in any order and spacing; after any one-byte edit the filter refuses by the version it read, or as before", () => {
    const g = new Gen(rng(20261204));
    const entries = Object.entries(sampleConfig());
    for (let i = 0; i < 1500; i++) {
      const shuffled = entries
        .map((e) => [g.rand(), e] as const)
        .sort((a, b) => a[0] - b[0])
        .map(([, e]) => e);
      const doc = g.ws() + "{" + shuffled.map(([k, v]) => `${g.ws()}${JSON.stringify(k)}${g.ws()}:${g.ws()}${JSON.stringify(v)}${g.ws()}`).join(",") + "}";
      expect(loadConfig(m, doc), doc).toBeNull();

      const edited = mutate(g, new TextEncoder().encode(doc));
      const err = loadConfig(m, edited);
      let parsed: unknown;
      try {
        parsed = JSON.parse(utf8.decode(edited));
      } catch {
        parsed = undefined;
      }
      const text = Buffer.from(edited).toString();
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
        expect(err, text).not.toBeNull();
        expect(err!.startsWith(PREFIX), `${text}\n${err}`).toBe(true);
        continue;
      }
      const version = (parsed as { version?: unknown }).version;
      if (version === PLUGIN_CONFIG_VERSION) {
        if (err !== null) expect(err.startsWith(PREFIX) && !err.includes("contract version"), `${text}\n${err}`).toBe(true);
      } else if (typeof version === "string" || version === undefined) {
        const named = version === undefined ? "(none)" : `"${version}"`;
        expect(err, text).toBe(
          `${PREFIX}contract version ${named} of the configuration differs from "${PLUGIN_CONFIG_VERSION}" of this module: ` +
            "build both from the same release",
        );
      } else {
        expect(err, text).toContain("version: must be a string");
      }
    }
  });
});

describe("/v1/models", () => {
  it("lists the configured models in OpenAI's shape with the default owner", () => {
    expect(loadConfig(m, sampleConfig())).toBeNull();
    m.exports.modelsBody();
    const text = m.result();
    expect(text.startsWith('{"data":[{"id":"meta-llama/Llama-3.1-8B-Instruct","created":1732000000,"object":"model","owned_by":"Envoy AI Gateway"}')).toBe(
      true,
    );
    expect(JSON.parse(text)).toEqual({
      data: [
        { id: "meta-llama/Llama-3.1-8B-Instruct", created: 1732000000, object: "model", owned_by: "Envoy AI Gateway" },
        { id: "some-cool-self-hosted-model", created: 1732000001, object: "model", owned_by: "Envoy AI Gateway" },
        { id: 'quote"d', created: 0, object: "model", owned_by: "team \\ x" },
      ],
      object: "list",
    });
  });

  it("is an empty list without models", () => {
    expect(loadConfig(m, { ...sampleConfig(), models: [] })).toBeNull();
    m.exports.modelsBody();
    expect(m.result()).toBe('{"data":[],"object":"list"}');
  });
});

describe("backend credentials (BackendSecurityPolicy) from the VM's environment", () => {
  const KEY = "sk-logic-77";
  function withCredential(credential: string, env: string): ReturnType<typeof sampleConfig> {
    const c = sampleConfig();
    Object.assign(c.rules[1]!.backends[0]!, { credential, credentialEnv: env });
    return c;
  }
  function credentialOf(): string | undefined {
    m.exports.configDump();
    return JSON.parse(m.result()).rules[1].backends[0].credential;
  }

  it("APIKey: Authorization: Bearer with the trimmed key; AnthropicAPIKey: x-api-key", () => {
    expect(loadConfig(m, withCredential("APIKey", "K"), { K: `  ${KEY}\t` })).toBeNull();
    expect(credentialOf()).toBe(`authorization: Bearer ${KEY}`);
    expect(loadConfig(m, withCredential("AnthropicAPIKey", "K"), { K: KEY })).toBeNull();
    expect(credentialOf()).toBe(`x-api-key: ${KEY}`);
    expect(loadConfig(m, sampleConfig(), { K: KEY })).toBeNull();
    expect(credentialOf()).toBeUndefined();
  });

  const refused: Array<[string, string, string, Record<string, string>, string]> = [
    ["a variable the VM lacks", "APIKey", "K", {}, 'rules[1].backends[0].credentialEnv: "K" is not in the VM\'s environment'],
    ["an empty key", "APIKey", "K", { K: "  " }, 'rules[1].backends[0].credentialEnv: "K" must hold a key without control characters'],
    ["a key with a control character", "APIKey", "K", { K: `${KEY}\u0001x` }, '"K" must hold a key without control characters'],
    ["no variable named", "APIKey", "", { K: KEY }, "rules[1].backends[0].credentialEnv: must name an environment variable"],
    ["an unknown type", "Basic", "K", { K: KEY }, 'rules[1].backends[0].credential: must be "APIKey" or "AnthropicAPIKey", got "Basic"'],
  ];
  for (const [name, type, env, vars, message] of refused) {
    it(`refuses ${name}, without showing the key`, () => {
      const err = loadConfig(m, withCredential(type, env), vars);
      expect(err).toContain(message);
      expect(err).not.toContain(KEY);
    });
  }
});

describe("/v1/models by Host (internal/extproc/models_processor.go, Envoy AI Gateway v1.1.0)", () => {
  function listFor(authority: string | null): string[] {
    const [p, l] = m.put(authority ?? "");
    try {
      m.exports.modelsBody(p, l, authority === null ? 0 : 1);
      return (JSON.parse(m.result()) as { data: Array<{ id: string }> }).data.map((d) => d.id);
    } finally {
      m.free(p);
    }
  }

  /** models_processor.go's selectModelsForHost over our models (hostnames absent = unscoped), as an oracle. */
  function expected(models: Array<{ id: string; hostnames?: string[] }>, authority: string | null): string[] {
    const host = (authority ?? "").replace(/:[0-9]*$/, "").toLowerCase();
    const hosts = [...new Set(models.flatMap((x) => x.hostnames ?? []))];
    const unscoped = models.filter((x) => !x.hostnames?.length).map((x) => x.id);
    if (host === "" || hosts.length === 0) return models.map((x) => x.id);
    const of = (h: string) => [...models.filter((x) => x.hostnames?.includes(h)).map((x) => x.id), ...unscoped];
    if (hosts.includes(host)) return of(host);
    let best: string | undefined;
    for (const pattern of hosts) {
      if (!pattern.startsWith("*.")) continue;
      const suffix = pattern.slice(2);
      if (!host.endsWith(`.${suffix}`) || host.slice(0, -suffix.length - 1).includes(".")) continue;
      if (best === undefined || suffix.length > best.length - 2) best = pattern;
    }
    return best ? of(best) : unscoped;
  }

  it("agrees with models_processor.go on random host names and configurations", () => {
    const g = new Gen(rng(7));
    const rnd = (n: number) => g.int(n);
    const labels = ["a", "b", "api", "x1", "example", "com"];
    const name = (n: number) => Array.from({ length: n }, () => labels[rnd(labels.length)]).join(".");
    for (let round = 0; round < 200; round++) {
      const models = Array.from({ length: 1 + rnd(5) }, (_, i) => {
        const hostnames = Array.from({ length: rnd(3) }, () => (rnd(2) ? `*.${name(1 + rnd(2))}` : name(1 + rnd(3))));
        return hostnames.length ? { id: `m${i}`, ownedBy: "", created: 0, hostnames: [...new Set(hostnames)] } : { id: `m${i}`, ownedBy: "", created: 0 };
      });
      expect(loadConfig(m, { ...sampleConfig(), models })).toBeNull();
      for (let q = 0; q < 10; q++) {
        const base = name(1 + rnd(4));
        const authority = rnd(8) === 0 ? null : rnd(3) === 0 ? `${base.toUpperCase()}:${rnd(9000)}` : base;
        expect(listFor(authority), `${JSON.stringify(models)} for ${authority}`).toEqual(expected(models, authority));
      }
    }
  });
});

describe("backend choice by weight", () => {
  function pick(rule: number, random: number): string {
    m.exports.pick(rule, random);
    return m.result();
  }

  it("never picks weight 0 and splits the rest by weight", () => {
    expect(loadConfig(m, sampleConfig())).toBeNull();
    const counts: Record<string, number> = {};
    const n = 4000;
    for (let i = 0; i < n; i++) {
      const b = pick(2, (i + 0.5) / n);
      counts[b] = (counts[b] ?? 0) + 1;
    }
    expect(counts).toEqual({ "default/a": 3000, "default/b": 1000 });
  });

  it("is deterministic in the random number and clamps it", () => {
    expect(pick(2, 0)).toBe("default/a");
    expect(pick(2, 0.7499)).toBe("default/a");
    expect(pick(2, 0.75)).toBe("default/b");
    expect(pick(2, 0.999999)).toBe("default/b");
    expect(pick(2, 1)).toBe("default/b");
    expect(pick(2, -3)).toBe("default/a");
    expect(pick(2, 7)).toBe("default/b");
  });

  it("has no backend when every weight is 0", () => {
    expect(pick(4, 0.5)).toBe("");
  });
});
